//! `zt policy eval` and `zt policy test` as workflows: the repository's policy — the built-in
//! library, the folders `zt.toml` names and an optional extra folder — judging an input
//! document, or running its `test_` rules. The repository is the workspace's (found from any
//! directory inside it), so its `zt.toml` and policy folders apply wherever zt runs.

use std::path::{Path, PathBuf};

use zt_core::Workspace;
use zt_core::config::{Config, Stage};
use zt_policy::input::RegoPredicate;
use zt_policy::{Decision, Policy, PolicyInput, PolicySet, TestOutcome, policy_data};

use crate::Error;

/// What to judge.
#[derive(Debug, Clone)]
pub struct EvalRequest {
    /// The policy input document (JSON; `docs/policy-input.md`).
    pub input: PathBuf,
    /// A folder of `.rego` files laid over the library and `zt.toml`'s folders.
    pub policy: Option<PathBuf>,
    /// Judge at this stage instead of the input's `context.stage`.
    pub stage: Option<Stage>,
}

/// A judgement of an input document.
#[derive(Debug)]
pub struct Evaluation {
    /// The input as judged (its stage replaced when the request named one), its predicates
    /// as the policies saw them.
    pub input: PolicyInput<RegoPredicate>,
    /// Allow, or every deny with its fix.
    pub decision: Decision,
}

/// Judges `request.input` with the workspace's policy; the workspace must have a `zt.toml`.
pub fn eval(ws: &Workspace, request: &EvalRequest) -> Result<Evaluation, Error> {
    // Judging needs the repository's trust and thresholds: no zt.toml is an error that says
    // to make one, not a judgement against an empty configuration.
    let config = Config::load(&ws.config_path())?;
    let bytes = fs_err::read(&request.input).map_err(zt_policy::Error::from)?;
    // Read once, straight into the values the policies see.
    let mut input =
        PolicyInput::<RegoPredicate>::read(&bytes, Some(&request.input.display().to_string()))?;
    if let Some(stage) = request.stage {
        input.context.stage = stage;
    }
    let set = PolicySet::from_config(&config.policy, ws.root(), request.policy.as_deref())?;
    let mut engine = Policy::compile(&set, policy_data(&config, ws.root())?)?;
    let decision = engine.evaluate_rego(&input)?;
    Ok(Evaluation { input, decision })
}

/// Runs the `test_` rules of the workspace's policy (the built-in library unless `zt.toml`
/// turns it off, `zt.toml`'s folders) and of `extra`, each laid over the one before.
pub fn test(ws: &Workspace, extra: Option<&Path>) -> Result<Vec<TestOutcome>, Error> {
    let config = ws.config()?;
    let mut set = if config.policy.builtin {
        PolicySet::builtin()
    } else {
        PolicySet::empty()
    };
    // The repository's own folders only when it has a zt.toml that names them.
    if ws.config_path().is_file() {
        for d in &config.policy.dirs {
            set.overlay_dir(&ws.root().join(d))?;
        }
    }
    if let Some(dir) = extra {
        set.overlay_dir(dir)?;
    }
    let mut engine = Policy::compile(&set, policy_data(&config, ws.root())?)?;
    Ok(engine.run_tests())
}
