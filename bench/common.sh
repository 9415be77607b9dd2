# Shared helpers for the benchmarks (sourced, not run).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="$(cd "$ROOT/.." && pwd)/shared/testdata"
# cargo's build stays outside the clone (as in .ci/run).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zt-bench-target}"

build_zt() {
  cargo build --release -q -p zt --manifest-path "$ROOT/Cargo.toml" >&2
  ZT="$CARGO_TARGET_DIR/release/zt"
}

now_ns() { date +%s%N; }

# time_runs N CMD...: runs CMD N times (after one warm-up) and prints the mean wall time in ms.
# Every run must succeed. With hyperfine installed, it runs them (`-N`: no shell between, so
# the ~1 ms of a bash fork and exec is not counted for either tool); otherwise a bash loop.
time_runs() {
  local n=$1; shift
  "$@" >/dev/null 2>&1 || { echo "command failed: $*" >&2; "$@" >&2 || true; return 1; }
  if command -v hyperfine >/dev/null; then
    local out cmd
    out=$(mktemp)
    cmd=$(printf '%q ' "$@")
    hyperfine -N --style none --warmup 1 --runs "$n" --export-json "$out" -- "$cmd" >/dev/null 2>&1 \
      || { rm -f "$out"; echo "command failed under hyperfine: $*" >&2; return 1; }
    python3 -c 'import json,sys; print("%.2f" % (json.load(open(sys.argv[1]))["results"][0]["mean"] * 1e3))' "$out"
    rm -f "$out"
    return
  fi
  local start end
  start=$(now_ns)
  for ((i = 0; i < n; i++)); do "$@" >/dev/null 2>&1 || { echo "command failed: $*" >&2; return 1; }; done
  end=$(now_ns)
  awk -v s="$start" -v e="$end" -v n="$n" 'BEGIN { printf "%.2f", (e - s) / n / 1e6 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.1f", b / a; else print "inf" }'; }
