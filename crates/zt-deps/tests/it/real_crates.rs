//! Intake over the real crates in the local Cargo cache (`~/.cargo/registry/cache/*/*.crate`,
//! filled by building this workspace): popular, legitimate crates must pass the archive
//! reader and the malware heuristics, and those that this workspace's `Cargo.lock` pins must
//! match their checksum and be admitted. Each crate that is rejected must be listed in
//! [`KNOWN_REJECTIONS`] with the reason it is a true positive. Skipped (with a note) when
//! there is no Cargo cache.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;

use zt_deps::intake::{self, Candidate, Policy, Verdict, expect, malware};

/// Crates the heuristics reject, and why that is right.
const KNOWN_REJECTIONS: &[(&str, &str)] = &[(
    "regorus",
    "ships a compiled Mach-O test binary (`bindings/go/regorus_test`): a true positive of \
         `bundled-binary`",
)];

fn cache_dirs() -> Vec<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let Some(cache) = home.map(|h| h.join("registry/cache")) else {
        return Vec::new();
    };
    let Ok(rd) = fs_err::read_dir(&cache) else {
        return Vec::new();
    };
    rd.filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect()
}

#[test]
fn real_crates_pass_intake() {
    let mut crates: Vec<PathBuf> = cache_dirs()
        .iter()
        .flat_map(|d| {
            fs_err::read_dir(d)
                .unwrap()
                .filter_map(|e| e.ok().map(|e| e.path()))
        })
        .filter(|p| p.extension().is_some_and(|e| e == "crate"))
        .collect();
    crates.sort();
    if crates.is_empty() {
        eprintln!("note: no Cargo cache with .crate files; nothing to check");
        return;
    }
    let lock = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.lock");
    let (_, locked) = zt_deps::read_lockfile(&lock).unwrap();
    let mut rejected = Vec::new();
    let (mut admitted, mut checked_against_lock, mut warned) = (0, 0, 0);
    let mut warn_rules = std::collections::BTreeMap::<String, usize>::new();
    for path in &crates {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let stem = file.strip_suffix(".crate").unwrap();
        // name-version: the version starts at the last '-' followed by a digit
        let split = stem
            .char_indices()
            .filter(|(i, c)| *c == '-' && stem[i + 1..].starts_with(|d: char| d.is_ascii_digit()))
            .map(|(i, _)| i)
            .next_back()
            .unwrap();
        let (name, version) = (&stem[..split], &stem[split + 1..]);
        // pinned from the registry (a crate patched to a path, like the vendored boreal, has
        // no checksum in the lockfile)
        let in_lock = locked.iter().any(|p| {
            p.name == name
                && p.version == version
                && matches!(p.source, zt_deps::Source::Registry { .. })
        });
        let expectations = if in_lock {
            checked_against_lock += 1;
            vec![expect::from_lockfile(&lock, zt_deps::Ecosystem::CratesIo, name, version).unwrap()]
        } else {
            // not pinned here: heuristics only, with the archive's own digest as the entry
            let bytes = fs_err::read(path).unwrap();
            vec![intake::Expectation {
                source: intake::ChecksumSource::Index,
                file: path.clone(),
                line: None,
                hashes: vec![zt_deps::Hash {
                    algorithm: "sha256".into(),
                    value: zt_core::Digest::sha256(&bytes).hex(),
                }],
                published: None,
                yanked: false,
            }]
        };
        let policy = Policy {
            allow_unknown_age: true,
            ..Policy::default()
        };
        let c = Candidate::new(zt_deps::Ecosystem::CratesIo, name, version, path);
        let d = intake::decide(&c, &expectations, &policy, Some("test".into()), 0).unwrap();
        for f in d
            .findings
            .iter()
            .filter(|f| f.severity == malware::Severity::Warn)
        {
            warned += 1;
            *warn_rules.entry(f.rule.clone()).or_default() += 1;
        }
        match d.verdict {
            Verdict::Admitted => admitted += 1,
            _ => rejected.push((stem.to_string(), d.reasons)),
        }
    }
    println!(
        "{} crates: {admitted} admitted, {} rejected ({checked_against_lock} checked against Cargo.lock); {warned} warn findings",
        crates.len(),
        rejected.len()
    );
    println!("warn findings by rule: {warn_rules:?}");
    let mut unexpected = Vec::new();
    for (stem, reasons) in &rejected {
        let name = stem.rsplit_once('-').map_or(stem.as_str(), |(n, _)| n);
        let known = KNOWN_REJECTIONS.iter().find(|(k, _)| *k == name);
        for r in reasons {
            println!(
                "rejected {stem}: [{}] {}{}",
                r.rule,
                r.message,
                known
                    .map(|(_, why)| format!(" — expected: {why}"))
                    .unwrap_or_default()
            );
        }
        if known.is_none() {
            unexpected.push(stem.clone());
        }
    }
    assert!(
        unexpected.is_empty(),
        "rejected without explanation: {unexpected:?}"
    );
}
