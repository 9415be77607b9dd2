//! Fuzzes the gitleaks TOML rule loader (and the Go RE2 → Rust regex translation it runs for
//! every expression): any input must load or be rejected with an error, never panic; a loaded
//! rule set must scan its own text without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zt_source::secrets::{Config, Detector, Fragment};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // Relative `[extend] path`s resolve under a directory that does not exist.
    let Ok(config) = Config::from_toml(text, std::path::Path::new("/nonexistent-zt-fuzz")) else { return };
    let Ok(detector) = Detector::new(config) else { return };
    let _ = detector.detect(&Fragment { raw: text, path: "fuzz.toml", commit: None, start_line: 1 });
});
