# Fixtures for the built-in policies' tests: a trust config, and an input in which every
# built-in rule holds. Each `*_test.rego` takes one piece away and expects its deny.
package zt.testing

key := "1111111111111111111111111111111111111111111111111111111111111111"

other_key := "2222222222222222222222222222222222222222222222222222222222222222"

digest := "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"

config := {
	"trust": {"keys": [{"id": key, "name": "ci", "predicate_types": ["*"], "stages": ["ci", "publish", "deploy"]}]},
	"policy": {"require_log_proof": true},
	"thresholds": {"min_coverage": 80, "max_vuln_db_age_days": 7, "min_rebuilds": 2},
}

ev(type, predicate) := {
	"statement": {
		"_type": "https://in-toto.io/Statement/v1",
		"subject": [{"name": "app.tar.gz", "digest": {"sha256": digest}}],
		"predicateType": type,
		"predicate": predicate,
	},
	"signer": {"key_id": key},
	"log": {"status": "verified", "index": 3},
	"bundle": "sha256:00",
	"time": "2026-11-25T10:00:00Z",
}

provenance := ev("https://slsa.dev/provenance/v1", {"buildDefinition": {
	"buildType": "https://zt.dev/build/v1",
	"internalParameters": {"hermetic": true, "reproducible": true, "rebuilds": 2},
}})

tests_evidence := ev("https://in-toto.io/attestation/test-result/v0.1", {
	"result": "PASSED", "passedTests": ["a", "b"], "warnedTests": [], "failedTests": [],
	"coverage": 91.5,
})

deps := ev("https://zt.dev/attestation/dependency-intake/v1", {"pinned": true, "unpinned": []})

sbom := ev("https://cyclonedx.org/bom", {"bomFormat": "CycloneDX", "specVersion": "1.6"})

vuln := ev("https://zt.dev/attestation/vuln-scan/v1", {
	"database": {"updated": "2026-11-24T00:00:00Z"},
	"findings": [{"id": "CVE-2024-0001", "package": "pkg:cargo/foo@1.0.0", "severity": "high"}],
})

all_evidence := [provenance, tests_evidence, deps, sbom, vuln]

with_evidence(evidence) := {
	"version": 1,
	"subject": {"name": "app.tar.gz", "digest": {"sha256": digest}},
	"evidence": evidence,
	"rejected": [],
	"context": {"stage": "ci", "time": "2026-11-25T12:00:00Z", "repo": "example", "ref": "refs/heads/main"},
}

good := with_evidence(all_evidence)

# `all_evidence` with the entry of predicate type `type` replaced by `replacement`.
replacing(type, replacement) := array.concat(
	[e | some e in all_evidence; e.statement.predicateType != type],
	[replacement],
)

# `all_evidence` without the entry of predicate type `type`.
without(type) := [e | some e in all_evidence; e.statement.predicateType != type]

# The ids of the denies of every built-in package for `inp`. (The packages are named one by
# one: a dynamic `data.zt[pkg]` would include the test packages themselves.)
deny_ids(inp) := ids if {
	denies := ((((((data.zt.signature.deny | data.zt.provenance.deny) | data.zt.tests.deny) | data.zt.deps.deny) | data.zt.sbom.deny) | data.zt.vuln.deny) | data.zt.source.deny) | data.zt.build.deny with input as inp with data.zt.config as config
	ids := {d.id | some d in denies}
}
