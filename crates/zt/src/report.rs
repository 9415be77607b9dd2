//! Turning library errors into what the user reads: `error:`, `Caused by:`, and `help:`, and
//! the exit code (0 success, 1 verification failed or denied, 2 usage or input error).

use owo_colors::OwoColorize as _;
use zt_core::{Diagnostic, Outcome};

use crate::printer::Printer;

/// A failure on its way to the user.
#[derive(Debug)]
pub(crate) struct CliError {
    pub(crate) outcome: Outcome,
    pub(crate) message: String,
    pub(crate) causes: Vec<String>,
    pub(crate) help: Option<String>,
}

impl CliError {
    /// An input or usage error raised by the binary itself.
    pub(crate) fn input(message: impl Into<String>, help: impl Into<String>) -> Self {
        Self {
            outcome: Outcome::InputError,
            message: message.into(),
            causes: Vec::new(),
            help: Some(help.into()),
        }
    }

    /// A verification failure raised by the binary itself.
    pub(crate) fn rejected(message: impl Into<String>, help: impl Into<String>) -> Self {
        Self {
            outcome: Outcome::Rejected,
            message: message.into(),
            causes: Vec::new(),
            help: Some(help.into()),
        }
    }

    pub(crate) fn exit_code(&self) -> u8 {
        self.outcome.exit_code()
    }

    /// Adds context in front: the old message becomes the first cause.
    pub(crate) fn context(mut self, message: impl Into<String>) -> Self {
        let old = std::mem::replace(&mut self.message, message.into());
        self.causes.insert(0, old);
        self
    }
}

impl<E: Diagnostic + 'static> From<E> for CliError {
    fn from(e: E) -> Self {
        let mut causes = Vec::new();
        let mut source = e.source();
        let message = e.to_string();
        while let Some(s) = source {
            let text = s.to_string();
            // `#[error(transparent)]` and `{source}` in the message repeat the cause: skip it.
            if !message.contains(&text) {
                causes.push(text);
            }
            source = s.source();
        }
        Self {
            outcome: e.outcome(),
            message,
            causes,
            help: e.help(),
        }
    }
}

/// Prints the error to stderr, or as JSON on stdout with `--json`.
pub(crate) fn render(err: &CliError, printer: &Printer) {
    if printer.json {
        printer.json(&serde_json::json!({
            "ok": false,
            "error": {
                "kind": match err.outcome { Outcome::Rejected => "rejected", Outcome::InputError => "input" },
                "message": err.message,
                "causes": err.causes,
                "help": err.help,
            }
        }));
    }
    printer.err(format!("{}: {}", "error".red().bold(), err.message));
    for cause in &err.causes {
        printer.err(format!("  {}: {cause}", "Caused by".bold()));
    }
    if let Some(help) = &err.help {
        printer.err("");
        printer.err(format!("{}: {help}", "help".cyan().bold()));
    }
}
