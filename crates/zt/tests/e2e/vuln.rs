//! End-to-end tests of `zt vuln …`: the real binary in a temporary directory.
// Test helpers outside `#[test]` functions: a failed read or a malformed fixture must stop the test.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata");

fn zt(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zt"))
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn version_cmp_prints_the_order() {
    let dir = tempfile::tempdir().unwrap();
    for (eco, a, b, want) in [
        ("PyPI", "1.0.dev1", "1.0a1", "<"),
        ("Maven", "1.0", "1.0.0-ga", "="),
        ("Debian", "1:1.0", "2.0", ">"),
        ("Go", "v1.2.3", "1.2.3", "="),
    ] {
        let o = zt(
            dir.path(),
            &["vuln", "version-cmp", "--ecosystem", eco, a, b],
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_eq!(stdout(&o).trim(), want, "{eco} {a} {b}");
    }
}

#[test]
fn version_cmp_rejects_invalid_versions_and_unsupported_ecosystems() {
    let dir = tempfile::tempdir().unwrap();
    let o = zt(
        dir.path(),
        &["vuln", "version-cmp", "--ecosystem", "Debian", "1.0", "abc"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("invalid Debian version `abc`"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("help:"));
    let o = zt(
        dir.path(),
        &[
            "vuln",
            "version-cmp",
            "--ecosystem",
            "Bioconductor",
            "1",
            "2",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not supported"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
}

#[test]
fn cvss_scores_and_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let o = zt(
        dir.path(),
        &[
            "vuln",
            "cvss",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "9.3 Critical");
    let o = zt(
        dir.path(),
        &["vuln", "cvss", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/C:H/I:H/A:H"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("mandatory base metric `S` is missing"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn db_import_skips_a_bad_record_and_status_reports_age() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("recs");
    fs_err::create_dir_all(&src).unwrap();
    fs_err::copy(
        format!("{SHARED}/osv/malicious/pypi/0-8/MAL-2025-2925.json"),
        src.join("MAL-2025-2925.json"),
    )
    .unwrap();
    fs_err::write(
        src.join("bad.json"),
        r#"{"id": "X-1", "modified": "yesterday"}"#,
    )
    .unwrap();
    let o = zt(dir.path(), &["vuln", "db", "import", "recs"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("1 added"), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("bad.json") && stderr(&o).contains("field `modified`"),
        "{}",
        stderr(&o)
    );
    assert!(dir.path().join(".zt/vuln/manifest.json").exists());

    let o = zt(dir.path(), &["--json", "vuln", "db", "status"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["manifest"]["records"], 1);
    assert_eq!(v["manifest"]["ecosystems"]["PyPI"]["records"], 1);
    assert_eq!(v["manifest"]["newest_modified"], "2025-03-28T13:05:11Z");

    // the record is from 2025-03-28: a one-day maximum age fails, a 100-year one passes
    let o = zt(dir.path(), &["vuln", "db", "status", "--max-age-days", "1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("days old, over the maximum of 1 days"),
        "{}",
        stderr(&o)
    );
    let o = zt(
        dir.path(),
        &["vuln", "db", "status", "--max-age-days", "36500"],
    );
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn db_status_without_a_store_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = zt(dir.path(), &["vuln", "db", "status"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("zt vuln db import"), "{}", stderr(&o));
}

/// A store with three real advisories: a RustSec one, a PyPA one with a GIT range, malware.
fn small_store(dir: &Path) {
    let src = dir.join("recs");
    fs_err::create_dir_all(&src).unwrap();
    for (from, to) in [
        (
            "osv/rustsec/crates/abi_stable/RUSTSEC-2020-0105.md",
            "RUSTSEC-2020-0105.md",
        ),
        (
            "osv/pypa-advisory-db/vulns/accesscontrol/PYSEC-2021-335.yaml",
            "PYSEC-2021-335.yaml",
        ),
        (
            "osv/malicious/pypi/0-8/MAL-2025-2925.json",
            "MAL-2025-2925.json",
        ),
    ] {
        fs_err::copy(format!("{SHARED}/{from}"), src.join(to)).unwrap();
    }
    let o = zt(dir, &["vuln", "db", "import", "recs"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn explain_names_the_range_and_event() {
    let dir = tempfile::tempdir().unwrap();
    small_store(dir.path());
    let o = zt(
        dir.path(),
        &[
            "vuln",
            "explain",
            "CVE-2020-36212",
            "pkg:cargo/abi_stable@0.9.0",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("RUSTSEC-2020-0105 (alias CVE-2020-36212)"),
        "{out}"
    );
    assert!(
        out.contains("range[0] SEMVER: introduced 0, fixed 0.9.1"),
        "{out}"
    );
    assert!(out.contains("verdict: AFFECTED"), "{out}");
    let o = zt(
        dir.path(),
        &[
            "vuln",
            "explain",
            "PYSEC-2021-335",
            "pkg:pypi/AccessControl@4.3",
        ],
    );
    let out = stdout(&o);
    assert!(out.contains("NOT EVALUATED: GIT range"), "{out}");
    assert!(
        out.contains("not affected: 4.3 is at or above fixed 4.3"),
        "{out}"
    );
    assert!(out.contains("verdict: not affected"), "{out}");
    let o = zt(
        dir.path(),
        &["vuln", "explain", "GHSA-none", "pkg:cargo/abi_stable@0.9.0"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no advisory `GHSA-none`"),
        "{}",
        stderr(&o)
    );
    let o = zt(
        dir.path(),
        &[
            "vuln",
            "explain",
            "RUSTSEC-2020-0105",
            "pkg:cargo/abi_stable",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("has no version"), "{}", stderr(&o));
}

const BOM: &str = r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
  {"type": "library", "name": "abi_stable", "version": "0.9.0", "purl": "pkg:cargo/abi_stable@0.9.0"},
  {"type": "library", "name": "accesscontrol", "version": "4.1", "purl": "pkg:pypi/accesscontrol@4.1"}
]}"#;

#[test]
fn scan_exit_code_follows_fail_on() {
    let dir = tempfile::tempdir().unwrap();
    small_store(dir.path());
    fs_err::write(dir.path().join("bom.json"), BOM).unwrap();
    // abi_stable 0.9.0: high (CVSS 7.5); accesscontrol 4.1: no severity in the record → high
    let o = zt(dir.path(), &["vuln", "scan", "bom.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("2 findings (2 high) in 2 of 2 components; 0 not scanned; 0 waived"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("HIGH     7.5 RUSTSEC-2020-0105 abi_stable@0.9.0"),
        "{}",
        stdout(&o)
    );
    assert!(
        stderr(&o).contains("not evaluated") && stderr(&o).contains("GIT range"),
        "{}",
        stderr(&o)
    );
    let o = zt(
        dir.path(),
        &["vuln", "scan", "bom.json", "--fail-on", "high"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("2 findings at or above High severity"),
        "{}",
        stderr(&o)
    );
    let o = zt(dir.path(), &["vuln", "scan", "bom.json", "--sarif"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["version"], "2.1.0");
    assert_eq!(v["runs"][0]["results"].as_array().unwrap().len(), 2);
    let o = zt(dir.path(), &["--json", "vuln", "scan", "bom.json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["report"]["findings"][0]["fixed"][0], "0.9.1");
    fs_err::write(dir.path().join("bad.json"), "{\"bomFormat\": \"CycloneDX\"").unwrap();
    let o = zt(dir.path(), &["vuln", "scan", "bad.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad SBOM `bad.json`"), "{}", stderr(&o));
}

/// `YYYY-MM-DD`, `days` from today (UTC).
fn date_in(days: i64) -> String {
    let secs = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    let z = (secs / 86_400 + days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    format!("{:04}-{m:02}-{d:02}", yoe + era * 400 + i64::from(m <= 2))
}

fn waiver_file(id: &str, purl: &str, expires: &str) -> String {
    format!(
        "[[waiver]]\nid = \"{id}\"\npurl = \"{purl}\"\njustification = \"vulnerable_code_not_in_execute_path\"\n\
         statement = \"the affected function is never called\"\nowner = \"alice\"\napprover = \"bob\"\nexpires = \"{expires}\"\n"
    )
}

#[test]
fn waivers_waive_fail_when_unused_or_expired_and_export_openvex() {
    let dir = tempfile::tempdir().unwrap();
    small_store(dir.path());
    fs_err::write(dir.path().join("bom.json"), BOM).unwrap();
    // waived by alias: only accesscontrol's finding is left at high
    fs_err::write(
        dir.path().join("w.toml"),
        waiver_file("CVE-2020-36212", "pkg:cargo/abi_stable@0.9.0", &date_in(30)),
    )
    .unwrap();
    let o = zt(
        dir.path(),
        &[
            "vuln",
            "scan",
            "bom.json",
            "--waivers",
            "w.toml",
            "--fail-on",
            "high",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("WAIVED   RUSTSEC-2020-0105 abi_stable@0.9.0"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("1 findings (1 high)") && stdout(&o).contains("1 waived"),
        "{}",
        stdout(&o)
    );
    // a waiver that matches nothing fails the scan
    fs_err::write(
        dir.path().join("w2.toml"),
        waiver_file("CVE-2020-36212", "pkg:cargo/abi_stable@0.8.0", &date_in(30)),
    )
    .unwrap();
    let o = zt(
        dir.path(),
        &["vuln", "scan", "bom.json", "--waivers", "w2.toml"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("matches no finding: remove it"),
        "{}",
        stderr(&o)
    );
    // an expired waiver fails, one beyond the policy cap is an input error
    fs_err::write(
        dir.path().join("w3.toml"),
        waiver_file("CVE-2020-36212", "pkg:cargo/abi_stable@0.9.0", &date_in(-2)),
    )
    .unwrap();
    let o = zt(
        dir.path(),
        &["vuln", "scan", "bom.json", "--waivers", "w3.toml"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("has expired"), "{}", stderr(&o));
    fs_err::write(
        dir.path().join("w4.toml"),
        waiver_file(
            "CVE-2020-36212",
            "pkg:cargo/abi_stable@0.9.0",
            &date_in(400),
        ),
    )
    .unwrap();
    let o = zt(
        dir.path(),
        &["vuln", "scan", "bom.json", "--waivers", "w4.toml"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("field `waiver[0].expires`") && stderr(&o).contains("90 days"),
        "{}",
        stderr(&o)
    );
    let o = zt(
        dir.path(),
        &[
            "vuln",
            "vex",
            "w.toml",
            "--author",
            "sec@example.com",
            "--timestamp",
            "2026-01-01T00:00:00Z",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["statements"][0]["vulnerability"]["name"],
        "CVE-2020-36212"
    );
    assert_eq!(v["statements"][0]["status"], "not_affected");
}

/// `zt sbom --attest` records the SBOM in the ledger; `zt vuln watch` re-matches it after
/// each import and lists only what is new: everything the first time, nothing when the
/// database did not change, only the second import's findings after it.
#[test]
fn watch_lists_only_new_findings_after_a_second_import() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let h = "ab".repeat(32);
    fs_err::write(
        d.join("requirements.txt"),
        format!("jinja2==2.10 --hash=sha256:{h}\nurllib3==1.22 --hash=sha256:{h}\n"),
    )
    .unwrap();
    let pypa = format!("{SHARED}/osv/pypa-advisory-db/vulns");
    let o = zt(d, &["vuln", "db", "import", &format!("{pypa}/jinja2")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = zt(d, &["sbom", "--attest", "--out", "bom.cdx.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("recorded in the ledger"),
        "{}",
        stderr(&o)
    );

    let watch = |d: &Path| -> serde_json::Value {
        // exit 1 only for a new finding at or above --fail-on (critical)
        let o = zt(d, &["vuln", "watch", "--json"]);
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let first = watch(d);
    assert_eq!(first["sboms"], 1);
    assert_eq!(first["first_seen"].as_array().unwrap().len(), 1);
    let new = first["new"].as_array().unwrap();
    let mut ids: Vec<&str> = new.iter().map(|f| f["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    // PYSEC-2019-220 was fixed in 2.8.1: not a finding for 2.10
    assert_eq!(ids, ["PYSEC-2019-217", "PYSEC-2021-66"]);
    assert!(new.iter().all(|f| f["name"] == "jinja2"));

    let again = watch(d);
    assert_eq!(again["new"].as_array().unwrap().len(), 0);
    assert_eq!(again["total"], 2);

    let o = zt(d, &["vuln", "db", "import", &format!("{pypa}/urllib3")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let third = watch(d);
    let new = third["new"].as_array().unwrap();
    assert!(!new.is_empty());
    assert!(new.iter().all(|f| f["name"] == "urllib3"), "{new:?}");
    assert_eq!(third["total"].as_u64().unwrap(), 2 + new.len() as u64);
    assert!(third["resolved"].as_array().unwrap().is_empty());

    // human output: one NEW line per finding; exit 1 when a new finding reaches --fail-on
    fs_err::remove_file(d.join(".zt/vuln/watch.json")).unwrap();
    let o = zt(d, &["vuln", "watch", "--fail-on", "low"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o).matches("NEW ").count(), 2 + new.len());

    // the scan itself as a signed statement; still one SBOM to watch
    let o = zt(d, &["vuln", "scan", "bom.cdx.json", "--attest"]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    assert!(stderr(&o).contains("recorded in the ledger"));
    assert_eq!(watch(d)["sboms"], 1);
}

#[test]
fn watch_without_a_ledger_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = zt(
        dir.path(),
        &["vuln", "db", "import", &format!("{SHARED}/osv/malicious")],
    );
    assert_eq!(o.status.code(), Some(0));
    let o = zt(dir.path(), &["vuln", "watch"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no ledger at"), "{}", stderr(&o));
}

fn waive_args<'a>(expires: &'a str, owner: &'a str, approver: &'a str) -> Vec<&'a str> {
    vec![
        "vuln",
        "waive",
        "CVE-2020-36212",
        "--purl",
        "pkg:cargo/abi_stable@0.9.0",
        "--justification",
        "vulnerable_code_not_in_execute_path",
        "--statement",
        "RString::retain is never called",
        "--compensating-control",
        "fuzzing of the FFI boundary",
        "--owner",
        owner,
        "--approver",
        approver,
        "--expires",
        expires,
    ]
}

/// Issue 15: fix texts named `zt vuln waive`, which did not exist. It writes the repository's
/// waiver file, which the scan reads without `--waivers`, with the same checks.
#[test]
fn waive_writes_the_waiver_file_the_scan_reads_and_refuses_what_waivers_refuse() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    small_store(d);
    fs_err::write(d.join("bom.json"), BOM).unwrap();
    let in30 = date_in(30);
    let o = zt(d, &waive_args(&in30, "alice", "bob"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("recorded waiver[0] in `./zt-waivers.toml`"),
        "{}",
        stdout(&o)
    );
    let text = fs_err::read_to_string(d.join("zt-waivers.toml")).unwrap();
    assert!(
        text.contains("compensating_controls = [\"fuzzing of the FFI boundary\"]"),
        "{text}"
    );
    // the scan applies it without `--waivers`
    let o = zt(d, &["vuln", "scan", "bom.json", "--fail-on", "high"]);
    assert!(
        stdout(&o).contains("WAIVED   RUSTSEC-2020-0105 abi_stable@0.9.0")
            && stdout(&o).contains("1 waived"),
        "{}",
        stdout(&o)
    );
    // refused, the file unchanged: a repeat, a missing / past / too distant expiry, the
    // owner approving their own waiver
    let refused = |args: Vec<&str>, code: i32, want: &str| {
        let o = zt(d, &args);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
        assert_eq!(
            fs_err::read_to_string(d.join("zt-waivers.toml")).unwrap(),
            text
        );
    };
    refused(waive_args(&in30, "alice", "bob"), 2, "already waives");
    let mut no_expiry = waive_args(&in30, "alice", "bob");
    no_expiry.truncate(no_expiry.len() - 2);
    refused(no_expiry, 2, "--expires");
    refused(
        waive_args(&date_in(-1), "alice", "bob"),
        2,
        "is in the past",
    );
    refused(waive_args(&date_in(400), "alice", "bob"), 2, "90 days");
    refused(
        waive_args(&in30, "alice", "alice"),
        2,
        "must be someone other than the owner",
    );
    let o = zt(d, &waive_args(&in30, "alice", "bob"));
    assert!(stderr(&o).contains("help:"), "{}", stderr(&o));
}

/// Issue 15: a 108-day-old database re-imported today passed the staleness policy (which read
/// the import time) while `zt vuln db status` called it stale. Both now read the advisory
/// data's own age.
#[test]
fn an_old_database_reimported_today_is_stale_for_status_and_the_scan_statement() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let now = zt_core::time::now();
    let modified = zt_core::time::rfc3339(now - 108 * 86_400);
    fs_err::create_dir_all(d.join("recs")).unwrap();
    fs_err::write(
        d.join("recs/OLD-1.json"),
        format!(
            r#"{{"id": "OLD-1", "modified": "{modified}", "affected": [{{"package": {{"ecosystem": "crates.io", "name": "abi_stable"}}, "versions": ["0.9.0"]}}]}}"#
        ),
    )
    .unwrap();
    for _ in 0..2 {
        let o = zt(d, &["vuln", "db", "import", "recs"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let o = zt(
        d,
        &["--json", "vuln", "db", "status", "--max-age-days", "107"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    // the status document, then the error document
    let v: serde_json::Value = serde_json::Deserializer::from_slice(&o.stdout)
        .into_iter()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(v["newest_age_days"], 108);
    assert_eq!(v["updated"], modified.as_str());
    assert_eq!(v["stale"], true);
    let o = zt(d, &["vuln", "db", "status", "--max-age-days", "109"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // the scan's statement carries the data's time, which the policy judges
    fs_err::write(d.join("bom.json"), BOM).unwrap();
    fs_err::write(d.join("app"), b"the artifact").unwrap();
    let o = zt(
        d,
        &["vuln", "scan", "bom.json", "--attest", "--subject", "app"],
    );
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    let bundle = fs_err::read_dir(d.join(".zt/bundles"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("vuln-scan-"))
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&fs_err::read(bundle).unwrap()).unwrap();
    let payload = zt_core::b64::decode(json["dsseEnvelope"]["payload"].as_str().unwrap()).unwrap();
    let st: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(st["predicate"]["database"]["updated"], modified.as_str());
    assert_eq!(st["subject"][0]["name"], "app");
    assert_eq!(
        st["subject"][0]["digest"]["sha256"],
        zt_core::Digest::sha256(b"the artifact").hex()
    );
    assert_eq!(st["predicate"]["sbom"], "bom.json");
}

#[test]
fn the_store_is_the_repositorys_from_any_subdirectory() {
    let dir = tempfile::tempdir().unwrap();
    fs_err::create_dir(dir.path().join(".git")).unwrap();
    small_store(dir.path());
    let sub = dir.path().join("src/nested");
    fs_err::create_dir_all(&sub).unwrap();
    let o = zt(&sub, &["--json", "vuln", "db", "status"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["manifest"]["records"], 3, "{v}");
    assert!(
        !sub.join(".zt").exists(),
        "nothing is created in the subdirectory"
    );
    // `--store` (or ZT_VULN_STORE) still names another store.
    let o = zt(&sub, &["vuln", "db", "status", "--store", "elsewhere"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}
