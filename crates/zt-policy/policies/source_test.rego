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
