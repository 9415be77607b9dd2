//! A corpus of planted secrets in their real formats, generated here from a fixed-seed PRNG
//! (nothing copied from anywhere), is found by the built-in gitleaks rules, each by the right
//! rule at the right line; allowlisted look-alikes are not.

// Test helpers outside `#[test]` functions may unwrap and panic like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use zt_source::secrets::scan::Blob;
use zt_source::secrets::{Config, Detector, Finding, Fragment, ScanOptions, Scanner};

/// xorshift64*: deterministic, so the corpus is the same on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pick(&mut self, alphabet: &str, n: usize) -> String {
        let a: Vec<char> = alphabet.chars().collect();
        (0..n)
            .map(|_| a[(self.next() % a.len() as u64) as usize])
            .collect()
    }
}

const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
const DIGITS: &str = "0123456789";
const HEX: &str = "0123456789abcdef";

fn alnum() -> String {
    format!("{UPPER}{LOWER}{DIGITS}")
}

fn b64url(data: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// (expected rule id, the lines to plant). The secret sits on the first line.
fn corpus(r: &mut Rng) -> Vec<(&'static str, String)> {
    let an = alnum();
    let word = format!("{an}_");
    let dash = format!("{an}_-");
    let jwt_header = b64url(br#"{"alg":"HS256","typ":"JWT"}"#);
    let jwt_payload =
        b64url(format!(r#"{{"sub":"{}","iat":1700000000}}"#, r.pick(DIGITS, 10)).as_bytes());
    let key_body: Vec<String> = (0..6).map(|_| r.pick(&format!("{an}+/"), 64)).collect();
    vec![
        (
            "aws-access-token",
            format!(
                "aws_access_key_id = AKIA{}",
                r.pick("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
            ),
        ),
        (
            "github-pat",
            format!("GITHUB_TOKEN=ghp_{}", r.pick(&an, 36)),
        ),
        (
            "github-fine-grained-pat",
            format!("token: github_pat_{}", r.pick(&word, 82)),
        ),
        (
            "github-oauth",
            format!("oauth = \"gho_{}\"", r.pick(&an, 36)),
        ),
        (
            "slack-bot-token",
            format!(
                "SLACK_BOT_TOKEN=xoxb-{}-{}-{}",
                r.pick(DIGITS, 12),
                r.pick(DIGITS, 13),
                r.pick(&an, 24)
            ),
        ),
        (
            "slack-webhook-url",
            format!(
                "webhook: https://hooks.slack.com/services/T{}/B{}/{}",
                r.pick(&format!("{UPPER}{DIGITS}"), 10),
                r.pick(&format!("{UPPER}{DIGITS}"), 10),
                r.pick(&an, 24)
            ),
        ),
        (
            "private-key",
            format!(
                "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----",
                key_body.join("\n")
            ),
        ),
        (
            "jwt",
            format!(
                "Authorization: Bearer {jwt_header}.{jwt_payload}.{}",
                r.pick(&dash, 43)
            ),
        ),
        (
            "stripe-access-token",
            format!("stripe.api_key = \"sk_live_{}\"", r.pick(&an, 24)),
        ),
        (
            "gcp-api-key",
            format!("const firebaseKey = \"AIza{}\";", r.pick(&dash, 35)),
        ),
        (
            "gitlab-pat",
            format!("GITLAB_TOKEN=glpat-{}", r.pick(&dash, 20)),
        ),
        (
            "npm-access-token",
            format!(
                "//registry.npmjs.org/:_authToken=npm_{}",
                r.pick(&format!("{LOWER}{DIGITS}"), 36)
            ),
        ),
        (
            "openai-api-key",
            format!(
                "OPENAI_API_KEY=sk-proj-{}T3BlbkFJ{}",
                r.pick(&dash, 74),
                r.pick(&dash, 74)
            ),
        ),
        (
            "anthropic-api-key",
            format!("ANTHROPIC_API_KEY=sk-ant-api03-{}AA", r.pick(&dash, 93)),
        ),
        (
            "digitalocean-pat",
            format!("DO_TOKEN=dop_v1_{}", r.pick(HEX, 64)),
        ),
        (
            "age-secret-key",
            format!(
                "AGE-SECRET-KEY-1{}",
                r.pick("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58)
            ),
        ),
        (
            "huggingface-access-token",
            format!("HF_TOKEN=hf_{}", r.pick(&format!("{UPPER}{LOWER}"), 34)),
        ),
        (
            "pypi-upload-token",
            format!("password = pypi-AgEIcHlwaS5vcmc{}", r.pick(&dash, 70)),
        ),
        (
            "twilio-api-key",
            format!("twilio_sid: SK{}", r.pick(HEX, 32)),
        ),
        (
            "shopify-access-token",
            format!("SHOPIFY=shpat_{}", r.pick(HEX, 32)),
        ),
        (
            "heroku-api-key",
            format!(
                "HEROKU_API_KEY={}-{}-{}-{}-{}",
                r.pick(HEX, 8),
                r.pick(HEX, 4),
                r.pick(HEX, 4),
                r.pick(HEX, 4),
                r.pick(HEX, 12)
            ),
        ),
        (
            "generic-api-key",
            format!("db_password = \"{}\"", r.pick(&an, 24)),
        ),
    ]
}

fn detector() -> Detector {
    Detector::new(Config::default_rules().unwrap()).unwrap()
}

fn scan(d: &Detector, path: &str, text: &str) -> Vec<Finding> {
    d.detect(&Fragment {
        raw: text,
        path,
        commit: None,
        start_line: 1,
    })
}

#[test]
fn every_planted_secret_is_found_by_its_rule() {
    let mut rng = Rng(0x5EC2_E75C_A11E_D000);
    let corpus = corpus(&mut rng);
    assert_eq!(corpus.len(), 22);
    let mut text = String::from("# service configuration\n\n");
    let mut expected = Vec::new();
    for (rule, lines) in &corpus {
        let line = text.lines().count() + 1;
        expected.push((line, rule.to_string()));
        text.push_str(lines);
        text.push_str("\n\n");
    }
    let d = detector();
    let found: Vec<(usize, String)> = scan(&d, "deploy/settings.env", &text)
        .into_iter()
        .map(|f| (f.start_line, f.rule_id))
        .collect();
    let mut found_sorted = found.clone();
    found_sorted.sort();
    assert_eq!(found_sorted, expected, "text:\n{text}");

    // Each one alone, in a file of its own: the same rule, once.
    for (rule, lines) in &corpus {
        let f = scan(&d, "x.txt", &format!("{lines}\n"));
        let ids: Vec<&str> = f.iter().map(|f| f.rule_id.as_str()).collect();
        assert_eq!(ids, [*rule], "{lines}");
    }
}

#[test]
fn allowlisted_look_alikes_are_not_reported() {
    let d = detector();
    let cases = [
        // The aws-access-token rule's allowlist: keys ending in EXAMPLE (AWS documentation).
        ("a.txt", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"),
        // Global allowlist: template placeholders are not secrets.
        ("a.txt", "password = \"${DB_PASSWORD}\"\n"),
        ("a.txt", "api_key: {{ .Values.apiKey }}\n"),
        // Low entropy: below the generic rule's 3.5 bits.
        ("a.txt", "api_key = \"aaaaaaaaaaaaaaaaaaaaaaaa\"\n"),
        // Inline suppression.
        (
            "a.txt",
            "GITHUB_TOKEN=ghp_Zr8Qk2LmT5vX9yB3nC6wD1fH4jK7pS0aE2uG # gitleaks:allow\n",
        ),
        // Global path allowlist.
        (
            "go.sum",
            "GITHUB_TOKEN=ghp_Zr8Qk2LmT5vX9yB3nC6wD1fH4jK7pS0aE2uG\n",
        ),
        (
            "assets/logo.svg",
            "GITHUB_TOKEN=ghp_Zr8Qk2LmT5vX9yB3nC6wD1fH4jK7pS0aE2uG\n",
        ),
        // Generic rule's stopwords and `match` allowlist.
        ("a.txt", "public_key = \"Zr8Qk2LmT5vX9yB3nC6wD1fH\"\n"),
        ("a.txt", "password = \"example-Zr8Qk2LmT5vX9yB3\"\n"),
    ];
    for (path, text) in cases {
        let f = scan(&d, path, text);
        assert!(
            f.is_empty(),
            "{path}: {text} → {:?}",
            f.iter().map(|f| &f.rule_id).collect::<Vec<_>>()
        );
    }
    // Sanity: the same token is found outside those contexts.
    assert_eq!(
        scan(
            &d,
            "a.txt",
            "GITHUB_TOKEN=ghp_Zr8Qk2LmT5vX9yB3nC6wD1fH4jK7pS0aE2uG\n"
        )[0]
        .rule_id,
        "github-pat"
    );
}

fn nogit(name: &str) -> Vec<u8> {
    fs_err::read(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/testdata/secrets/gitleaks/testdata/repos/nogit/"
        )
        .to_string()
            + name,
    )
    .unwrap()
}

fn fixture_config(name: &str) -> Config {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/testdata/secrets/gitleaks"
    );
    let text = fs_err::read_to_string(format!("{dir}/testdata/config/{name}")).unwrap();
    Config::from_toml(&text, std::path::Path::new(&format!("{dir}/config"))).unwrap()
}

/// gitleaks' `TestFromFiles` over `testdata/repos/nogit/`, with the paths gitleaks sees when run
/// from `config/` (its fingerprints and `.gitleaksignore` use them).
#[test]
fn nogit_behaves_as_upstream_expects() {
    let mut scanner = Scanner::new(Detector::new(fixture_config("simple.toml")).unwrap());
    scanner.add_ignore_text(&String::from_utf8(nogit(".gitleaksignore")).unwrap());
    let blobs: Vec<Blob> = ["main.go", "api.go", ".env.prod", ".gitleaksignore"]
        .iter()
        .map(|n| Blob {
            path: format!("../testdata/repos/nogit/{n}"),
            commit: None,
            content: nogit(n),
            start_line: 1,
        })
        .collect();
    let report = scanner.scan_blobs(&blobs, &ScanOptions::default());
    assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
    let f = &report.findings[0];
    assert_eq!(f.file, "../testdata/repos/nogit/main.go");
    assert_eq!(f.rule_id, "aws-access-key");
    assert_eq!(f.secret, "AKIALALEMEL33243OLIA");
    assert_eq!((f.start_line, f.end_line), (20, 20));
    // gitleaks reports columns 16–35: it counts from the newline before the line, one more
    // than the 1-based column of the key's first and last byte, which zt reports.
    assert_eq!((f.start_column, f.end_column), (15, 34));
    assert!((f.entropy as f32 - 3.0841837).abs() < 1e-6);
    assert_eq!(
        f.fingerprint(),
        "../testdata/repos/nogit/main.go:aws-access-key:20"
    );

    // `.env.prod` with generic.toml.
    let d = Detector::new(fixture_config("generic.toml")).unwrap();
    let text = String::from_utf8(nogit(".env.prod")).unwrap();
    let f = scan(&d, "../testdata/repos/nogit/.env.prod", &text);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].rule_id, "generic-api-key");
    assert_eq!(f[0].start_line, 4);
    assert_eq!(
        (f[0].start_column, f[0].end_column),
        (4, 34),
        "gitleaks: 5–35, see above"
    );
    assert_eq!(f[0].matched, "PASSWORD=8ae31cacf141669ddfb5da");
    assert_eq!(f[0].secret, "8ae31cacf141669ddfb5da");
    assert!((f[0].entropy as f32 - 3.5383105).abs() < 1e-6);
}
