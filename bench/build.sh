#!/usr/bin/env bash
# Benchmarks for zt-build. Usage: bench/build.sh [normalize|all]
#
#   normalize: `zt normalize` against Debian's `strip-nondeterminism` on a generated zip of tens
#              of MB and thousands of entries (same options; the outputs must be identical).
#
# Builds zt with `cargo build --release -p zt`; needs strip-nondeterminism and zip (apt).
set -euo pipefail
cd "$(dirname "$0")/.."
part="${1:-all}"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zt-build}"
cargo build --release -q -p zt 2>/dev/null || cargo build --release -p zt
ZT="$CARGO_TARGET_DIR/release/zt"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
elapsed() { echo "$(now) - $1" | bc -l; }
ratio() { echo "scale=1; $1 / $2" | bc -l; }

bench_normalize() {
  command -v strip-nondeterminism >/dev/null || { echo "normalize: strip-nondeterminism not installed (apt-get install strip-nondeterminism)"; return; }
  command -v zip >/dev/null || { echo "normalize: zip not installed (apt-get install zip)"; return; }
  local src="$work/tree"
  mkdir -p "$src/bin" "$src/txt"
  # 2,000 incompressible and 2,000 compressible files of 8 KiB, in 40 directories.
  head -c $((2000 * 8192)) /dev/urandom >"$work/rand"
  (cd "$src/bin" && split -a 4 -b 8192 "$work/rand" r_)
  head -c $((2000 * 6144)) /dev/urandom | base64 -w 100 >"$work/text"
  (cd "$src/txt" && split -a 4 -b 8192 "$work/text" t_)
  for d in $(seq 0 39); do mkdir -p "$src/d$d"; done
  i=0; for f in "$src"/bin/r_* "$src"/txt/t_*; do mv "$f" "$src/d$((i % 40))/"; i=$((i + 1)); done
  rmdir "$src/bin" "$src/txt"
  (cd "$src" && zip -q -r "$work/big-extra.zip" .)
  local input="$work/big-extra.zip"
  local size entries
  size=$(stat -c %s "$input")
  entries=$(unzip -Z1 "$input" | wc -l)
  echo "normalize: $(basename "$input"): $((size / 1048576)) MiB, $entries entries (Info-ZIP, with UT/ux extra fields)"
  cp "$input" "$work/theirs.zip"; cp "$input" "$work/ours.zip"
  local t0 theirs ours
  t0=$(now); strip-nondeterminism --timestamp 1423159771 "$work/theirs.zip"; theirs=$(elapsed "$t0")
  t0=$(now); "$ZT" normalize --timestamp 1423159771 "$work/ours.zip" >/dev/null; ours=$(elapsed "$t0")
  if cmp -s "$work/theirs.zip" "$work/ours.zip"; then same="identical output"; else same="OUTPUTS DIFFER"; fi
  printf 'normalize: strip-nondeterminism %.3f s, zt normalize %.3f s, ratio %sx (%s)\n' "$theirs" "$ours" "$(ratio "$theirs" "$ours")" "$same"
}

case "$part" in
  normalize) bench_normalize ;;
  all) bench_normalize ;;
  *) echo "usage: $0 [normalize|all]" >&2; exit 2 ;;
esac
