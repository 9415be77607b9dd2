//! How errors speak to the user: every library error says what kind of failure it is and what
//! to do next. The binary renders them as `error:` / `Caused by:` / `help:` and picks the exit
//! code from [`Outcome`].

/// What an error means for the process's exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The input was verified and found wanting (a bad signature, a denied policy): exit 1.
    Rejected,
    /// The input could not be used at all (missing file, malformed JSON, bad flag): exit 2.
    InputError,
}

impl Outcome {
    /// The exit code zt uses for this outcome.
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Rejected => 1,
            Outcome::InputError => 2,
        }
    }
}

/// An error that knows what kind of failure it is and how the user can fix it.
pub trait Diagnostic: std::error::Error {
    /// Whether this is a verification failure (exit 1) or an input error (exit 2).
    fn outcome(&self) -> Outcome {
        Outcome::InputError
    }

    /// One sentence saying what to check or run next, without a trailing period.
    fn help(&self) -> Option<String>;
}
