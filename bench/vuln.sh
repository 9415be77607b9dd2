#!/usr/bin/env bash
# Benchmark `zt vuln`:
#  1. a 10,000-component CycloneDX SBOM (real package names from the imported databases, mixed
#     versions) scanned against the OSV store built from shared/testdata/osv: cold (first run in
#     a new process right after import, page cache dropped when permitted) and warm (best of 5);
#  2. whole process, same input: `zt vuln scan Cargo.lock` against
#     `cargo audit --db shared/testdata/osv/rustsec --no-fetch --file Cargo.lock` on a large
#     real Cargo.lock (argument 1, or one resolved now for a throwaway project with ~540 packages).
# Needs: cargo, python3; cargo-audit on PATH or in ~/.cache/cargo-audit/bin
# (`cargo install cargo-audit --locked --root ~/.cache/cargo-audit`).
set -euo pipefail
cd "$(dirname "$0")/.."
# ../shared/testdata beside the repository (searched upwards, so a git worktree finds it too)
SHARED="${ZT_SHARED:-}"
d="$(pwd)"
while [ -z "$SHARED" ] && [ "$d" != / ]; do
  d="$(dirname "$d")"
  [ -d "$d/shared/testdata" ] && SHARED="$d/shared/testdata"
done
[ -n "$SHARED" ] || { echo "shared/testdata not found above $(pwd); set ZT_SHARED" >&2; exit 2; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zt-bench-target}"
cargo build --release -q -p zt
ZT="$CARGO_TARGET_DIR/release/zt"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# run CMD...: prints wall-clock seconds of one run (output discarded, exit status ignored)
run() {
  local t0 t1
  t0=$(date +%s%N)
  "$@" >/dev/null 2>&1 || true
  t1=$(date +%s%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'
}
# best N CMD...: the fastest of N runs
best() {
  local n=$1 b="" t
  shift
  for _ in $(seq "$n"); do
    t=$(run "$@")
    if [ -z "$b" ] || awk -v t="$t" -v b="$b" 'BEGIN { exit !(t < b) }'; then b=$t; fi
  done
  echo "$b"
}
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; }

echo "== import (pypa 2,661 + rustsec 1,205 + malicious 20 records)"
STORE="$WORK/store"
t_import=$(run "$ZT" vuln --store "$STORE" db import "$SHARED/osv/pypa-advisory-db/vulns" "$SHARED/osv/rustsec/crates" "$SHARED/osv/malicious")
"$ZT" vuln --store "$STORE" db status | head -2
echo "import: ${t_import}s"

echo "== 10k-component SBOM"
python3 - "$STORE" "$WORK/sbom.json" <<'PY'
import json, os, random, sys
store, out = sys.argv[1], sys.argv[2]
m = json.load(open(os.path.join(store, "manifest.json")))
gen = os.path.join(store, m["generation"])
purl_type = {"PyPI": "pypi", "crates.io": "cargo", "npm": "npm"}
names = []
for eco, entry in sorted(m["ecosystems"].items()):
    if eco in purl_type:
        names += [(purl_type[eco], n) for n in sorted(json.load(open(os.path.join(gen, entry["index"]))))]
rng = random.Random(42)
versions = ["0.0.1", "0.1.0", "0.3.7", "0.9.0", "1.0.0", "1.2.3", "1.4.0", "2.0.0", "2.5.1", "3.1.4", "4.2", "5.0.1", "10.0.0"]
comps = []
for i in range(10_000):
    ty, name = names[i % len(names)]
    v = rng.choice(versions) if rng.random() < 0.7 else f"{rng.randint(0, 6)}.{rng.randint(0, 30)}.{rng.randint(0, 20)}"
    ns, n = (name.rsplit("/", 1) if "/" in name else (None, name))
    purl = f"pkg:{ty}/" + (ns.replace("@", "%40") + "/" if ns else "") + f"{n}@{v}"
    comps.append({"type": "library", "name": name, "version": v, "purl": purl})
json.dump({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": comps}, open(out, "w"))
print(f"{len(comps)} components over {len(names)} distinct real package names")
PY
drop_caches
t_cold=$(run "$ZT" vuln --store "$STORE" scan "$WORK/sbom.json" --fail-on none)
t_warm=$(best 5 "$ZT" vuln --store "$STORE" scan "$WORK/sbom.json" --fail-on none)
{ "$ZT" vuln --store "$STORE" scan "$WORK/sbom.json" --fail-on none 2>/dev/null || true; } | tail -1
echo "zt scan 10k components: cold ${t_cold}s, warm ${t_warm}s (target: warm <= 1 s)"

echo "== Cargo.lock: zt vs cargo audit"
LOCK="${1:-}"
if [ -z "$LOCK" ]; then
  mkdir -p "$WORK/biglock/src"
  echo 'fn main() {}' >"$WORK/biglock/src/main.rs"
  cat >"$WORK/biglock/Cargo.toml" <<'TOML'
[package]
name = "biglock"
version = "0.1.0"
edition = "2021"
[dependencies]
rustsec = "0.30"
axum = "0.7"
reqwest = { version = "0.12", features = ["json", "blocking"] }
tokio = { version = "1", features = ["full"] }
clap = { version = "4", features = ["derive"] }
tracing-subscriber = "0.3"
sqlx = { version = "0.8", features = ["runtime-tokio", "postgres", "sqlite", "mysql"] }
actix-web = "4"
diesel = { version = "2", features = ["postgres"] }
image = "0.25"
TOML
  (cd "$WORK/biglock" && cargo generate-lockfile -q)
  LOCK="$WORK/biglock/Cargo.lock"
fi
echo "$(grep -c '^\[\[package\]\]' "$LOCK") packages in $LOCK"
AUDIT="$(command -v cargo-audit || echo "$HOME/.cache/cargo-audit/bin/cargo-audit")"
[ -x "$AUDIT" ] || { echo "cargo-audit not found: cargo install cargo-audit --locked --root ~/.cache/cargo-audit"; exit 1; }
RS_STORE="$WORK/store-rustsec"
"$ZT" vuln --store "$RS_STORE" db import "$SHARED/osv/rustsec/crates" >/dev/null
cp "$LOCK" "$WORK/Cargo.lock"
t_audit=$(best 3 "$AUDIT" audit --db "$SHARED/osv/rustsec" --no-fetch --file "$WORK/Cargo.lock")
t_zt=$(best 3 "$ZT" vuln --store "$RS_STORE" scan "$WORK/Cargo.lock" --fail-on none)
t_zt_import=$(best 3 bash -c "rm -rf '$WORK/s2' && '$ZT' vuln --store '$WORK/s2' db import '$SHARED/osv/rustsec/crates' && '$ZT' vuln --store '$WORK/s2' scan '$WORK/Cargo.lock' --fail-on none")
echo "cargo audit: $({ "$AUDIT" audit --db "$SHARED/osv/rustsec" --no-fetch --file "$WORK/Cargo.lock" 2>&1 || true; } | grep -E '^(error|warning): [0-9]+ ' | tr '\n' ' ')"
echo "zt:          $({ "$ZT" vuln --store "$RS_STORE" scan "$WORK/Cargo.lock" --fail-on none 2>/dev/null || true; } | tail -1)"
echo "cargo audit ${t_audit}s; zt scan ${t_zt}s (x$(awk -v a="$t_audit" -v z="$t_zt" 'BEGIN { printf "%.1f", a / z }')); zt import+scan ${t_zt_import}s (x$(awk -v a="$t_audit" -v z="$t_zt_import" 'BEGIN { printf "%.1f", a / z }')) (target: >= 10x)"
