//! DSSE envelope parsing never panics, and what parses serialises back to an equal envelope.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(env) = zt_core::Envelope::from_json(data) {
        let again = serde_json::to_vec(&env.to_json_value()).expect("serialise");
        assert_eq!(zt_core::Envelope::from_json(&again).expect("reparse"), env);
        let _ = env.pae();
    }
});
