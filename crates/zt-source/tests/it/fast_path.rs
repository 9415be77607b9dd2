//! The detector's fast path (one keyword pass, each triggered rule's regex run only near its
//! keyword hits where that is provably exact) finds exactly what running every triggered rule
//! over the whole fragment finds (gitleaks' semantics), on generated text built from the default
//! rules' own keywords, secret-shaped runs and the separators secrets sit between.

// Test helpers outside `#[test]` functions may unwrap and panic like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::OnceLock;

use proptest::prelude::*;
use zt_source::secrets::{Config, Detector, Finding, Fragment};

/// Both detectors, built once: their rules compile on first use and stay compiled.
fn detectors() -> &'static (Detector, Detector, Vec<String>) {
    static D: OnceLock<(Detector, Detector, Vec<String>)> = OnceLock::new();
    D.get_or_init(|| {
        let config = Config::default_rules().unwrap();
        let keywords: Vec<String> = config.keywords.iter().cloned().collect();
        let fast = Detector::new(config.clone()).unwrap();
        let whole = Detector::new(config).unwrap().without_windows();
        (fast, whole, keywords)
    })
}

fn key(f: &Finding) -> (String, usize, usize, usize, usize, String, Vec<String>) {
    (
        f.rule_id.clone(),
        f.start_line,
        f.start_column,
        f.end_line,
        f.end_column,
        f.secret.clone(),
        f.required.clone(),
    )
}

/// One piece of generated text.
#[derive(Debug, Clone)]
enum Piece {
    /// A rule keyword, as written or upper-cased.
    Keyword(usize, bool),
    /// A run of secret-shaped characters.
    Run(String),
    /// Separators and punctuation.
    Sep(&'static str),
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        3 => (0usize..10_000, any::<bool>()).prop_map(|(k, up)| Piece::Keyword(k, up)),
        3 => "[A-Za-z0-9]{1,48}".prop_map(Piece::Run),
        1 => "[A-Z0-9]{16,40}".prop_map(Piece::Run),
        1 => "[a-f0-9]{20,64}".prop_map(Piece::Run),
        1 => "[A-Za-z0-9+/_-]{8,60}={0,2}".prop_map(Piece::Run),
        4 => prop::sample::select(vec![
            " ", " = ", "=", ": ", ":", "\"", "'", "`", "\n", "\n\n", "\t", "_", "-", ".", "/",
            ",", ";", "=>", ":=", "\\n", "(", ")", "{", "}", "@", "é", "gitleaks:allow",
            "-----BEGIN RSA PRIVATE KEY-----\n", "\n-----END RSA PRIVATE KEY-----",
            "https://", "://user:", "eyJ", ".eyJ",
        ])
        .prop_map(Piece::Sep),
    ]
}

fn render(pieces: &[Piece], keywords: &[String]) -> String {
    let mut s = String::new();
    for p in pieces {
        match p {
            Piece::Keyword(k, up) => {
                let kw = &keywords[k % keywords.len()];
                if *up {
                    s.push_str(&kw.to_uppercase());
                } else {
                    s.push_str(kw);
                }
            }
            Piece::Run(r) => s.push_str(r),
            Piece::Sep(x) => s.push_str(x),
        }
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn fast_path_equals_whole_fragment_scan(pieces in prop::collection::vec(piece(), 1..120)) {
        let (fast, whole, keywords) = detectors();
        let text = render(&pieces, keywords);
        let frag = Fragment { raw: &text, path: "src/config.txt", commit: None, start_line: 1 };
        let a: Vec<_> = fast.detect(&frag).iter().map(key).collect();
        let b: Vec<_> = whole.detect(&frag).iter().map(key).collect();
        prop_assert_eq!(a, b, "{:?}", text);
    }
}

/// One assignment shaped like what `generic-api-key` looks for, with each part drawn up to and
/// past the length the rule allows: a run of `[\w.-]` before the keyword (the rule takes 50),
/// filler, quotes and newlines before the separator, and a secret-shaped value; sometimes with
/// the most newlines the rule allows after its keyword (3 before the separator, 5 after).
fn generic_assignment() -> impl Strategy<Value = String> {
    (
        "[A-Za-z0-9_.-]{0,64}",
        prop::sample::select(vec![
            "key",
            "KEY",
            "api",
            "Api",
            "token",
            "Token",
            "secret",
            "auth",
            "access",
            "credential",
            "creds",
            "password",
            "passwd",
        ]),
        "[ \\ta-z_.-]{0,24}",
        prop_oneof!["[\n'\" ]{0,4}", "\n{3}"],
        prop::sample::select(vec!["=", ":", "=>", ":=", "::=", "||", "?=", ",", ">"]),
        prop_oneof!["[`'\"\n =]{0,6}", "\n{5}"],
        prop_oneof!["[A-Za-z0-9_.=-]{6,40}", "[a-z0-9][a-z0-9+/]{8,40}={0,3}"],
        prop::sample::select(vec!["", "\n", "\"", "'", ";", " ", "\\n", "`", "x"]),
    )
        .prop_map(|(pre, kw, fill, quote, sep, open, value, end)| {
            format!("{pre}{kw}{fill}{quote}{sep}{open}{value}{end}")
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    /// The windows of `generic-api-key`, the rule that runs on most files, on both sides of its
    /// keyword: text before the keyword on its line (and lines before it), lines after it.
    #[test]
    fn fast_path_equals_whole_fragment_scan_on_generic_shapes(
        parts in prop::collection::vec(
            prop_oneof![3 => generic_assignment(), 1 => "[a-z \n]{0,80}"],
            1..40,
        ),
    ) {
        let (fast, whole, _) = detectors();
        let text = parts.concat();
        let frag = Fragment { raw: &text, path: "src/config.txt", commit: None, start_line: 1 };
        let a: Vec<_> = fast.detect(&frag).iter().map(key).collect();
        let b: Vec<_> = whole.detect(&frag).iter().map(key).collect();
        prop_assert_eq!(a, b, "{:?}", text);
    }
}
