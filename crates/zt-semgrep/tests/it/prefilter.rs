//! The word pre-filter of [`zt_semgrep::scan`] (a file is parsed and a rule run only when
//! the words the rule spells out are in the file) never drops a match: on GuardDog's
//! labelled samples, and on those samples with lines dropped and names changed, the
//! filtered scan gives exactly the hits of [`zt_semgrep::scan_unfiltered`], with every
//! rule of GuardDog's set that loads and every rule zt builds in.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::path::PathBuf;

/// GuardDog's labelled samples in `../shared/testdata`.
fn guarddog() -> PathBuf {
    zt_test_support::shared(env!("CARGO_MANIFEST_DIR"), "malware/guarddog-samples")
}

/// Every rule that loads: GuardDog's published semgrep rules and zt's built-in ones.
fn all_rules() -> Vec<zt_semgrep::Rule> {
    let mut out = Vec::new();
    for dir in [
        guarddog().join("rules"),
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../zt-deps/rules/semgrep"),
    ] {
        let mut files: Vec<PathBuf> = fs_err::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yml"))
            .collect();
        files.sort();
        for f in files {
            let text = fs_err::read_to_string(&f).unwrap();
            // the refused ones are named by `guarddog_rules.rs`
            if let Ok(rules) = zt_semgrep::load_str(&text, &f.display().to_string()) {
                out.extend(rules);
            }
        }
    }
    assert!(out.len() >= 35, "{} rules loaded", out.len());
    out
}

/// The Python and JavaScript samples: (path in a package, text).
fn samples() -> Vec<(String, String)> {
    let dir = guarddog().join("sourcecode");
    let mut out: Vec<(String, String)> = fs_err::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "py" || e == "js"))
        .map(|p| {
            (
                format!("pkg/{}", p.file_name().unwrap().to_string_lossy()),
                fs_err::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(out.len() >= 15, "{} samples", out.len());
    out
}

fn same_hits(rules: &[zt_semgrep::Rule], path: &str, text: &str) -> usize {
    let filtered = zt_semgrep::scan(rules, path, text);
    let unfiltered = zt_semgrep::scan_unfiltered(rules, path, text);
    assert_eq!(
        filtered, unfiltered,
        "{path}: the pre-filter changed the hits\n--- text ---\n{text}"
    );
    filtered.len()
}

/// Every rule that loads, in one [`zt_semgrep::Scanner`] (its pre-filter made once).
static SCANNER: std::sync::LazyLock<zt_semgrep::Scanner> =
    std::sync::LazyLock::new(|| zt_semgrep::Scanner::new(all_rules()));

/// [`same_hits`] with every rule, and the same through the [`SCANNER`].
fn same_hits_all(rules: &[zt_semgrep::Rule], path: &str, text: &str) -> usize {
    let n = same_hits(rules, path, text);
    assert_eq!(
        SCANNER.scan(path, text),
        zt_semgrep::scan_unfiltered(SCANNER.rules(), path, text),
        "{path}: the scanner's pre-filter changed the hits\n--- text ---\n{text}"
    );
    n
}

#[test]
fn the_prefilter_drops_no_match_on_guarddogs_samples() {
    let rules = all_rules();
    let mut hits = 0;
    for (path, text) in samples() {
        hits += same_hits_all(&rules, &path, &text);
        // each rule alone, too
        for rule in &rules {
            same_hits(std::slice::from_ref(rule), &path, &text);
        }
    }
    // the comparison is about real matches
    assert!(hits >= 150, "{hits} hits");
}

/// What happens to one line of a sample.
#[derive(Debug, Clone, Copy)]
enum Edit {
    Keep,
    Drop,
    /// Every word of three letters or more in the line gets a suffix: a name or string the
    /// rule needs may vanish while the code still parses.
    Rename,
}

/// Left as they are, so that the edited line still parses.
const KEYWORDS: &[&str] = &[
    "and", "async", "await", "class", "const", "def", "else", "except", "false", "False",
    "finally", "for", "from", "function", "import", "lambda", "let", "new", "None", "not", "null",
    "pass", "return", "this", "true", "True", "try", "var", "while", "with", "yield",
];

fn edited(text: &str, edits: &[Edit]) -> String {
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        match edits
            .get(i % edits.len().max(1))
            .copied()
            .unwrap_or(Edit::Keep)
        {
            Edit::Keep => out.push_str(line),
            Edit::Drop => continue,
            Edit::Rename => {
                let mut word = String::new();
                for c in line.chars().chain(std::iter::once('\n')) {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        word.push(c);
                        continue;
                    }
                    out.push_str(&word);
                    if word.len() >= 3
                        && !word.starts_with(|c: char| c.is_ascii_digit())
                        && !KEYWORDS.contains(&word.as_str())
                    {
                        out.push_str("Zq");
                    }
                    word.clear();
                    if c != '\n' {
                        out.push(c);
                    }
                }
            }
        }
        out.push('\n');
    }
    out
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]
    #[test]
    fn the_prefilter_drops_no_match_on_edited_samples(
        which in 0usize..64,
        edits in proptest::collection::vec(
            proptest::prop_oneof![
                6 => proptest::strategy::Just(Edit::Keep),
                1 => proptest::strategy::Just(Edit::Drop),
                2 => proptest::strategy::Just(Edit::Rename),
            ],
            1..40,
        ),
    ) {
        static RULES: std::sync::LazyLock<Vec<zt_semgrep::Rule>> =
            std::sync::LazyLock::new(all_rules);
        static SAMPLES: std::sync::LazyLock<Vec<(String, String)>> =
            std::sync::LazyLock::new(samples);
        let (path, text) = &SAMPLES[which % SAMPLES.len()];
        same_hits(&RULES, path, &edited(text, &edits));
        same_hits_all(&[], path, &edited(text, &edits));
    }
}

fn rule(body: &str) -> Vec<zt_semgrep::Rule> {
    let y = format!("rules:\n  - id: r\n    message: m\n    severity: WARNING\n{body}");
    zt_semgrep::load_str(&y, "test.yml").unwrap()
}

/// The words a regex must match (`pattern-regex`, and the regexes of `metavariable-pattern`
/// and `metavariable-regex`) are in the pre-filter, those of `(?i)` regexes in any case:
/// with them too the filtered scan gives the unfiltered one's hits, on texts that match in
/// other cases, with `ſ` for `s` and the Kelvin sign for `k` (which `(?i)` also matches).
#[test]
fn regex_words_and_case_insensitive_words_drop_no_match() {
    let lolbin =
        "    languages: [python, javascript]\n    pattern-regex: (?i)(mshta|kill)(.exe)?\\s+\\S+\n";
    let mv_pattern = "    languages: [python, javascript]\n    patterns:\n      - pattern: \"$S\"\n      - metavariable-pattern:\n          metavariable: $S\n          pattern-either:\n            - pattern-regex: (?i).*?\\.exe\\s+.*?\\.dll\n            - pattern-regex: LD_PRELOAD\n";
    let mv_regex = "    languages: [python, javascript]\n    patterns:\n      - pattern: requests.$M(...)\n      - metavariable-regex:\n          metavariable: $M\n          regex: (?i)(post|put)_json\n";
    let cases: &[(&str, &str, usize)] = &[
        (lolbin, "x = 'mshta http://a'\n", 1),
        (lolbin, "x = 'MsHtA.exe http://a'\n", 1),
        (lolbin, "x = 'm\u{17f}hta http://a'\n", 1),
        (lolbin, "x = '\u{212a}ILL -9 1'\n", 1),
        (lolbin, "x = 'mshta'\ny = 'kil -9'\n", 0),
        (mv_pattern, "run('C:/a.EXE  b.Dll')\n", 1),
        (mv_pattern, "run('C:/a.e\u{212a}e b.dll')\n", 0),
        (mv_pattern, "env = 'LD_PRELOAD'\n", 1),
        (mv_pattern, "env = 'ld_preload'\n", 0),
        (mv_regex, "requests.POST_JSON(u)\nrequests.put_json(u)\n", 2),
        (mv_regex, "requests.post(u)\n", 0),
    ];
    for (body, text, want) in cases {
        for path in ["pkg/a.py", "pkg/a.js"] {
            assert_eq!(
                same_hits(&rule(body), path, text),
                *want,
                "{path}: {text:?}"
            );
            let scanner = zt_semgrep::Scanner::new(rule(body));
            assert_eq!(scanner.scan(path, text).len(), *want, "{path}: {text:?}");
        }
    }
    // without their words, the rules do not run (`LD_PRELOAD` is not `(?i)`)
    for (body, text) in [
        (lolbin, "x = 'msht -a'\n"),
        (mv_pattern, "env = 'ld_preload'\n"),
        (mv_regex, "requests.post(u)\n"),
    ] {
        let scanner = zt_semgrep::Scanner::new(rule(body));
        assert_eq!(
            scanner.candidates("a.py", text),
            Vec::<usize>::new(),
            "{text:?}"
        );
        assert_eq!(
            scanner.candidates("a.py", "mshta.exe a.dll LD_PRELOAD requests.PUT_JSON()"),
            [0]
        );
    }
}

/// What the regex words buy: a Python or JavaScript file that holds none of the words of
/// GuardDog's rules and zt's built-in ones runs no rule, so it is not parsed — but for
/// `npm-api-obfuscation` (`$MODULE[$FUNCTION](...)`, any computed call), which needs
/// every JavaScript file's tree.
#[test]
fn a_plain_file_runs_no_rule() {
    // (GuardDog's published `obfuscation` looks for 150 blanks in a row: six in a row, as in
    // code indented twice, are its words)
    let text = "import json\n\ndef load(path):\n    return json.loads(path)\n";
    let ids = |path: &str, text: &str| -> Vec<&str> {
        SCANNER
            .candidates(path, text)
            .into_iter()
            .map(|i| SCANNER.rules()[i].id.as_str())
            .collect()
    };
    assert_eq!(ids("pkg/util.py", text), Vec::<&str>::new());
    let js = "const fs = require('fs');\nmodule.exports = (p) => JSON.parse(fs.readFileSync(p, 'utf8'));\n";
    // (GuardDog's published copy and zt's built-in one)
    let mut js_ids = ids("pkg/util.js", js);
    js_ids.dedup();
    assert_eq!(js_ids, ["npm-api-obfuscation"]);
}
