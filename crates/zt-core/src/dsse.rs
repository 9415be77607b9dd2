//! DSSE envelopes (Dead Simple Signing Envelope) and their pre-authentication encoding.

use serde::{Deserialize, Serialize};

use crate::{Error, b64};

/// `PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, where LEN is the
/// ASCII decimal byte length with no leading zeros.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + payload_type.len() + payload.len());
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// One signature in an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// An optional hint naming the key.
    pub keyid: String,
    /// The raw signature bytes.
    pub sig: Vec<u8>,
}

/// A DSSE envelope: a payload, its type, and signatures over their PAE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The payload's media type.
    pub payload_type: String,
    /// The raw payload bytes.
    pub payload: Vec<u8>,
    /// One or more signatures.
    pub signatures: Vec<Signature>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireEnvelope {
    payload: String,
    payload_type: String,
    signatures: Vec<WireSignature>,
}

#[derive(Serialize, Deserialize)]
struct WireSignature {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    keyid: String,
    sig: String,
}

impl Envelope {
    /// The bytes that signatures cover.
    pub fn pae(&self) -> Vec<u8> {
        pae(&self.payload_type, &self.payload)
    }

    /// Parses the JSON form, accepting standard and URL-safe base64.
    pub fn from_json(bytes: &[u8]) -> Result<Self, Error> {
        let wire: WireEnvelope =
            serde_json::from_slice(bytes).map_err(|e| Error::InvalidEnvelope(e.to_string()))?;
        Self::from_parts(
            &wire.payload_type,
            &wire.payload,
            wire.signatures
                .iter()
                .map(|s| (s.keyid.as_str(), s.sig.as_str())),
        )
    }

    /// Builds an envelope from base64 fields as they appear in JSON.
    pub fn from_parts<'a>(
        payload_type: &str,
        payload_b64: &str,
        signatures: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, Error> {
        if payload_type.is_empty() {
            return Err(Error::InvalidEnvelope("`payloadType` is empty".into()));
        }
        let payload = b64::decode(payload_b64)
            .ok_or_else(|| Error::InvalidEnvelope("`payload` is not base64".into()))?;
        let mut sigs = Vec::new();
        for (i, (keyid, sig)) in signatures.into_iter().enumerate() {
            let sig = b64::decode(sig).ok_or_else(|| {
                Error::InvalidEnvelope(format!("signature {i}: `sig` is not base64"))
            })?;
            if sig.is_empty() {
                return Err(Error::InvalidEnvelope(format!("signature {i} is empty")));
            }
            sigs.push(Signature {
                keyid: keyid.to_string(),
                sig,
            });
        }
        if sigs.is_empty() {
            return Err(Error::InvalidEnvelope("no signatures".into()));
        }
        Ok(Self {
            payload_type: payload_type.to_string(),
            payload,
            signatures: sigs,
        })
    }

    /// The JSON form, with standard base64.
    pub fn to_json_value(&self) -> serde_json::Value {
        serde_json::json!({
            "payload": b64::encode(&self.payload),
            "payloadType": self.payload_type,
            "signatures": self.signatures.iter().map(|s| {
                let mut m = serde_json::Map::new();
                if !s.keyid.is_empty() {
                    m.insert("keyid".into(), s.keyid.clone().into());
                }
                m.insert("sig".into(), b64::encode(&s.sig).into());
                serde_json::Value::Object(m)
            }).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pae_matches_the_protocol_example() {
        // The example from the DSSE protocol specification.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }

    #[test]
    fn reads_both_base64_alphabets() {
        // payload bytes 0xfb 0xff chosen so the two alphabets differ.
        let std =
            r#"{"payload":"+/8=","payloadType":"t","signatures":[{"keyid":"k","sig":"AQ=="}]}"#;
        let url = r#"{"payload":"-_8","payloadType":"t","signatures":[{"sig":"AQ"}]}"#;
        let a = Envelope::from_json(std.as_bytes()).unwrap();
        let b = Envelope::from_json(url.as_bytes()).unwrap();
        assert_eq!(a.payload, vec![0xfb, 0xff]);
        assert_eq!(a.payload, b.payload);
        assert_eq!(a.signatures[0].sig, b.signatures[0].sig);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            r#"{"payload":"!!","payloadType":"t","signatures":[{"sig":"AQ=="}]}"#,
            r#"{"payload":"AQ==","payloadType":"t","signatures":[]}"#,
            r#"{"payload":"AQ==","payloadType":"","signatures":[{"sig":"AQ=="}]}"#,
            r#"{"payload":"AQ==","payloadType":"t","signatures":[{"sig":""}]}"#,
            r#"{"payloadType":"t","signatures":[{"sig":"AQ=="}]}"#,
        ] {
            assert!(Envelope::from_json(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn json_round_trip(payload in proptest::collection::vec(any::<u8>(), 0..200), sig in proptest::collection::vec(any::<u8>(), 1..80)) {
            let e = Envelope { payload_type: "application/vnd.in-toto+json".into(), payload, signatures: vec![Signature { keyid: String::new(), sig }] };
            let json = serde_json::to_vec(&e.to_json_value()).unwrap();
            prop_assert_eq!(Envelope::from_json(&json).unwrap(), e);
        }

        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Envelope::from_json(&bytes);
        }
    }
}
