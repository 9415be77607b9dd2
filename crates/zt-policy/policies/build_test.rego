package zt.build_test

import data.zt.testing

slsa := "https://slsa.dev/provenance/v1"

zt_build(sandbox) := testing.ev(slsa, {"buildDefinition": {
	"buildType": "https://zt.dev/build/sandbox/v1",
	"internalParameters": {"hermetic": true, "reproducible": true, "rebuilds": 2, "sandbox": sandbox},
}})

test_enforced_sandbox_allows if {
	p := zt_build({"enforced": true, "weaknesses": []})
	count(testing.deny_ids(testing.with_evidence(testing.replacing(slsa, p)))) == 0
}

test_weak_sandbox_denies if {
	p := zt_build({"enforced": false, "weaknesses": ["landlock not-enforced at ABI 0 (kernel ABI -95)"], "weakSandboxAllowed": true})
	testing.deny_ids(testing.with_evidence(testing.replacing(slsa, p))) == {"build.sandbox"}
}

test_provenance_without_sandbox_record_denies if {
	p := testing.ev(slsa, {"buildDefinition": {
		"buildType": "https://zt.dev/build/sandbox/v1",
		"internalParameters": {"hermetic": true, "reproducible": true, "rebuilds": 2},
	}})
	testing.deny_ids(testing.with_evidence(testing.replacing(slsa, p))) == {"build.sandbox"}
}

test_enforced_is_a_boolean_not_a_string if {
	p := zt_build({"enforced": "true"})
	testing.deny_ids(testing.with_evidence(testing.replacing(slsa, p))) == {"build.sandbox"}
}

test_weak_sandbox_allowed_by_config if {
	p := zt_build({"enforced": false, "weaknesses": ["no new session"]})
	input_doc := testing.with_evidence(testing.replacing(slsa, p))
	lenient := object.union(testing.config, {"policy": {"require_log_proof": true, "require_enforced_sandbox": false}})
	count(data.zt.build.deny) == 0 with input as input_doc with data.zt.config as lenient
	# and the same input is denied under the default
	count(data.zt.build.deny) == 1 with input as input_doc with data.zt.config as testing.config
}
