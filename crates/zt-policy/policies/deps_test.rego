package zt.deps_test

import data.zt.testing

dt := "https://zt.dev/attestation/dependency-intake/v1"

test_missing_dependency_check_denies if {
	testing.deny_ids(testing.with_evidence(testing.without(dt))) == {"deps.missing"}
}

test_unpinned_dependency_denies if {
	e := testing.ev(dt, {"pinned": false, "unpinned": [{"name": "serde", "reason": "version range ^1"}]})
	denies := data.zt.deps.deny with input as testing.with_evidence(testing.replacing(dt, e)) with data.zt.config as testing.config
	count(denies) == 1
	some d in denies
	d.id == "deps.unpinned"
	contains(d.message, "serde")
}

test_pinned_not_stated_denies if {
	e := testing.ev(dt, {"checked": 12})
	testing.deny_ids(testing.with_evidence(testing.replacing(dt, e))) == {"deps.unpinned"}
}
