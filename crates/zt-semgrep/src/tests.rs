#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::indexing_slicing)]

use super::*;

fn rule(yaml_body: &str) -> Vec<Rule> {
    let y = format!("rules:\n  - id: r\n    message: m\n    severity: WARNING\n{yaml_body}");
    load_str(&y, "test.yml").unwrap()
}

fn lines(rules: &[Rule], path: &str, text: &str) -> Vec<usize> {
    scan(rules, path, text)
        .into_iter()
        .map(|h| h.line)
        .collect()
}

#[test]
fn calls_ellipsis_metavariables_and_strings() {
    let r = rule("    languages: [python]\n    pattern: subprocess.Popen(..., shell=True)\n");
    let py = "import subprocess\nsubprocess.Popen(['a'], shell=True)\nsubprocess.Popen(['a'])\nx = (subprocess.Popen('b', shell=True))\n";
    assert_eq!(lines(&r, "a.py", py), [2, 4]);
    let r = rule(
        "    languages: [python]\n    patterns:\n      - pattern: requests.$M($URL, ...)\n      - metavariable-regex:\n          metavariable: $M\n          regex: (post|put)\n",
    );
    let py = "requests.post(u, data=d)\nrequests.get(u)\nrequests.put('x')\n";
    assert_eq!(lines(&r, "a.py", py), [1, 3]);
    // "..." matches any string, a literal matches by value whatever the quotes
    let r = rule("    languages: [python]\n    pattern: codecs.decode(..., 'base64')\n");
    assert_eq!(
        lines(
            &r,
            "a.py",
            "codecs.decode(x, \"base64\")\ncodecs.decode(x, 'hex')\n"
        ),
        [1]
    );
    // comments are not code
    assert!(lines(&r, "a.py", "# codecs.decode(x, 'base64')\n").is_empty());
}

#[test]
fn import_aliases_and_sequences() {
    let r = rule("    languages: [python]\n    pattern: base64.b64decode(...)\n");
    assert_eq!(
        lines(&r, "a.py", "from base64 import b64decode\nb64decode(x)\n"),
        [2]
    );
    assert_eq!(
        lines(&r, "a.py", "import base64 as b\nb.b64decode(x)\n"),
        [2]
    );
    let r = rule(
        "    languages: [python]\n    patterns:\n      - pattern-inside: |\n          $C = sqlite3.connect(...)\n          ...\n      - pattern: $C.execute(...)\n",
    );
    let py = "c.execute(1)\nc = sqlite3.connect('x')\nc.execute(2)\nd.execute(3)\n";
    assert_eq!(lines(&r, "a.py", py), [3]);
}

#[test]
fn javascript_declarations_member_chains_and_deep() {
    let r = rule(
        "    languages: [javascript]\n    patterns:\n      - pattern-inside: |\n          $FS = require('fs')\n          ...\n      - pattern: $FS. ... .readFileSync(..., <... \"$F\" ...>, ...)\n      - metavariable-regex:\n          metavariable: $F\n          regex: .*\\.npmrc\n",
    );
    let js = "const fs = require('fs');\nfs.readFileSync(path.join(home, '.npmrc'));\nfs.promises.readFileSync(x + '/.npmrc');\nfs.readFileSync('a.txt');\n";
    assert_eq!(lines(&r, "a.js", js), [2, 3]);
}

#[test]
fn taint_flows_through_assignments() {
    let r = rule(
        "    languages: [python]\n    mode: taint\n    pattern-sources:\n      - pattern: os.environ\n    pattern-sinks:\n      - pattern-inside: requests.post(...)\n",
    );
    let py = "import os, requests\nenv = dict(os.environ)\nbody = {'e': env}\nrequests.post(u, json=body)\nrequests.post(u, json={})\nrequests.post(u, data=os.environ)\n";
    assert_eq!(lines(&r, "a.py", py), [4, 6]);
}

#[test]
fn unsupported_constructs_are_load_errors_naming_rule_and_construct() {
    for (body, construct) in [
        ("    languages: [ruby]\n    pattern: x\n", "language `ruby`"),
        (
            "    languages: [cobol]\n    pattern-regex: x\n",
            "language `cobol`",
        ),
        (
            "    languages: [python]\n    patterns:\n      - pattern: f($X)\n      - metavariable-comparison:\n          metavariable: $X\n          comparison: $X > 1\n",
            "`metavariable-comparison`",
        ),
        (
            "    languages: [python]\n    mode: taint\n    pattern-sources: []\n    pattern-sinks: []\n    pattern-sanitizers: []\n",
            "`pattern-sanitizers`",
        ),
    ] {
        let y = format!("rules:\n  - id: the-rule\n    message: m\n    severity: WARNING\n{body}");
        let e = load_str(&y, "f.yml").unwrap_err().to_string();
        assert!(e.contains("the-rule") && e.contains(construct), "{e}");
    }
    let y = "rules:\n  - id: bad\n    message: m\n    severity: WARNING\n    languages: [python]\n    pattern: 'f(('\n";
    let e = load_str(y, "f.yml").unwrap_err().to_string();
    assert!(e.contains("bad") && e.contains("does not parse"), "{e}");
}

#[test]
fn paths_include_and_exclude() {
    let r = rule(
        "    languages: [python]\n    paths:\n      include: ['*/setup.py']\n    pattern: os.system(...)\n",
    );
    assert_eq!(lines(&r, "x-1.0/setup.py", "os.system('a')\n"), [1]);
    assert!(lines(&r, "x-1.0/x/mod.py", "os.system('a')\n").is_empty());
    let r = rule(
        "    languages: [python]\n    paths:\n      exclude: ['*/tests/*', 'test_*']\n    pattern: os.system(...)\n",
    );
    assert!(lines(&r, "x-1.0/tests/a.py", "os.system('a')\n").is_empty());
    assert!(lines(&r, "x-1.0/test_a.py", "os.system('a')\n").is_empty());
    assert_eq!(lines(&r, "x-1.0/a.py", "os.system('a')\n"), [1]);
}

/// Files are chosen as semgrep chooses them (its `lang.json`): by extension per language,
/// without minified JavaScript and TypeScript declaration files.
#[test]
fn targets_are_semgreps() {
    let js = rule("    languages: [javascript]\n    pattern: eval(...)\n");
    let ts = rule("    languages: [typescript]\n    pattern: eval(...)\n");
    for (path, js_hits, ts_hits) in [
        ("p/a.js", 1, 0),
        ("p/a.mjs", 1, 0),
        ("p/a.cjs", 1, 0),
        ("p/a.jsx", 1, 0),
        ("p/a.min.js", 0, 0),
        ("p/a.ts", 0, 1),
        ("p/a.tsx", 0, 1),
        ("p/a.d.ts", 0, 0),
        ("p/a.mts", 0, 0),
    ] {
        assert_eq!(lines(&js, path, "eval(x)\n").len(), js_hits, "{path}");
        assert_eq!(lines(&ts, path, "eval(x)\n").len(), ts_hits, "{path}");
    }
    let py = rule("    languages: [python]\n    pattern: eval(...)\n");
    assert_eq!(lines(&py, "p/a.pyi", "eval(x)\n"), [1]);
    assert!(lines(&py, "p/a.pyw", "eval(x)\n").is_empty());
}

proptest::proptest! {
    #[test]
    fn any_text_is_scanned_without_panicking(text in "\\PC{0,300}") {
        let r = rule("    languages: [python, javascript]\n    pattern-either:\n      - pattern: eval(...)\n      - pattern: $X.y(<... $Z ...>)\n");
        let _ = scan(&r, "a.py", &text);
        let _ = scan(&r, "a.js", &text);
    }

    #[test]
    fn any_pattern_text_loads_or_errors(p in "\\PC{0,60}") {
        let y = format!("rules:\n  - id: p\n    message: m\n    severity: WARNING\n    languages: [python]\n    pattern: {}\n", serde_yaml::to_string(&p).unwrap_or_default().trim());
        let _ = load_str(&y, "p.yml");
    }
}

#[test]
fn a_pattern_either_of_regexes_finds_what_each_regex_finds() {
    // one RegexSet pass picks the regexes that match; each then reports its own ranges
    let r = rule(
        "    languages: [python]\n    pattern-either:\n      - pattern-regex: LD_PRELOAD\n      - pattern-regex: (?i)rundll32(.exe)?\\s+\\S+\n      - pattern-regex: nowhere_at_all\n",
    );
    let py = "a = 1\nx = 'LD_PRELOAD=1'\ny = 'RunDll32 evil'\nz = 'LD_PRELOAD'\n";
    assert_eq!(lines(&r, "a.py", py), [2, 3, 4]);
    assert!(lines(&r, "a.py", "a = 1\n").is_empty());
    // as a metavariable-pattern: only whether one of them matches the bound text
    let r = rule(
        "    languages: [python]\n    patterns:\n      - pattern: os.system($CMD)\n      - metavariable-pattern:\n          metavariable: $CMD\n          pattern-either:\n            - pattern-regex: curl\n            - pattern-regex: (?i)WGET\n",
    );
    let py = "os.system('ls')\nos.system('wget x')\nos.system('curl y')\nos.system(z)\n";
    assert_eq!(lines(&r, "a.py", py), [2, 3]);
}

#[test]
fn lazy_rules_give_the_eager_hits_and_compile_on_demand() {
    let body = "rules:\n  - id: r\n    message: m\n    severity: WARNING\n    languages: [python]\n    pattern-either:\n      - pattern-regex: (?i)mshta\\s+\\S+\n      - pattern-regex: LD_PRELOAD\n";
    let eager = load_str(body, "t.yml").unwrap();
    let lazy = load_str_lazy(body, "t.yml").unwrap();
    for text in ["x = 'MSHTA a'\n", "os.environ['LD_PRELOAD']\n", "x = 1\n"] {
        assert_eq!(
            scan(&eager, "a.py", text),
            scan(&lazy, "a.py", text),
            "{text:?}"
        );
    }
    lazy[0].compile().unwrap();
    // a syntax error is still an error at load; one the parser accepts but the compiler
    // refuses (too large) is found by `compile`
    let bad = body.replace("LD_PRELOAD", "LD_PRELOAD(");
    assert!(load_str_lazy(&bad, "t.yml").is_err());
    let big = body.replace("LD_PRELOAD", "(?:\\w{100}){100}");
    assert!(load_str(&big, "t.yml").is_err());
    let lazy_big = load_str_lazy(&big, "t.yml").unwrap();
    assert!(lazy_big[0].compile().is_err());
    assert!(scan(&lazy_big, "a.py", "x = 'MSHTA a'\n").len() == 1);
}
