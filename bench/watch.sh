#!/usr/bin/env bash
# `zt watch` over a generated history of N build records (default 10,000; target < 1 s) in a
# SQLite ledger, beside `sqlite3` merely reading the same records (the floor of a detector that
# reads every record). The watch keeps its baselines in the ledger, so three figures:
#   first  the first run, over the first N - K records (no stored state: each record is read);
#   next   the run after the last K are recorded (default 100: only those are read);
#   again  a run with nothing new (mean of 5).
# The last report must equal the one made from scratch (the state dropped, on a copy).
# Then the cost of behaviour recording per exec: a build that execs /bin/true 2,000 times, its
# command time in the sandbox (the record's `durationMs`, set-up excluded) against the same
# loop run bare. Usage: bench/watch.sh [N] [K]
source "$(dirname "$0")/common.sh"
N="${1:-10000}"
K="${2:-100}"
build_zt
cargo build --release -q -p zt-pipeline --example seed_watch_history --manifest-path "$ROOT/Cargo.toml" >&2
seed="$CARGO_TARGET_DIR/release/examples/seed_watch_history"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git -C "$work" init -q
# once CMD...: the wall time of one run of CMD in ms (its stdout in $work/out.json).
once() {
  local s e
  s=$(now_ns)
  "$@" >"$work/out.json" 2>"$work/err" || { echo "command failed: $*" >&2; cat "$work/err" >&2; exit 1; }
  e=$(now_ns)
  awk -v s="$s" -v e="$e" 'BEGIN { printf "%.1f", (e - s) / 1e6 }'
}
field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["alerts"]) if sys.argv[2] == "alerts" else d[sys.argv[2]])' "$work/out.json" "$1"; }
"$seed" "$work" "$N" 0 $((N - K)) >&2
first_ms=$(once "$ZT" watch --dir "$work" --json)
[ "$(field builds)" = $((N - K)) ] || { echo "the first run read $(field builds) builds, expected $((N - K))" >&2; exit 1; }
"$seed" "$work" "$N" $((N - K)) "$N" >&2
next_ms=$(once "$ZT" watch --dir "$work" --json)
[ "$(field builds)" = "$N" ] || { echo "the next run counts $(field builds) builds, expected $N" >&2; exit 1; }
alerts=$(field alerts)
cp "$work/out.json" "$work/incremental.json"
again_ms=$(time_runs 5 "$ZT" watch --dir "$work" --json)
# From scratch, on a copy without the stored state: the same report.
scratch="$work/scratch"
mkdir -p "$scratch/.zt"
git -C "$scratch" init -q
sqlite3 "$work/.zt/ledger.db" ".backup '$scratch/.zt/ledger.db'"
sqlite3 "$scratch/.zt/ledger.db" "DELETE FROM watch_alerts; DELETE FROM watch_state"
scratch_ms=$(once "$ZT" watch --dir "$scratch" --json)
cmp -s "$work/out.json" "$work/incremental.json" || { echo "the incremental report differs from the one made from scratch" >&2; diff <(python3 -m json.tool "$work/incremental.json") <(python3 -m json.tool "$work/out.json") | head -20 >&2; exit 1; }
sql_ms=$(time_runs 5 sqlite3 "$work/.zt/ledger.db" "SELECT record FROM builds ORDER BY recorded_at, id")
echo "watch: $N records, $alerts alerts (the same as from scratch): first run over $((N - K)) ${first_ms} ms; after $K more ${next_ms} ms; nothing new ${again_ms} ms; from scratch over $N ${scratch_ms} ms; sqlite3 reading the records ${sql_ms} ms (from scratch/next $(ratio "$next_ms" "$scratch_ms")x); target < 1000 ms"
awk -v t="$next_ms" 'BEGIN { exit !(t < 1000) }' || { echo "watch: over the 1 s target" >&2; exit 1; }

# The cost of one recorded exec (seccomp notification round trip + openat2, and the other two
# seccomp programs' per-syscall cost: an upper bound for the recording alone).
tree="$work/exec"
mkdir -p "$tree"
loop='i=0; while [ $i -lt 2000 ]; do /bin/true; i=$((i+1)); done; mkdir -p out; echo done > out/x'
# Bare, in the same scratch directory (never the checkout: the loop writes out/x).
bare_ms=$(time_runs 5 sh -c "cd \"$tree\" && $loop")
zt_cmd_ms=0
for r in 1 2 3 4 5; do
  rm -rf "$tree/out"
  "$ZT" build -C "$tree" --allow-dirty --json -- sh -c "$loop" >"$work/b.json" 2>/dev/null || { echo "zt build failed" >&2; exit 1; }
  ms=$(python3 -c 'import json,sys; p=json.load(open(json.load(open(sys.argv[1]))["provenance"])); b=p["predicate"]["buildDefinition"]["internalParameters"]["behaviour"]; assert b["recorded"] and b["executed"][0]["count"] >= 2000, b; print(b["durationMs"])' "$work/b.json")
  zt_cmd_ms=$((zt_cmd_ms + ms))
done
zt_cmd_ms=$(awk -v t="$zt_cmd_ms" 'BEGIN { printf "%.2f", t / 5 }')
echo "exec cost: 2,000 execs: bare ${bare_ms} ms, in the sandbox (recorded) ${zt_cmd_ms} ms: $(awk -v b="$bare_ms" -v z="$zt_cmd_ms" 'BEGIN { printf "%.1f", (z - b) * 1000 / 2000 }') µs more per exec"

