package zt.signature_test

import data.zt.testing

test_rejected_evidence_denies if {
	inp := object.union(testing.good, {"rejected": [{"source": "dist/app.tar.gz.sigstore.json", "predicate_type": "https://slsa.dev/provenance/v1", "reason": "signature does not verify"}]})
	some d in data.zt.signature.deny with input as inp with data.zt.config as testing.config
	d.id == "signature.rejected"
	contains(d.message, "signature does not verify")
}

test_untrusted_key_denies if {
	bad := object.union(testing.sbom, {"signer": {"key_id": testing.other_key}})
	inp := testing.with_evidence(testing.replacing("https://cyclonedx.org/bom", bad))
	ids := testing.deny_ids(inp)
	"signature.untrusted" in ids
	"sbom.missing" in ids
}

test_key_not_trusted_at_stage_denies if {
	cfg := object.union(testing.config, {"trust": {"keys": [{"id": testing.key, "predicate_types": ["*"], "stages": ["ci"]}]}})
	inp := object.union(testing.good, {"context": {"stage": "deploy", "time": "2026-11-25T12:00:00Z", "repo": "r", "ref": "x"}})
	some d in data.zt.signature.deny with input as inp with data.zt.config as cfg
	d.id == "signature.unsigned"
}

test_key_not_trusted_for_type_denies if {
	cfg := object.union(testing.config, {"trust": {"keys": [{"id": testing.key, "predicate_types": ["https://slsa.dev/provenance/v1"], "stages": ["ci"]}]}})
	denies := data.zt.signature.deny with input as testing.good with data.zt.config as cfg
	untrusted := [d | some d in denies; d.id == "signature.untrusted"]
	count(untrusted) == 4
}

test_missing_log_proof_denies if {
	bad := object.union(testing.deps, {"log": {"status": "missing"}})
	inp := testing.with_evidence(testing.replacing("https://zt.dev/attestation/dependency-intake/v1", bad))
	ids := testing.deny_ids(inp)
	"signature.log-proof" in ids
	"deps.missing" in ids
}

test_log_proof_optional_when_configured if {
	bad := object.union(testing.deps, {"log": {"status": "missing"}})
	inp := testing.with_evidence(testing.replacing("https://zt.dev/attestation/dependency-intake/v1", bad))
	cfg := object.union(testing.config, {"policy": {"require_log_proof": false}})
	denies := data.zt.signature.deny with input as inp with data.zt.config as cfg
	count(denies) == 0
}

test_evidence_about_another_artifact_does_not_count if {
	other := object.union(testing.sbom, {"statement": object.union(testing.sbom.statement, {"subject": [{"name": "x", "digest": {"sha256": "00"}}]})})
	inp := testing.with_evidence(testing.replacing("https://cyclonedx.org/bom", other))
	testing.deny_ids(inp) == {"sbom.missing"}
}
