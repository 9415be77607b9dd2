//! The benchmark's baseline (`bench/policy.sh`): the same policy files, data and input
//! evaluated directly on regorus, with none of zt's work (no config, no input schema checks,
//! no deny validation). Prints the deny sets as JSON.
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
    let mut out = Vec::new();
    for pkg in ["deps", "provenance", "sbom", "signature", "tests", "vuln"] {
        out.push(engine.eval_rule(format!("data.zt.{pkg}.deny")).unwrap());
    }
    println!("{}", regorus::Value::from(out).to_json_str().unwrap());
}
