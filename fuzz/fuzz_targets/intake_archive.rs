//! The intake archive readers (tar, gzip-tar, gem, zip) and the malware heuristics over
//! what they unpack never panic on any bytes, never yield a member path that could leave
//! the root, and respect the size limits.
#![no_main]

use zt_deps::intake::{archive, malware};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let limits = archive::Limits {
        max_member: 1 << 20,
        max_total: 4 << 20,
        max_members: 1000,
        max_ratio: 100,
    };
    for name in ["a.tar", "a.tgz", "a.gem", "a.zip"] {
        if let Ok(entries) = archive::read(name, data, limits) {
            let total: usize = entries.iter().map(|e| e.data.len()).sum();
            assert!(total as u64 <= limits.max_total);
            for e in &entries {
                assert!(!e.path.starts_with('/'));
                assert!(!e.path.split('/').any(|p| p == ".." || p.is_empty()));
            }
            let _ = malware::scan_package(&entries, zt_deps::Ecosystem::Npm, name);
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        for lang in [malware::Lang::Python, malware::Lang::JavaScript, malware::Lang::Ruby, malware::Lang::Go] {
            let _ = malware::scan_source("f", text, lang);
        }
    }
});
