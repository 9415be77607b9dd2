//! Secret scanning with gitleaks rules.

pub mod config;
pub mod detect;
pub mod git;
pub mod gore;
pub mod keywords;
pub mod report;
pub mod scan;

pub use config::{Config, ConfigError};
pub use detect::{Detector, Finding, Fragment};
pub use scan::{ScanOptions, ScanReport, Scanner};

use std::path::Path;

use crate::Error;

/// Loads the rule set to use: `config` if given, else `<root>/.gitleaks.toml` if present (which
/// usually `[extend]`s the default), else the built-in default. Relative `[extend] path`s resolve
/// against `base_dir`.
pub fn load_config(config: Option<&Path>, root: &Path, base_dir: &Path) -> Result<Config, Error> {
    let chosen = match config {
        Some(p) => Some(p.to_path_buf()),
        None => {
            let auto = root.join(".gitleaks.toml");
            auto.is_file().then_some(auto)
        }
    };
    match chosen {
        None => Config::default_rules().map_err(|e| rule_error("built-in default", e)),
        Some(path) => {
            let text = fs_err::read_to_string(&path).map_err(|source| Error::Read {
                path: path.clone(),
                source,
            })?;
            let mut cfg = Config::from_toml(&text, base_dir)
                .map_err(|e| rule_error(&path.display().to_string(), e))?;
            cfg.path = Some(path);
            Ok(cfg)
        }
    }
}

fn rule_error(file: &str, e: ConfigError) -> Error {
    Error::RuleFile {
        file: file.to_string(),
        rule: e.rule,
        message: e.message,
    }
}
