package zt.tests_test

import data.zt.testing

tr := "https://in-toto.io/attestation/test-result/v0.1"

test_missing_test_results_denies if {
	testing.deny_ids(testing.with_evidence(testing.without(tr))) == {"tests.missing"}
}

test_failed_tests_deny if {
	t := testing.ev(tr, {"result": "FAILED", "passedTests": ["a"], "warnedTests": [], "failedTests": ["b"], "coverage": 95})
	some d in data.zt.tests.deny with input as testing.with_evidence(testing.replacing(tr, t)) with data.zt.config as testing.config
	d.id == "tests.failed"
	contains(d.message, "1 failed")
}

test_low_coverage_denies if {
	t := testing.ev(tr, {"result": "PASSED", "passedTests": ["a"], "warnedTests": [], "failedTests": [], "coverage": 42.5})
	some d in data.zt.tests.deny with input as testing.with_evidence(testing.replacing(tr, t)) with data.zt.config as testing.config
	d.id == "tests.coverage"
	contains(d.message, "42.5")
}

test_missing_coverage_denies if {
	t := testing.ev(tr, {"result": "WARNED", "passedTests": ["a"], "warnedTests": ["w"], "failedTests": []})
	testing.deny_ids(testing.with_evidence(testing.replacing(tr, t))) == {"tests.coverage"}
}

test_zero_threshold_disables_coverage if {
	t := testing.ev(tr, {"result": "PASSED", "passedTests": ["a"], "warnedTests": [], "failedTests": []})
	cfg := object.union(testing.config, {"thresholds": {"min_coverage": 0, "max_vuln_db_age_days": 7, "min_rebuilds": 2}})
	denies := data.zt.tests.deny with input as testing.with_evidence(testing.replacing(tr, t)) with data.zt.config as cfg
	count(denies) == 0
}

cov := "https://zt.dev/attestation/coverage/v1"

# Coverage recorded as its own evidence (lcov/Cobertura) satisfies the threshold that a test
# result without a coverage field would otherwise fail.
test_coverage_evidence_satisfies_the_threshold if {
	t := testing.ev(tr, {"result": "PASSED", "passedTests": ["a"], "warnedTests": [], "failedTests": []})
	c := testing.ev(cov, {"format": "lcov", "coverage": 91, "lines": {"covered": 91, "total": 100}})
	inp := testing.with_evidence(array.concat(testing.replacing(tr, t), [c]))
	denies := data.zt.tests.deny with input as inp with data.zt.config as testing.config
	count(denies) == 0
}

test_low_coverage_evidence_denies if {
	t := testing.ev(tr, {"result": "PASSED", "passedTests": ["a"], "warnedTests": [], "failedTests": []})
	c := testing.ev(cov, {"format": "cobertura", "coverage": 12.5})
	inp := testing.with_evidence(array.concat(testing.replacing(tr, t), [c]))
	some d in data.zt.tests.deny with input as inp with data.zt.config as testing.config
	d.id == "tests.coverage"
	contains(d.message, "12.5")
}
