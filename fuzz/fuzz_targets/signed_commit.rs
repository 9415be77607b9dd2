//! Parsers of what a commit author controls never panic: `.zt/signers.toml`, a commit
//! object (headers and signature split), and armored SSH and OpenPGP signatures.
#![no_main]

use zt_source::commits::{Commit, ObjectId, PgpSignature, Policy, SshSignature, split_signature};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Policy::parse(text, "fuzz");
    }
    let (payload, sig) = split_signature(data, b"gpgsig");
    assert!(payload.len() <= data.len());
    if let Some(sig) = sig {
        let _ = SshSignature::parse(&sig).map(|s| s.verify(&payload));
        let _ = PgpSignature::parse(&sig);
    }
    let _ = SshSignature::parse(data).map(|s| s.verify(b"payload"));
    let _ = PgpSignature::parse(data);
    if let Ok(id) = ObjectId::from_hex(b"0000000000000000000000000000000000000000") {
        let _ = Commit::parse(id, data.to_vec());
    }
});
