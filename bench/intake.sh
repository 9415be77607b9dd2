#!/usr/bin/env bash
# Dependency intake: `zt deps intake` of a real package archive against the bare minimum a
# mirror does without any checks — `sha256sum` of the archive and `tar -xzf` into a temp dir —
# on the same archive, whole process, mean of N runs (after one warm-up).
#
#   bench/intake.sh [ARCHIVE.crate] [RUNS]
#
# Default archive: the largest .crate in the local Cargo cache (~/.cargo/registry/cache) that
# this workspace's Cargo.lock pins, so the checksum comes from the lockfile. zt's run includes
# everything an intake does: reading the archive in memory with the path/size checks, SHA-256
# and SHA-512, the static malware heuristics over every file, signing the decision (DSSE),
# appending it to the transparency log, indexing it in the ledger (SQLite) and the atomic
# mirror write. There is no offline peer for the malware heuristics (GuardDog needs Python
# and semgrep and downloads from the registry; it is not installed here), so the baseline is
# the unchecked copy.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zt-bench-target}"
# ZT_BIN: a zt binary to use instead of building one (say so when quoting its times)
if [ -n "${ZT_BIN:-}" ]; then
  ZT="$ZT_BIN"
else
  cargo build --release -q -p zt --manifest-path "$ROOT/Cargo.toml"
  ZT="$CARGO_TARGET_DIR/release/zt"
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
runs="${2:-10}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

archive="${1:-}"
if [ -z "$archive" ]; then
  for f in $(ls -S "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/*.crate 2>/dev/null); do
    stem=$(basename "$f" .crate)
    name=${stem%-*}; ver=${stem##*-}
    if grep -A1 "^name = \"$name\"$" "$ROOT/Cargo.lock" | grep -q "^version = \"$ver\"$"; then
      archive=$f; break
    fi
  done
fi
[ -n "$archive" ] || { echo "no archive: pass one, or build the workspace to fill the Cargo cache" >&2; exit 2; }
stem=$(basename "$archive" .crate)
# name-version split at the last '-' before a digit
name=$(echo "$stem" | sed -E 's/-[0-9][^-]*(-[^-]*)?$//')
ver=${stem#"$name"-}
files=$(tar -tzf "$archive" | wc -l)
size=$(stat -c %s "$archive")
echo "archive: $stem ($size bytes, $files files)"

mkdir -p "$work/repo" "$work/x"
mean_ms() {  # mean_ms N CMD... : mean wall time in ms over N runs after one warm-up
  local n=$1; shift
  "$@" >/dev/null 2>&1 || true
  local s e
  s=$(date +%s%N)
  for ((i = 0; i < n; i++)); do "$@" >/dev/null 2>&1 || true; done
  e=$(date +%s%N)
  awk -v s="$s" -v e="$e" -v n="$n" 'BEGIN { printf "%.1f", (e - s) / n / 1e6 }'
}
baseline() { sha256sum "$archive" >/dev/null && rm -rf "$work/x" && mkdir "$work/x" && tar -xzf "$archive" -C "$work/x"; }
intake() { "$ZT" deps intake "$name@$ver" --ecosystem crates.io --archive "$archive" --lockfile "$ROOT/Cargo.lock" --allow-unknown-age --repo "$work/repo"; }

"$ZT" deps intake "$name@$ver" --ecosystem crates.io --archive "$archive" --lockfile "$ROOT/Cargo.lock" --allow-unknown-age --repo "$work/repo" --json \
  | python3 -c 'import json,sys; d=json.load(sys.stdin); print("verdict:", d["verdict"], "| files read:", d["files"], "| findings:", len(d["findings"]), "| reasons:", [r["rule"] for r in d["reasons"]])' || true
t_base=$(mean_ms "$runs" baseline)
t_zt=$(mean_ms "$runs" intake)
echo "sha256sum + tar -xzf: ${t_base} ms"
echo "zt deps intake:       ${t_zt} ms (checks + sign + log + ledger + mirror)"
awk -v a="$t_base" -v b="$t_zt" 'BEGIN { printf "ratio zt / baseline: %.1fx\n", b / a }'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
