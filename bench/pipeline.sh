#!/usr/bin/env bash
# `zt pipeline run .` on the bundled example, as CI runs it: one commit after another through one
# `.zt`. Prints, per commit, the whole run's wall time, the time spent inside the build sandbox
# (every build and rebuild: the build's own work) and the difference — zt's own time per
# commit (secret scan, copies, provenance, tests' wrapper, SBOM, scan, signing, logging, ledger,
# verification, policy). Target: ≤ 150 ms. For reference, the same work done bare (`make`
# twice and the tests, no evidence at all) is timed on the same tree.
#
# Usage: bench/pipeline.sh [COMMITS]   (default 10; release build of zt)
set -euo pipefail
cd "$(dirname "$0")/.."
commits="${1:-10}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zt-build}"
cargo build --release -q -p zt 2>/dev/null || cargo build --release -p zt
ZT="$CARGO_TARGET_DIR/release/zt"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

now() { date +%s%N; }
git_c() { git -C "$work/repo" -c user.name=bench -c user.email=bench@example.com "$@"; }

"$ZT" pipeline run --workdir "$work/repo" --json >"$work/first.json" 2>"$work/first.err" \
  || { echo "the first run did not allow:"; cat "$work/first.err"; exit 1; }

totals=()
for ((i = 1; i <= commits; i++)); do
  # A real change every commit: a new artifact digest each time.
  sed -i '/^static const char bench_id/d' "$work/repo/src/hello.c"
  echo "static const char bench_id[] __attribute__((used)) = \"$i\";" >>"$work/repo/src/hello.c"
  git_c commit -qam "change $i"
  start=$(now)
  if ! "$ZT" pipeline run "$work/repo" --json >"$work/run.json" 2>"$work/run.err"; then
    echo "commit $i: the pipeline did not allow:"; cat "$work/run.err"; exit 1
  fi
  end=$(now)
  wall=$(( (end - start) / 1000000 ))
  sandbox=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sandbox_millis"])' "$work/run.json")
  own=$(( wall - sandbox ))
  totals+=("$own")
  printf 'commit %2d: wall %4d ms, in the sandbox %4d ms, zt itself %4d ms\n' "$i" "$wall" "$sandbox" "$own"
done
python3 - "${totals[@]}" <<'PY'
import statistics, sys
v = [int(x) for x in sys.argv[1:]]
print(f"zt's own time per commit: mean {statistics.mean(v):.0f} ms, median {statistics.median(v):.0f} ms, "
      f"min {min(v)} ms, max {max(v)} ms over {len(v)} commits (target: <= 150 ms)")
PY

# The same work bare: two builds and the tests, no sandbox, no evidence.
bare="$work/bare"
git clone -q "$work/repo" "$bare"
start=$(now)
for ((i = 0; i < 5; i++)); do
  rm -rf "$bare/out"
  make -s -C "$bare" >/dev/null || { echo "bare make failed"; exit 1; }
  rm -rf "$bare/out"
  make -s -C "$bare" >/dev/null || { echo "bare make failed"; exit 1; }
  make -s -C "$bare" test JUNIT="$work/junit.xml" >/dev/null || { echo "bare tests failed"; exit 1; }
done
end=$(now)
echo "bare (make twice + tests, no evidence): $(( (end - start) / 5000000 )) ms per commit"
