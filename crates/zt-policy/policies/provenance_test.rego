package zt.provenance_test

import data.zt.testing

slsa := "https://slsa.dev/provenance/v1"

test_missing_provenance_denies if {
	ids := testing.deny_ids(testing.with_evidence(testing.without(slsa)))
	ids == {"provenance.missing"}
}

test_not_hermetic_denies if {
	p := testing.ev(slsa, {"buildDefinition": {"internalParameters": {"hermetic": false, "reproducible": true, "rebuilds": 3}}})
	testing.deny_ids(testing.with_evidence(testing.replacing(slsa, p))) == {"provenance.not-hermetic"}
}

test_too_few_rebuilds_denies if {
	p := testing.ev(slsa, {"buildDefinition": {"internalParameters": {"hermetic": true, "reproducible": true, "rebuilds": 1}}})
	testing.deny_ids(testing.with_evidence(testing.replacing(slsa, p))) == {"provenance.not-reproducible"}
}

test_reproducibility_statement_counts if {
	p := testing.ev(slsa, {"buildDefinition": {"internalParameters": {"hermetic": true}}})
	r := testing.ev("https://zt.dev/attestation/reproducible/v1", {"reproducible": true, "rebuilds": 2})
	ev := array.concat(testing.replacing(slsa, p), [r])
	count(testing.deny_ids(testing.with_evidence(ev))) == 0
}

test_failed_rebuild_denies if {
	r := testing.ev("https://zt.dev/attestation/reproducible/v1", {"reproducible": false, "rebuilds": 2})
	ev := array.concat(testing.all_evidence, [r])
	testing.deny_ids(testing.with_evidence(ev)) == {"provenance.not-reproducible"}
}

test_rebuild_count_must_be_a_number if {
	p := testing.ev(slsa, {"buildDefinition": {"internalParameters": {"hermetic": true, "reproducible": true, "rebuilds": "9"}}})
	testing.deny_ids(testing.with_evidence(testing.replacing(slsa, p))) == {"provenance.not-reproducible"}
}
