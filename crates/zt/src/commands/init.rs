//! `zt init`: a repository's `zt.toml`, a local signing key and a `policies/` folder.

use std::path::{Path, PathBuf};

use zt_core::config::{CONFIG_FILE, Config};
use zt_core::fsutil::create_new_atomic;
use zt_sign::{FileKey, KeyType, PublicKey, Signer as _};

use crate::cli::InitArgs;
use crate::commands::Status;
use crate::printer::Printer;
use crate::report::CliError;

const KEY_PATH: &str = ".zt/keys/local";

pub(crate) fn run(args: InitArgs, printer: &Printer) -> Result<Status, CliError> {
    let repo = args.dir.unwrap_or_else(|| PathBuf::from("."));
    let config_path = repo.join(CONFIG_FILE);
    if config_path.exists() {
        return Err(CliError::input(
            format!("`{}` already exists", config_path.display()),
            "zt init never overwrites a configuration; edit it, or remove it and run `zt init` again",
        ));
    }

    // The local key: reuse a pair left by an earlier init, else make one.
    let key_path = repo.join(KEY_PATH);
    let public_path = repo.join(format!("{KEY_PATH}.pub"));
    let (public, created_key) = if public_path.is_file() {
        (PublicKey::load(&public_path)?, false)
    } else {
        let key = FileKey::generate(KeyType::Ed25519);
        zt_sign::keys::write_key_pair(&key, &key_path)?;
        (key.public_key(), true)
    };
    let ignore = repo.join(".zt/.gitignore");
    if !ignore.exists() {
        write_new(&ignore, GITIGNORE)?;
    }

    let policies = repo.join("policies");
    let mut written = Vec::new();
    for (name, text) in [
        ("README.md", POLICIES_README),
        ("branch.rego", EXAMPLE_POLICY),
        ("branch_test.rego", EXAMPLE_TEST),
        ("tests.rego.example", EXAMPLE_OVERRIDE),
    ] {
        let path = policies.join(name);
        if !path.exists() {
            write_new(&path, text)?;
            written.push(path);
        }
    }

    let text = config_template(&public.key_id());
    // The template must stay valid: a broken one would be written once and fail forever.
    Config::parse(&text, &config_path)?;
    write_new(&config_path, &text)?;

    if printer.json {
        printer.json(&serde_json::json!({
            "config": config_path,
            "key_id": public.key_id(),
            "public_key": public_path,
            "private_key": if created_key { Some(&key_path) } else { None },
            "policies": written,
        }));
    } else {
        printer.out(format!("wrote `{}`", config_path.display()));
        if created_key {
            printer.out(format!(
                "wrote `{}` (private, 0600) and `{}`: ed25519 key {}",
                key_path.display(),
                public_path.display(),
                public.key_id()
            ));
        } else {
            printer.out(format!(
                "kept `{}`: key {}",
                public_path.display(),
                public.key_id()
            ));
        }
        for p in &written {
            printer.out(format!("wrote `{}`", p.display()));
        }
        printer
            .info("next: `zt policy test` checks the policies; `zt pipeline run` runs every stage");
    }
    Ok(Status::Success)
}

fn write_new(path: &Path, text: &str) -> Result<(), CliError> {
    create_new_atomic(path, text.as_bytes(), Some(0o644)).map_err(|e| {
        CliError::from(zt_core::Error::Io(e))
            .context(format!("could not write `{}`", path.display()))
    })
}

fn config_template(key_id: &str) -> String {
    format!(
        r#"# zt configuration (https://zt.dev/docs/config). Unknown keys are errors.

# Who may sign what, and at which stage it counts. One [[trust.key]] per key; give either
# `public_key` (a PEM file, relative to this file) or `id` (as `zt key show` prints).
[[trust.key]]
name = "local"
public_key = "{KEY_PATH}.pub"  # id {key_id}
predicate_types = ["*"]        # or a list of predicate type URIs
stages = ["ci", "publish", "deploy"]

[policy]
dirs = ["policies"]            # your .rego files: same file name overrides a built-in one
builtin = true                 # start from zt's built-in policy library
require_log_proof = true       # evidence must carry a verified transparency-log proof

[thresholds]
min_coverage = 80.0            # percent of lines the tests must cover (0 turns it off)
max_vuln_db_age_days = 7       # how old the vulnerability database may be
min_rebuilds = 2               # identical builds required for "reproducible"
"#
    )
}

const GITIGNORE: &str =
    "# Private keys never leave this machine; public keys may be committed.\nkeys/*\n!keys/*.pub\n";

const POLICIES_README: &str = r#"# Policies

zt judges every artifact with Rego v1 policies: its built-in library (shipped inside `zt`)
plus the `.rego` files in this folder (`[policy] dirs` in `zt.toml`).

- A file named like a built-in one **replaces** it: `vuln.rego`, `tests.rego`, `provenance.rego`,
  `deps.rego`, `sbom.rego`, `signature.rego`, `lib.rego` (and their `*_test.rego`).
- Any other file **adds** rules. Put them in a package under `zt.` and write
  `deny contains d if {…}` with `d := {"id": …, "message": …, "remediation": …, "doc": …}`.
- `test_` rules are tests: `zt policy test` runs them all, built-in ones included.
- The input document is described in `docs/policy-input.md`; `data.zt.config` holds the
  trust, policy and threshold settings of `zt.toml`.

`branch.rego` is an example that adds a rule: at the deploy stage, only the main branch or a
tag may ship. Delete it if that is not your rule. `tests.rego.example` is an example override:
rename it to `tests.rego` and it replaces the built-in test-results policy (here: coverage is
only required at the publish and deploy stages).

```sh
zt policy test                     # every test_ rule
zt policy eval --input input.json  # allow, or every deny with its fix
```
"#;

const EXAMPLE_POLICY: &str = r#"# Example of a repository rule: only `main` or a tag may be deployed.
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
"#;

const EXAMPLE_OVERRIDE: &str = r#"# Example override of the built-in `tests.rego`: rename this file to `tests.rego`.
# Same rules as the built-in one, except that coverage only counts at publish and deploy.
package zt.tests

import data.zt.lib

results := lib.evidence(lib.TEST_RESULT)

deny contains d if {
	count(results) == 0
	d := lib.violation(
		"tests.missing",
		"no trusted test results for the artifact",
		"run the tests with JUnit XML output and record it with `zt attest --type test-results --from junit.xml`",
	)
}

deny contains d if {
	some e in results
	not e.statement.predicate.result in {"PASSED", "WARNED"}
	d := lib.violation(
		"tests.failed",
		sprintf("test results are `%v`", [e.statement.predicate.result]),
		"fix the failing tests, then `zt attest --type test-results --from junit.xml`",
	)
}

deny contains d if {
	input.context.stage in {"publish", "deploy"}
	threshold := data.zt.config.thresholds.min_coverage
	count([c | some e in results; c := e.statement.predicate.coverage; is_number(c); c >= threshold]) == 0
	d := lib.violation(
		"tests.coverage",
		sprintf("no test results report at least %v%% coverage", [threshold]),
		"add tests, then `zt attest --type test-results --from junit.xml --coverage <percent>`",
	)
}
"#;

const EXAMPLE_TEST: &str = r#"package zt.branch_test

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
"#;
