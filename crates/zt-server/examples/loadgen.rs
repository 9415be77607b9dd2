//! The load generator behind `bench/secrets.sh` (build with `--features loadgen`).
//!
//! ```text
//! loadgen mint  --key issuer.pk8 --kid K --iss URL --aud AUD --claims claims.json --count N \
//!               --tokens tokens.txt --jwks jwks.json
//! loadgen setup --zt DIR/.zt --jwks jwks.json --iss URL --aud AUD --bind 'repository=org/app'
//! loadgen direct --zt DIR/.zt --tokens tokens.txt [--concurrency 64] [--seconds 10]
//! loadgen run   --url http://127.0.0.1:PORT --tokens tokens.txt [--concurrency 64] [--seconds 10]
//!               [--trace trace.txt]
//! loadgen limit --key issuer.pk8 --tokens tokens.txt
//! loadgen get   --url http://127.0.0.1:PORT --paths paths.txt [--concurrency 64] [--seconds 10]
//! ```
//!
//! `get` (behind `bench/tiles.sh`) GETs the paths listed in `paths.txt` round-robin over
//! `--concurrency` keep-alive connections (reconnecting after an HTTP/1.0 reply or
//! `Connection: close`) and prints requests/s and latency; any non-200 is an error.
//!
//! `mint` signs N distinct RS256 OIDC ID tokens (each with its own `jti`, so each can be
//! exchanged once) with an RSA key in PKCS#8 DER, and writes the issuer's JWKS. `run` opens
//! `--concurrency` keep-alive HTTP/1.1 connections and POSTs each token once to
//! `/v1/secrets/exchange`, stopping when the tokens run out or after `--seconds`, then prints
//! exchanges/s, p50/p99/max latency and errors; `--trace` also writes one line per answered
//! exchange, `SENT_US LATENCY_US` (microseconds since the run began, in the order sent), to see
//! whether slow exchanges come together in time (a stall of the server) or alone. `limit` times the bare cryptography of one
//! exchange on this machine: one RS256 verify (ring, as the broker) plus one Ed25519 signature (ed25519-dalek, as the
//! broker's scoped tokens).
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "a benchmark tool: failures abort with a message"
)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::signature::{self, KeyPair as _, RsaKeyPair};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

fn main() {
    let mut args = std::env::args().skip(1);
    let cmd = args.next().unwrap_or_default();
    let flags = parse_flags(args.collect());
    match cmd.as_str() {
        "mint" => mint(&flags),
        "run" => run(&flags),
        "limit" => limit(&flags),
        "setup" => setup(&flags),
        "direct" => direct(&flags),
        "get" => get(&flags),
        _ => {
            eprintln!("usage: loadgen mint|run|limit --flag value …");
            std::process::exit(2);
        }
    }
}

fn parse_flags(args: Vec<String>) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut it = args.into_iter();
    while let Some(k) = it.next() {
        let k = k
            .strip_prefix("--")
            .unwrap_or_else(|| panic!("expected --flag, got {k}"));
        let v = it.next().unwrap_or_else(|| panic!("--{k} needs a value"));
        out.insert(k.to_owned(), v);
    }
    out
}

fn flag<'a>(flags: &'a HashMap<String, String>, k: &str) -> &'a str {
    flags
        .get(k)
        .unwrap_or_else(|| panic!("missing --{k}"))
        .as_str()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}

fn load_key(flags: &HashMap<String, String>) -> RsaKeyPair {
    let der = fs_err::read(flag(flags, "key")).expect("read --key (PKCS#8 DER)");
    RsaKeyPair::from_pkcs8(&der).expect("--key is an RSA private key in PKCS#8 DER")
}

fn mint(flags: &HashMap<String, String>) {
    let key = Arc::new(load_key(flags));
    let kid = flag(flags, "kid").to_owned();
    let count: usize = flag(flags, "count").parse().expect("--count N");
    let claims: serde_json::Value =
        serde_json::from_slice(&fs_err::read(flag(flags, "claims")).expect("read --claims"))
            .expect("--claims is JSON");
    let mut base = claims.as_object().expect("--claims is an object").clone();
    base.insert("iss".into(), flag(flags, "iss").into());
    base.insert("aud".into(), flag(flags, "aud").into());
    let t = now();
    base.insert("iat".into(), t.into());
    base.insert("nbf".into(), (t - 5).into());
    base.insert("exp".into(), (t + 3600).into());
    let header = B64.encode(
        serde_json::to_vec(&serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": kid})).unwrap(),
    );
    let base = Arc::new(base);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let start = Instant::now();
    let chunks: Vec<Vec<String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (key, base, header) = (key.clone(), base.clone(), header.clone());
                s.spawn(move || {
                    let rng = ring::rand::SystemRandom::new();
                    let mut out = Vec::new();
                    for i in (t..count).step_by(threads) {
                        let mut c = (*base).clone();
                        c.insert(
                            "jti".into(),
                            format!("bench-{t0}-{i}", t0 = base["iat"]).into(),
                        );
                        let payload = B64.encode(serde_json::to_vec(&c).unwrap());
                        let input = format!("{header}.{payload}");
                        let mut sig = vec![0; key.public().modulus_len()];
                        key.sign(
                            &signature::RSA_PKCS1_SHA256,
                            &rng,
                            input.as_bytes(),
                            &mut sig,
                        )
                        .unwrap();
                        out.push(format!("{input}.{}", B64.encode(&sig)));
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let tokens: Vec<String> = chunks.into_iter().flatten().collect();
    fs_err::write(flag(flags, "tokens"), tokens.join("\n") + "\n").expect("write --tokens");
    let public: signature::RsaPublicKeyComponents<Vec<u8>> = key.public().into();
    let jwks = serde_json::json!({"keys": [{
        "kty": "RSA", "alg": "RS256", "use": "sig", "kid": flag(flags, "kid"),
        "n": B64.encode(&public.n),
        "e": B64.encode(&public.e),
    }]});
    fs_err::write(
        flag(flags, "jwks"),
        serde_json::to_vec_pretty(&jwks).unwrap(),
    )
    .expect("write --jwks");
    eprintln!(
        "minted {} RS256 tokens in {:.1}s",
        tokens.len(),
        start.elapsed().as_secs_f64()
    );
}

/// A fresh secrets store trusting the issuer (JWKS pinned from a file) with one secret bound
/// to `--bind`.
fn setup(flags: &HashMap<String, String>) {
    let zt = std::path::Path::new(flag(flags, "zt"));
    zt_secrets::init(zt, &zt_secrets::InitOptions::default()).expect("init the secrets store");
    let dir = zt.join(zt_secrets::SECRETS_DIR);
    fs_err::copy(flag(flags, "jwks"), dir.join("issuer-jwks.json")).expect("copy --jwks");
    fs_err::write(
        dir.join("trust.toml"),
        format!(
            "[[issuer]]\nurl = \"{}\"\naudiences = [\"{}\"]\njwks = \"issuer-jwks.json\"\n",
            flag(flags, "iss"),
            flag(flags, "aud")
        ),
    )
    .expect("write trust.toml");
    let binding = zt_secrets::Binding::parse(flag(flags, "bind")).expect("--bind");
    zt_secrets::put(zt, "bench_secret", b"bench-value", vec![binding]).expect("put");
}

/// The broker alone, no HTTP: `--concurrency` threads calling `Broker::exchange` back to back.
/// Tells the server's overhead from the broker's.
fn direct(flags: &HashMap<String, String>) {
    let broker = Arc::new(
        zt_secrets::Broker::open(std::path::Path::new(flag(flags, "zt"))).expect("open broker"),
    );
    let concurrency: usize = flags.get("concurrency").map_or(64, |c| c.parse().unwrap());
    let seconds: f64 = flags.get("seconds").map_or(10.0, |s| s.parse().unwrap());
    let tokens = Arc::new(read_tokens(flags));
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let mut lat: Vec<u32> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..concurrency)
            .map(|_| {
                let (broker, tokens, next) = (broker.clone(), tokens.clone(), next.clone());
                s.spawn(move || {
                    let mut lat = Vec::new();
                    while Instant::now() < deadline {
                        let Some(t) = tokens.get(next.fetch_add(1, Ordering::Relaxed)) else {
                            break;
                        };
                        let t0 = Instant::now();
                        broker.exchange(t.as_bytes()).expect("exchange");
                        lat.push(u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX));
                    }
                    lat
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let elapsed = start.elapsed().as_secs_f64();
    lat.sort_unstable();
    let p = |q: f64| {
        f64::from(lat[((lat.len() as f64 * q).ceil() as usize).clamp(1, lat.len()) - 1]) / 1e3
    };
    println!(
        "broker alone ({concurrency} threads, no HTTP): {} exchanges in {elapsed:.2}s = {:.0}/s; p50 {:.2} ms, p99 {:.2} ms",
        lat.len(),
        lat.len() as f64 / elapsed,
        p(0.5),
        p(0.99)
    );
}

fn read_tokens(flags: &HashMap<String, String>) -> Vec<String> {
    fs_err::read_to_string(flag(flags, "tokens"))
        .expect("read --tokens")
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// One RS256 verify + one Ed25519 sign, timed over many rounds: the cryptographic floor of an
/// exchange on one core.
fn limit(flags: &HashMap<String, String>) {
    let key = load_key(flags);
    let tokens = read_tokens(flags);
    let public = signature::UnparsedPublicKey::new(
        &signature::RSA_PKCS1_2048_8192_SHA256,
        key.public_key().as_ref().to_vec(),
    );
    let parsed: Vec<(Vec<u8>, Vec<u8>)> = tokens
        .iter()
        .take(2000)
        .map(|t| {
            let (input, sig) = t.rsplit_once('.').unwrap();
            (input.as_bytes().to_vec(), B64.decode(sig).unwrap())
        })
        .collect();
    let rounds = 4000;
    let start = Instant::now();
    for i in 0..rounds {
        let (input, sig) = &parsed[i % parsed.len()];
        public.verify(input, sig).unwrap();
    }
    let verify_us = start.elapsed().as_secs_f64() * 1e6 / rounds as f64;
    // The broker signs scoped tokens with ed25519-dalek over a ~400-byte payload.
    let ed = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let msg = [0u8; 400];
    let start = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(ed25519_dalek::Signer::sign(&ed, std::hint::black_box(&msg)));
    }
    let sign_us = start.elapsed().as_secs_f64() * 1e6 / rounds as f64;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_core = 1e6 / (verify_us + sign_us);
    println!(
        "limit: RS256 verify {verify_us:.1} µs + Ed25519 sign {sign_us:.1} µs = {:.1} µs per exchange \
         -> {per_core:.0}/s per core, {:.0}/s on {cores} cores (crypto only)",
        verify_us + sign_us,
        per_core * cores as f64
    );
}

fn run(flags: &HashMap<String, String>) {
    let url = flag(flags, "url");
    let addr = url
        .strip_prefix("http://")
        .expect("--url http://HOST:PORT")
        .trim_end_matches('/')
        .to_owned();
    let concurrency: usize = flags.get("concurrency").map_or(64, |c| c.parse().unwrap());
    let seconds: f64 = flags.get("seconds").map_or(10.0, |s| s.parse().unwrap());
    let tokens = Arc::new(read_tokens(flags));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let results: Vec<Outcome> = runtime.block_on(async {
        let tasks: Vec<_> = (0..concurrency)
            .map(|_| {
                let (tokens, next, addr) = (tokens.clone(), next.clone(), addr.clone());
                tokio::spawn(client(addr, tokens, next, start, deadline))
            })
            .collect();
        let mut all = Outcome::default();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        for o in &out {
            all.latencies_us.extend_from_slice(&o.latencies_us);
            all.sent_us.extend_from_slice(&o.sent_us);
            all.errors += o.errors;
            for (k, v) in &o.statuses {
                *all.statuses.entry(*k).or_default() += v;
            }
        }
        vec![all]
    });
    let elapsed = start.elapsed().as_secs_f64();
    let mut r = results.into_iter().next().unwrap();
    if let Some(path) = flags.get("trace") {
        let mut trace: Vec<(u32, u32)> = r
            .sent_us
            .iter()
            .copied()
            .zip(r.latencies_us.iter().copied())
            .collect();
        trace.sort_unstable();
        let text: String = trace.iter().map(|(s, l)| format!("{s} {l}\n")).collect();
        fs_err::write(path, text).unwrap();
    }
    r.latencies_us.sort_unstable();
    let ok = r.statuses.get(&200).copied().unwrap_or(0);
    let pct = |p: f64| -> f64 {
        if r.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((r.latencies_us.len() as f64 * p).ceil() as usize).clamp(1, r.latencies_us.len());
        f64::from(r.latencies_us[i - 1]) / 1e3
    };
    let non_200: usize = r
        .statuses
        .iter()
        .filter(|(k, _)| **k != 200)
        .map(|(_, v)| v)
        .sum();
    let mut statuses: Vec<_> = r.statuses.iter().collect();
    statuses.sort();
    println!(
        "exchanges: {ok} ok in {elapsed:.2}s = {:.0}/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; \
         errors: {} (non-200 {non_200}, transport {}); concurrency {concurrency}; statuses {statuses:?}",
        ok as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        pct(1.0),
        non_200 + r.errors,
        r.errors,
    );
    // The target is zero errors: a refused exchange or a broken connection fails the run
    // (and `bench/secrets.sh` with it), after the figures are printed.
    if non_200 > 0 || r.errors > 0 || ok == 0 {
        std::process::exit(1);
    }
}

#[derive(Default)]
struct Outcome {
    latencies_us: Vec<u32>,
    /// When each answered request was sent, in microseconds since the run began (`--trace`).
    sent_us: Vec<u32>,
    statuses: HashMap<u16, usize>,
    errors: usize,
}

/// One keep-alive connection sending exchanges back to back.
async fn client(
    addr: String,
    tokens: Arc<Vec<String>>,
    next: Arc<AtomicUsize>,
    start: Instant,
    deadline: Instant,
) -> Outcome {
    let mut out = Outcome::default();
    let mut conn: Option<TcpStream> = None;
    let mut buf = Vec::with_capacity(4096);
    loop {
        if Instant::now() >= deadline {
            break;
        }
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(token) = tokens.get(i) else { break };
        let request = format!(
            "POST /v1/secrets/exchange HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/jwt\r\n\
             Content-Length: {}\r\n\r\n{token}",
            token.len()
        );
        let sent = Instant::now();
        if conn.is_none() {
            match TcpStream::connect(&addr).await {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    conn = Some(s);
                }
                Err(_) => {
                    out.errors += 1;
                    continue;
                }
            }
        }
        let stream = conn.as_mut().unwrap();
        match exchange_once(stream, request.as_bytes(), &mut buf).await {
            Ok((status, keep_alive)) => {
                let us = u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX);
                out.latencies_us.push(us);
                out.sent_us.push(
                    u32::try_from(sent.duration_since(start).as_micros()).unwrap_or(u32::MAX),
                );
                *out.statuses.entry(status).or_default() += 1;
                if !keep_alive {
                    conn = None;
                }
            }
            Err(_) => {
                out.errors += 1;
                conn = None;
            }
        }
    }
    out
}

fn get(flags: &HashMap<String, String>) {
    let url = flag(flags, "url");
    let addr = url
        .strip_prefix("http://")
        .expect("--url http://HOST:PORT")
        .trim_end_matches('/')
        .to_owned();
    let concurrency: usize = flags.get("concurrency").map_or(64, |c| c.parse().unwrap());
    let seconds: f64 = flags.get("seconds").map_or(10.0, |s| s.parse().unwrap());
    let paths: Vec<String> = fs_err::read_to_string(flag(flags, "paths"))
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    assert!(!paths.is_empty(), "no paths");
    let paths = Arc::new(paths);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let mut all = runtime.block_on(async {
        let tasks: Vec<_> = (0..concurrency)
            .map(|_| {
                let (paths, next, addr) = (paths.clone(), next.clone(), addr.clone());
                tokio::spawn(async move {
                    let mut out = Outcome::default();
                    let mut conn: Option<TcpStream> = None;
                    let mut buf = Vec::with_capacity(16384);
                    while Instant::now() < deadline {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let path = &paths[i % paths.len()];
                        let request = format!("GET /{path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
                        let sent = Instant::now();
                        if conn.is_none() {
                            match TcpStream::connect(&addr).await {
                                Ok(s) => {
                                    let _ = s.set_nodelay(true);
                                    conn = Some(s);
                                }
                                Err(_) => {
                                    out.errors += 1;
                                    continue;
                                }
                            }
                        }
                        let stream = conn.as_mut().unwrap();
                        match exchange_once(stream, request.as_bytes(), &mut buf).await {
                            Ok((status, keep_alive)) => {
                                let us =
                                    u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX);
                                out.latencies_us.push(us);
                                *out.statuses.entry(status).or_default() += 1;
                                if !keep_alive {
                                    conn = None;
                                }
                            }
                            Err(_) => {
                                out.errors += 1;
                                conn = None;
                            }
                        }
                    }
                    out
                })
            })
            .collect();
        let mut all = Outcome::default();
        for t in tasks {
            let o = t.await.unwrap();
            all.latencies_us.extend_from_slice(&o.latencies_us);
            all.errors += o.errors;
            for (k, v) in o.statuses {
                *all.statuses.entry(k).or_default() += v;
            }
        }
        all
    });
    let elapsed = start.elapsed().as_secs_f64();
    all.latencies_us.sort_unstable();
    let ok = all.statuses.get(&200).copied().unwrap_or(0);
    let non_200: usize = all
        .statuses
        .iter()
        .filter(|(k, _)| **k != 200)
        .map(|(_, v)| v)
        .sum();
    let pct = |p: f64| -> f64 {
        if all.latencies_us.is_empty() {
            return 0.0;
        }
        let i =
            ((all.latencies_us.len() as f64 * p).ceil() as usize).clamp(1, all.latencies_us.len());
        f64::from(all.latencies_us[i - 1]) / 1e3
    };
    println!(
        "requests: {ok} ok in {elapsed:.2}s = {:.0}/s; latency p50 {:.2} ms, p99 {:.2} ms; errors {} (non-200 {non_200}, transport {})",
        ok as f64 / elapsed,
        pct(0.5),
        pct(0.99),
        non_200 + all.errors,
        all.errors
    );
    // A wrong reply is a failure; a reset connection (a peer's small listen backlog) is
    // reported above and retried.
    if non_200 > 0 || ok == 0 {
        std::process::exit(1);
    }
}

/// Writes one request and reads one response; returns its status and whether the connection
/// stays open.
async fn exchange_once(
    stream: &mut TcpStream,
    request: &[u8],
    buf: &mut Vec<u8>,
) -> std::io::Result<(u16, bool)> {
    stream.write_all(request).await?;
    buf.clear();
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head =
        std::str::from_utf8(&buf[..head_end]).map_err(|_| std::io::ErrorKind::InvalidData)?;
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or(std::io::ErrorKind::InvalidData)?;
    let mut length = 0usize;
    // HTTP/1.0 closes after each reply unless it says otherwise.
    let mut keep_alive = !head.starts_with("HTTP/1.0");
    for line in head.split("\r\n").skip(1) {
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v
                    .trim()
                    .parse()
                    .map_err(|_| std::io::ErrorKind::InvalidData)?;
            } else if k.eq_ignore_ascii_case("connection") && v.trim().eq_ignore_ascii_case("close")
            {
                keep_alive = false;
            }
        }
    }
    while buf.len() < head_end + length {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok((status, keep_alive))
}
