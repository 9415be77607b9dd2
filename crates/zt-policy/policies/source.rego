# Source verification: the commits behind the subject are signed by keys the repository's
# signer policy (`.zt/signers.toml`) authorised, judged by `zt source verify` and attested
# with `--attest` (predicate type https://zt.dev/attestation/source-verification/v1).
#
# A trusted verification that says `verified: false` always denies, naming the failing
# commits. With `[policy] require_signed_commits = true` in zt.toml, the absence of a trusted
# verification that says `verified: true` denies too (fail closed).
package zt.source

import data.zt.lib

verifications := lib.evidence(lib.SOURCE_VERIFICATION)

fix := "sign the failing commits with a key `.zt/signers.toml` authorises (a policy change must be signed by a key the old policy lists), then run `zt source verify --attest`"

deny contains d if {
	some e in verifications
	e.statement.predicate.verified != true
	failed := [sprintf("%s %s", [substring(c.commit, 0, 12), c.verdict]) |
		some c in e.statement.predicate.commits
		c.verdict != "good"
	]
	d := lib.violation(
		"source.unverified",
		sprintf("the history of commit %s did not verify: %s", [e.statement.predicate.commit, concat(", ", failed)]),
		fix,
	)
}

verified if {
	some e in verifications
	e.statement.predicate.verified == true
}

deny contains d if {
	object.get(data.zt.config.policy, "require_signed_commits", false) == true
	not verified
	d := lib.violation(
		"source.unverified",
		"no trusted source verification shows that the commits' signatures verified",
		fix,
	)
}
