# SLSA provenance: the artifact has trusted SLSA v1 provenance, from a hermetic build that
# was reproduced bit for bit at least `thresholds.min_rebuilds` times.
#
# Hermetic: `predicate.buildDefinition.internalParameters.hermetic == true`.
# Reproducible: a zt reproducibility statement `{reproducible: true, rebuilds: N}`, or the
# provenance's `internalParameters` with `reproducible: true` and `rebuilds: N`.
package zt.provenance

import data.zt.lib

provenance := lib.evidence(lib.SLSA_PROVENANCE)

fix := "build with `zt build --rebuild 2 -- <your build command>`, which seals the build, rebuilds it and signs the provenance"

deny contains d if {
	count(provenance) == 0
	d := lib.violation(
		"provenance.missing",
		"no trusted SLSA provenance (https://slsa.dev/provenance/v1) for the artifact",
		fix,
	)
}

hermetic if {
	some e in provenance
	e.statement.predicate.buildDefinition.internalParameters.hermetic == true
}

deny contains d if {
	count(provenance) > 0
	not hermetic
	d := lib.violation(
		"provenance.not-hermetic",
		"the artifact's provenance does not record a hermetic build",
		fix,
	)
}

rebuilds contains n if {
	some e in lib.evidence(lib.REPRODUCIBLE)
	e.statement.predicate.reproducible == true
	n := e.statement.predicate.rebuilds
	is_number(n)
}

rebuilds contains n if {
	some e in provenance
	p := e.statement.predicate.buildDefinition.internalParameters
	p.reproducible == true
	n := p.rebuilds
	is_number(n)
}

reproducible if {
	some n in rebuilds
	n >= data.zt.config.thresholds.min_rebuilds
}

deny contains d if {
	count(provenance) > 0
	not reproducible
	d := lib.violation(
		"provenance.not-reproducible",
		sprintf("no trusted evidence that %d independent builds produced identical outputs", [data.zt.config.thresholds.min_rebuilds]),
		fix,
	)
}

deny contains d if {
	some e in lib.evidence(lib.REPRODUCIBLE)
	e.statement.predicate.reproducible == false
	d := lib.violation(
		"provenance.not-reproducible",
		"a rebuild produced different outputs",
		"run `zt repro diff` on the differing outputs, fix the source of non-determinism, then `zt build --rebuild 2 -- <your build command>`",
	)
}
