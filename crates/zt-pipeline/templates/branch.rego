# Example of a repository rule (`zt init` filled in the branch git had checked out): only `{branch}` or a tag may be deployed.
package zt.branch

import data.zt.lib

deployable(ref) if ref == "refs/heads/{branch}"

deployable(ref) if startswith(ref, "refs/tags/")

deny contains d if {
	input.context.stage == "deploy"
	ref := input.context.ref
	not deployable(ref)
	d := lib.violation(
		"branch.not-deployable",
		sprintf("`%s` is neither `{branch}` nor a tag; only those are deployed", [ref]),
		"merge to `{branch}` or tag a release, then deploy that",
	)
}
