#!/usr/bin/env bash
# Policy evaluation: zt's whole path (`zt policy eval`: zt.toml, trust key resolution, input
# schema checks, the built-in library, deny validation and sorting) against the same policy
# files, data and input evaluated directly on regorus (`raw_regorus`, an example binary of
# zt-policy that only calls the regorus crate). Input: 50 realistic statements about one
# artifact (provenance with resolved dependencies, test results with hundreds of test names,
# SBOMs, scans with findings, dependency checks). Target (issue 25): zt ≤ 1.1× raw regorus.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-30}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zt-bench-target}"

cargo build --release -q -p zt
cargo build --release -q -p zt-policy --example raw_regorus
ZT="$CARGO_TARGET_DIR/release/zt"
RAW="$CARGO_TARGET_DIR/release/examples/raw_regorus"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$ZT" --json init "$work" > "$work/init.json"
rm -f "$work"/policies/branch*.rego   # only the built-in library, on both sides
key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["key_id"])' "$work/init.json")

python3 - "$key" "$work" <<'PY'
import json, sys
key, work = sys.argv[1], sys.argv[2]
digest = "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"
def ev(i, t, p, k=key):
    return {"statement": {"_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "dist/app.tar.gz", "digest": {"sha256": digest}},
                        {"name": f"dist/extra-{i}.txt", "digest": {"sha256": f"{i:064x}"}}],
            "predicateType": t, "predicate": p},
            "signer": {"key_id": k, "algorithm": "ed25519"},
            "log": {"status": "verified", "index": 1000 + i, "log_id": "zt.local/log"},
            "time": f"2026-11-25T{i % 24:02}:00:00Z", "bundle": f"sha256:{i:064x}"}
deps = [{"uri": f"pkg:cargo/crate{j}@1.{j}.0", "digest": {"sha256": f"{j:064x}"}} for j in range(40)]
evidence = []
for i in range(50):
    kind = i % 6
    if kind == 0:
        p = ("https://slsa.dev/provenance/v1", {"buildDefinition": {"buildType": "https://zt.dev/build/v1",
              "externalParameters": {"command": ["cargo", "build", "--release"]},
              "internalParameters": {"hermetic": True, "reproducible": True, "rebuilds": 2},
              "resolvedDependencies": deps}, "runDetails": {"builder": {"id": "https://zt.dev/builder/local"},
              "metadata": {"invocationId": f"build-{i}", "startedOn": "2026-11-25T09:00:00Z"}}})
    elif kind == 1:
        p = ("https://in-toto.io/attestation/test-result/v0.1", {"result": "PASSED", "configuration": [],
              "passedTests": [f"suite{i}::test_{j}" for j in range(300)], "warnedTests": [], "failedTests": [],
              "coverage": 86.5})
    elif kind == 2:
        p = ("https://cyclonedx.org/bom", {"bomFormat": "CycloneDX", "specVersion": "1.6",
              "components": [{"type": "library", "name": f"crate{j}", "version": f"1.{j}.0",
                              "purl": f"pkg:cargo/crate{j}@1.{j}.0"} for j in range(60)]})
    elif kind == 3:
        p = ("https://zt.dev/attestation/vuln-scan/v1", {"database": {"updated": "2026-11-24T00:00:00Z"},
              "findings": [{"id": f"GHSA-{j:04}", "package": f"pkg:cargo/crate{j}@1.{j}.0",
                            "severity": ["low", "medium", "high"][j % 3]} for j in range(25)]})
    elif kind == 4:
        p = ("https://zt.dev/attestation/dependency-intake/v1", {"pinned": True, "unpinned": [],
              "checked": [d["uri"] for d in deps]})
    else:
        p = ("https://zt.dev/attestation/reproducible/v1", {"reproducible": True, "rebuilds": 2})
    evidence.append(ev(i, *p))
doc = {"version": 1, "subject": {"name": "dist/app.tar.gz", "digest": {"sha256": digest}},
       "evidence": evidence, "rejected": [],
       "context": {"stage": "ci", "time": "2026-11-25T12:00:00Z", "repo": "bench", "ref": "refs/heads/main"}}
json.dump(doc, open(f"{work}/input.json", "w"))
data = {"zt": {"config": {"trust": {"keys": [{"id": key, "name": "local", "predicate_types": ["*"],
        "stages": ["ci", "deploy", "publish"]}]}, "policy": {"require_log_proof": True},
        "thresholds": {"min_coverage": 80.0, "max_vuln_db_age_days": 7, "min_rebuilds": 2}}}}
json.dump(data, open(f"{work}/data.json", "w"))
PY

# Both must agree before timing means anything: allow, and no deny from raw regorus.
(cd "$work" && "$ZT" policy eval --input input.json) | grep -qx 'allow (stage ci)'
"$RAW" crates/zt-policy/policies "$work/data.json" "$work/input.json" \
  | python3 -c 'import json, sys; v = json.load(sys.stdin); assert len(v) >= 8 and all(d == [] for d in v), v'


now() { date +%s%N; }
time_runs() { local t0 t1; t0=$(now); for _ in $(seq "$RUNS"); do "$@" >/dev/null; done; t1=$(now); echo $(( (t1 - t0) / RUNS / 1000 )); }
zt_us=$(cd "$work" && time_runs "$ZT" policy eval --input input.json)
raw_us=$(time_runs "$RAW" crates/zt-policy/policies "$work/data.json" "$work/input.json")
echo "input: $(wc -c < "$work/input.json") bytes, 50 statements; $RUNS runs each"
echo "zt policy eval:     ${zt_us} µs/run"
echo "raw regorus:        ${raw_us} µs/run"
awk -v z="$zt_us" -v r="$raw_us" 'BEGIN { printf "ratio zt/regorus:   %.2fx (target <= 1.10x, issue 25)\n", z / r }'
