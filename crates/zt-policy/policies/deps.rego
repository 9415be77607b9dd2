# Dependencies: trusted evidence from `zt deps check --attest` (or `zt pipeline run`) that every dependency is pinned
# (`predicate.pinned == true`; offenders listed in `predicate.unpinned: [{name, reason}]`).
package zt.deps

import data.zt.lib

checks := lib.evidence(lib.DEPENDENCIES)

deny contains d if {
	count(checks) == 0
	d := lib.violation(
		"deps.missing",
		"no trusted dependency check (https://zt.dev/attestation/dependency-intake/v1) for the artifact",
		"check the dependencies and sign the result about the artifact with `zt deps check --attest --subject FILE`",
	)
}

deny contains d if {
	some e in checks
	some u in object.get(e.statement.predicate, "unpinned", [])
	d := lib.violation(
		"deps.unpinned",
		sprintf("dependency `%v` is not pinned: %v", [object.get(u, "name", "?"), object.get(u, "reason", "no reason given")]),
		"pin it to an exact version with a hash (or a commit for git dependencies) in the lockfile, then `zt deps check`",
	)
}

deny contains d if {
	some e in checks
	not e.statement.predicate.pinned == true
	count(object.get(e.statement.predicate, "unpinned", [])) == 0
	d := lib.violation(
		"deps.unpinned",
		"the dependency check does not state that every dependency is pinned",
		"pin every dependency in the lockfile, then `zt deps check`",
	)
}
