//! A small, strict JOSE reader: compact JWS (RFC 7515), JWT claims (RFC 7519) and JWK sets
//! (RFC 7517), enough to verify a CI provider's OIDC ID token.
//!
//! Deliberately narrow: asymmetric algorithms only (RS256/384/512, PS256, ES256/384, EdDSA);
//! `none` and HMAC are refused by name; the key comes only from the issuer's JWKS by `kid`
//! (`jku`, `x5u`, `x5c` and embedded `jwk` headers are never read); base64url must be
//! canonical and unpadded; the size is capped before anything is decoded.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use serde_json::{Map, Value};

use crate::error::{Denial, Error};

/// The largest OIDC token zt reads (bytes).
pub const MAX_OIDC_TOKEN_BYTES: usize = 16 * 1024;

/// How far `exp`, `nbf` and `iat` may be off (seconds), for clock skew.
pub const LEEWAY_SECONDS: i64 = 60;

/// A signature algorithm zt accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    Rs512,
    /// RSASSA-PSS with SHA-256.
    Ps256,
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// ECDSA P-384 with SHA-384.
    Es384,
    /// Ed25519.
    EdDsa,
}

impl Alg {
    /// Reads the `alg` header; `none` and HMAC get their own denials.
    pub fn parse(name: &str) -> Result<Alg, Error> {
        Ok(match name {
            "RS256" => Alg::Rs256,
            "RS384" => Alg::Rs384,
            "RS512" => Alg::Rs512,
            "PS256" => Alg::Ps256,
            "ES256" => Alg::Es256,
            "ES384" => Alg::Es384,
            "EdDSA" => Alg::EdDsa,
            n if n.eq_ignore_ascii_case("none") => {
                return Err(Error::denied(
                    Denial::AlgNone,
                    "the token is unsigned (`alg: none`)",
                ));
            }
            n if n.starts_with("HS") => {
                return Err(Error::denied(
                    Denial::KeyConfusion,
                    format!("`alg: {n}` (HMAC) is never accepted for an OIDC token"),
                ));
            }
            n => {
                return Err(Error::denied(
                    Denial::UnsupportedAlg,
                    format!("`alg: {}` is not accepted", printable(n)),
                ));
            }
        })
    }

    /// The JOSE name.
    pub fn name(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Rs384 => "RS384",
            Alg::Rs512 => "RS512",
            Alg::Ps256 => "PS256",
            Alg::Es256 => "ES256",
            Alg::Es384 => "ES384",
            Alg::EdDsa => "EdDSA",
        }
    }
}

/// A public key from a JWKS, ready for ring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyMaterial {
    /// RSA modulus and exponent (big-endian, no leading zeros required).
    Rsa {
        /// Modulus.
        n: Vec<u8>,
        /// Public exponent.
        e: Vec<u8>,
    },
    /// An uncompressed EC point on P-256.
    P256(Vec<u8>),
    /// An uncompressed EC point on P-384.
    P384(Vec<u8>),
    /// An Ed25519 public key.
    Ed25519(Vec<u8>),
}

/// One key of a JWKS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwk {
    /// Its `kid`.
    pub kid: String,
    /// The `alg` it is pinned to, if the JWKS says.
    pub alg: Option<String>,
    /// The key.
    pub key: KeyMaterial,
}

/// A parsed JWK set: only signing keys with a `kid`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// Parses `{"keys": [...]}`. Keys without `kid`, with `use` other than `sig`, or of a type
    /// zt does not verify with are skipped; a key of a known type with bad fields is an error.
    pub fn parse(bytes: &[u8]) -> Result<Jwks, String> {
        let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
        let keys = v
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("no `keys` array")?;
        let mut out = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            let Some(obj) = k.as_object() else {
                return Err(format!("key {i} is not an object"));
            };
            let Some(kid) = obj.get("kid").and_then(Value::as_str) else {
                continue;
            };
            if obj
                .get("use")
                .and_then(Value::as_str)
                .is_some_and(|u| u != "sig")
            {
                continue;
            }
            let field = |name: &str| -> Result<Vec<u8>, String> {
                let s = obj
                    .get(name)
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("key `{kid}` has no `{name}`"))?;
                b64(s).ok_or_else(|| format!("key `{kid}`: `{name}` is not base64url"))
            };
            let kty = obj.get("kty").and_then(Value::as_str).unwrap_or("");
            let crv = obj.get("crv").and_then(Value::as_str).unwrap_or("");
            let key = match (kty, crv) {
                ("RSA", _) => KeyMaterial::Rsa {
                    n: field("n")?,
                    e: field("e")?,
                },
                ("EC", "P-256" | "P-384") => {
                    let (x, y) = (field("x")?, field("y")?);
                    let len = if crv == "P-256" { 32 } else { 48 };
                    if x.len() != len || y.len() != len {
                        return Err(format!("key `{kid}`: coordinates are not {len} bytes"));
                    }
                    let mut point = vec![4u8];
                    point.extend_from_slice(&x);
                    point.extend_from_slice(&y);
                    if crv == "P-256" {
                        KeyMaterial::P256(point)
                    } else {
                        KeyMaterial::P384(point)
                    }
                }
                ("OKP", "Ed25519") => {
                    let x = field("x")?;
                    if x.len() != 32 {
                        return Err(format!("key `{kid}`: Ed25519 key is not 32 bytes"));
                    }
                    KeyMaterial::Ed25519(x)
                }
                _ => continue,
            };
            out.push(Jwk {
                kid: kid.to_string(),
                alg: obj.get("alg").and_then(Value::as_str).map(str::to_string),
                key,
            });
        }
        Ok(Jwks { keys: out })
    }

    /// The key with this `kid`.
    pub fn get(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|k| k.kid == kid)
    }
}

/// A compact JWS split and decoded, not yet verified.
#[derive(Debug, Clone)]
pub struct Jws {
    /// The algorithm from the header.
    pub alg: Alg,
    /// The `kid` header, if any.
    pub kid: Option<String>,
    /// The claims (the payload as a JSON object).
    pub claims: Map<String, Value>,
    signing_input: Vec<u8>,
    signature: Vec<u8>,
}

/// Decodes canonical unpadded base64url.
pub fn b64(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(40).collect()
}

fn malformed(detail: impl Into<String>) -> Error {
    Error::denied(Denial::Malformed, detail)
}

impl Jws {
    /// Splits and decodes a compact JWS: size cap first, then three base64url parts, a JSON
    /// header with an accepted `alg` and no unknown `crit`, a JSON-object payload.
    pub fn parse(token: &[u8]) -> Result<Jws, Error> {
        if token.len() > MAX_OIDC_TOKEN_BYTES {
            return Err(Error::denied(
                Denial::TooLarge,
                format!(
                    "the token is {} bytes; the limit is {MAX_OIDC_TOKEN_BYTES}",
                    token.len()
                ),
            ));
        }
        let text = std::str::from_utf8(token)
            .map_err(|_| malformed("the token is not ASCII"))?
            .trim();
        let mut parts = text.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed("not a compact JWS (three dot-separated parts)"));
        };
        let header = b64(h).ok_or_else(|| malformed("the header is not base64url"))?;
        let payload = b64(p).ok_or_else(|| malformed("the payload is not base64url"))?;
        let signature = b64(s).ok_or_else(|| malformed("the signature is not base64url"))?;
        let header: Map<String, Value> = serde_json::from_slice(&header)
            .map_err(|_| malformed("the header is not a JSON object"))?;
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed("the header has no `alg`"))?;
        let alg = Alg::parse(alg)?;
        if header.contains_key("crit") {
            return Err(malformed(
                "the header lists `crit` extensions zt does not know",
            ));
        }
        // `jku`, `x5u`, `x5c` and `jwk` are never read: the key comes from the issuer's JWKS.
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(k)) => Some(k.clone()),
            Some(_) => return Err(malformed("`kid` is not a string")),
        };
        let claims: Map<String, Value> = serde_json::from_slice(&payload)
            .map_err(|_| malformed("the payload is not a JSON object"))?;
        let signing_input = text
            .get(..h.len() + 1 + p.len())
            .ok_or_else(|| malformed("not a compact JWS"))?
            .as_bytes()
            .to_vec();
        Ok(Jws {
            alg,
            kid,
            claims,
            signing_input,
            signature,
        })
    }

    /// A string claim.
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// Verifies the signature with `jwk`: the key type must fit the algorithm, and a key
    /// pinned to an `alg` must be used with that one.
    pub fn verify(&self, jwk: &Jwk) -> Result<(), Error> {
        if jwk.alg.as_deref().is_some_and(|a| a != self.alg.name()) {
            return Err(Error::denied(
                Denial::KeyConfusion,
                format!(
                    "key `{}` is for {}, the token says {}",
                    jwk.kid,
                    jwk.alg.as_deref().unwrap_or(""),
                    self.alg.name()
                ),
            ));
        }
        let confusion = || {
            Error::denied(
                Denial::KeyConfusion,
                format!("key `{}` is not a key for {}", jwk.kid, self.alg.name()),
            )
        };
        let bad = || {
            Error::denied(
                Denial::BadSignature,
                format!("the signature does not verify under key `{}`", jwk.kid),
            )
        };
        match (&jwk.key, self.alg) {
            (KeyMaterial::Rsa { n, e }, Alg::Rs256 | Alg::Rs384 | Alg::Rs512 | Alg::Ps256) => {
                let params: &signature::RsaParameters = match self.alg {
                    Alg::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                    Alg::Rs384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                    Alg::Rs512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                    _ => &signature::RSA_PSS_2048_8192_SHA256,
                };
                signature::RsaPublicKeyComponents { n, e }
                    .verify(params, &self.signing_input, &self.signature)
                    .map_err(|_| bad())
            }
            (KeyMaterial::P256(point), Alg::Es256) => {
                verify_with(&signature::ECDSA_P256_SHA256_FIXED, point, self).map_err(|_| bad())
            }
            (KeyMaterial::P384(point), Alg::Es384) => {
                verify_with(&signature::ECDSA_P384_SHA384_FIXED, point, self).map_err(|_| bad())
            }
            (KeyMaterial::Ed25519(x), Alg::EdDsa) => {
                verify_with(&signature::ED25519, x, self).map_err(|_| bad())
            }
            _ => Err(confusion()),
        }
    }

    /// Checks `exp` (required), `nbf` and `iat` against `now` with [`LEEWAY_SECONDS`].
    pub fn check_times(&self, now: i64) -> Result<i64, Error> {
        let exp = self
            .int_claim("exp")?
            .ok_or_else(|| malformed("the token has no `exp`"))?;
        if now > exp + LEEWAY_SECONDS {
            return Err(Error::denied(
                Denial::Expired,
                format!("the token expired {}s ago", now - exp),
            ));
        }
        for name in ["nbf", "iat"] {
            if let Some(t) = self.int_claim(name)?
                && t > now + LEEWAY_SECONDS
            {
                return Err(Error::denied(
                    Denial::NotYetValid,
                    format!("`{name}` is {}s in the future", t - now),
                ));
            }
        }
        Ok(exp)
    }

    /// Whether `aud` (a string or an array of strings) names one of `accepted`.
    pub fn audience_matches(&self, accepted: &[String]) -> bool {
        match self.claims.get("aud") {
            Some(Value::String(a)) => accepted.iter().any(|x| x == a),
            Some(Value::Array(list)) => list
                .iter()
                .filter_map(Value::as_str)
                .any(|a| accepted.iter().any(|x| x == a)),
            _ => false,
        }
    }

    fn int_claim(&self, name: &str) -> Result<Option<i64>, Error> {
        match self.claims.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .or_else(|| v.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
                .map(Some)
                .ok_or_else(|| malformed(format!("`{name}` is not a number"))),
        }
    }
}

fn verify_with(
    alg: &'static dyn VerificationAlgorithm,
    key: &[u8],
    jws: &Jws,
) -> Result<(), ring::error::Unspecified> {
    UnparsedPublicKey::new(alg, key).verify(&jws.signing_input, &jws.signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: &str) -> String {
        URL_SAFE_NO_PAD.encode(v)
    }

    fn reason(r: Result<Jws, Error>) -> &'static str {
        r.map(|_| "ok").unwrap_or_else(|e| e.reason())
    }

    #[test]
    fn refuses_none_and_hmac_by_name() {
        let p = enc(r#"{"iss":"x"}"#);
        let t = format!("{}.{p}.", enc(r#"{"alg":"none"}"#));
        assert_eq!(reason(Jws::parse(t.as_bytes())), "alg_none");
        let t = format!("{}.{p}.", enc(r#"{"alg":"NONE"}"#));
        assert_eq!(reason(Jws::parse(t.as_bytes())), "alg_none");
        let t = format!("{}.{p}.AAAA", enc(r#"{"alg":"HS256"}"#));
        assert_eq!(reason(Jws::parse(t.as_bytes())), "key_confusion");
    }

    #[test]
    fn base64_must_be_canonical_and_unpadded() {
        let h = enc(r#"{"alg":"RS256"}"#);
        let p = enc(r#"{"iss":"x"}"#);
        assert_eq!(reason(Jws::parse(format!("{h}.{p}.AAAA").as_bytes())), "ok");
        assert_eq!(
            reason(Jws::parse(format!("{h}=.{p}.AAAA").as_bytes())),
            "malformed"
        );
        assert_eq!(
            reason(Jws::parse(format!("{h}.{p}.AB").as_bytes())),
            "malformed"
        );
        assert_eq!(
            reason(Jws::parse(format!("{h}.{p}.A+/A").as_bytes())),
            "malformed"
        );
        assert_eq!(
            reason(Jws::parse(format!("{h}.{p}").as_bytes())),
            "malformed"
        );
        assert_eq!(
            reason(Jws::parse(format!("{h}.{p}.AAAA.x").as_bytes())),
            "malformed"
        );
    }

    #[test]
    fn size_is_checked_before_parsing() {
        let big = vec![b'!'; MAX_OIDC_TOKEN_BYTES + 1];
        assert_eq!(reason(Jws::parse(&big)), "too_large");
    }

    #[test]
    fn jwks_skips_keys_without_kid_and_checks_lengths() {
        let j = Jwks::parse(
            br#"{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"},{"kty":"oct","kid":"h","k":"AA"}]}"#,
        )
        .unwrap();
        assert!(j.keys.is_empty());
        let e =
            Jwks::parse(br#"{"keys":[{"kty":"EC","crv":"P-256","kid":"a","x":"AA","y":"AA"}]}"#)
                .unwrap_err();
        assert!(e.contains("32 bytes"), "{e}");
        assert!(Jwks::parse(b"{").is_err());
        assert!(Jwks::parse(b"{}").is_err());
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = Jws::parse(&bytes);
            let _ = Jwks::parse(&bytes);
        }

        #[test]
        fn dotted_garbage_never_panics(a in "[A-Za-z0-9_=+/-]{0,40}", b in "[A-Za-z0-9_-]{0,40}", c in "[A-Za-z0-9_.-]{0,40}") {
            let _ = Jws::parse(format!("{a}.{b}.{c}").as_bytes());
        }
    }
}
