//! Keys held in PKCS#11 tokens (HSMs, smart cards, SoftHSM), addressed by `pkcs11:` URIs
//! (RFC 7512), e.g. `pkcs11:token=ci;object=release?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/run/pin`.
//!
//! The private key never leaves the token: zt asks the token to sign the SHA-256 digest
//! (ECDSA P-256, `CKM_ECDSA`) or the message (Ed25519, `CKM_EDDSA`) and reads only the public key.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::object::{Attribute, AttributeType, KeyType as CkKeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;

use crate::{Error, KeyType, PublicKey, Signer};

/// DER of the P-256 curve OID (prime256v1), as `CKA_EC_PARAMS` holds it.
const EC_PARAMS_P256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// DER of the Ed25519 OID (1.3.101.112).
const EC_PARAMS_ED25519: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
/// DER PrintableString "edwards25519", which some tokens use instead of the OID.
const EC_PARAMS_EDWARDS25519: &[u8] = b"\x13\x0cedwards25519";

/// Well-known module locations tried when the URI names none and `ZT_PKCS11_MODULE` is unset.
const DEFAULT_MODULES: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
];

/// A parsed `pkcs11:` URI (RFC 7512): the attributes zt uses to find a token and a key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pkcs11Uri {
    /// `token`: the token label.
    pub token: Option<String>,
    /// `serial`: the token serial number.
    pub serial: Option<String>,
    /// `slot-id`: the slot number.
    pub slot_id: Option<u64>,
    /// `object`: the key's label.
    pub object: Option<String>,
    /// `id`: the key's `CKA_ID` bytes.
    pub id: Option<Vec<u8>>,
    /// `type`: `private`, `public`, …
    pub object_type: Option<String>,
    /// `pin-value` (query attribute).
    pub pin_value: Option<String>,
    /// `pin-source` (query attribute): a file holding the PIN.
    pub pin_source: Option<String>,
    /// `module-path` (query attribute).
    pub module_path: Option<String>,
    /// `module-name` (query attribute).
    pub module_name: Option<String>,
}

impl Pkcs11Uri {
    /// Parses a `pkcs11:` URI. Unknown standard attributes are refused; vendor attributes
    /// (`x-…`) are ignored.
    pub fn parse(uri: &str) -> Result<Self, Error> {
        let bad = |reason: String| Error::Pkcs11Uri {
            uri: redact_pin(uri),
            reason,
        };
        let rest = uri
            .strip_prefix("pkcs11:")
            .ok_or_else(|| bad("does not start with `pkcs11:`".into()))?;
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let mut out = Pkcs11Uri::default();
        for attr in path.split(';').filter(|a| !a.is_empty()) {
            let (name, value) = attr
                .split_once('=')
                .ok_or_else(|| bad(format!("path attribute `{attr}` has no `=`")))?;
            let bytes = pct_decode(value)
                .ok_or_else(|| bad(format!("bad percent-encoding in `{name}`")))?;
            let text = || {
                String::from_utf8(bytes.clone()).map_err(|_| bad(format!("`{name}` is not UTF-8")))
            };
            match name {
                "token" => out.token = Some(text()?),
                "serial" => out.serial = Some(text()?),
                "object" => out.object = Some(text()?),
                "id" => out.id = Some(bytes.clone()),
                "type" => out.object_type = Some(text()?),
                "slot-id" => {
                    out.slot_id = Some(
                        text()?
                            .parse()
                            .map_err(|_| bad("`slot-id` is not a number".into()))?,
                    )
                }
                "manufacturer"
                | "model"
                | "library-manufacturer"
                | "library-description"
                | "library-version"
                | "slot-description"
                | "slot-manufacturer" => {}
                n if n.starts_with("x-") => {}
                other => return Err(bad(format!("unknown path attribute `{other}`"))),
            }
        }
        for attr in query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|a| !a.is_empty())
        {
            let (name, value) = attr
                .split_once('=')
                .ok_or_else(|| bad(format!("query attribute `{attr}` has no `=`")))?;
            let value = pct_decode(value)
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| bad(format!("bad percent-encoding in `{name}`")))?;
            match name {
                "pin-value" => out.pin_value = Some(value),
                "pin-source" => out.pin_source = Some(value),
                "module-path" => out.module_path = Some(value),
                "module-name" => out.module_name = Some(value),
                n if n.starts_with("x-") => {}
                other => return Err(bad(format!("unknown query attribute `{other}`"))),
            }
        }
        if out.object.is_none() && out.id.is_none() {
            return Err(bad("names no key: add `object=LABEL` or `id=%xx…`".into()));
        }
        Ok(out)
    }

    fn module(&self) -> Result<PathBuf, Error> {
        if let Some(p) = &self.module_path {
            let path = PathBuf::from(p);
            if path.is_dir() {
                let name = self.module_name.as_deref().unwrap_or("libsofthsm2");
                return Ok(path.join(format!("{name}.so")));
            }
            return Ok(path);
        }
        if let Ok(p) = std::env::var("ZT_PKCS11_MODULE") {
            return Ok(PathBuf::from(p));
        }
        DEFAULT_MODULES
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .ok_or(Error::Pkcs11NoModule)
    }

    fn pin(&self) -> Result<String, Error> {
        if let Some(v) = &self.pin_value {
            return Ok(v.clone());
        }
        if let Some(src) = &self.pin_source {
            let path = src.strip_prefix("file:").unwrap_or(src);
            let text = fs_err::read_to_string(Path::new(path))?;
            return Ok(text.trim_end_matches(['\r', '\n']).to_string());
        }
        std::env::var("ZT_PKCS11_PIN").map_err(|_| Error::Pkcs11NoPin)
    }
}

fn pct_decode(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Some(out)
}

fn redact_pin(uri: &str) -> String {
    match uri.find("pin-value=") {
        Some(start) => {
            let value_start = start + "pin-value=".len();
            let end = uri[value_start..]
                .find('&')
                .map(|e| value_start + e)
                .unwrap_or(uri.len());
            format!("{}***{}", &uri[..value_start], &uri[end..])
        }
        None => uri.to_string(),
    }
}

/// Each module is loaded and initialised once per process and never finalised, so that several
/// keys (and threads) can share it: PKCS#11 allows one `C_Initialize` per process.
fn context(module: &Path) -> Result<Pkcs11, Error> {
    static CONTEXTS: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let map = CONTEXTS.get_or_init(|| Mutex::new(HashMap::new()));
    let mut map = map
        .lock()
        .map_err(|_| Error::Pkcs11("module table poisoned".into()))?;
    if let Some(ctx) = map.get(module) {
        return Ok(ctx.clone());
    }
    if !module.exists() {
        return Err(Error::Pkcs11Module(module.to_path_buf()));
    }
    let ctx = Pkcs11::new(module)
        .map_err(|e| Error::Pkcs11(format!("loading `{}`: {e}", module.display())))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) => {}
        Err(cryptoki::error::Error::Pkcs11(
            cryptoki::error::RvError::CryptokiAlreadyInitialized,
            _,
        )) => {}
        Err(e) => {
            return Err(Error::Pkcs11(format!(
                "initialising `{}`: {e}",
                module.display()
            )));
        }
    }
    map.insert(module.to_path_buf(), ctx.clone());
    Ok(ctx)
}

fn find_slot(ctx: &Pkcs11, uri: &Pkcs11Uri) -> Result<Slot, Error> {
    let slots = ctx
        .get_slots_with_initialized_token()
        .map_err(|e| Error::Pkcs11(format!("listing slots: {e}")))?;
    for slot in slots {
        if let Some(id) = uri.slot_id
            && slot.id() != id
        {
            continue;
        }
        let info = ctx
            .get_token_info(slot)
            .map_err(|e| Error::Pkcs11(format!("reading token info: {e}")))?;
        if uri.token.as_deref().is_some_and(|t| info.label() != t) {
            continue;
        }
        if uri
            .serial
            .as_deref()
            .is_some_and(|s| info.serial_number() != s)
        {
            continue;
        }
        return Ok(slot);
    }
    Err(Error::Pkcs11NoToken {
        token: uri.token.clone().unwrap_or_else(|| "<any>".into()),
    })
}

fn key_template(uri: &Pkcs11Uri, class: ObjectClass) -> Vec<Attribute> {
    let mut t = vec![Attribute::Class(class)];
    if let Some(label) = &uri.object {
        t.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    if let Some(id) = &uri.id {
        t.push(Attribute::Id(id.clone()));
    }
    t
}

fn open(uri: &Pkcs11Uri) -> Result<Session, Error> {
    let ctx = context(&uri.module()?)?;
    let slot = find_slot(&ctx, uri)?;
    let session = ctx
        .open_rw_session(slot)
        .map_err(|e| Error::Pkcs11(format!("opening a session: {e}")))?;
    let pin = AuthPin::new(uri.pin()?.into());
    match session.login(UserType::User, Some(&pin)) {
        Ok(()) => {}
        Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {}
        Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::PinIncorrect, _)) => {
            return Err(Error::Pkcs11(
                "the token refused the PIN (CKR_PIN_INCORRECT)".into(),
            ));
        }
        Err(e) => return Err(Error::Pkcs11(format!("logging in: {e}"))),
    }
    Ok(session)
}

fn one_object(
    session: &Session,
    template: &[Attribute],
    what: &str,
) -> Result<ObjectHandle, Error> {
    let found = session
        .find_objects(template)
        .map_err(|e| Error::Pkcs11(format!("searching for the {what}: {e}")))?;
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(Error::Pkcs11NoKey {
            what: what.to_string(),
        }),
        more => Err(Error::Pkcs11(format!(
            "{} objects match the {what}; add `id=` or `object=` to the URI to pick one",
            more.len()
        ))),
    }
}

/// Strips the DER OCTET STRING around a `CKA_EC_POINT` if the token wrapped it.
fn unwrap_ec_point(point: &[u8], raw_len: usize) -> Option<&[u8]> {
    if point.len() == raw_len {
        return Some(point);
    }
    match point {
        [0x04, len, rest @ ..] if usize::from(*len) == raw_len && rest.len() == raw_len => {
            Some(rest)
        }
        _ => None,
    }
}

fn read_public(session: &Session, handle: ObjectHandle) -> Result<(KeyType, PublicKey), Error> {
    let attrs = session
        .get_attributes(
            handle,
            &[
                AttributeType::KeyType,
                AttributeType::EcParams,
                AttributeType::EcPoint,
            ],
        )
        .map_err(|e| Error::Pkcs11(format!("reading the public key: {e}")))?;
    let (mut key_type, mut params, mut point) = (None, None, None);
    for a in attrs {
        match a {
            Attribute::KeyType(k) => key_type = Some(k),
            Attribute::EcParams(p) => params = Some(p),
            Attribute::EcPoint(p) => point = Some(p),
            _ => {}
        }
    }
    let (params, point) = params.zip(point).ok_or_else(|| {
        Error::UnsupportedAlgorithm("token key is not an EC or Ed25519 key".into())
    })?;
    let bad_point = || Error::Pkcs11("malformed CKA_EC_POINT".into());
    if key_type == Some(CkKeyType::EC) && params == EC_PARAMS_P256 {
        let sec1 = unwrap_ec_point(&point, 65).ok_or_else(bad_point)?;
        let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(sec1).map_err(|_| bad_point())?;
        return Ok((KeyType::P256, PublicKey::P256(vk)));
    }
    if key_type == Some(CkKeyType::EC_EDWARDS)
        && (params == EC_PARAMS_ED25519 || params == EC_PARAMS_EDWARDS25519)
    {
        let raw: [u8; 32] = unwrap_ec_point(&point, 32)
            .and_then(|p| p.try_into().ok())
            .ok_or_else(bad_point)?;
        let vk = ed25519_dalek::VerifyingKey::from_bytes(&raw).map_err(|_| bad_point())?;
        return Ok((KeyType::Ed25519, PublicKey::Ed25519(vk)));
    }
    Err(Error::UnsupportedAlgorithm(
        "token key is neither ECDSA P-256 nor Ed25519".into(),
    ))
}

/// A signing key inside a PKCS#11 token.
pub struct Pkcs11Key {
    session: Mutex<Session>,
    private: ObjectHandle,
    key_type: KeyType,
    public: PublicKey,
}

impl std::fmt::Debug for Pkcs11Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Pkcs11Key({}, {})",
            self.key_type.name(),
            self.public.key_id()
        )
    }
}

impl Pkcs11Key {
    /// Opens the key a URI names (the private half for signing, the public half to read).
    pub fn open(uri: &str) -> Result<Self, Error> {
        let parsed = Pkcs11Uri::parse(uri)?;
        let session = open(&parsed)?;
        let private = one_object(
            &session,
            &key_template(&parsed, ObjectClass::PRIVATE_KEY),
            "private key",
        )?;
        let public_handle = one_object(
            &session,
            &key_template(&parsed, ObjectClass::PUBLIC_KEY),
            "public key",
        )?;
        let (key_type, public) = read_public(&session, public_handle)?;
        Ok(Self {
            session: Mutex::new(session),
            private,
            key_type,
            public,
        })
    }

    /// Generates a new key pair inside the token, labelled and identified as the URI says.
    /// Refuses if a key with that label or id already exists.
    pub fn generate(uri: &str, key_type: KeyType) -> Result<Self, Error> {
        let parsed = Pkcs11Uri::parse(uri)?;
        let session = open(&parsed)?;
        for class in [ObjectClass::PRIVATE_KEY, ObjectClass::PUBLIC_KEY] {
            let found = session
                .find_objects(&key_template(&parsed, class))
                .map_err(|e| Error::Pkcs11(format!("searching the token: {e}")))?;
            if !found.is_empty() {
                return Err(Error::Pkcs11(format!(
                    "the token already holds a key named by `{}`; zt never replaces a key",
                    redact_pin(uri)
                )));
            }
        }
        let (mechanism, params) = match key_type {
            KeyType::P256 => (Mechanism::EccKeyPairGen, EC_PARAMS_P256),
            KeyType::Ed25519 => (Mechanism::EccEdwardsKeyPairGen, EC_PARAMS_ED25519),
        };
        let mut common = Vec::new();
        if let Some(label) = &parsed.object {
            common.push(Attribute::Label(label.as_bytes().to_vec()));
        }
        if let Some(id) = &parsed.id {
            common.push(Attribute::Id(id.clone()));
        }
        let mut public_t = vec![
            Attribute::Token(true),
            Attribute::Verify(true),
            Attribute::EcParams(params.to_vec()),
        ];
        public_t.extend(common.iter().cloned());
        let mut private_t = vec![
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
        ];
        private_t.extend(common);
        session
            .generate_key_pair(&mechanism, &public_t, &private_t)
            .map_err(|e| Error::Pkcs11(format!("generating a {} key: {e}", key_type.name())))?;
        drop(session);
        Self::open(uri)
    }

    /// The key's algorithm.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    fn sign_raw(&self, mechanism: &Mechanism<'_>, data: &[u8]) -> Result<Vec<u8>, Error> {
        let session = self
            .session
            .lock()
            .map_err(|_| Error::SigningFailed("token session poisoned".into()))?;
        session
            .sign(mechanism, self.private, data)
            .map_err(|e| Error::SigningFailed(format!("the token refused to sign: {e}")))
    }

    fn sign_digest_p256(&self, digest: &[u8; 32]) -> Result<Vec<u8>, Error> {
        let raw = self.sign_raw(&Mechanism::Ecdsa, digest)?;
        let sig = p256::ecdsa::Signature::from_slice(&raw).map_err(|e| {
            Error::SigningFailed(format!("token returned a malformed ECDSA signature: {e}"))
        })?;
        // Tokens may return high-S signatures; both verify, but normalising keeps output canonical.
        let sig = sig.normalize_s().unwrap_or(sig);
        Ok(sig.to_der().as_bytes().to_vec())
    }
}

impl Signer for Pkcs11Key {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        match self.key_type {
            KeyType::P256 => {
                use sha2::Digest as _;
                self.sign_digest_p256(&sha2::Sha256::digest(message).into())
            }
            KeyType::Ed25519 => self.sign_raw(
                &Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
                message,
            ),
        }
    }

    fn sign_prehashed(&self, sha256: &[u8; 32]) -> Option<Result<Vec<u8>, Error>> {
        match self.key_type {
            KeyType::P256 => Some(self.sign_digest_p256(sha256)),
            KeyType::Ed25519 => None,
        }
    }

    fn public_key(&self) -> PublicKey {
        self.public.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc7512_uris() {
        let u = Pkcs11Uri::parse(
            "pkcs11:token=The%20Token;object=my-key;id=%01%02;x-vendor=1?pin-value=12%2634&module-path=/lib/x.so",
        )
        .unwrap();
        assert_eq!(u.token.as_deref(), Some("The Token"));
        assert_eq!(u.object.as_deref(), Some("my-key"));
        assert_eq!(u.id.as_deref(), Some(&[1u8, 2][..]));
        assert_eq!(u.pin_value.as_deref(), Some("12&34"));
        assert_eq!(u.module_path.as_deref(), Some("/lib/x.so"));
    }

    #[test]
    fn refuses_bad_uris_without_leaking_the_pin() {
        for bad in [
            "pkcs12:token=a;object=b",
            "pkcs11:token=a",
            "pkcs11:token=a;object=b;colour=red",
            "pkcs11:token=a;object=%zz",
            "pkcs11:token=a;object=b?pin-value=secret&bogus=1",
        ] {
            let err = Pkcs11Uri::parse(bad).unwrap_err().to_string();
            assert!(!err.contains("secret"), "{err}");
        }
    }
}
