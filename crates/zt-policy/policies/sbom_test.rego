package zt.sbom_test

import data.zt.testing

test_missing_sbom_denies if {
	testing.deny_ids(testing.with_evidence(testing.without("https://cyclonedx.org/bom"))) == {"sbom.missing"}
}

test_spdx_sbom_counts if {
	s := testing.ev("https://spdx.dev/Document/v2.3", {"spdxVersion": "SPDX-2.3"})
	ev := testing.replacing("https://cyclonedx.org/bom", s)
	count(testing.deny_ids(testing.with_evidence(ev))) == 0
}
