# Vulnerabilities: a trusted vulnerability scan of the artifact, made with a database no
# older than `thresholds.max_vuln_db_age_days` at the input's time, with no critical finding
# unless it is waived. Scan predicate: `{database: {updated: RFC 3339}, findings: [{id,
# package, severity, waived}]}`. `database.updated` is the age of the advisory data (the
# newest record's `modified`), not the import time: `zt vuln db status --max-age-days N`
# applies the same rule to the second (fresh iff `time - updated <= N days`).
package zt.vuln

import data.zt.lib

scans := lib.evidence(lib.VULN_SCAN)

deny contains d if {
	count(scans) == 0
	d := lib.violation(
		"vuln.missing",
		"no trusted vulnerability scan (https://zt.dev/attestation/vuln-scan/v1) for the artifact",
		"scan the artifact's SBOM and sign the result with `zt vuln scan SBOM --attest --subject FILE`",
	)
}

deny contains d if {
	some e in scans
	some f in object.get(e.statement.predicate, "findings", [])
	lower(object.get(f, "severity", "")) == "critical"
	not f.waived == true
	d := lib.violation(
		"vuln.critical",
		sprintf("critical vulnerability %v in %v is not waived", [object.get(f, "id", "?"), object.get(f, "package", "?")]),
		"upgrade the affected package, or record a justified, expiring waiver with `zt vuln waive ID --purl PURL`, then `zt vuln scan SBOM --attest --subject FILE`",
	)
}

max_age_ns := data.zt.config.thresholds.max_vuln_db_age_days * 86400000000000

fresh(e) if {
	updated := time.parse_rfc3339_ns(e.statement.predicate.database.updated)
	time.parse_rfc3339_ns(input.context.time) - updated <= max_age_ns
}

deny contains d if {
	count(scans) > 0
	count([e | some e in scans; fresh(e)]) == 0
	d := lib.violation(
		"vuln.stale-database",
		sprintf("no vulnerability scan used a database updated within %v days of %v", [data.zt.config.thresholds.max_vuln_db_age_days, input.context.time]),
		"refresh the database with `zt vuln db import PATH`, then `zt vuln scan SBOM --attest --subject FILE`",
	)
}
