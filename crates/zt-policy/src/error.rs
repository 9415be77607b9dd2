use std::path::PathBuf;

use zt_core::{Diagnostic, Outcome};

/// Errors from loading policies, reading policy input and evaluating.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A Rego file does not parse.
    #[error("{file}:{line}:{column}: {message}")]
    RegoSyntax {
        /// The file (a built-in name like `builtin:vuln.rego`, or a path).
        file: String,
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
        /// The parser's complaint.
        message: String,
    },
    /// A Rego file failed to load for another reason (duplicate rules, bad import …).
    #[error("policy `{file}`: {message}")]
    Rego {
        /// The file.
        file: String,
        /// What regorus reported.
        message: String,
    },
    /// Evaluating a rule failed (a built-in raised an error, a conflict between rule values).
    #[error("evaluating `{rule}` failed: {message}")]
    Eval {
        /// The rule path, e.g. `data.zt.vuln.deny`.
        rule: String,
        /// What regorus reported.
        message: String,
    },
    /// A deny rule produced something other than `{id, message, remediation, doc}` strings.
    #[error("`{rule}` produced a malformed deny: {value}")]
    MalformedDeny {
        /// The rule path.
        rule: String,
        /// The offending value (JSON).
        value: String,
    },
    /// The policy input is not valid JSON.
    #[error("policy input{}: {message}", .source_name.as_deref().map(|s| format!(" `{s}`")).unwrap_or_default())]
    InputJson {
        /// Where the input came from.
        source_name: Option<String>,
        /// The parser's complaint (with line and column).
        message: String,
    },
    /// The policy input does not follow the schema (docs/policy-input.md).
    #[error("policy input{}: field `{field}`: {message}", .source_name.as_deref().map(|s| format!(" `{s}`")).unwrap_or_default())]
    InputSchema {
        /// Where the input came from.
        source_name: Option<String>,
        /// The dotted path of the offending field, e.g. `evidence[2].signer.key_id`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The policy input's `version` is one this zt does not read.
    #[error("policy input version {found} is not supported (this zt reads version {supported})")]
    InputVersion {
        /// The version in the document.
        found: u32,
        /// The version this zt reads.
        supported: u32,
    },
    /// A policy folder named in `zt.toml` or `--policy` does not exist.
    #[error("policy folder `{}` does not exist", .0.display())]
    MissingPolicyDir(PathBuf),
    /// A trusted key in `zt.toml` is unusable (unreadable public key, id mismatch).
    #[error("trust key {index} in `zt.toml`: {message}")]
    TrustKey {
        /// Index in `[[trust.key]]`.
        index: usize,
        /// What is wrong.
        message: String,
    },
    /// JUnit XML that cannot be read as test results.
    #[error("JUnit XML: {0}")]
    Junit(String),
    /// A coverage report that is neither an lcov tracefile nor Cobertura XML zt can read.
    #[error("coverage report: {0}")]
    Coverage(String),
    /// Reading a file failed (the message names the path).
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl Diagnostic for Error {
    fn outcome(&self) -> Outcome {
        Outcome::InputError
    }

    fn help(&self) -> Option<String> {
        Some(match self {
            Error::RegoSyntax { .. } | Error::Rego { .. } => {
                "fix the policy at that position; `zt policy test` checks a policy folder".into()
            }
            Error::Eval { .. } | Error::MalformedDeny { .. } => {
                "rules must be `deny contains d if {…}` with `d = {\"id\", \"message\", \"remediation\", \"doc\"}` strings; run `zt policy test` on the policy folder".into()
            }
            Error::InputJson { .. } | Error::InputSchema { .. } | Error::InputVersion { .. } => {
                "the policy input schema is in `docs/policy-input.md`".into()
            }
            Error::MissingPolicyDir(_) => {
                "create the folder, or fix `[policy] dirs` in `zt.toml` or the `--policy` flag".into()
            }
            Error::TrustKey { .. } => {
                "each `[[trust.key]]` needs a readable PEM `public_key` or a 64-hex-digit `id` (as `zt key show` prints)".into()
            }
            Error::Junit(_) => {
                "pass the XML report your test runner wrote (`<testsuites>` or `<testsuite>` root)".into()
            }
            Error::Coverage(_) => {
                "pass an lcov tracefile (`lcov.info`) or a Cobertura XML report (`coverage.xml`)".into()
            }
            Error::Io(_) => "check that the path exists and is readable".into(),
        })
    }
}

/// Turns a regorus load error into [`Error::RegoSyntax`] when it carries a `--> file:line:col`
/// position, else [`Error::Rego`].
pub(crate) fn from_regorus_load(file: &str, e: &dyn std::fmt::Display) -> Error {
    let text = e.to_string();
    if let Some((line, column)) = position(&text) {
        let message = text
            .lines()
            .rev()
            .find_map(|l| l.trim().strip_prefix("error:").map(str::trim))
            .unwrap_or_else(|| text.lines().last().unwrap_or_default().trim())
            .to_string();
        return Error::RegoSyntax {
            file: file.to_string(),
            line,
            column,
            message,
        };
    }
    Error::Rego {
        file: file.to_string(),
        message: text.trim().replace('\n', " "),
    }
}

/// The first `--> NAME:LINE:COL` position in a regorus message.
fn position(text: &str) -> Option<(u32, u32)> {
    let rest = text.split("--> ").nth(1)?;
    let loc = rest.lines().next()?;
    let mut parts = loc.rsplitn(3, ':');
    let column = parts.next()?.trim().parse().ok()?;
    let line = parts.next()?.trim().parse().ok()?;
    Some((line, column))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_is_read_from_regorus_messages() {
        let msg = "\n--> policies/x.rego:3:7\n  |\n3 | deny contains d iff {\n  |       ^\nerror: expecting `{`";
        assert_eq!(position(msg), Some((3, 7)));
        let e = from_regorus_load("policies/x.rego", &msg as &dyn std::fmt::Display);
        assert_eq!(e.to_string(), "policies/x.rego:3:7: expecting `{`");
        assert!(position("no position here").is_none());
    }
}
