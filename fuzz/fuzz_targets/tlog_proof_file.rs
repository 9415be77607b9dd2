//! `c2sp.org/tlog-proof@v1` files from untrusted bytes: parsing never panics, what parses
//! round-trips, and verification against a fixed policy never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zt_tlog::{NoteVerifier, TlogProof, TrustPolicy};

const LOG_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

fuzz_target!(|data: &[u8]| {
    if let Ok(proof) = TlogProof::parse(data) {
        let again = TlogProof::parse(proof.to_text().as_bytes()).expect("a serialised proof parses");
        assert_eq!(again, proof);
        if let Ok(log) = NoteVerifier::parse(LOG_VKEY) {
            if let Ok(policy) = TrustPolicy::log_only(log) {
                let _ = proof.verify(&[0; 32], &policy);
            }
        }
    }
});
