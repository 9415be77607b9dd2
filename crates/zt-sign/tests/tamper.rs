//! Property tests: any single flipped byte in the artifact, the DSSE payload or the signature
//! makes verification fail (bundles without a log entry, checked with the signature-only path;
//! the logged path is covered end to end in the `zt` crate).

// Test code: a failed unwrap is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

use proptest::prelude::*;
use zt_core::{Digest, ResourceDescriptor, Statement, b64};
use zt_sign::bundle::{self, ParsedBundle};
use zt_sign::verify::{Artifact, Identity, Request, verify};
use zt_sign::{FileKey, KeyType, Signer as _};

fn check(artifact: &Artifact, bundle_json: &serde_json::Value, key: &FileKey) -> bool {
    let parsed: ParsedBundle = match bundle::parse(&bundle::to_bytes(bundle_json), "b") {
        Ok(p) => p,
        Err(_) => return false,
    };
    verify(&Request {
        artifact,
        bundle: &parsed,
        identity: &Identity::Key(key.public_key()),
        trusted_root: None,
        insecure_ignore_tlog: true,
        witness_policy: None,
    })
    .is_ok()
}

fn flip(bytes: &mut [u8], at: usize, bit: u8) {
    let i = at % bytes.len();
    bytes[i] ^= 1 << (bit % 8);
}

fn keys() -> Vec<FileKey> {
    vec![
        FileKey::generate(KeyType::Ed25519),
        FileKey::generate(KeyType::P256),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn flipped_artifact_or_signature_is_rejected(data in proptest::collection::vec(any::<u8>(), 1..512), at in any::<usize>(), bit in any::<u8>()) {
        for key in keys() {
            let new = bundle::sign_bytes(&key, &data).unwrap();
            let digest = Digest::sha256(&data);
            prop_assert!(check(&Artifact::Digest(digest.clone()), &new.json, &key) || matches!(key.key_type(), KeyType::Ed25519));

            // The artifact changes.
            let mut changed = data.clone();
            flip(&mut changed, at, bit);
            prop_assert!(!check(&Artifact::Digest(Digest::sha256(&changed)), &new.json, &key));

            // The signature changes.
            let mut sig = new.signature.clone();
            flip(&mut sig, at, bit);
            let mut json = new.json.clone();
            json["messageSignature"]["signature"] = b64::encode(&sig).into();
            prop_assert!(!check(&Artifact::Digest(digest.clone()), &json, &key));
        }
    }

    #[test]
    fn flipped_dsse_payload_or_signature_is_rejected(name in "[a-z]{1,12}", at in any::<usize>(), bit in any::<u8>()) {
        for key in keys() {
            let digest = Digest::sha256(name.as_bytes());
            let statement = Statement::new(vec![ResourceDescriptor::subject(&name, &digest)], "https://example.com/p", serde_json::json!({"k": name}));
            let new = bundle::attest(&key, &statement).unwrap();
            let artifact = Artifact::Digest(digest);
            prop_assert!(check(&artifact, &new.json, &key));

            let payload = b64::decode(new.json["dsseEnvelope"]["payload"].as_str().unwrap()).unwrap();
            let mut changed = payload.clone();
            flip(&mut changed, at, bit);
            let mut json = new.json.clone();
            json["dsseEnvelope"]["payload"] = b64::encode(&changed).into();
            prop_assert!(!check(&artifact, &json, &key));

            let mut sig = new.signature.clone();
            flip(&mut sig, at, bit);
            let mut json = new.json.clone();
            json["dsseEnvelope"]["signatures"][0]["sig"] = b64::encode(&sig).into();
            prop_assert!(!check(&artifact, &json, &key));
        }
    }
}

#[test]
fn ed25519_message_signatures_need_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let key = FileKey::generate(KeyType::Ed25519);
    let path = dir.path().join("f");
    fs_err::write(&path, b"contents").unwrap();
    let new = bundle::sign_file(&key, &path).unwrap();
    assert!(check(&Artifact::File(path.clone()), &new.json, &key));
    // With only the digest, pure Ed25519 cannot be checked: refused, never accepted.
    assert!(!check(
        &Artifact::Digest(Digest::sha256(b"contents")),
        &new.json,
        &key
    ));
    let _ = key.sign(b"x").unwrap();
}
