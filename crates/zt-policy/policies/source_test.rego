package zt.source_test

import data.zt.testing

sv := "https://zt.dev/attestation/source-verification/v1"

commit := "5f1d0c4be0a1f00ddeadbeef0123456789abcdef"

verification(ok, verdict) := testing.ev(sv, {
	"commit": commit,
	"verified": ok,
	"commits": [{"commit": commit, "verdict": verdict, "reason": "r"}],
})

requiring := object.union(testing.config, {"policy": {"require_log_proof": true, "require_signed_commits": true}})

test_failed_verification_denies if {
	inp := testing.with_evidence(array.concat(testing.all_evidence, [verification(false, "revoked-key")]))
	testing.deny_ids(inp) == {"source.unverified"}
	denies := data.zt.source.deny with input as inp with data.zt.config as testing.config
	some d in denies
	contains(d.message, "5f1d0c4be0a1 revoked-key")
}

test_missing_verification_denies_when_required if {
	denies := data.zt.source.deny with input as testing.good with data.zt.config as requiring
	{d.id | some d in denies} == {"source.unverified"}
}

test_good_verification_is_allowed_when_required if {
	inp := testing.with_evidence(array.concat(testing.all_evidence, [verification(true, "good")]))
	count(data.zt.source.deny) == 0 with input as inp with data.zt.config as requiring
}

test_untrusted_verification_does_not_count if {
	e := verification(true, "good")
	untrusted := object.union(e, {"signer": {"key_id": testing.other_key}})
	inp := testing.with_evidence(array.concat(testing.all_evidence, [untrusted]))
	denies := data.zt.source.deny with input as inp with data.zt.config as requiring
	{d.id | some d in denies} == {"source.unverified"}
}

# The statement `zt source verify --attest` makes: about a commit, not the artifact.
about_commit(c, ok) := object.union(verification(ok, "good"), {"statement": {
	"_type": "https://in-toto.io/Statement/v1",
	"subject": [{"name": sprintf("git:%s", [c]), "digest": {"gitCommit": c, "sha256": "ab"}}],
	"predicateType": sv,
	"predicate": {"commit": c, "verified": ok, "commits": [{"commit": c, "verdict": verdict_of(ok), "reason": "r"}]},
}})

verdict_of(true) := "good"

verdict_of(false) := "unsigned"

built_from(c) := object.union(testing.provenance, {"statement": {"predicate": {"buildDefinition": {
	"buildType": "https://zt.dev/build/v1",
	"internalParameters": {"hermetic": true, "reproducible": true, "rebuilds": 2},
	"resolvedDependencies": [{"uri": "git+file:///src", "digest": {"gitCommit": c}}],
}}}})

others := [e | some e in testing.all_evidence; e.statement.predicateType != "https://slsa.dev/provenance/v1"]

test_verification_of_the_commit_built_from_counts if {
	inp := testing.with_evidence(array.concat(others, [built_from(commit), about_commit(commit, true)]))
	count(data.zt.source.deny) == 0 with input as inp with data.zt.config as requiring
}

test_failed_verification_of_the_commit_built_from_denies if {
	inp := testing.with_evidence(array.concat(others, [built_from(commit), about_commit(commit, false)]))
	denies := data.zt.source.deny with input as inp with data.zt.config as testing.config
	some d in denies
	d.id == "source.unverified"
	contains(d.message, "5f1d0c4be0a1 unsigned")
}

test_verification_of_another_commit_does_not_count if {
	other := "0000000000000000000000000000000000000001"
	inp := testing.with_evidence(array.concat(others, [built_from(other), about_commit(commit, true)]))
	denies := data.zt.source.deny with input as inp with data.zt.config as requiring
	{d.id | some d in denies} == {"source.unverified"}
}

test_commit_named_by_untrusted_provenance_does_not_count if {
	untrusted := object.union(built_from(commit), {"signer": {"key_id": testing.other_key}})
	inp := testing.with_evidence(array.concat(others, [untrusted, about_commit(commit, true)]))
	denies := data.zt.source.deny with input as inp with data.zt.config as requiring
	{d.id | some d in denies} == {"source.unverified"}
}
