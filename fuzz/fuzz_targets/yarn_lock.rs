//! `yarn.lock` reading (classic syntax and berry YAML) never panics; errors name a line
//! inside the text.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let path = std::path::Path::new("yarn.lock");
        let _ = zt_deps::lockfile::parse(zt_deps::lockfile::Format::YarnLock, path, text);
        if let Err(zt_deps::Error::Parse { line: Some(l), .. }) =
            zt_deps::lockfile::yarn_v1::parse_syntax(path, text)
        {
            assert!(l >= 1 && l <= text.lines().count() + 1);
        }
    }
});
