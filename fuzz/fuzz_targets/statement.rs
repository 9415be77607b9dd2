//! in-toto statement parsing never panics, and what parses round-trips byte for byte.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(s) = zt_core::Statement::from_json(data) {
        let bytes = s.to_json();
        assert_eq!(zt_core::Statement::from_json(&bytes).expect("reparse").to_json(), bytes);
    }
});
