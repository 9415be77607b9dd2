# Shared helpers for the benchmarks (sourced, not run).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="$(cd "$ROOT/.." && pwd)/shared/testdata"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

build_zt() {
  cargo build --release -q -p zt --manifest-path "$ROOT/Cargo.toml" >&2
  ZT="$CARGO_TARGET_DIR/release/zt"
}

now_ns() { date +%s%N; }

# time_runs N CMD...: runs CMD N times (after one warm-up) and prints the mean wall time in ms.
time_runs() {
  local n=$1; shift
  "$@" >/dev/null 2>&1 || { echo "command failed: $*" >&2; "$@" >&2 || true; return 1; }
  local start end
  start=$(now_ns)
  for ((i = 0; i < n; i++)); do "$@" >/dev/null 2>&1; done
  end=$(now_ns)
  awk -v s="$start" -v e="$end" -v n="$n" 'BEGIN { printf "%.2f", (e - s) / n / 1e6 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.1f", b / a; else print "inf" }'; }
