# SBOM: a trusted CycloneDX or SPDX statement about the artifact.
package zt.sbom

import data.zt.lib

deny contains d if {
	count(lib.evidence_prefixed(lib.SBOM_PREFIXES)) == 0
	d := lib.violation(
		"sbom.missing",
		"no trusted SBOM (CycloneDX or SPDX) for the artifact",
		"generate and sign one about the artifact with `zt sbom --attest --subject FILE`",
	)
}
