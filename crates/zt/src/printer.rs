//! All output goes through one printer: data to stdout (so `--json` and pipes stay clean),
//! diagnostics and progress to stderr. Colour only on a terminal, and never with `NO_COLOR`.

use std::io::Write as _;

use owo_colors::OwoColorize as _;

/// Where and how to print.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Printer {
    /// Machine-readable output requested.
    pub(crate) json: bool,
    /// Suppress informational messages on stderr.
    pub(crate) quiet: bool,
}

impl Printer {
    pub(crate) fn new(json: bool, quiet: bool) -> Self {
        Self { json, quiet }
    }

    /// A line of data on stdout. A closed pipe (`zt … | head`) is not an error.
    pub(crate) fn out(&self, line: impl std::fmt::Display) {
        let mut out = anstream::stdout().lock();
        let _ = writeln!(out, "{line}");
    }

    /// A JSON document on stdout, pretty-printed. Straight to stdout: serde_json escapes
    /// every control character, so there is no terminal escape for anstream to strip (its
    /// byte-by-byte pass over a 40 KB trace was ~1 % of `zt trace --json`).
    pub(crate) fn json(&self, value: &serde_json::Value) {
        let mut text = serde_json::to_vec_pretty(value).unwrap_or_default();
        text.push(b'\n');
        let _ = std::io::stdout().lock().write_all(&text);
    }

    /// An informational line on stderr (progress, where files went).
    pub(crate) fn info(&self, line: impl std::fmt::Display) {
        if !self.quiet {
            let mut err = anstream::stderr().lock();
            let _ = writeln!(err, "{line}");
        }
    }

    /// A warning on stderr.
    pub(crate) fn warn(&self, line: impl std::fmt::Display) {
        let mut err = anstream::stderr().lock();
        let _ = writeln!(err, "{}: {line}", "warning".yellow().bold());
    }

    /// A line on stderr that is always shown (errors).
    pub(crate) fn err(&self, line: impl std::fmt::Display) {
        let mut err = anstream::stderr().lock();
        let _ = writeln!(err, "{line}");
    }

    /// "ok" styled for a success line.
    pub(crate) fn ok_mark(&self) -> String {
        format!("{}", "ok".green().bold())
    }

    /// "FAIL" styled for a failure line.
    pub(crate) fn fail_mark(&self) -> String {
        format!("{}", "FAIL".red().bold())
    }
}
