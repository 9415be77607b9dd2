//! Notifications: events (a denial with its fix, a new critical vulnerability, an alert, an
//! incident record) go to the `[[notify]]` routes of `zt.toml`.
//!
//! Nothing that makes an event waits for a receiver: [`enqueue`] writes the event to the spool
//! (`.zt/notify/spool/`, one file per event, written atomically) and returns. [`drain`] — run
//! by `zt watch`, `zt incident` and `zt metrics` after their work, never by the pipeline —
//! delivers what is due, each request bounded by [`REQUEST_TIMEOUT`] and the whole drain by a
//! time budget. A failed delivery is retried later with exponential backoff (30 s, 1 min,
//! 2 min, … capped at 1 h); after [`MAX_ATTEMPTS`] the event moves to `.zt/notify/dead/`.
//! Each route's state is kept in the event's spool file, so a route that succeeded is not
//! sent the event again when another one is retried.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use zt_core::config::NotifyRoute;

use crate::Error;

/// One request's timeout.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);
/// Attempts per route before the event is given up (moved to `dead/`).
pub const MAX_ATTEMPTS: u32 = 8;
/// The event kinds.
pub const EVENTS: &[&str] = &["denial", "vulnerability", "alert", "incident"];

/// A route, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// POST the event's JSON.
    Webhook {
        /// Where.
        url: String,
        /// Which events (empty: all).
        events: Vec<String>,
    },
    /// POST a Slack-compatible payload (`text` and `blocks`).
    Slack {
        /// Where.
        url: String,
        /// Which events (empty: all).
        events: Vec<String>,
    },
    /// Run a command with the event's JSON on its stdin (`ZT_EVENT` names its kind).
    Command {
        /// The program and its arguments.
        argv: Vec<String>,
        /// Which events (empty: all).
        events: Vec<String>,
    },
}

impl Route {
    fn events(&self) -> &[String] {
        match self {
            Route::Webhook { events, .. }
            | Route::Slack { events, .. }
            | Route::Command { events, .. } => events,
        }
    }

    fn wants(&self, event: &str) -> bool {
        self.events().is_empty() || self.events().iter().any(|e| e == event)
    }
}

/// Checks the `[[notify]]` routes of `zt.toml`.
pub fn routes(config: &[NotifyRoute]) -> Result<Vec<Route>, Error> {
    config
        .iter()
        .enumerate()
        .map(|(index, r)| {
            let bad = |problem: String| Error::NotifyConfig { index, problem };
            if let Some(e) = r.events.iter().find(|e| !EVENTS.contains(&e.as_str())) {
                return Err(bad(format!(
                    "unknown event `{e}` (known: {})",
                    EVENTS.join(", ")
                )));
            }
            let url = || -> Result<String, Error> {
                let u = r.url.clone().ok_or_else(|| bad("no `url`".into()))?;
                if !(u.starts_with("https://") || u.starts_with("http://")) {
                    return Err(bad(format!("`{u}` is not an http(s) URL")));
                }
                Ok(u)
            };
            let events = r.events.clone();
            match r.kind.as_str() {
                "webhook" => Ok(Route::Webhook {
                    url: url()?,
                    events,
                }),
                "slack" => Ok(Route::Slack {
                    url: url()?,
                    events,
                }),
                "command" if !r.command.is_empty() => Ok(Route::Command {
                    argv: r.command.clone(),
                    events,
                }),
                "command" => Err(bad("no `command`".into())),
                k => Err(bad(format!(
                    "unknown kind `{k}` (webhook, slack or command)"
                ))),
            }
        })
        .collect()
}

/// An event to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// One of [`EVENTS`].
    pub kind: &'static str,
    /// One line.
    pub summary: String,
    /// What to do about it, if anything.
    pub fix: Option<String>,
    /// The details (the alert, the incident report, the denial…).
    pub details: Value,
    /// When (Unix seconds).
    pub at: i64,
}

impl Event {
    /// The event as JSON (the generic webhook's body).
    pub fn to_json(&self) -> Value {
        json!({
            "event": self.kind,
            "summary": self.summary,
            "fix": self.fix,
            "at": zt_core::time::rfc3339(self.at),
            "details": self.details,
        })
    }
}

/// The Slack-compatible payload of an event (incoming webhooks take `text`, and `blocks`).
pub fn slack_payload(event: &Value) -> Value {
    let kind = event
        .get("event")
        .and_then(Value::as_str)
        .unwrap_or("event");
    let summary = event.get("summary").and_then(Value::as_str).unwrap_or("");
    let mut text = format!("*zt {kind}*: {summary}");
    if let Some(fix) = event.get("fix").and_then(Value::as_str) {
        text.push_str(&format!("\nfix: {fix}"));
    }
    json!({
        "text": format!("zt {kind}: {summary}"),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    })
}

/// The spool of a repository.
pub fn spool_dir(root: &Path) -> PathBuf {
    root.join(".zt/notify/spool")
}

/// Writes `event` to the spool of `root` (atomically) for the next [`drain`]. Does nothing
/// when no route wants it, or when the same event was spooled before (`.zt/notify/seen/`
/// keeps one empty file per event id: `zt watch` run twice notifies an alert once).
pub fn enqueue(root: &Path, routes: &[Route], event: &Event) -> Result<Option<PathBuf>, Error> {
    let wanted: Vec<usize> = (0..routes.len())
        .filter(|&i| routes.get(i).is_some_and(|r| r.wants(event.kind)))
        .collect();
    if wanted.is_empty() {
        return Ok(None);
    }
    let body = event.to_json();
    let id = zt_core::Digest::sha256(body.to_string().as_bytes()).hex();
    let name = format!(
        "{:020}-{}.json",
        event.at.max(0),
        id.get(..16).unwrap_or(&id)
    );
    let seen = root.join(".zt/notify/seen").join(&id);
    if seen.exists() {
        return Ok(None);
    }
    let dir = spool_dir(root);
    fs_err::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let state: serde_json::Map<String, Value> = wanted
        .iter()
        .map(|i| {
            (
                i.to_string(),
                json!({"attempts": 0, "next": 0, "done": false}),
            )
        })
        .collect();
    let path = dir.join(name);
    let file = json!({"event": body, "routes": state});
    zt_core::fsutil::write_atomic(&path, file.to_string().as_bytes())
        .map_err(|e| Error::io(&path, e))?;
    zt_core::fsutil::write_atomic(&seen, b"").map_err(|e| Error::io(&seen, e))?;
    Ok(Some(path))
}

/// What a drain did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Drained {
    /// Deliveries that succeeded.
    pub delivered: usize,
    /// Deliveries that failed and will be retried.
    pub retrying: usize,
    /// Events given up (moved to `dead/`).
    pub dead: usize,
    /// Events still in the spool.
    pub pending: usize,
    /// The failures, in words.
    pub errors: Vec<String>,
}

/// The backoff after `attempts` failures: 30 s doubled each time, at most an hour.
pub fn backoff(attempts: u32) -> i64 {
    (30i64 << attempts.min(7).saturating_sub(1)).min(3600)
}

/// Delivers what is due in the spool of `root` at `now`, for at most `budget`.
pub fn drain(root: &Path, routes: &[Route], now: i64, budget: Duration) -> Result<Drained, Error> {
    let started = Instant::now();
    let dir = spool_dir(root);
    let mut out = Drained::default();
    let mut files: Vec<PathBuf> = match fs_err::read_dir(&dir) {
        Ok(rd) => rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io(&dir, e)),
    };
    files.sort();
    for path in files {
        if started.elapsed() >= budget {
            out.pending += 1;
            continue;
        }
        let text = fs_err::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let Ok(mut file) = serde_json::from_str::<Value>(&text) else {
            // Not ours (or damaged): moved aside, never deleted.
            move_to(root, &path, "dead")?;
            out.dead += 1;
            out.errors.push(format!(
                "{}: not valid JSON, moved to dead/",
                path.display()
            ));
            continue;
        };
        let event = file.get("event").cloned().unwrap_or(Value::Null);
        let mut all_done = true;
        let mut given_up = false;
        if let Some(states) = file.get_mut("routes").and_then(Value::as_object_mut) {
            for (i, st) in states.iter_mut() {
                if st.get("done").and_then(Value::as_bool) == Some(true) {
                    continue;
                }
                let next = st.get("next").and_then(Value::as_i64).unwrap_or(0);
                let attempts = st.get("attempts").and_then(Value::as_u64).unwrap_or(0) as u32;
                let route = i.parse::<usize>().ok().and_then(|i| routes.get(i));
                let Some(route) = route else {
                    // The route is gone from zt.toml: nothing to deliver to.
                    st["done"] = json!(true);
                    continue;
                };
                if next > now || started.elapsed() >= budget {
                    all_done = false;
                    continue;
                }
                match deliver(route, &event) {
                    Ok(()) => {
                        st["done"] = json!(true);
                        out.delivered += 1;
                    }
                    Err(e) => {
                        let attempts = attempts + 1;
                        st["attempts"] = json!(attempts);
                        st["next"] = json!(now + backoff(attempts));
                        st["lastError"] = json!(e);
                        out.errors.push(format!("route {i}: {e}"));
                        if attempts >= MAX_ATTEMPTS {
                            given_up = true;
                        } else {
                            out.retrying += 1;
                            all_done = false;
                        }
                    }
                }
            }
        }
        if given_up {
            zt_core::fsutil::write_atomic(&path, file.to_string().as_bytes())
                .map_err(|e| Error::io(&path, e))?;
            move_to(root, &path, "dead")?;
            out.dead += 1;
        } else if all_done {
            fs_err::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        } else {
            zt_core::fsutil::write_atomic(&path, file.to_string().as_bytes())
                .map_err(|e| Error::io(&path, e))?;
            out.pending += 1;
        }
    }
    Ok(out)
}

fn move_to(root: &Path, path: &Path, sub: &str) -> Result<(), Error> {
    let dir = root.join(".zt/notify").join(sub);
    fs_err::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let to = dir.join(path.file_name().unwrap_or_default());
    fs_err::rename(path, &to).map_err(|e| Error::io(path, e))
}

fn deliver(route: &Route, event: &Value) -> Result<(), String> {
    match route {
        Route::Webhook { url, .. } => post(url, event),
        Route::Slack { url, .. } => post(url, &slack_payload(event)),
        Route::Command { argv, .. } => {
            use std::io::Write as _;
            let (program, args) = argv.split_first().ok_or("empty command")?;
            let mut child = std::process::Command::new(program)
                .args(args)
                .env(
                    "ZT_EVENT",
                    event.get("event").and_then(Value::as_str).unwrap_or(""),
                )
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .map_err(|e| format!("`{program}`: {e}"))?;
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(event.to_string().as_bytes());
            }
            // Bounded like a request: a command that hangs is killed.
            let deadline = Instant::now() + REQUEST_TIMEOUT;
            loop {
                match child.try_wait() {
                    Ok(Some(s)) if s.success() => return Ok(()),
                    Ok(Some(s)) => return Err(format!("`{program}` exited with {s}")),
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    _ => {
                        let _ = child.kill();
                        let _ = child.wait();
                        return Err(format!(
                            "`{program}` did not finish within {REQUEST_TIMEOUT:?}"
                        ));
                    }
                }
            }
        }
    }
}

fn post(url: &str, body: &Value) -> Result<(), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(REQUEST_TIMEOUT))
        .max_redirects(0)
        .http_status_as_error(true)
        .build()
        .into();
    agent
        .post(url)
        .header("content-type", "application/json")
        .header("user-agent", "zt-notify")
        .send(body.to_string().as_bytes())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    /// A local HTTP receiver: answers the first `fail` requests with 503, then 200; keeps the
    /// bodies.
    /// The requests a receiver got: (request line, body).
    type Received = Arc<Mutex<Vec<(String, String)>>>;

    fn receiver(fail: usize) -> (String, Received) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", l.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let g = got.clone();
        std::thread::spawn(move || {
            for (n, conn) in l.incoming().enumerate() {
                let Ok(mut s) = conn else { continue };
                let mut r = BufReader::new(s.try_clone().unwrap());
                let mut line = String::new();
                r.read_line(&mut line).unwrap();
                let mut len = 0;
                loop {
                    let mut h = String::new();
                    r.read_line(&mut h).unwrap();
                    if h == "\r\n" || h.is_empty() {
                        break;
                    }
                    if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0; len];
                r.read_exact(&mut body).unwrap();
                g.lock()
                    .unwrap()
                    .push((line.trim().to_owned(), String::from_utf8(body).unwrap()));
                let status = if n < fail {
                    "503 Service Unavailable"
                } else {
                    "200 OK"
                };
                let _ = write!(
                    s,
                    "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
            }
        });
        (url, got)
    }

    fn event(at: i64) -> Event {
        Event {
            kind: "alert",
            summary: "network-attempt in r :: make".into(),
            fix: Some("look at build b1".into()),
            details: json!({"build": "b1"}),
            at,
        }
    }

    #[test]
    fn routes_are_checked_with_their_index() {
        let r = |kind: &str, url: Option<&str>| NotifyRoute {
            kind: kind.into(),
            url: url.map(str::to_owned),
            command: Vec::new(),
            events: Vec::new(),
        };
        assert!(routes(&[r("webhook", Some("https://h/x"))]).is_ok());
        let e = routes(&[r("webhook", Some("https://h/x")), r("email", None)]).unwrap_err();
        assert!(e.to_string().contains("route 1"), "{e}");
        assert!(routes(&[r("slack", Some("ftp://h"))]).is_err());
        assert!(routes(&[r("command", None)]).is_err());
        let mut bad = r("webhook", Some("https://h"));
        bad.events = vec!["everything".into()];
        assert!(routes(&[bad]).is_err());
    }

    #[test]
    fn delivery_is_retried_with_backoff_and_never_sent_twice() {
        let dir = tempfile::tempdir().unwrap();
        let (url, got) = receiver(1);
        let (slack_url, slack_got) = receiver(0);
        let routes = vec![
            Route::Webhook {
                url,
                events: Vec::new(),
            },
            Route::Slack {
                url: slack_url,
                events: vec!["alert".into()],
            },
            Route::Webhook {
                url: "http://127.0.0.1:9/never".into(),
                events: vec!["incident".into()],
            },
        ];
        enqueue(dir.path(), &routes, &event(1000)).unwrap().unwrap();
        // The same event again: spooled once.
        assert!(
            enqueue(dir.path(), &routes, &event(1000))
                .unwrap()
                .is_none()
        );
        // First drain: the webhook answers 503, Slack takes it.
        let d = drain(dir.path(), &routes, 1000, Duration::from_secs(10)).unwrap();
        assert_eq!((d.delivered, d.retrying, d.pending), (1, 1, 1), "{d:?}");
        // Not due yet: nothing is sent.
        let d = drain(dir.path(), &routes, 1010, Duration::from_secs(10)).unwrap();
        assert_eq!((d.delivered, d.retrying, d.pending), (0, 0, 1), "{d:?}");
        // Due: the webhook takes it; the spool is empty; Slack was not sent it again.
        let d = drain(
            dir.path(),
            &routes,
            1000 + backoff(1),
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!((d.delivered, d.pending), (1, 0), "{d:?}");
        let bodies = got.lock().unwrap().clone();
        assert_eq!(bodies.len(), 2);
        assert!(bodies[0].0.starts_with("POST /hook"));
        let v: Value = serde_json::from_str(&bodies[1].1).unwrap();
        assert_eq!(v["event"], "alert");
        assert_eq!(v["fix"], "look at build b1");
        let slack = slack_got.lock().unwrap().clone();
        assert_eq!(slack.len(), 1);
        let s: Value = serde_json::from_str(&slack[0].1).unwrap();
        assert!(s["text"].as_str().unwrap().starts_with("zt alert:"));
        assert_eq!(s["blocks"][0]["type"], "section");
        assert_eq!(fs_err::read_dir(spool_dir(dir.path())).unwrap().count(), 0);
    }

    #[test]
    fn an_unreachable_receiver_never_blocks_past_the_budget_and_ends_in_dead() {
        let dir = tempfile::tempdir().unwrap();
        let routes = vec![Route::Webhook {
            url: "http://127.0.0.1:9/closed".into(),
            events: Vec::new(),
        }];
        enqueue(dir.path(), &routes, &event(0)).unwrap();
        let mut now = 0;
        for _ in 0..MAX_ATTEMPTS {
            drain(dir.path(), &routes, now, Duration::from_secs(10)).unwrap();
            now += 3600;
        }
        assert_eq!(fs_err::read_dir(spool_dir(dir.path())).unwrap().count(), 0);
        assert_eq!(
            fs_err::read_dir(dir.path().join(".zt/notify/dead"))
                .unwrap()
                .count(),
            1
        );
        // A zero budget sends nothing and keeps the event.
        enqueue(dir.path(), &routes, &event(1)).unwrap();
        let d = drain(dir.path(), &routes, 1, Duration::ZERO).unwrap();
        assert_eq!((d.delivered, d.pending), (0, 1));
    }

    #[test]
    fn a_command_route_gets_the_event_on_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("got.json");
        let routes = vec![Route::Command {
            argv: vec![
                "sh".into(),
                "-c".into(),
                format!("cat > {}; test \"$ZT_EVENT\" = alert", out.display()),
            ],
            events: Vec::new(),
        }];
        enqueue(dir.path(), &routes, &event(5)).unwrap();
        let d = drain(dir.path(), &routes, 5, Duration::from_secs(10)).unwrap();
        assert_eq!(d.delivered, 1, "{d:?}");
        let v: Value = serde_json::from_str(&fs_err::read_to_string(&out).unwrap()).unwrap();
        assert_eq!(v["details"]["build"], "b1");
    }
}
