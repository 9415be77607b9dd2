//! What users read: each command's human and `--json` output, exit code, stdout and stderr,
//! snapshotted (insta) with a fixed clock (`ZT_NOW`) and with what varies between runs —
//! digests, key ids, signatures, times, temp paths, durations — filtered out. A change in
//! wording, in a JSON field or in an exit code shows up here as a diff to review
//! (`cargo insta review`, or `INSTA_UPDATE=always cargo test -p zt --test e2e snapshots::`).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::common;

use std::path::Path;

use common::zt;

const NOW: &str = "2026-12-01T12:00:00Z";

/// Runs `zt ARGS` in `dir` with the fixed clock and renders what a user sees.
fn run(dir: &Path, args: &[&str]) -> String {
    let out = zt(dir).env("ZT_NOW", NOW).args(args).output().unwrap();
    format!(
        "$ zt {}\nexit: {}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        out.status.code().map_or("signal".into(), |c| c.to_string()),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn filters(dir: &Path) -> Vec<(String, String)> {
    let tmp = regex_escape(&dir.to_string_lossy());
    let mut f = vec![
        (format!("/private{tmp}"), "[TMP]".to_string()),
        (tmp, "[TMP]".to_string()),
        ("/tmp/zt-build-[A-Za-z0-9]+".into(), "[SCRATCH]".into()),
    ];
    for (re, to) in [
        (r"sha256:[0-9a-f]{64}", "sha256:[DIGEST]"),
        (r"\b[0-9a-f]{64}\b", "[HEX64]"),
        (r"\b[0-9a-f]{32}\b", "[ID]"),
        (r"\b[0-9a-f]{12,16}\b", "[SHORT]"),
        (r"[A-Za-z0-9+/-]{40,}={0,2}", "[BASE64]"),
        (
            r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
            "[TIME]",
        ),
        (r"\b\d+(\.\d+)? ?ms\b", "[N] ms"),
        (r#""millis": \d+"#, r#""millis": [N]"#),
        (r#""sandbox_millis": \d+"#, r#""sandbox_millis": [N]"#),
        (
            r#""sandbox_seconds": [0-9.e-]+"#,
            r#""sandbox_seconds": [N]"#,
        ),
        (r"zt\.local/log-\S+", "zt.local/log-[KEY]"),
        (r"\(\d+ days? ago\)", "([N] days ago)"),
    ] {
        f.push((re.to_string(), to.to_string()));
    }
    f
}

fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

macro_rules! snap {
    ($dir:expr, $name:expr, $args:expr) => {{
        let text = run($dir, $args);
        let mut settings = insta::Settings::clone_current();
        for (re, to) in filters($dir) {
            settings.add_filter(&re, to);
        }
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| insta::assert_snapshot!($name, text));
    }};
}

#[test]
fn keys_signatures_and_attestations() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    snap!(d, "key_generate", &["key", "generate", "--out", "k"]);
    snap!(
        d,
        "key_generate_json",
        &["key", "generate", "--type", "p256", "--out", "p", "--json"]
    );
    fs_err::write(d.join("app.bin"), b"the artifact").unwrap();
    snap!(d, "sign", &["sign", "app.bin", "--key", "k"]);
    snap!(
        d,
        "verify_bundle",
        &[
            "verify",
            "app.bin",
            "--bundle",
            "app.bin.sigstore.json",
            "--key",
            "k.pub"
        ]
    );
    snap!(
        d,
        "verify_bundle_json",
        &[
            "verify",
            "app.bin",
            "--bundle",
            "app.bin.sigstore.json",
            "--key",
            "k.pub",
            "--json"
        ]
    );
    fs_err::write(
        d.join("junit.xml"),
        br#"<testsuite name="s"><testcase classname="c" name="ok"/><testcase classname="c" name="bad"><failure message="x"/></testcase></testsuite>"#,
    )
    .unwrap();
    snap!(
        d,
        "attest_test_results_json",
        &[
            "attest",
            "app.bin",
            "--type",
            "test-results",
            "--from",
            "junit.xml",
            "--key",
            "k",
            "--json"
        ]
    );
    fs_err::write(d.join("lcov.info"), b"SF:a.c\nLF:4\nLH:3\nend_of_record\n").unwrap();
    snap!(
        d,
        "attest_coverage",
        &[
            "attest",
            "app.bin",
            "--type",
            "coverage",
            "--from",
            "lcov.info",
            "--key",
            "k"
        ]
    );
    // Errors: what is wrong, and the fix.
    snap!(
        d,
        "attest_unknown_type",
        &[
            "attest",
            "app.bin",
            "--type",
            "coverge",
            "--from",
            "lcov.info",
            "--key",
            "k"
        ]
    );
    fs_err::write(d.join("other.bin"), b"other").unwrap();
    snap!(
        d,
        "verify_wrong_artifact",
        &[
            "verify",
            "other.bin",
            "--bundle",
            "app.bin.sigstore.json",
            "--key",
            "k.pub"
        ]
    );
    snap!(
        d,
        "verify_wrong_artifact_json",
        &[
            "verify",
            "other.bin",
            "--bundle",
            "app.bin.sigstore.json",
            "--key",
            "k.pub",
            "--json"
        ]
    );
}

#[test]
fn the_pipeline_and_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    snap!(d, "pipeline_run", &["pipeline", "run", "--workdir", "repo"]);
    let repo = d.join("repo");
    snap!(
        &repo,
        "pipeline_rerun_json",
        &["pipeline", "run", ".", "--json"]
    );
    snap!(
        &repo,
        "verify_stage_deploy",
        &["verify", "out/hello", "--stage", "deploy"]
    );
    snap!(
        &repo,
        "verify_stage_deploy_json",
        &["verify", "out/hello", "--stage", "deploy", "--json"]
    );
    snap!(&repo, "build_verify", &["build", "verify"]);
    let unknown = format!("sha256:{}", "0".repeat(64));
    snap!(
        &repo,
        "verify_unknown_digest",
        &["verify", &unknown, "--stage", "ci"]
    );
    snap!(
        &repo,
        "verify_not_a_digest",
        &["verify", "sha256:12", "--stage", "ci"]
    );
    snap!(
        &repo,
        "verify_unknown_stage",
        &["verify", "out/hello", "--stage", "prod"]
    );
    snap!(&repo, "source_scan", &["source", "scan", "."]);
    snap!(&repo, "deps_check", &["deps", "check"]);
    snap!(&repo, "sbom_out", &["sbom", "--out", "bom.cdx.json"]);
    snap!(&repo, "vuln_scan", &["vuln", "scan", "bom.cdx.json"]);
    snap!(
        &repo,
        "vuln_scan_json",
        &["vuln", "scan", "bom.cdx.json", "--json"]
    );
    snap!(&repo, "vuln_db_status", &["vuln", "db", "status"]);
    snap!(
        &repo,
        "vuln_waive_without_expiry",
        &[
            "vuln",
            "waive",
            "ZT-EXAMPLE-2026-0001",
            "--purl",
            "pkg:pypi/example-greeter@0.8.0",
            "--justification",
            "vulnerable_code_not_in_execute_path",
            "--statement",
            "not called",
            "--owner",
            "alice",
            "--approver",
            "bob",
            "--expires",
            "2020-01-01"
        ]
    );
    snap!(&repo, "log_checkpoint", &["log", "checkpoint"]);
    snap!(
        &repo,
        "key_revoke_json",
        &[
            "key",
            "revoke",
            ".zt/keys/pipeline.pub",
            "--reason",
            "rotation",
            "--at",
            "2999-01-01T00:00:00Z",
            "--json"
        ]
    );
    snap!(&repo, "deps_check_json", &["deps", "check", "--json"]);
    snap!(&repo, "policy_test", &["policy", "test"]);
}

#[test]
fn init_and_findings() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    snap!(d, "init_json", &["init", "--json"]);
    snap!(d, "init_again", &["init"]);
    let key = ["AKIA", "QYLPMN5HHHFPZAM2"].concat();
    fs_err::create_dir_all(d.join("src")).unwrap();
    fs_err::write(d.join("src/config.h"), format!("#define KEY \"{key}\"\n")).unwrap();
    snap!(d, "source_scan_finding", &["source", "scan", "src"]);
    snap!(
        d,
        "source_scan_finding_json",
        &["source", "scan", "src", "--json"]
    );
}
