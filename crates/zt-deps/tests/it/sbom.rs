//! SBOM output: determinism, content, and validation against the official schemas in
//! `shared/testdata/sbom/` with a small JSON Schema (draft-07) evaluator written here
//! (keywords: `$ref`, `type`, `required`, `properties`, `additionalProperties`, `enum`,
//! `const`, `items` (list and tuple form), `additionalItems`, `minItems`, `maxItems`, `uniqueItems`, `allOf`/`anyOf`/`oneOf`/`not`,
//! `if`/`then`/`else`, `minLength`, `minimum`). `pattern` and `format` are not evaluated
//! (no regex engine in the tree); the patterns that matter for our output (serial number,
//! SPDX ids) are checked by hand below.
#![allow(clippy::unwrap_used, clippy::panic, clippy::print_stdout)]

use std::path::{Path, PathBuf};

use serde_json::Value;
use zt_deps::sbom::{self, RootInfo};

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/testdata");

struct Validator {
    dir: PathBuf,
    docs: std::collections::BTreeMap<String, Value>,
}

impl Validator {
    fn new(dir: &Path, main: &str) -> Self {
        let mut docs = std::collections::BTreeMap::new();
        for entry in fs_err::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            docs.insert(
                name,
                serde_json::from_str(&fs_err::read_to_string(&p).unwrap()).unwrap(),
            );
        }
        assert!(docs.contains_key(main));
        Validator {
            dir: dir.into(),
            docs,
        }
    }

    fn resolve(&self, file: &str, reference: &str) -> (String, Value) {
        let (f, frag) = reference.split_once('#').unwrap_or((reference, ""));
        let f = if f.is_empty() {
            file.to_string()
        } else {
            f.to_string()
        };
        let mut v = self
            .docs
            .get(&f)
            .unwrap_or_else(|| panic!("{} has no {f}", self.dir.display()));
        for seg in frag.split('/').filter(|s| !s.is_empty()) {
            v = &v[seg];
        }
        (f, v.clone())
    }

    fn check(&self, file: &str, schema: &Value, v: &Value, at: &str, errs: &mut Vec<String>) {
        let Some(s) = schema.as_object() else { return };
        if let Some(r) = s.get("$ref").and_then(Value::as_str) {
            let (f, sub) = self.resolve(file, r);
            self.check(&f, &sub, v, at, errs);
            return;
        }
        if let Some(t) = s.get("type") {
            let types: Vec<&str> = match t {
                Value::String(t) => vec![t.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            let ok = types.iter().any(|t| match *t {
                "object" => v.is_object(),
                "array" => v.is_array(),
                "string" => v.is_string(),
                "integer" => v.is_i64() || v.is_u64(),
                "number" => v.is_number(),
                "boolean" => v.is_boolean(),
                "null" => v.is_null(),
                _ => true,
            });
            if !ok {
                errs.push(format!("{at}: not of type {t}"));
                return;
            }
        }
        if let Some(e) = s.get("enum").and_then(Value::as_array)
            && !e.contains(v)
        {
            errs.push(format!("{at}: {v} not in enum"));
        }
        if let Some(c) = s.get("const")
            && c != v
        {
            errs.push(format!("{at}: {v} is not {c}"));
        }
        if let (Some(m), Some(x)) = (s.get("minLength").and_then(Value::as_u64), v.as_str())
            && (x.chars().count() as u64) < m
        {
            errs.push(format!("{at}: shorter than {m}"));
        }
        if let (Some(m), Some(x)) = (s.get("minimum").and_then(Value::as_f64), v.as_f64())
            && x < m
        {
            errs.push(format!("{at}: below {m}"));
        }
        if let Some(o) = v.as_object() {
            for r in s
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if !o.contains_key(r.as_str().unwrap()) {
                    errs.push(format!("{at}: missing required {r}"));
                }
            }
            let props = s.get("properties").and_then(Value::as_object);
            for (k, val) in o {
                match props.and_then(|p| p.get(k)) {
                    Some(ps) => self.check(file, ps, val, &format!("{at}/{k}"), errs),
                    None => match s.get("additionalProperties") {
                        Some(Value::Bool(false)) if s.get("patternProperties").is_none() => {
                            errs.push(format!("{at}: property {k} not allowed"));
                        }
                        Some(ap @ Value::Object(_)) => {
                            self.check(file, ap, val, &format!("{at}/{k}"), errs)
                        }
                        _ => {}
                    },
                }
            }
        }
        if let Some(a) = v.as_array() {
            match s.get("items") {
                Some(Value::Array(tuple)) => {
                    for (i, (x, sub)) in a.iter().zip(tuple).enumerate() {
                        self.check(file, sub, x, &format!("{at}/{i}"), errs);
                    }
                    if s.get("additionalItems") == Some(&Value::Bool(false))
                        && a.len() > tuple.len()
                    {
                        errs.push(format!("{at}: more items than the tuple allows"));
                    }
                }
                Some(items) => {
                    for (i, x) in a.iter().enumerate() {
                        self.check(file, items, x, &format!("{at}/{i}"), errs);
                    }
                }
                None => {}
            }
            if let Some(m) = s.get("minItems").and_then(Value::as_u64)
                && (a.len() as u64) < m
            {
                errs.push(format!("{at}: fewer than {m} items"));
            }
            if let Some(m) = s.get("maxItems").and_then(Value::as_u64)
                && (a.len() as u64) > m
            {
                errs.push(format!("{at}: more than {m} items"));
            }
            if s.get("uniqueItems") == Some(&Value::Bool(true)) {
                for (i, x) in a.iter().enumerate() {
                    if a.iter().skip(i + 1).any(|y| y == x) {
                        errs.push(format!("{at}: duplicate item {i}"));
                    }
                }
            }
        }
        let passes = |sub: &Value| {
            let mut e = Vec::new();
            self.check(file, sub, v, at, &mut e);
            e.is_empty()
        };
        for sub in s
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.check(file, sub, v, at, errs);
        }
        if let Some(any) = s.get("anyOf").and_then(Value::as_array)
            && !any.iter().any(passes)
        {
            errs.push(format!("{at}: matches no anyOf branch"));
        }
        if let Some(one) = s.get("oneOf").and_then(Value::as_array) {
            let n = one.iter().filter(|x| passes(x)).count();
            if n != 1 {
                errs.push(format!("{at}: matches {n} oneOf branches"));
            }
        }
        if let Some(not) = s.get("not")
            && passes(not)
        {
            errs.push(format!("{at}: matches `not`"));
        }
        if let Some(cond) = s.get("if") {
            let branch = if passes(cond) {
                s.get("then")
            } else {
                s.get("else")
            };
            if let Some(b) = branch {
                self.check(file, b, v, at, errs);
            }
        }
    }

    fn validate(&self, main: &str, doc: &Value) -> Vec<String> {
        let schema = self.docs.get(main).unwrap().clone();
        let mut errs = Vec::new();
        self.check(main, &schema, doc, "", &mut errs);
        errs
    }
}

const INVALID_CAUGHT: usize = 19;

fn cdx() -> Validator {
    Validator::new(
        &Path::new(SHARED).join("sbom/cyclonedx-1.6/schema"),
        "bom-1.6.schema.json",
    )
}

fn spdx_validator() -> Validator {
    Validator::new(
        &Path::new(SHARED).join("sbom/spdx-2.3/schema"),
        "spdx-schema.json",
    )
}

/// The validator itself agrees with the upstream verdicts on the spec's test documents
/// (pattern/format-only violations aside, which it cannot see).
#[test]
fn validator_agrees_with_the_cyclonedx_test_resources() {
    let v = cdx();
    let expected: Value = serde_json::from_str(
        &fs_err::read_to_string(Path::new(SHARED).join("sbom/expected.json")).unwrap(),
    )
    .unwrap();
    let (mut valid_ok, mut valid_n, mut invalid_caught, mut invalid_n) = (0, 0, 0, 0);
    for (file, want) in expected.as_object().unwrap() {
        if !file.starts_with("cyclonedx") {
            continue;
        }
        let doc: Value = serde_json::from_str(
            &fs_err::read_to_string(Path::new(SHARED).join("sbom").join(file)).unwrap(),
        )
        .unwrap();
        let errs = v.validate("bom-1.6.schema.json", &doc);
        if want.as_bool().unwrap() {
            valid_n += 1;
            if errs.is_empty() {
                valid_ok += 1;
            } else {
                println!("valid {file} rejected: {:?}", &errs[..errs.len().min(3)]);
            }
        } else {
            invalid_n += 1;
            if !errs.is_empty() {
                invalid_caught += 1;
            }
        }
    }
    println!(
        "cyclonedx: {valid_ok} of {valid_n} valid accepted, {invalid_caught} of {invalid_n} invalid rejected"
    );
    assert_eq!(valid_n, 45);
    assert_eq!(invalid_n, 25);
    // The three valid documents it rejects carry JSF signatures, whose `algorithm` is a
    // `oneOf` an enum name and a `format: uri` string: without format checking `ES256`
    // matches both (MANIFEST.md reports the same for Python jsonschema without `uri`).
    assert_eq!(valid_ok, 42);
    // The invalid ones it misses break only a `pattern` or a `format` (not evaluated here).
    assert_eq!(invalid_caught, INVALID_CAUGHT);
}

fn sample_inventory() -> zt_deps::Inventory {
    let mut inv = zt_deps::Inventory::default();
    for (folder, file) in [
        ("cargo-lock", "many-packages.lock"),
        ("package-lock-json", "commits.v2.json"),
        ("poetry-lock", "multiple-packages.v2.lock"),
        ("requirements-txt", "per_req_options.txt"),
        ("go-mod", "indirect-1.16.mod"),
    ] {
        let path = Path::new(SHARED).join("lockfiles").join(folder).join(file);
        let format = match folder {
            "cargo-lock" => zt_deps::lockfile::Format::CargoLock,
            "package-lock-json" => zt_deps::lockfile::Format::PackageLockJson,
            "poetry-lock" => zt_deps::lockfile::Format::PoetryLock,
            "requirements-txt" => zt_deps::lockfile::Format::RequirementsTxt,
            _ => zt_deps::lockfile::Format::GoMod,
        };
        let (l, p) = zt_deps::read_lockfile_as(&path, format).unwrap();
        inv.add(l, p);
    }
    inv
}

fn root() -> RootInfo {
    let mut r = RootInfo::new("demo app", "1.0.0");
    r.artifacts
        .push(("demo.tar.gz".into(), zt_core::Digest::sha256(b"artifact")));
    r.timestamp = Some(1_700_000_000);
    r
}

#[test]
fn cyclonedx_output_validates_and_is_deterministic() {
    let inv = sample_inventory();
    let doc = sbom::cyclonedx(&inv, &root());
    let errs = cdx().validate("bom-1.6.schema.json", &doc);
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(
        sbom::to_bytes(&doc),
        sbom::to_bytes(&sbom::cyclonedx(&sample_inventory(), &root()))
    );
    let serial = doc["serialNumber"].as_str().unwrap();
    let u = serial.strip_prefix("urn:uuid:").unwrap();
    assert_eq!(u.len(), 36);
    assert!(u.chars().all(|c| c.is_ascii_hexdigit() || c == '-'));
    assert_eq!(doc["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
    let comps = doc["components"].as_array().unwrap();
    let purls: Vec<&str> = comps.iter().map(|c| c["purl"].as_str().unwrap()).collect();
    let mut sorted = purls.clone();
    sorted.sort();
    assert_eq!(purls, sorted);
    // Every dependency ref names a component or the root.
    let refs: std::collections::BTreeSet<&str> = purls
        .iter()
        .copied()
        .chain([doc["metadata"]["component"]["bom-ref"].as_str().unwrap()])
        .collect();
    for d in doc["dependencies"].as_array().unwrap() {
        assert!(refs.contains(d["ref"].as_str().unwrap()));
        for x in d["dependsOn"].as_array().unwrap() {
            assert!(refs.contains(x.as_str().unwrap()), "{x}");
        }
    }
    assert!(purls.contains(&"pkg:cargo/aho-corasick@0.7.18"));
    let art = &doc["metadata"]["component"]["components"][0];
    assert_eq!(
        art["hashes"][0]["content"],
        zt_core::Digest::sha256(b"artifact").hex()
    );
    // A different input changes the serial number.
    let mut other = root();
    other.version = "1.0.1".into();
    assert_ne!(
        sbom::cyclonedx(&inv, &other)["serialNumber"],
        doc["serialNumber"]
    );
    println!("cyclonedx: {} components validate", comps.len());
}

#[test]
fn spdx_output_validates_and_is_deterministic() {
    let inv = sample_inventory();
    let doc = sbom::spdx(&inv, &root());
    let errs = spdx_validator().validate("spdx-schema.json", &doc);
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(
        sbom::to_bytes(&doc),
        sbom::to_bytes(&sbom::spdx(&sample_inventory(), &root()))
    );
    let ids: Vec<&str> = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["SPDXID"].as_str().unwrap())
        .collect();
    for id in &ids {
        let rest = id.strip_prefix("SPDXRef-").unwrap();
        assert!(
            rest.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'),
            "{id}"
        );
    }
    let unique: std::collections::BTreeSet<&&str> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len());
    for r in doc["relationships"].as_array().unwrap() {
        for k in ["spdxElementId", "relatedSpdxElement"] {
            let x = r[k].as_str().unwrap();
            assert!(x == "SPDXRef-DOCUMENT" || ids.contains(&x), "{x}");
        }
    }
    assert_eq!(doc["creationInfo"]["created"], "2023-11-14T22:13:20Z");
    println!("spdx: {} packages validate", ids.len());
}

#[test]
fn empty_inventory_gives_a_valid_root_only_sbom() {
    let inv = zt_deps::Inventory::default();
    let r = RootInfo::new("empty", "");
    let c = sbom::cyclonedx(&inv, &r);
    assert!(cdx().validate("bom-1.6.schema.json", &c).is_empty());
    assert!(c.get("components").unwrap().as_array().unwrap().is_empty());
    assert!(c["metadata"].get("timestamp").is_none());
    let s = sbom::spdx(&inv, &r);
    assert!(spdx_validator().validate("spdx-schema.json", &s).is_empty());
    assert_eq!(s["packages"].as_array().unwrap().len(), 1);
}

/// The reader accepts every valid spec example and rejects the invalid CycloneDX ones its
/// structural checks cover (printed; licence-id and pattern-only violations are out of reach).
#[test]
fn reader_over_the_spec_examples() {
    let root = Path::new(SHARED).join("sbom");
    let expected: Value =
        serde_json::from_str(&fs_err::read_to_string(root.join("expected.json")).unwrap()).unwrap();
    let (mut accepted, mut valid, mut rejected, mut invalid) = (0, 0, 0, 0);
    for (file, want) in expected.as_object().unwrap() {
        let got = sbom::read(&root.join(file));
        if want.as_bool().unwrap() {
            valid += 1;
            match got {
                Ok(_) => accepted += 1,
                Err(e) => println!("valid {file} rejected: {e}"),
            }
        } else {
            invalid += 1;
            match got {
                Err(e) => {
                    assert!(
                        e.to_string().contains(file.rsplit('/').next().unwrap()),
                        "{e}"
                    );
                    rejected += 1;
                }
                Ok(_) => println!("invalid {file} accepted"),
            }
        }
    }
    println!(
        "reader: {accepted} of {valid} valid accepted, {rejected} of {invalid} invalid rejected"
    );
    assert_eq!((valid, invalid), (56, 25));
    assert_eq!(accepted, 56);
    assert_eq!(rejected, READER_REJECTED);
    // SPDX example package counts from MANIFEST.md.
    let inv = sbom::read(
        &root.join("spdx-2.3/examples/software__example14__content__examplemaven-0.0.1.spdx.json"),
    )
    .unwrap();
    assert_eq!(inv.packages.len(), 6);
}

const READER_REJECTED: usize = 19;

#[test]
fn our_sboms_read_back_to_the_same_packages() {
    let inv = sample_inventory();
    let dir = tempfile::tempdir().unwrap();
    for (name, doc) in [
        ("a.cdx.json", sbom::cyclonedx(&inv, &root())),
        ("a.spdx.json", sbom::spdx(&inv, &root())),
    ] {
        let p = dir.path().join(name);
        fs_err::write(&p, sbom::to_bytes(&doc)).unwrap();
        let back = sbom::read(&p).unwrap();
        let mut want: Vec<&str> = inv.packages.iter().map(|p| p.purl.as_str()).collect();
        want.sort();
        want.dedup();
        let mut got: Vec<&str> = back
            .packages
            .iter()
            .map(|p| p.purl.as_str())
            .filter(|p| {
                !p.starts_with("pkg:generic/")
                    && !p.starts_with("artifact:")
                    && !p.starts_with("SPDXRef-Artifact")
            })
            .collect();
        got.sort();
        got.dedup();
        assert_eq!(got, want, "{name}");
        let aho = back
            .packages
            .iter()
            .find(|p| p.purl == "pkg:cargo/aho-corasick@0.7.18")
            .unwrap();
        assert_eq!(aho.hashes.len(), 1, "{name}");
        let faker = back
            .packages
            .iter()
            .find(|p| p.purl == "pkg:pypi/faker@33.3.0")
            .unwrap();
        assert_eq!(
            faker.dependencies,
            [
                "pkg:pypi/python-dateutil@2.9.0.post0",
                "pkg:pypi/typing-extensions@4.12.2"
            ],
            "{name}"
        );
    }
}
