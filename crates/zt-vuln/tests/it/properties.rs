//! Property tests: parsers of untrusted input never panic, orderings are consistent, purls
//! round-trip through their canonical form.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;
use zt_vuln::Ecosystem;
use zt_vuln::purl::Purl;

fn version() -> impl Strategy<Value = String> {
    "v?[0-9]{1,3}(\\.[0-9a-z]{1,3}){0,4}([-+~._:^][0-9a-zA-Z]{1,4}){0,3}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn orderings_never_panic_and_are_antisymmetric(a in version(), b in version(), c in version()) {
        for eco in Ecosystem::SUPPORTED {
            let valid = [&a, &b, &c].iter().all(|v| eco.validate(v).is_ok());
            if !valid {
                continue;
            }
            prop_assert_eq!(eco.compare_unchecked(&a, &a), Ordering::Equal, "{} {}", eco, a);
            prop_assert_eq!(eco.compare_unchecked(&a, &b), eco.compare_unchecked(&b, &a).reverse(), "{} {} {}", eco, a, b);
            // transitivity of <= (apk orders ill-formed versions by string, which is not
            // transitive with well-formed ones: Alpine has its own test below)
            if eco == Ecosystem::Alpine {
                continue;
            }
            let le = |x: &str, y: &str| eco.compare_unchecked(x, y) != Ordering::Greater;
            if le(&a, &b) && le(&b, &c) {
                prop_assert!(le(&a, &c), "{} {} <= {} <= {}", eco, a, b, c);
            }
        }
    }

    #[test]
    fn alpine_well_formed_versions_order_transitively(
        v in proptest::collection::vec("[0-9]{1,2}(\\.[0-9]{1,2}){0,3}[a-z]?(_(alpha|beta|pre|rc|p|git)[0-9]{0,2}){0,2}(-r[0-9]{1,2})?", 3)
    ) {
        let eco = Ecosystem::Alpine;
        let le = |x: &str, y: &str| eco.compare_unchecked(x, y) != Ordering::Greater;
        prop_assert_eq!(eco.compare_unchecked(&v[0], &v[1]), eco.compare_unchecked(&v[1], &v[0]).reverse());
        if le(&v[0], &v[1]) && le(&v[1], &v[2]) {
            prop_assert!(le(&v[0], &v[2]), "{:?}", v);
        }
    }

    #[test]
    fn arbitrary_strings_never_panic(s in "\\PC{0,40}") {
        for eco in Ecosystem::SUPPORTED {
            let _ = eco.compare(&s, "1.0");
        }
        let _ = s.parse::<Purl>();
        let _ = zt_vuln::cvss::score(&s);
        let _ = zt_vuln::rustsec::parse_advisory(&format!("```toml\n{s}\n```\n# t\n"), Path::new("x.md"));
        let _ = zt_vuln::osv::parse_record(&s, true, Path::new("x.yaml"));
        let _ = zt_vuln::osv::parse_record(&s, false, Path::new("x.json"));
        let _ = zt_vuln::sbom::read_components(&s, Path::new("x.json"));
    }

    #[test]
    fn purls_round_trip(
        ty in "(cargo|npm|pypi|maven|golang|gem|nuget|deb|generic)",
        ns in proptest::option::of("[a-zA-Z0-9@._-]{1,8}(/[a-z0-9.]{1,5})?"),
        name in "[a-zA-Z0-9._ %@:-]{1,12}",
        ver in proptest::option::of("[a-zA-Z0-9.+:~ -]{1,10}"),
        q in proptest::collection::btree_map("[a-z][a-z0-9_]{0,5}", "[a-zA-Z0-9/:=&?#% .-]{1,10}", 0..3),
        sub in proptest::option::of("[a-z0-9_]{1,5}(/[a-z0-9_]{1,5})?"),
    ) {
        let ns = if ty == "maven" && ns.is_none() { Some("org.example".to_owned()) } else { ns };
        if let Ok(p) = Purl::from_parts(&ty, ns.as_deref(), &name, ver.as_deref(), q.clone().into_iter().collect::<BTreeMap<_, _>>(), sub.as_deref()) {
            let text = p.to_string();
            let back: Purl = text.parse().map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
            prop_assert_eq!(&back, &p, "{}", text);
            prop_assert_eq!(back.to_string(), text);
        }
    }
}
