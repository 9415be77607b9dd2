#!/usr/bin/env bash
# SBOM generation: `zt sbom` against `cargo cyclonedx` on this repository's own workspace
# (its Cargo.lock: ~220 packages), both writing CycloneDX JSON, whole process, mean of N runs.
#
#   bench/sbom.sh [RUNS]     (default 5)
#
# Builds zt with `cargo build --release -p zt`. cargo-cyclonedx is looked up on PATH and in
# /root/.cache/cargo-bin/bin (install: CARGO_INSTALL_ROOT=/root/.cache/cargo-bin cargo install
# --locked cargo-cyclonedx). Note the tools do different work: zt reads Cargo.lock only;
# cargo cyclonedx runs `cargo metadata` (resolves the workspace manifests, offline here) and
# writes one BOM per workspace member.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zt-deps}"
cargo build --release -q -p zt 2>/dev/null || cargo build --release -p zt
ZT="$CARGO_TARGET_DIR/release/zt"
export PATH="$PATH:/root/.cache/cargo-bin/bin"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
ratio() { echo "scale=1; $1 / $2" | bc -l; }

# A copy of the workspace (manifests, lockfile, sources) so nothing is written into the repo.
mkdir -p "$work/repo"
cp -r Cargo.toml Cargo.lock crates "$work/repo/"
[ -f clippy.toml ] && cp clippy.toml "$work/repo/"
packages=$(grep -c '^\[\[package\]\]' Cargo.lock)
echo "input: this workspace's Cargo.lock, $packages packages; $runs runs each"

export SOURCE_DATE_EPOCH=1700000000
start=$(now)
for _ in $(seq "$runs"); do "$ZT" -q sbom "$work/repo" --out "$work/zt.cdx.json"; done
zt_s=$(echo "($(now) - $start) / $runs" | bc -l)
components=$(grep -c '"bom-ref": "pkg:cargo' "$work/zt.cdx.json" || true)
printf 'zt sbom:         %.4f s per run (%s components)\n' "$zt_s" "$components"

if ! command -v cargo-cyclonedx >/dev/null; then
  echo "cargo cyclonedx: not installed (see the header of this script); no ratio"
  exit 0
fi
(cd "$work/repo" && CARGO_NET_OFFLINE=true cargo cyclonedx --format json -q >/dev/null 2>&1) || {
  echo "cargo cyclonedx: failed to run offline on the workspace; no ratio"; exit 0; }
start=$(now)
for _ in $(seq "$runs"); do (cd "$work/repo" && CARGO_NET_OFFLINE=true cargo cyclonedx --format json -q >/dev/null 2>&1); done
cdx_s=$(echo "($(now) - $start) / $runs" | bc -l)
boms=$(find "$work/repo" -name '*.cdx.json' | wc -l)
printf 'cargo cyclonedx: %.4f s per run (%s BOM files)\n' "$cdx_s" "$boms"
echo "ratio (cargo cyclonedx / zt): $(ratio "$cdx_s" "$zt_s")x"
