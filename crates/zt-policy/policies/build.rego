# The build sandbox: zt's provenance records what the sandbox enforced, as observed from
# inside just before the build ran (`internalParameters.sandbox.enforced`: Landlock fully
# enforced at ABI 4 or later, seccomp in place, every namespace new, no network interface but
# loopback, a new session, no inherited descriptor). A build run with `--allow-weak-sandbox`
# on a kernel that could not enforce it says `enforced: false` and lists its weaknesses.
#
# `build.sandbox` denies when `[policy] require_enforced_sandbox` (default true) and any
# trusted zt provenance about the artifact records a sandbox that was not enforced, or records
# none (fail closed: provenance from before the sandbox reported counts as weak).
package zt.build

import data.zt.lib

ZT_BUILD_TYPE := "https://zt.dev/build/sandbox/v1"

required := object.get(object.get(data.zt.config, "policy", {}), "require_enforced_sandbox", true)

weak contains reasons if {
	some e in lib.evidence(lib.SLSA_PROVENANCE)
	e.statement.predicate.buildDefinition.buildType == ZT_BUILD_TYPE
	sandbox := object.get(e.statement.predicate.buildDefinition.internalParameters, "sandbox", {})
	object.get(sandbox, "enforced", false) != true
	reasons := object.get(sandbox, "weaknesses", ["the provenance does not say what the sandbox enforced"])
}

deny contains d if {
	required == true
	some reasons in weak
	d := lib.violation(
		"build.sandbox",
		sprintf("the artifact was built in a sandbox that was not fully enforced: %s", [concat("; ", [sprintf("%v", [r]) | some r in reasons])]),
		"rebuild on a kernel with Landlock ABI 4 or later (Linux 6.7+) without `--allow-weak-sandbox`: `zt build --rebuild 2 -- <your build command>`; or set `require_enforced_sandbox = false` under `[policy]` in `zt.toml` to accept weak builds",
	)
}
