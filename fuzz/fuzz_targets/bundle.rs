//! Sigstore bundle parsing never panics, whatever the bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = zt_sign::bundle::parse(data, "fuzz");
});
