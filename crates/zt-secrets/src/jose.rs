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

    /// Checks `exp` (required), `nbf` and `iat` against `now` with [`LEEWAY_SECONDS`]. Each is
    /// a NumericDate ([`numeric_date`]); all arithmetic is checked, so a claim or clock at the
    /// edge of the range is refused, never wrapped.
    pub fn check_times(&self, now: i64) -> Result<i64, Error> {
        let exp = self
            .numeric_date("exp")?
            .ok_or_else(|| malformed("the token has no `exp`"))?;
        let deadline = exp
            .checked_add(LEEWAY_SECONDS)
            .ok_or_else(|| bad_time("`exp` is out of range"))?;
        if now > deadline {
            return Err(Error::denied(
                Denial::Expired,
                match now.checked_sub(exp) {
                    Some(ago) => format!("the token expired {ago}s ago"),
                    None => "the token expired".to_string(),
                },
            ));
        }
        let latest = now
            .checked_add(LEEWAY_SECONDS)
            .ok_or_else(|| bad_time("the clock is out of range"))?;
        for name in ["nbf", "iat"] {
            if let Some(t) = self.numeric_date(name)?
                && t > latest
            {
                return Err(Error::denied(
                    Denial::NotYetValid,
                    match t.checked_sub(now) {
                        Some(ahead) => format!("`{name}` is {ahead}s in the future"),
                        None => format!("`{name}` is in the future"),
                    },
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

    fn numeric_date(&self, name: &str) -> Result<Option<i64>, Error> {
        self.claims
            .get(name)
            .map(|v| numeric_date(name, v))
            .transpose()
    }
}

/// The earliest NumericDate zt reads: 1970-01-01T00:00:00Z. An OIDC token issued or expiring
/// before the epoch is not a token any CI provider mints.
pub const MIN_NUMERIC_DATE: i64 = 0;

/// The latest NumericDate zt reads: 9999-12-31T23:59:59Z (the end of RFC 3339's range).
pub const MAX_NUMERIC_DATE: i64 = 253_402_300_799;

/// Reads a JWT NumericDate (RFC 7519 §2: seconds since the epoch, a JSON number that may
/// have a fraction): an integer, or a finite number rounded down, between
/// [`MIN_NUMERIC_DATE`] and [`MAX_NUMERIC_DATE`]. Anything else — a string, `1e300`, `-1`,
/// `2^64` — is a `bad_time` denial naming the claim, never a wrapped or saturated value.
pub fn numeric_date(name: &str, v: &Value) -> Result<i64, Error> {
    let Value::Number(n) = v else {
        return Err(bad_time(format!("`{name}` is not a number")));
    };
    let t = if let Some(i) = n.as_i64() {
        Some(i)
    } else if n.is_u64() {
        None
    } else {
        // A float: checked against the range before the cast, which then cannot saturate
        // (both bounds are exact in an f64).
        n.as_f64()
            .map(f64::floor)
            .filter(|f| (MIN_NUMERIC_DATE as f64..=MAX_NUMERIC_DATE as f64).contains(f))
            .map(|f| f as i64)
    };
    t.filter(|t| (MIN_NUMERIC_DATE..=MAX_NUMERIC_DATE).contains(t))
        .ok_or_else(|| {
            bad_time(format!(
                "`{name}` is out of range: {} (a time between 1970 and 9999 in Unix seconds)",
                printable(&n.to_string())
            ))
        })
}

fn bad_time(detail: impl Into<String>) -> Error {
    Error::denied(Denial::BadTime, detail)
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

    /// A JWS with these claims (the signature is irrelevant to the time checks).
    fn with_claims(claims: &str) -> Jws {
        let h = enc(r#"{"alg":"ES256","kid":"k"}"#);
        Jws::parse(format!("{h}.{}.AAAA", enc(claims)).as_bytes()).unwrap()
    }

    fn times(claims: &str, now: i64) -> Result<i64, &'static str> {
        with_claims(claims).check_times(now).map_err(|e| e.reason())
    }

    /// Regression (issue 16): `exp: 1e300` overflowed the expiry arithmetic (a wrap in
    /// release, a panic in debug).
    #[test]
    fn huge_and_odd_times_are_a_clean_denial() {
        let now = 1_800_000_000;
        for claims in [
            r#"{"exp":1e300}"#,
            r#"{"exp":-1e300}"#,
            r#"{"exp":9223372036854775807}"#,
            r#"{"exp":18446744073709551615}"#,
            r#"{"exp":-9223372036854775808}"#,
            r#"{"exp":-1}"#,
            r#"{"exp":253402300800}"#,
            r#"{"exp":"1800000000"}"#,
            r#"{"exp":null}"#,
            r#"{"exp":true}"#,
            r#"{"exp":[1800000000]}"#,
            r#"{"exp":1800000100,"iat":1e300}"#,
            r#"{"exp":1800000100,"nbf":-1e-300}"#,
            r#"{"exp":1800000100,"nbf":9223372036854775807}"#,
            r#"{"exp":1800000100,"iat":"NaN"}"#,
        ] {
            assert_eq!(times(claims, now), Err("bad_time"), "{claims}");
        }
        // No `exp` at all is still `malformed`.
        assert_eq!(times(r#"{"iat":1}"#, now), Err("malformed"));
    }

    #[test]
    fn numeric_dates_may_have_fractions_and_edges_hold() {
        let now = 1_800_000_000;
        assert_eq!(times(r#"{"exp":1800000100.9}"#, now), Ok(1_800_000_100));
        assert_eq!(
            times(r#"{"exp":1800000100,"iat":1.5e9}"#, now),
            Ok(1_800_000_100)
        );
        // The leeway, exactly.
        assert_eq!(times(r#"{"exp":1799999940}"#, now), Ok(1_799_999_940));
        assert_eq!(times(r#"{"exp":1799999939}"#, now), Err("expired"));
        assert_eq!(
            times(r#"{"exp":1800000100,"nbf":1800000060}"#, now),
            Ok(1_800_000_100)
        );
        assert_eq!(
            times(r#"{"exp":1800000100,"nbf":1800000061}"#, now),
            Err("not_yet_valid")
        );
        // The last second zt reads, and a clock at either end of i64: refused, not wrapped.
        assert_eq!(times(r#"{"exp":253402300799}"#, now), Ok(MAX_NUMERIC_DATE));
        assert_eq!(times(r#"{"exp":0}"#, i64::MAX), Err("expired"));
        assert_eq!(
            times(r#"{"exp":253402300799}"#, i64::MIN),
            Ok(MAX_NUMERIC_DATE)
        );
        assert_eq!(
            times(r#"{"exp":253402300799,"iat":5}"#, i64::MAX - 10),
            Err("expired")
        );
        assert_eq!(
            times(r#"{"exp":253402300799,"iat":253402300799}"#, i64::MIN),
            Err("not_yet_valid")
        );
    }

    /// A JSON number of any kind: integers over all of i64 and u64, floats of any size.
    fn any_number() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        prop_oneof![
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            (0i64..=MAX_NUMERIC_DATE).prop_map(Value::from),
            (-1e20f64..1e20f64).prop_map(Value::from),
        ]
    }

    proptest::proptest! {
        /// Whatever numbers `exp`, `nbf` and `iat` hold and whatever the clock says, the
        /// check returns (never panics), and what it accepts is sound: `exp` in range and
        /// not past the leeway, `nbf`/`iat` not beyond it.
        #[test]
        fn time_checks_never_wrap(
            exp in any_number(),
            nbf in proptest::option::of(any_number()),
            iat in proptest::option::of(any_number()),
            now in proptest::prop_oneof![
                proptest::prelude::any::<i64>(),
                0i64..=MAX_NUMERIC_DATE,
            ],
        ) {
            let mut claims = Map::new();
            claims.insert("exp".into(), exp);
            if let Some(v) = nbf { claims.insert("nbf".into(), v); }
            if let Some(v) = iat { claims.insert("iat".into(), v); }
            let jws = with_claims(&Value::Object(claims.clone()).to_string());
            match jws.check_times(now) {
                Ok(t) => {
                    proptest::prop_assert!((MIN_NUMERIC_DATE..=MAX_NUMERIC_DATE).contains(&t));
                    proptest::prop_assert!(i128::from(t) + i128::from(LEEWAY_SECONDS) >= i128::from(now));
                    for name in ["nbf", "iat"] {
                        if let Some(v) = claims.get(name) {
                            let v = numeric_date(name, v);
                            proptest::prop_assert!(v.is_ok());
                            if let Ok(v) = v {
                                proptest::prop_assert!(i128::from(v) <= i128::from(now) + i128::from(LEEWAY_SECONDS));
                            }
                        }
                    }
                }
                Err(e) => proptest::prop_assert!(
                    ["bad_time", "expired", "not_yet_valid"].contains(&e.reason()),
                    "{}", e
                ),
            }
        }

        /// A NumericDate is read exactly when it is a number in range, as its floor.
        #[test]
        fn numeric_date_is_the_floor_in_range(v in any_number()) {
            let exact = v.as_f64().filter(|f| f.is_finite()).map(f64::floor);
            match numeric_date("exp", &v) {
                Ok(t) => {
                    proptest::prop_assert!((MIN_NUMERIC_DATE..=MAX_NUMERIC_DATE).contains(&t));
                    if let Some(i) = v.as_i64() {
                        proptest::prop_assert_eq!(t, i);
                    } else if let Some(f) = exact {
                        proptest::prop_assert_eq!(t as f64, f);
                    }
                }
                Err(e) => {
                    proptest::prop_assert_eq!(e.reason(), "bad_time");
                    if let Some(f) = exact {
                        proptest::prop_assert!(
                            !(MIN_NUMERIC_DATE as f64..=MAX_NUMERIC_DATE as f64).contains(&f)
                        );
                    }
                }
            }
        }
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
