//! A small W3C WebDriver client over ureq (already in the tree): chromedriver started on a
//! free port, one headless Chromium session, and the handful of commands the dashboard test
//! needs (navigate, find, text, attribute, click, type, run a script, screenshot). WebDriver
//! is JSON over HTTP; a failed command panics with the driver's error.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The key of a web element reference in WebDriver JSON.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A headless Chromium driven by chromedriver; both stop when dropped.
pub(crate) struct Driver {
    child: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
}

/// `chromedriver` on PATH, or where Debian's `chromium-driver` puts it.
pub(crate) fn chromedriver() -> Option<std::path::PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("chromedriver"))
            .find(|c| c.is_file())
    });
    on_path.or_else(|| {
        let debian = Path::new("/usr/lib/chromium/chromedriver");
        debian.is_file().then(|| debian.to_path_buf())
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Driver {
    /// Starts chromedriver and a headless session (`--headless=new --no-sandbox`) with a
    /// window of `width`×`height`.
    pub(crate) fn start(chromedriver: &Path, width: u32, height: u32) -> Driver {
        let port = free_port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        let mut driver = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            agent,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = driver
                .agent
                .get(format!("{}/status", driver.base))
                .call()
                .ok()
                .and_then(|mut r| r.body_mut().read_to_string().ok())
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .is_some_and(|v| v["value"]["ready"] == true);
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut options = json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     format!("--window-size={width},{height}")],
        });
        if Path::new("/usr/bin/chromium").is_file() {
            options["binary"] = json!("/usr/bin/chromium");
        }
        let v = driver.raw(
            "POST",
            "/session",
            Some(json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome", "goog:chromeOptions": options,
            }}})),
        );
        driver.session = v["sessionId"].as_str().expect("a session id").to_owned();
        driver
    }

    /// One command: method, path (under the driver), body; the reply's `value`.
    fn raw(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.try_raw(method, path, body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"))
    }

    /// [`Self::raw`] that reports a failure instead of panicking: polling a page that a form
    /// submission may be replacing meets "stale element" and "no such element" on the way.
    fn try_raw(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let reply = match method {
            "GET" => self.agent.get(&url).call(),
            "DELETE" => self.agent.delete(&url).call(),
            _ => self
                .agent
                .post(&url)
                .header("content-type", "application/json")
                .send(body.unwrap_or_else(|| json!({})).to_string()),
        };
        let mut reply = reply.map_err(|e| format!("{url}: {e}"))?;
        let status = reply.status().as_u16();
        let v: Value = reply
            .body_mut()
            .read_to_string()
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null);
        if status == 200 {
            Ok(v["value"].clone())
        } else {
            Err(format!("{status} {}", v["value"]))
        }
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.raw(method, &format!("/session/{}{path}", self.session), body)
    }

    /// Loads `url` and waits for it.
    pub(crate) fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({"url": url})));
    }

    /// The current URL.
    pub(crate) fn url(&self) -> String {
        self.cmd("GET", "/url", None)
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// The page title; empty while a page is between loads (it is polled).
    pub(crate) fn title(&self) -> String {
        self.try_raw("GET", &format!("/session/{}/title", self.session), None)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Every element matching the CSS selector.
    pub(crate) fn find_all(&self, css: &str) -> Vec<String> {
        self.cmd(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        )
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e[ELEMENT].as_str().unwrap().to_owned())
        .collect()
    }

    /// The first element matching the CSS selector (panics when there is none).
    pub(crate) fn find(&self, css: &str) -> String {
        let v = self.cmd(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_owned()
    }

    /// The rendered text of the first element matching `css`, looked up and read in one
    /// script so that a page replaced in between cannot leave a stale reference; empty when
    /// there is no such element or the page is between loads. For polling.
    pub(crate) fn text_of(&self, css: &str) -> String {
        self.try_raw(
            "POST",
            &format!("/session/{}/execute/sync", self.session),
            Some(json!({
                "script": "var e = document.querySelector(arguments[0]); return e ? e.innerText : '';",
                "args": [css],
            })),
        )
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
    }

    /// An attribute of the first element matching `css`, read in one script (see
    /// [`Self::text_of`]); `None` when absent or the page is between loads. For polling.
    pub(crate) fn attr_of(&self, css: &str, name: &str) -> Option<String> {
        self.try_raw(
            "POST",
            &format!("/session/{}/execute/sync", self.session),
            Some(json!({
                "script": "var e = document.querySelector(arguments[0]); return e ? e.getAttribute(arguments[1]) : null;",
                "args": [css, name],
            })),
        )
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
    }

    /// An element's rendered text.
    pub(crate) fn text(&self, el: &str) -> String {
        self.cmd("GET", &format!("/element/{el}/text"), None)
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// An element's attribute.
    pub(crate) fn attr(&self, el: &str, name: &str) -> Option<String> {
        self.cmd("GET", &format!("/element/{el}/attribute/{name}"), None)
            .as_str()
            .map(str::to_owned)
    }

    /// Clicks an element.
    pub(crate) fn click(&self, el: &str) {
        self.cmd("POST", &format!("/element/{el}/click"), Some(json!({})));
    }

    /// Types `text` into an element (WebDriver key codes allowed, e.g. `\u{E007}` Enter).
    pub(crate) fn send_keys(&self, el: &str, text: &str) {
        self.cmd(
            "POST",
            &format!("/element/{el}/value"),
            Some(json!({"text": text})),
        );
    }

    /// The element that has the keyboard focus.
    pub(crate) fn active(&self) -> String {
        self.cmd("GET", "/element/active", None)[ELEMENT]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Runs `script` in the page (synchronously) with `args`; its return value.
    pub(crate) fn execute(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// Saves a PNG screenshot of the window at `path`.
    pub(crate) fn screenshot(&self, path: &Path) {
        use base64::Engine as _;
        let b64 = self.cmd("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        if let Some(dir) = path.parent() {
            fs_err::create_dir_all(dir).unwrap();
        }
        fs_err::write(path, png).unwrap();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self
                .agent
                .delete(format!("{}/session/{}", self.base, self.session))
                .call();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
