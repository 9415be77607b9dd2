//! `zt normalize` on arbitrary bytes (zip, jar, jmod, pyzip, gzip, ar, png, javadoc, tar; the
//! first byte picks the normaliser) never panics; the tar normaliser (zt's own rules) is
//! idempotent.
#![no_main]

use zt_build::normalize::{Kind, Options, normalize_data};

const KINDS: [&str; 9] = [
    "zip", "jar", "jmod", "pyzip", "gzip", "ar", "png", "javadoc", "tar",
];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(kind) = Kind::from_name(KINDS[usize::from(pick) % KINDS.len()]) else {
        return;
    };
    let opts = Options {
        timestamp: Some(1_423_159_771),
        ..Options::default()
    };
    if let Ok(Some(out)) = normalize_data(kind, "fuzz", rest, &opts)
        && kind == Kind::Tar
    {
        assert!(matches!(
            normalize_data(kind, "fuzz", &out, &opts),
            Ok(None)
        ));
    }
});
