# Tests: trusted in-toto test-result evidence exists, nothing failed, and line coverage
# reaches `thresholds.min_coverage` (0 turns the coverage check off). Coverage comes from
# trusted coverage evidence (`zt attest --type coverage --from lcov.info|coverage.xml`) or a
# test result's `coverage` field (percent; a zt extension).
package zt.tests

import data.zt.lib

results := lib.evidence(lib.TEST_RESULT)

deny contains d if {
	count(results) == 0
	d := lib.violation(
		"tests.missing",
		"no trusted test results (https://in-toto.io/attestation/test-result/v0.1) for the artifact",
		"run the tests with JUnit XML output and record it with `zt attest --type test-results --from junit.xml`",
	)
}

deny contains d if {
	some e in results
	not e.statement.predicate.result in {"PASSED", "WARNED"}
	d := lib.violation(
		"tests.failed",
		sprintf("test results are `%v`: %d failed (%v)", [e.statement.predicate.result, count(object.get(e.statement.predicate, "failedTests", [])), object.get(e.statement.predicate, "failedTests", [])]),
		"fix the failing tests, run them again and record the new results with `zt attest --type test-results --from junit.xml`",
	)
}

threshold := data.zt.config.thresholds.min_coverage

coverage_evidence := lib.evidence(lib.COVERAGE)

coverages := [c |
	some e in array.concat(results, coverage_evidence)
	c := e.statement.predicate.coverage
	is_number(c)
]

covered if {
	some c in coverages
	c >= threshold
}

deny contains d if {
	count(results) > 0
	threshold > 0
	count(coverages) == 0
	d := lib.violation(
		"tests.coverage",
		sprintf("test results report no coverage; at least %v%% is required", [threshold]),
		"measure coverage as lcov or Cobertura XML and record it: `zt attest FILE --type coverage --from lcov.info` (or set `thresholds.min_coverage = 0` in `zt.toml`)",
	)
}

deny contains d if {
	count(coverages) > 0
	threshold > 0
	not covered
	d := lib.violation(
		"tests.coverage",
		sprintf("test coverage %v%% is below the required %v%%", [max(coverages), threshold]),
		"add tests until coverage reaches the threshold (`thresholds.min_coverage` in `zt.toml`), then record it again: `zt attest FILE --type coverage --from lcov.info`",
	)
}
