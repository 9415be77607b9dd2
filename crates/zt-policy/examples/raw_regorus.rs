//! The benchmark's baseline (`bench/policy.sh`): the same policy files, data and input
//! evaluated directly on regorus, with none of zt's work (no config, no input schema checks,
//! no deny validation): the same `deny` rules, those of every `zt.*` package that declares
//! one. Prints the deny sets as JSON.
//!
//! `raw_regorus POLICY_DIR DATA.json INPUT.json`
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)] // a bench tool

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (dir, data, input) = (&args[1], &args[2], &args[3]);
    let mut engine = regorus::Engine::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rego"))
        .collect();
    files.sort();
    for f in &files {
        engine.add_policy_from_file(f).unwrap();
    }
    engine
        .add_data(regorus::Value::from_json_file(data).unwrap())
        .unwrap();
    engine.set_input(regorus::Value::from_json_file(input).unwrap());
    // Every `deny` rule zt evaluates: each `zt.*` package that declares one, found with
    // regorus's own API (zt's engine.rs does the same).
    let mut rules = std::collections::BTreeSet::new();
    for pkg in engine.get_policy_package_components().unwrap() {
        if pkg.components.first().map(String::as_str) == Some("zt")
            && engine
                .has_declared_rule_rooted_at(&pkg.source_file, "deny")
                .unwrap()
        {
            rules.insert(format!("data.{}.deny", pkg.components.join(".")));
        }
    }
    let mut out = Vec::new();
    for rule in rules {
        out.push(engine.eval_rule(rule).unwrap());
    }
    println!("{}", regorus::Value::from(out).to_json_str().unwrap());
}
