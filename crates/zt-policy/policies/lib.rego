# Helpers shared by zt's built-in policies. This package denies nothing itself.
#
# `data.zt.config` is built by zt from zt.toml:
#   {trust: {keys: [{id, name, predicate_types, stages}]},
#    policy: {require_log_proof},
#    thresholds: {min_coverage, max_vuln_db_age_days, min_rebuilds}}
package zt.lib

# Whether the trust config lets key `key_id` sign predicate type `type` at the input's stage.
allowed(key_id, type) if {
	some key in data.zt.config.trust.keys
	key.id == key_id
	input.context.stage in key.stages
	some t in key.predicate_types
	t in {"*", type}
}

# Whether the evidence's transparency-log proof verified (or proofs are not required).
log_ok(e) if e.log.status == "verified"

log_ok(_) if data.zt.config.policy.require_log_proof == false

# Whether a statement is about the input's subject (some digest matches).
about_subject(e) if {
	some s in e.statement.subject
	some alg, value in s.digest
	input.subject.digest[alg] == value
}

# Evidence that counts: about the subject, signed by a key trusted for its type and stage,
# with a verified log proof.
trusted(e) if {
	about_subject(e)
	allowed(e.signer.key_id, e.statement.predicateType)
	log_ok(e)
}

# A source verification counts for the subject when it is about a commit the subject was
# built from (see `source_commits`), signed by a key trusted for source verifications, with a
# verified log proof. zt's gate checks its signature against the commit object's sha256.
trusted(e) if {
	e.statement.predicateType == SOURCE_VERIFICATION
	some s in e.statement.subject
	c := s.digest.gitCommit
	lower(c) in source_commits
	allowed(e.signer.key_id, e.statement.predicateType)
	log_ok(e)
}

# The git commits that trusted SLSA provenance about the subject names as built from.
source_commits contains lower(c) if {
	some p in input.evidence
	p.statement.predicateType == SLSA_PROVENANCE
	about_subject(p)
	allowed(p.signer.key_id, p.statement.predicateType)
	log_ok(p)
	some d in p.statement.predicate.buildDefinition.resolvedDependencies
	c := d.digest.gitCommit
}

# The trusted evidence whose predicate type is `type`.
evidence(type) := [e |
	some e in input.evidence
	e.statement.predicateType == type
	trusted(e)
]

# The trusted evidence whose predicate type starts with one of `prefixes`.
evidence_prefixed(prefixes) := [e |
	some e in input.evidence
	some p in prefixes
	startswith(e.statement.predicateType, p)
	trusted(e)
]

# A deny document: what failed, why, how to fix it, where it is documented.
violation(id, message, remediation) := {
	"id": id,
	"message": message,
	"remediation": remediation,
	"doc": sprintf("docs/policies.md#%s", [replace(id, ".", "-")]),
}

SLSA_PROVENANCE := "https://slsa.dev/provenance/v1"

TEST_RESULT := "https://in-toto.io/attestation/test-result/v0.1"

COVERAGE := "https://zt.dev/attestation/coverage/v1"

REPRODUCIBLE := "https://zt.dev/attestation/reproducible/v1"

DEPENDENCIES := "https://zt.dev/attestation/dependency-intake/v1"

VULN_SCAN := "https://zt.dev/attestation/vuln-scan/v1"

SOURCE_VERIFICATION := "https://zt.dev/attestation/source-verification/v1"

SBOM_PREFIXES := ["https://cyclonedx.org/bom", "https://spdx.dev/Document"]
