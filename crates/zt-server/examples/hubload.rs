//! The load generator behind `bench/server.sh`: drives the evidence API of a running
//! `zt serve` over keep-alive HTTP/1.1 from N client threads and prints requests/s and
//! latency percentiles. Every reply's status is checked: a run with errors says so and exits 1.
//!
//! ```text
//! hubload decide --url URL --token T --digests FILE [--stage deploy] [--concurrency 64] [--seconds 10]
//! hubload trace  --url URL --token T --digests FILE [--concurrency 64] [--seconds 10]
//! hubload upload --url URL --token T --bundles DIR  [--concurrency 64]
//! hubload get    --url URL --paths FILE [--concurrency 64] [--seconds 10]   (no token: the registries)
//! ```
// A bench tool: a failed setup is a failed run, and it reports on stdout and stderr.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().cloned().expect("mode: decide|trace|upload");
    let url = arg(&args, "--url").expect("--url");
    let token = arg(&args, "--token").unwrap_or_default();
    let concurrency: usize = arg(&args, "--concurrency").map_or(64, |s| s.parse().unwrap());
    let seconds: u64 = arg(&args, "--seconds").map_or(10, |s| s.parse().unwrap());
    let stage = arg(&args, "--stage").unwrap_or_else(|| "deploy".into());

    // Each request: (method, path, body).
    let work: Vec<(bool, String, Vec<u8>)> = match mode.as_str() {
        "decide" | "trace" => {
            let digests =
                fs_err::read_to_string(arg(&args, "--digests").expect("--digests")).unwrap();
            digests
                .lines()
                .filter(|l| !l.is_empty())
                .map(|d| {
                    if mode == "decide" {
                        (
                            true,
                            "/api/v1/decide".to_owned(),
                            format!(r#"{{"digest":"{d}","stage":"{stage}"}}"#).into_bytes(),
                        )
                    } else {
                        (false, format!("/api/v1/trace/{d}"), Vec::new())
                    }
                })
                .collect()
        }
        "upload" => {
            let dir = PathBuf::from(arg(&args, "--bundles").expect("--bundles"));
            let mut files: Vec<PathBuf> = fs_err::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            files
                .into_iter()
                .map(|f| (true, "/api/v1/bundles".to_owned(), fs_err::read(f).unwrap()))
                .collect()
        }
        "get" => fs_err::read_to_string(arg(&args, "--paths").expect("--paths"))
            .unwrap()
            .lines()
            .filter(|l| !l.is_empty())
            .map(|p| (false, p.to_owned(), Vec::new()))
            .collect(),
        other => panic!("unknown mode {other}"),
    };
    assert!(!work.is_empty(), "nothing to send");
    let work = Arc::new(work);
    // Uploads go through the list once; queries cycle until the time is up.
    let once = mode == "upload";
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..concurrency {
        let (work, next, errors, stop) = (work.clone(), next.clone(), errors.clone(), stop.clone());
        let (url, token) = (url.clone(), token.clone());
        handles.push(std::thread::spawn(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into();
            let mut lat = Vec::new();
            loop {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if once && i >= work.len() {
                    break;
                }
                let (post, path, body) = &work[i % work.len()];
                let t = Instant::now();
                let full = format!("{url}{path}");
                let reply = if *post {
                    agent
                        .post(&full)
                        .header("authorization", &format!("Bearer {token}"))
                        .header("content-type", "application/json")
                        .send(&body[..])
                } else if token.is_empty() {
                    agent.get(&full).call()
                } else {
                    agent
                        .get(&full)
                        .header("authorization", &format!("Bearer {token}"))
                        .call()
                };
                match reply {
                    Ok(mut r) => {
                        let ok = r.status().is_success();
                        let _ = r.body_mut().read_to_vec();
                        if !ok && errors.fetch_add(1, Ordering::Relaxed) < 3 {
                            eprintln!("{} {path}", r.status());
                        }
                    }
                    Err(e) => {
                        if errors.fetch_add(1, Ordering::Relaxed) < 3 {
                            eprintln!("{e}");
                        }
                    }
                }
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    if !once {
        std::thread::sleep(Duration::from_secs(seconds));
        stop.store(true, Ordering::Relaxed);
    }
    let mut all: Vec<Duration> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let elapsed = start.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    let errors = errors.load(Ordering::Relaxed);
    println!(
        "{mode}: {} requests in {elapsed:.2}s = {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, errors {errors}",
        all.len(),
        all.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        pct(1.0),
    );
    if errors > 0 {
        std::process::exit(1);
    }
}
