//! `pnpm-lock.yaml` reading never panics; what it reads has a purl for every package.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let path = std::path::Path::new("pnpm-lock.yaml");
        if let Ok(pkgs) = zt_deps::lockfile::parse(zt_deps::lockfile::Format::PnpmLock, path, text) {
            assert!(pkgs.iter().all(|p| p.purl.starts_with("pkg:npm/")));
        }
    }
});
