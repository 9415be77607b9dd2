//! zt's secrets broker: no long-lived credential in a CI job. A job proves who it is with its
//! OIDC ID token; the [`Broker`] verifies it against the issuer's keys, matches its claims
//! against each secret's bindings, and issues a scoped token that expires in minutes and opens
//! only the secrets bound to that identity. Secrets are encrypted at rest; every exchange,
//! read, denial, put, rotation and revocation is an access record in zt's transparency log
//! and the ledger, which [`audit`] verifies against each other.
//!
//! ```no_run
//! # fn main() -> Result<(), zt_secrets::Error> {
//! use std::path::Path;
//! let broker = zt_secrets::Broker::open(Path::new(".zt"))?;
//! let issued = broker.exchange(b"eyJhbGciOiJSUzI1NiIsImtpZCI6...")?;
//! let secret = broker.read(&issued.token, "db_password")?;
//! assert!(!secret.expose().is_empty());
//! # Ok(()) }
//! ```
//!
//! Files under `.zt/secrets/`: `trust.toml` (issuers, lifetimes), `master.key` (0600) or
//! `master.key.p11` (wrapped by a PKCS#11 token), `broker.key` (0600, Ed25519 seed signing
//! scoped tokens), `store.json` (the ciphertexts), `access.wal` (access records on their way to the log),
//! `revoked` (revoked scoped-token ids), `jwks-cache/` (discovered issuer keys).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod audit;
pub mod binding;
#[cfg(test)]
mod durability_tests;
mod error;
pub mod exec;
mod group;
pub mod jose;
mod journal;
pub mod operator;
pub mod store;
pub mod token;
pub mod trust;
pub mod wrap;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use serde::Serialize;
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

pub use audit::{Report as AuditReport, audit};
pub use binding::Binding;
pub use error::{Denial, Error};
pub use jose::MAX_OIDC_TOKEN_BYTES;
pub use zt_store::AccessQuery;

use audit::{AccessLog, Durable, Event};
use store::{MasterKey, STORE_FILE, Store};
use token::Minter;

/// The folder under `.zt` holding the broker's files.
pub const SECRETS_DIR: &str = "secrets";

/// A secret's value. Never printed: no `Debug` or `Display` of the bytes; zeroed on drop.
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    pub(crate) fn new(bytes: Vec<u8>) -> Secret {
        Secret(Zeroizing::new(bytes))
    }

    /// The value.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Secret {
    /// A value obtained elsewhere (read over HTTP by `zt secrets get|exec --server`).
    fn from(bytes: Vec<u8>) -> Secret {
        Secret::new(bytes)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A scoped token, as handed to the job.
#[derive(Debug, Clone, Serialize)]
pub struct Issued {
    /// The token (`zts1.…`).
    pub token: String,
    /// Its id (for `zt secrets revoke-token`).
    pub id: String,
    /// When it expires (Unix seconds).
    pub expires_at: i64,
    /// The secrets it opens.
    pub secrets: Vec<String>,
}

/// An exchange or a read that is decided, its access record on its way into the write-ahead
/// file: its outcome is released only once the record is durable (or, if the record cannot be
/// written, the outcome is that error, and the token or value is dropped unseen). Block on it
/// with [`Pending::wait`], or `.await` it: the record's fdatasync is done by the access log's
/// own thread, so an async caller parks no thread meanwhile.
#[derive(Debug)]
#[must_use = "the outcome is only released once its access record is durable"]
pub struct Pending<T> {
    durable: Durable,
    outcome: Option<Result<T, Error>>,
}

impl<T> Pending<T> {
    fn release(&mut self, durable: Result<(), Error>) -> Result<T, Error> {
        durable?;
        self.outcome
            .take()
            .unwrap_or(Err(Error::Internal("an outcome released twice")))
    }

    /// Blocks until the access record is durable, then returns the outcome.
    pub fn wait(self) -> Result<T, Error> {
        let Pending { durable, outcome } = self;
        durable.wait()?;
        outcome.unwrap_or(Err(Error::Internal("an outcome released twice")))
    }
}

impl<T: Unpin> std::future::Future for Pending<T> {
    type Output = Result<T, Error>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<T, Error>> {
        let durable = std::task::ready!(std::pin::Pin::new(&mut self.durable).poll(cx));
        std::task::Poll::Ready(self.release(durable))
    }
}

/// Where the clock comes from (tests move it).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

fn system_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp(Option<SystemTime>, u64);

fn stamp(path: &Path) -> FileStamp {
    fs_err::metadata(path)
        .map(|m| FileStamp(m.modified().ok(), m.len()))
        .unwrap_or(FileStamp(None, 0))
}

/// The broker: verifies OIDC tokens, issues scoped tokens, serves reads, logs everything.
/// `Send + Sync`: share one behind an `Arc`.
pub struct Broker {
    dir: PathBuf,
    trust: trust::Trust,
    key: MasterKey,
    store: RwLock<(FileStamp, Arc<Store>)>,
    revoked_stamp: RwLock<FileStamp>,
    minter: Minter,
    journal: journal::Journal,
    access: AccessLog,
    clock: Clock,
    /// Held while a put reads, changes and saves `store.json`, so two puts through this
    /// broker cannot both write the same next version.
    writing: std::sync::Mutex<()>,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Broker({})", self.dir.display())
    }
}

/// The secrets directory under a `.zt` directory, checked to exist.
fn secrets_dir(zt_dir: &Path) -> Result<PathBuf, Error> {
    let dir = zt_dir.join(SECRETS_DIR);
    if !dir.join(STORE_FILE).exists() {
        return Err(Error::NotInitialized(dir));
    }
    Ok(dir)
}

fn load_store(dir: &Path) -> Result<(Store, MasterKey), Error> {
    let store = Store::load(&dir.join(STORE_FILE))?;
    let key = MasterKey::load(dir, Some(&store.key_id))?;
    Ok((store, key))
}

fn operator() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!(
        "operator:{}",
        user.chars()
            .filter(|c| !c.is_control())
            .take(64)
            .collect::<String>()
    )
}

fn claim(claims: &serde_json::Map<String, serde_json::Value>, name: &str) -> Option<String> {
    claims
        .get(name)
        .and_then(|v| v.as_str())
        .map(|s| s.chars().filter(|c| !c.is_control()).take(256).collect())
}

impl Broker {
    /// Opens the broker of the repository whose `.zt` directory is `zt_dir`: trust config,
    /// master key, store, broker key, replay journal, access log and ledger.
    pub fn open(zt_dir: &Path) -> Result<Broker, Error> {
        Self::open_with_log(zt_dir, None)
    }

    /// [`Broker::open`], writing the access log to `log` (the repository's log, `.zt/log`,
    /// already open in this process: `zt serve` shares it with its other routes) instead of
    /// opening it.
    pub fn open_with_log(zt_dir: &Path, log: Option<Arc<zt_tlog::Log>>) -> Result<Broker, Error> {
        let dir = secrets_dir(zt_dir)?;
        let trust = trust::Trust::load(&dir)?;
        let (store, key) = load_store(&dir)?;
        let minter = Minter::load(&dir)?;
        let now = system_now();
        let access = AccessLog::open(zt_dir, log)?;
        let journal = journal::Journal::new(access.recent_jtis(now)?, now);
        Ok(Broker {
            store: RwLock::new((stamp(&dir.join(STORE_FILE)), Arc::new(store))),
            revoked_stamp: RwLock::new(stamp(&dir.join(token::REVOKED_FILE))),
            dir,
            trust,
            key,
            minter,
            journal,
            access,
            clock: Arc::new(system_now),
            writing: std::sync::Mutex::new(()),
        })
    }

    /// Replaces the clock (tests move time forward without sleeping).
    pub fn with_clock(mut self, clock: Clock) -> Broker {
        self.clock = clock;
        self
    }

    fn now(&self) -> i64 {
        (self.clock)()
    }

    /// The store, re-read if `store.json` changed since it was last read (a `zt secrets put`
    /// from another process).
    fn store(&self) -> Result<Arc<Store>, Error> {
        let path = self.dir.join(STORE_FILE);
        let now = stamp(&path);
        {
            let cur = self
                .store
                .read()
                .map_err(|_| Error::Internal("store lock poisoned"))?;
            if cur.0 == now {
                return Ok(cur.1.clone());
            }
        }
        let store = self.load_store_file(&path)?;
        let store = Arc::new(store);
        *self
            .store
            .write()
            .map_err(|_| Error::Internal("store lock poisoned"))? = (now, store.clone());
        Ok(store)
    }

    /// `store.json` as it is on disk, refused if it was sealed with another master key than
    /// this broker's.
    fn load_store_file(&self, path: &Path) -> Result<Store, Error> {
        let store = Store::load(path)?;
        if store.key_id != self.key.id() {
            return Err(Error::WrongKey {
                path: self.key.path.clone(),
                found: self.key.id().to_string(),
                expected: store.key_id,
            });
        }
        Ok(store)
    }

    /// Exchanges an OIDC ID token for a scoped token. Every outcome is an access record, and
    /// returns once that record is durable.
    pub fn exchange(&self, oidc_token: &[u8]) -> Result<Issued, Error> {
        match self.begin_exchange(oidc_token, true) {
            Some(pending) => pending.wait(),
            None => Err(Error::Internal("an exchange allowed to block did not run")),
        }
    }

    /// [`Broker::exchange`] for an async caller: decides the exchange on the calling thread
    /// (parse, verify, claims, replay check, signature — CPU only) and hands its access
    /// record to the access log's thread; `.await` the [`Pending`] for the outcome. `None`,
    /// with nothing done or recorded, when deciding would block: the issuer's keys must be
    /// fetched first (discovery, a stale or missing `kid`). Call [`Broker::exchange`] on a
    /// thread that may block then.
    pub fn start_exchange(&self, oidc_token: &[u8]) -> Option<Pending<Issued>> {
        self.begin_exchange(oidc_token, false)
    }

    fn begin_exchange(&self, oidc_token: &[u8], may_block: bool) -> Option<Pending<Issued>> {
        // Announced before the signature checks, so that a batch being written now can wait
        // for this record instead of taking an fdatasync of its own (given up unrecorded if
        // the exchange must block for the issuer's keys). Not for an exchange allowed to
        // block: it may be fetching those keys, and a batch would wait its longest for it.
        let expected = (!may_block).then(|| self.access.expect());
        let now = self.now();
        let mut who = String::from("unknown");
        let mut repository = None;
        let mut jti = None;
        let result = match self.exchange_inner(
            oidc_token,
            now,
            may_block,
            &mut who,
            &mut repository,
            &mut jti,
        ) {
            Ok(issued) => Ok(issued),
            Err(Halt::Refused(e)) => Err(e),
            Err(Halt::WouldBlock) => return None,
        };
        let event = match &result {
            Ok(issued) => Event {
                at: now,
                action: "exchange",
                decision: "allow",
                reason: "ok",
                who,
                repository,
                token_id: Some(issued.id.clone()),
                detail: Some(format!("opens {}", issued.secrets.join(","))),
                oidc_jti: jti,
                ..Event::default()
            },
            Err(e) => Event {
                at: now,
                action: "exchange",
                decision: "deny",
                reason: e.reason(),
                who,
                repository,
                detail: Some(e.to_string()),
                ..Event::default()
            },
        };
        Some(Pending {
            durable: match expected {
                Some(expected) => self.access.submit_expected(expected, event),
                None => self.access.submit(event),
            },
            outcome: Some(result),
        })
    }

    fn exchange_inner(
        &self,
        oidc_token: &[u8],
        now: i64,
        may_block: bool,
        who: &mut String,
        repository: &mut Option<String>,
        jti_claim: &mut Option<([u8; 32], i64)>,
    ) -> Result<Issued, Halt> {
        let jws = jose::Jws::parse(oidc_token)?;
        let iss = claim(&jws.claims, "iss")
            .ok_or_else(|| Error::denied(Denial::Malformed, "the token has no `iss`"))?;
        let sub = claim(&jws.claims, "sub").unwrap_or_default();
        // Until the signature verifies, the identity is only what the token claims.
        *who = format!("unverified:{iss} {sub}");
        let issuer = self.trust.issuers.get(iss.as_str()).ok_or_else(|| {
            Error::denied(
                Denial::WrongIssuer,
                format!("issuer `{iss}` is not trusted"),
            )
        })?;
        let kid = jws
            .kid
            .as_deref()
            .ok_or_else(|| Error::denied(Denial::UnknownKid, "the token has no `kid`"))?;
        let jwks = if may_block {
            issuer.keys(Some(kid), now)?
        } else {
            issuer
                .keys_without_fetch(Some(kid), now)
                .ok_or(Halt::WouldBlock)??
        };
        let jwk = jwks.get(kid).ok_or_else(|| {
            Error::denied(
                Denial::UnknownKid,
                format!(
                    "key `{}` is not in the JWKS of `{iss}`",
                    kid.chars()
                        .filter(|c| !c.is_control())
                        .take(80)
                        .collect::<String>()
                ),
            )
        })?;
        jws.verify(jwk)?;
        *who = format!("{iss} {sub}");
        *repository = claim(&jws.claims, "repository");
        let exp = jws.check_times(now)?;
        if !jws.audience_matches(&issuer.audiences) {
            return Err(Error::denied(
                Denial::WrongAudience,
                format!("`aud` is not one of {}", issuer.audiences.join(", ")),
            )
            .into());
        }
        let jti = claim(&jws.claims, "jti")
            .filter(|j| !j.is_empty())
            .ok_or_else(|| Error::denied(Denial::Malformed, "the token has no `jti`"))?;
        let store = self.store()?;
        let secrets: Vec<String> = store
            .secrets
            .iter()
            .filter(|(_, e)| {
                e.latest()
                    .is_some_and(|v| v.bindings.iter().any(|b| b.matches(&jws.claims)))
            })
            .map(|(name, _)| name.clone())
            .collect();
        if secrets.is_empty() {
            return Err(Error::denied(
                Denial::BindingMismatch,
                format!(
                    "no secret is bound to repository `{}`, ref `{}`, event `{}`",
                    repository.as_deref().unwrap_or("-"),
                    claim(&jws.claims, "ref").unwrap_or_else(|| "-".into()),
                    claim(&jws.claims, "event_name").unwrap_or_else(|| "-".into()),
                ),
            )
            .into());
        }
        if now
            .checked_add(journal::MAX_OIDC_LIFETIME)
            .is_none_or(|latest| exp > latest)
        {
            return Err(Error::denied(
                Denial::Malformed,
                "the token claims to live longer than 24 hours",
            )
            .into());
        }
        let key = journal::key(&iss, &jti);
        if !self.journal.claim(key, exp, now)? {
            return Err(Error::denied(
                Denial::ReplayedJti,
                format!("token `jti` {jti} was already exchanged"),
            )
            .into());
        }
        *jti_claim = Some((key, exp));
        let id = hex::encode(store::random::<16>()?);
        let expires_at = now
            .checked_add(self.trust.token_lifetime)
            .ok_or(Error::Internal("the clock is out of range"))?;
        let claims_sha256 = hex::encode(Sha256::digest(
            serde_json::to_vec(&jws.claims).unwrap_or_default(),
        ));
        let token = self.minter.mint(&token::Claims {
            id: id.clone(),
            secrets: secrets.clone(),
            iat: now,
            exp: expires_at,
            iss,
            sub,
            repository: repository.clone(),
            oidc_jti: jti,
            claims_sha256,
        })?;
        Ok(Issued {
            token,
            id,
            expires_at,
            secrets,
        })
    }

    fn reload_revocations(&self) -> Result<(), Error> {
        let now = stamp(&self.dir.join(token::REVOKED_FILE));
        let changed = *self
            .revoked_stamp
            .read()
            .map_err(|_| Error::Internal("lock poisoned"))?
            != now;
        if changed {
            self.minter.reload_revocations()?;
            *self
                .revoked_stamp
                .write()
                .map_err(|_| Error::Internal("lock poisoned"))? = now;
        }
        Ok(())
    }

    /// Reads a secret with a scoped token. Every outcome is an access record, and returns once
    /// that record is durable.
    pub fn read(&self, scoped_token: &str, secret: &str) -> Result<Secret, Error> {
        self.start_read(scoped_token, secret).wait()
    }

    /// [`Broker::read`] for an async caller: decides the read on the calling thread (token
    /// check, decryption — CPU and a cached store) and hands its access record to the access
    /// log's thread; `.await` the [`Pending`] for the value.
    pub fn start_read(&self, scoped_token: &str, secret: &str) -> Pending<Secret> {
        let expected = self.access.expect();
        let now = self.now();
        let mut event = Event {
            at: now,
            action: "read",
            who: "unknown".into(),
            secret: store::check_name(secret)
                .is_ok()
                .then(|| secret.to_string()),
            ..Event::default()
        };
        let result = self.read_inner(scoped_token, secret, now, &mut event);
        match &result {
            Ok(_) => {
                event.decision = "allow";
                event.reason = "ok";
            }
            Err(e) => {
                event.decision = "deny";
                event.reason = e.reason();
                event.detail = Some(e.to_string());
            }
        }
        Pending {
            durable: self.access.submit_expected(expected, event),
            outcome: Some(result),
        }
    }

    fn read_inner(
        &self,
        scoped_token: &str,
        secret: &str,
        now: i64,
        event: &mut Event,
    ) -> Result<Secret, Error> {
        store::check_name(secret)?;
        self.reload_revocations()?;
        let claims = self.minter.check(scoped_token.trim(), now)?;
        event.who = format!("{} {}", claims.iss, claims.sub);
        event.repository = claims.repository.clone();
        event.token_id = Some(claims.id.clone());
        if !claims.secrets.iter().any(|s| s == secret) {
            return Err(Error::denied(
                Denial::NotListed,
                format!("scoped token {} does not open `{secret}`", claims.id),
            ));
        }
        let store = self.store()?;
        let (_, value) = store
            .decrypt(&self.key, secret, None)
            .map_err(|e| match e {
                Error::NoSuchSecret(n) => {
                    Error::denied(Denial::NoSuchSecret, format!("no secret named `{n}`"))
                }
                e => e,
            })?;
        Ok(value)
    }

    /// Revokes a scoped token by id; reads with it are refused from now on.
    pub fn revoke_token(&self, id: &str) -> Result<(), Error> {
        let result = self.minter.revoke(id);
        self.access.record(Event {
            at: self.now(),
            action: "revoke",
            decision: if result.is_ok() { "allow" } else { "deny" },
            reason: result.as_ref().err().map_or("ok", Error::reason),
            who: operator(),
            token_id: Some(recorded_token_id(id)),
            ..Event::default()
        })?;
        result
    }

    /// Revokes a scoped token for a caller that presents the operator token (`zt serve`'s
    /// revocation route): a missing or wrong operator token is refused, and that refusal is
    /// an access record like any other.
    pub fn revoke_token_as_operator(&self, operator: Option<&str>, id: &str) -> Result<(), Error> {
        self.refuse_unless_operator(
            operator,
            Event {
                action: "revoke",
                token_id: Some(recorded_token_id(id)),
                ..Event::default()
            },
        )?;
        self.revoke_token(id)
    }

    /// Verifies a presented operator token; a missing or wrong one is refused, and `about`
    /// (the action and what it names) is recorded as that denial.
    fn refuse_unless_operator(&self, operator: Option<&str>, about: Event) -> Result<(), Error> {
        let Err(e) = operator::verify(&self.dir, operator) else {
            return Ok(());
        };
        self.access.record(Event {
            at: self.now(),
            decision: "deny",
            reason: e.reason(),
            who: "http:unauthenticated".into(),
            ..about
        })?;
        Err(e)
    }

    /// Checks a presented operator token for an administration request (`action` on
    /// `subject`, e.g. `put` of a secret's name); a missing or wrong token is refused, and
    /// the refusal recorded as a denial.
    pub fn check_operator(
        &self,
        operator: Option<&str>,
        action: &'static str,
        subject: &str,
    ) -> Result<(), Error> {
        self.refuse_unless_operator(
            operator,
            Event {
                action,
                secret: Some(
                    subject
                        .chars()
                        .filter(|c| !c.is_control())
                        .take(256)
                        .collect(),
                ),
                ..Event::default()
            },
        )
    }

    /// Stores `value` as the next version of `name` for a caller that presents the operator
    /// token (`zt serve`'s `PUT /v1/secrets/{name}`, `zt secrets put --server`): what
    /// [`put`] does, through this broker's access log, so that a secret can be added while a
    /// server holds the repository's log. A missing or wrong operator token is refused and
    /// recorded, as for revocation. Returns the version.
    pub fn put_as_operator(
        &self,
        operator: Option<&str>,
        name: &str,
        value: &[u8],
        bindings: Vec<Binding>,
    ) -> Result<u32, Error> {
        self.check_operator(operator, "put", name)?;
        let now = self.now();
        store::check_name(name)?;
        let summary = bindings_summary(&bindings);
        let _writing = self
            .writing
            .lock()
            .map_err(|_| Error::Internal("store write lock poisoned"))?;
        // The file as it is now, not the cached copy: a put from another process (before
        // this server started, or with its own log) must not be lost.
        let path = self.dir.join(STORE_FILE);
        let mut store = self.load_store_file(&path)?;
        let version = store.put(&self.key, name, value, bindings, now)?;
        store.save(&path)?;
        *self
            .store
            .write()
            .map_err(|_| Error::Internal("store lock poisoned"))? = (stamp(&path), Arc::new(store));
        self.access.record(put_event(
            now,
            "http:operator".into(),
            name,
            version,
            &summary,
        ))?;
        Ok(version)
    }

    /// The secrets directory this broker serves (`.zt/secrets`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Verifies the access log against the ledger (see [`audit`]).
    pub fn audit(&self, query: &AccessQuery) -> Result<AuditReport, Error> {
        self.access.audit(query)
    }
}

/// Why an exchange stopped before its outcome: refused (recorded as a denial), or it would
/// have to block and the caller may not.
enum Halt {
    Refused(Error),
    WouldBlock,
}

impl From<Error> for Halt {
    fn from(e: Error) -> Halt {
        Halt::Refused(e)
    }
}

/// How `zt secrets init` sets up the master key.
#[derive(Debug, Clone, Default)]
pub struct InitOptions {
    /// Wrap the master key with this PKCS#11 token key (Ed25519) instead of a key file.
    pub pkcs11: Option<String>,
}

/// What `zt secrets init` created.
#[derive(Debug, Clone, Serialize)]
pub struct InitReport {
    /// The secrets directory.
    pub dir: PathBuf,
    /// The master key file.
    pub master_key: PathBuf,
    /// The master key's id.
    pub key_id: String,
    /// The trust config to edit.
    pub trust: PathBuf,
}

const TRUST_TEMPLATE: &str = r#"# Which OIDC issuers zt's secrets broker trusts (see docs/secrets.md).
# token_lifetime = 600        # seconds a scoped token lives (default 10 minutes)
# max_token_lifetime = 3600   # cap on token_lifetime; never more than 1 hour

# [[issuer]]
# url = "https://token.actions.githubusercontent.com"
# audiences = ["zt"]
# jwks = "github-jwks.json"   # pinned keys (relative to this folder); omit to use discovery
# refresh = 3600              # seconds between discovery refreshes
"#;

/// Creates `.zt/secrets`: master key (file or PKCS#11-wrapped), broker key, empty store, a
/// commented trust config. Refuses if a store exists; leaves nothing behind on failure.
pub fn init(zt_dir: &Path, options: &InitOptions) -> Result<InitReport, Error> {
    let dir = zt_dir.join(SECRETS_DIR);
    if dir.join(STORE_FILE).exists() {
        return Err(Error::AlreadyInitialized(dir));
    }
    // Build everything in a sibling temp folder, then rename it into place.
    fs_err::create_dir_all(zt_dir)?;
    let staging = tempfile::Builder::new()
        .prefix(".secrets-init-")
        .tempdir_in(zt_dir)?;
    let s = staging.path();
    let master = if let Some(uri) = &options.pkcs11 {
        let key = MasterKey::generate(s.join(store::WRAPPED_KEY_FILE))?;
        wrap::wrap(&s.join(store::WRAPPED_KEY_FILE), uri, &key)?;
        key
    } else {
        let key = MasterKey::generate(s.join(store::MASTER_KEY_FILE))?;
        store::write_hex_key(&key.path, key.bytes())?;
        key
    };
    store::write_hex_key(&s.join(token::BROKER_KEY_FILE), &store::random::<32>()?)?;
    zt_core::fsutil::write_atomic(&s.join(trust::TRUST_FILE), TRUST_TEMPLATE.as_bytes())?;
    operator::ensure(s)?;
    Store::new(&master).save(&s.join(STORE_FILE))?;
    if dir.exists() {
        // An empty or partial folder from an earlier failed attempt (no store file).
        fs_err::remove_dir_all(&dir)?;
    }
    let staged = staging.keep();
    fs_err::rename(&staged, &dir)?;
    zt_core::fsutil::sync_dir(zt_dir)?;
    let master_key = dir.join(
        master
            .path
            .file_name()
            .unwrap_or(std::ffi::OsStr::new(store::MASTER_KEY_FILE)),
    );
    Ok(InitReport {
        trust: dir.join(trust::TRUST_FILE),
        dir,
        master_key,
        key_id: master.id().to_string(),
    })
}

/// Stores `value` as the next version of `name`, readable by workloads matching any of
/// `bindings`. Logged (never the value). Returns the version.
///
/// This opens the repository's log, which a running `zt serve` holds: beside a server, put
/// through it instead ([`Broker::put_as_operator`], `zt secrets put --server URL`).
pub fn put(zt_dir: &Path, name: &str, value: &[u8], bindings: Vec<Binding>) -> Result<u32, Error> {
    store::check_name(name)?;
    let dir = secrets_dir(zt_dir)?;
    let (mut store, key) = load_store(&dir)?;
    let now = system_now();
    let summary = bindings_summary(&bindings);
    let version = store.put(&key, name, value, bindings, now)?;
    let access = AccessLog::open(zt_dir, None)?;
    store.save(&dir.join(STORE_FILE))?;
    access.record(put_event(now, operator(), name, version, &summary))?;
    Ok(version)
}

fn bindings_summary(bindings: &[Binding]) -> String {
    bindings
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" | ")
}

fn put_event(now: i64, who: String, name: &str, version: u32, summary: &str) -> Event {
    Event {
        at: now,
        action: "put",
        decision: "allow",
        reason: "ok",
        who,
        secret: Some(name.to_string()),
        detail: Some(format!("version {version}; bindings: {summary}")),
        ..Event::default()
    }
}

/// A secret as `zt secrets list` shows it (no value).
#[derive(Debug, Clone, Serialize)]
pub struct SecretInfo {
    /// The name.
    pub name: String,
    /// The newest version.
    pub version: u32,
    /// When it was written.
    pub updated_at: i64,
    /// Its bindings (`claim=value,…` each).
    pub bindings: Vec<String>,
}

/// Lists the secrets (names, versions, bindings; never values).
pub fn list(zt_dir: &Path) -> Result<Vec<SecretInfo>, Error> {
    let dir = secrets_dir(zt_dir)?;
    let store = Store::load(&dir.join(STORE_FILE))?;
    Ok(store
        .secrets
        .iter()
        .filter_map(|(name, e)| {
            e.latest().map(|v| SecretInfo {
                name: name.clone(),
                version: v.version,
                updated_at: v.created_at,
                bindings: v.bindings.iter().map(ToString::to_string).collect(),
            })
        })
        .collect())
}

/// What a rotation did.
#[derive(Debug, Clone, Serialize)]
pub struct RotateReport {
    /// The old key's id.
    pub old_key_id: String,
    /// The new key's id.
    pub new_key_id: String,
    /// How many versions were re-encrypted.
    pub versions: usize,
}

/// Re-encrypts every version of every secret under a new master key (same kind: file, or
/// wrapped by the same PKCS#11 key). Crash-safe: see [`store`].
pub fn rotate(zt_dir: &Path) -> Result<RotateReport, Error> {
    let dir = secrets_dir(zt_dir)?;
    let (mut store, old) = load_store(&dir)?;
    let access = AccessLog::open(zt_dir, None)?;
    let next = store::next_path(&old.path);
    let new = MasterKey::generate(old.path.clone())?;
    if old.path.extension().is_some_and(|e| e == "p11") {
        wrap::wrap(&next, &wrap::uri_of(&old.path)?, &new)?;
    } else {
        store::write_hex_key(&next, new.bytes())?;
    }
    store.reencrypt(&old, &new)?;
    store.save(&dir.join(STORE_FILE))?;
    fs_err::rename(&next, &old.path)?;
    zt_core::fsutil::sync_dir(&dir)?;
    let versions = store.secrets.values().map(|e| e.versions.len()).sum();
    access.record(Event {
        at: system_now(),
        action: "rotate",
        decision: "allow",
        reason: "ok",
        who: operator(),
        detail: Some(format!(
            "master key {} -> {}; {versions} versions re-encrypted",
            old.id(),
            new.id()
        )),
        ..Event::default()
    })?;
    Ok(RotateReport {
        old_key_id: old.id().to_string(),
        new_key_id: new.id().to_string(),
        versions,
    })
}

/// A local operator's read of a secret (e.g. `zt build --secret NAME`), logged with the
/// stated purpose. Refused (and logged) if the secret does not exist or fails to decrypt.
pub fn read_as_operator(zt_dir: &Path, name: &str, purpose: &str) -> Result<Secret, Error> {
    store::check_name(name)?;
    let dir = secrets_dir(zt_dir)?;
    let (store, key) = load_store(&dir)?;
    let access = AccessLog::open(zt_dir, None)?;
    let result = store.decrypt(&key, name, None).map(|(_, s)| s);
    access.record(Event {
        at: system_now(),
        action: "operator_read",
        decision: if result.is_ok() { "allow" } else { "deny" },
        reason: result.as_ref().err().map_or("ok", Error::reason),
        who: operator(),
        secret: Some(name.to_string()),
        detail: Some(
            purpose
                .chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect(),
        ),
        ..Event::default()
    })?;
    result
}

/// A token id as an access record keeps it: hex digits only, at most 64 (the caller's text is
/// not trusted into the log).
fn recorded_token_id(id: &str) -> String {
    id.chars()
        .filter(char::is_ascii_hexdigit)
        .take(64)
        .collect()
}

#[cfg(test)]
mod tests {
    /// The server shares one broker between request handlers behind an `Arc`.
    #[test]
    fn broker_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<super::Broker>();
        check::<super::Issued>();
        check::<super::Secret>();
    }

    /// `Secret`'s `Debug` never shows the value.
    #[test]
    fn secret_debug_is_redacted() {
        let s = super::Secret::new(b"hunter2".to_vec());
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
    }

    /// Puts through one broker from many threads (the server's handlers) each get their own
    /// version, none lost, and the store on disk holds them all; a wrong operator token
    /// stores nothing and is recorded.
    #[test]
    fn concurrent_operator_puts_lose_no_version() {
        let dir = tempfile::tempdir().unwrap();
        let zt = dir.path().join(".zt");
        super::init(&zt, &super::InitOptions::default()).unwrap();
        let operator = fs_err::read_to_string(zt.join("secrets/operator.token")).unwrap();
        let operator = operator.trim();
        let broker = std::sync::Arc::new(super::Broker::open(&zt).unwrap());
        let bind = || vec![super::Binding::parse("repository=org/app").unwrap()];
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let (broker, operator) = (broker.clone(), operator.to_owned());
                std::thread::spawn(move || {
                    (0..5)
                        .map(|j| {
                            broker
                                .put_as_operator(
                                    Some(&operator),
                                    "shared",
                                    format!("v{i}-{j}").as_bytes(),
                                    bind(),
                                )
                                .unwrap()
                        })
                        .collect::<Vec<u32>>()
                })
            })
            .collect();
        let mut versions: Vec<u32> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        versions.sort_unstable();
        assert_eq!(versions, (1..=40).collect::<Vec<u32>>());
        let listed = super::list(&zt).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].version, 40);
        // A wrong token stores nothing and is recorded.
        let refused = broker.put_as_operator(Some("zto1.nope"), "shared", b"x", bind());
        assert_eq!(refused.unwrap_err().reason(), "bad_operator_token");
        assert_eq!(super::list(&zt).unwrap()[0].version, 40);
        let denials = broker
            .audit(&super::AccessQuery::default())
            .unwrap()
            .records
            .into_iter()
            .filter(|r| r.action == "put" && r.decision == "deny")
            .count();
        assert_eq!(denials, 1);
    }
}
