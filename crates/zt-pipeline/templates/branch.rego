# Example of a repository rule: only `main` or a tag may be deployed.
package zt.branch

import data.zt.lib

deployable(ref) if ref == "refs/heads/main"

deployable(ref) if startswith(ref, "refs/tags/")

deny contains d if {
	input.context.stage == "deploy"
	ref := input.context.ref
	not deployable(ref)
	d := lib.violation(
		"branch.not-deployable",
		sprintf("`%s` is neither `main` nor a tag; only those are deployed", [ref]),
		"merge to `main` or tag a release, then deploy that",
	)
}
