//! `yarn.lock` reading (classic syntax and berry YAML) never panics; errors name a line
//! inside the text, lines broken at `\n`, `\r\n` or a lone `\r` as yarn's own tokenizer does
//! (`str::lines` does not break at a lone `\r`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let path = std::path::Path::new("yarn.lock");
        let _ = zt_deps::lockfile::parse(zt_deps::lockfile::Format::YarnLock, path, text);
        if let Err(zt_deps::Error::Parse { line: Some(l), .. }) =
            zt_deps::lockfile::yarn_v1::parse_syntax(path, text)
        {
            let lines = text.replace("\r\n", "\n").split(['\n', '\r']).count();
            assert!(l >= 1 && l <= lines, "line {l} of {lines}");
        }
    }
});
