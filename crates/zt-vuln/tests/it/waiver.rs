//! Waivers: loading and policy checks, matching findings (with aliases), OpenVEX export.

use std::path::Path;

use zt_vuln::cvss::Severity;
use zt_vuln::osv::AdvisoryKind;
use zt_vuln::scan::Finding;
use zt_vuln::waiver::{WaiverPolicy, apply, load, to_openvex};

const NOW: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const POLICY: WaiverPolicy = WaiverPolicy {
    max_days: 90,
    warn_days: 14,
};

fn finding(id: &str, aliases: &[&str], name: &str, version: &str) -> Finding {
    Finding {
        purl: format!("pkg:cargo/{name}@{version}"),
        ecosystem: "crates.io".into(),
        name: name.into(),
        version: version.into(),
        id: id.into(),
        aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
        kind: AdvisoryKind::Vulnerability,
        severity: Severity::High,
        severity_source: "cvss",
        score: Some(7.5),
        vector: None,
        summary: None,
        fixed: vec![],
        decided_by: String::new(),
    }
}

const GOOD: &str = r#"
[[waiver]]
id = "CVE-2020-36212"
purl = "pkg:cargo/abi_stable@0.9.0"
justification = "vulnerable_code_not_in_execute_path"
statement = "RString::retain is never called"
compensating_controls = ["fuzzing of the FFI boundary"]
owner = "alice"
approver = "bob"
expires = "2026-03-01"

[[waiver]]
id = "RUSTSEC-2021-0001"
purl = "pkg:cargo/other"
versions = { introduced = "1.0.0", fixed = "1.4.0" }
justification = "inline_mitigations_already_exist"
statement = "input is validated upstream"
owner = "alice"
approver = "carol"
expires = "2026-01-10"
"#;

fn load_str(s: &str) -> Result<Vec<zt_vuln::waiver::LoadedWaiver>, String> {
    load(s, Path::new("waivers.toml"), POLICY, NOW).map_err(|e| e.to_string())
}

#[test]
fn waivers_match_by_alias_and_scope() {
    let w = load_str(GOOD).unwrap();
    let findings = vec![
        finding(
            "RUSTSEC-2020-0105",
            &["CVE-2020-36212"],
            "abi_stable",
            "0.9.0",
        ),
        finding(
            "RUSTSEC-2020-0105",
            &["CVE-2020-36212"],
            "abi_stable",
            "0.8.0",
        ),
        finding("RUSTSEC-2021-0001", &[], "other", "1.3.9"),
    ];
    let check = apply(&w, &findings, POLICY, NOW);
    assert_eq!(check.waived, vec![(0, 0), (2, 1)]);
    assert!(check.unused.is_empty() && check.expired.is_empty());
    assert_eq!(check.expiring_soon, vec![1]);
    assert!(!check.failed());
    // outside the range: 1.4.0 is the fix, so the second waiver is unused
    let check = apply(
        &w,
        &[finding("RUSTSEC-2021-0001", &[], "other", "1.4.0")],
        POLICY,
        NOW,
    );
    assert_eq!(check.unused, vec![0, 1]);
    assert!(check.failed());
    // after expiry
    let later = NOW + 20 * 86_400;
    let check = apply(&w, &findings, POLICY, later);
    assert_eq!(check.expired, vec![1]);
    assert!(check.failed());
}

#[test]
fn policy_violations_are_errors_naming_the_field() {
    let cases = [
        (
            GOOD.replace(
                "owner = \"alice\"\napprover = \"bob\"",
                "owner = \"alice\"\napprover = \"alice\"",
            ),
            "waiver[0].approver",
        ),
        (
            GOOD.replace("expires = \"2026-03-01\"", "expires = \"2027-03-01\""),
            "waiver[0].expires",
        ),
        (
            GOOD.replace("pkg:cargo/abi_stable@0.9.0", "pkg:cargo/abi_stable"),
            "over-broad",
        ),
        (GOOD.replace(", fixed = \"1.4.0\" ", " "), "over-broad"),
        (
            GOOD.replace("id = \"CVE-2020-36212\"", "id = CVE"),
            "line 3",
        ),
        (
            GOOD.replace(
                "statement = \"RString",
                "reason = \"x\"\nstatement = \"RString",
            ),
            "unknown field `reason`",
        ),
        (
            GOOD.replace("vulnerable_code_not_in_execute_path", "because"),
            "unknown variant `because`",
        ),
        (
            GOOD.replace("expires = \"2026-03-01\"\n", ""),
            "missing field `expires`",
        ),
        (GOOD.replace("@0.9.0", "@zero"), "waiver[0].purl"),
    ];
    for (text, want) in cases {
        let e = load_str(&text).unwrap_err();
        assert!(
            e.contains(want) && e.contains("waivers.toml"),
            "{want}: {e}"
        );
    }
}

#[test]
fn openvex_export() {
    let w = load_str(GOOD).unwrap();
    let vex = to_openvex(&w, "security@example.com", "2026-01-01T00:00:00Z");
    assert_eq!(vex["@context"], "https://openvex.dev/ns/v0.2.0");
    let st = vex["statements"].as_array().unwrap();
    assert_eq!(st.len(), 2);
    assert_eq!(st[0]["status"], "not_affected");
    assert_eq!(
        st[0]["justification"],
        "vulnerable_code_not_in_execute_path"
    );
    assert_eq!(st[0]["products"][0]["@id"], "pkg:cargo/abi_stable@0.9.0");
    assert!(
        st[1]["status_notes"]
            .as_str()
            .unwrap()
            .contains("from 1.0.0 below 1.4.0")
    );
    // deterministic: same waivers, same document
    assert_eq!(
        vex,
        to_openvex(&w, "security@example.com", "2026-01-01T00:00:00Z")
    );
}
