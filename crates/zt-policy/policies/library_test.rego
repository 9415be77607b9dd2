# The built-in library's own tests (run with `zt policy test`): the good input is allowed,
# and every built-in rule denies when its evidence is missing or wrong.
package zt.library_test

import data.zt.testing

test_good_input_is_allowed if {
	count(testing.deny_ids(testing.good)) == 0
}

test_empty_evidence_fails_closed_on_every_rule if {
	ids := testing.deny_ids(testing.with_evidence([]))
	ids == {"signature.unsigned", "provenance.missing", "tests.missing", "deps.missing", "sbom.missing", "vuln.missing"}
}
