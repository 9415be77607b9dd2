package zt.vuln_test

import data.zt.testing

vt := "https://zt.dev/attestation/vuln-scan/v1"

test_missing_scan_denies if {
	testing.deny_ids(testing.with_evidence(testing.without(vt))) == {"vuln.missing"}
}

test_unwaived_critical_denies if {
	s := testing.ev(vt, {"database": {"updated": "2026-11-24T00:00:00Z"}, "findings": [
		{"id": "CVE-2024-3094", "package": "pkg:deb/debian/xz-utils@5.6.0", "severity": "CRITICAL"},
		{"id": "CVE-2024-0002", "package": "pkg:cargo/bar@1.0.0", "severity": "critical", "waived": true},
	]})
	denies := data.zt.vuln.deny with input as testing.with_evidence(testing.replacing(vt, s)) with data.zt.config as testing.config
	count(denies) == 1
	some d in denies
	d.id == "vuln.critical"
	contains(d.message, "CVE-2024-3094")
}

test_stale_database_denies if {
	s := testing.ev(vt, {"database": {"updated": "2026-11-01T00:00:00Z"}, "findings": []})
	testing.deny_ids(testing.with_evidence(testing.replacing(vt, s))) == {"vuln.stale-database"}
}

test_undated_database_denies if {
	s := testing.ev(vt, {"findings": []})
	testing.deny_ids(testing.with_evidence(testing.replacing(vt, s))) == {"vuln.stale-database"}
}
