package zt.branch_test

import data.zt.testing

test_feature_branch_is_not_deployed if {
	inp := object.union(testing.good, {"context": {"stage": "deploy", "time": "2026-11-25T12:00:00Z", "ref": "refs/heads/wip"}})
	some d in data.zt.branch.deny with input as inp with data.zt.config as testing.config
	d.id == "branch.not-deployable"
}

test_tag_is_deployed if {
	inp := object.union(testing.good, {"context": {"stage": "deploy", "time": "2026-11-25T12:00:00Z", "ref": "refs/tags/v1.0.0"}})
	count(data.zt.branch.deny) == 0 with input as inp with data.zt.config as testing.config
}
