# Signatures and trust: the artifact must be signed by a key that zt.toml trusts for each
# predicate type at this stage, every piece of evidence must carry a verified log proof, and
# any evidence that failed verification is a deny (a broken signature is never skipped).
package zt.signature

import data.zt.lib

deny contains d if {
	some r in input.rejected
	d := lib.violation(
		"signature.rejected",
		sprintf("evidence `%s` failed verification: %s", [r.source, r.reason]),
		"find out why the evidence no longer verifies (a modified artifact or bundle, a revoked key); rebuild and re-attest from a trusted state",
	)
}

deny contains d if {
	count([e | some e in input.evidence; lib.trusted(e)]) == 0
	d := lib.violation(
		"signature.unsigned",
		sprintf("no evidence about the artifact is signed by a key zt.toml trusts at stage `%s`", [input.context.stage]),
		"sign the artifact's evidence with a trusted key (`zt attest`, `zt build`) or add the signer to `[[trust.key]]` in `zt.toml`",
	)
}

deny contains d if {
	some e in input.evidence
	lib.about_subject(e)
	not lib.allowed(e.signer.key_id, e.statement.predicateType)
	d := lib.violation(
		"signature.untrusted",
		sprintf("`%s` evidence is signed by key %s, which zt.toml does not trust for that predicate type at stage `%s`", [e.statement.predicateType, e.signer.key_id, input.context.stage]),
		"re-sign the evidence with a trusted key, or allow this key for the predicate type and stage under `[[trust.key]]` in `zt.toml`",
	)
}

deny contains d if {
	some e in input.evidence
	lib.about_subject(e)
	not lib.log_ok(e)
	d := lib.violation(
		"signature.log-proof",
		sprintf("`%s` evidence signed by %s has no verified transparency-log proof (status `%s`)", [e.statement.predicateType, e.signer.key_id, e.log.status]),
		"append the bundle to the log (`zt log append`) and verify again",
	)
}
