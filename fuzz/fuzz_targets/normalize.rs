//! `zt normalize` on arbitrary bytes (zip, jar, jmod, pyzip, gzip, ar, png, javadoc, tar; the
//! first byte picks the normaliser) never panics, and the gzip, ar, png and tar normalisers are
//! idempotent: what they wrote, they leave as it is.
//!
//! The others are not, faithfully to strip-nondeterminism (each case found by this target and
//! checked by running `strip-nondeterminism -t TYPE` twice on it, which changed the file twice,
//! as zt does): javadoc looks at the first 15 lines only and drops lines it emptied, so a second
//! run can reach lines the first did not; in the zip family, a member whose external attributes
//! say directory but whose name does not end in `/` gets directory attributes on the first run
//! and file attributes on the second.
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
        && matches!(kind, Kind::Gzip | Kind::Ar | Kind::Png | Kind::Tar)
    {
        let again = normalize_data(kind, "fuzz", &out, &opts);
        assert!(matches!(again, Ok(None)), "{kind:?} not idempotent: {again:?}");
    }
});
