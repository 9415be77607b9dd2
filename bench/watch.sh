#!/usr/bin/env bash
# `zt watch` over a generated history of N build records (default 10,000; target < 1 s), in a
# SQLite ledger, against `sqlite3` merely reading the same records (the floor any detector
# over this ledger pays); then the cost of behaviour recording per exec: a build that execs
# /bin/true 2,000 times, its command time in the sandbox (the record's `durationMs`, set-up
# excluded) against the same loop run bare. Usage: bench/watch.sh [N]
source "$(dirname "$0")/common.sh"
N="${1:-10000}"
build_zt
cargo build --release -q -p zt-pipeline --example seed_watch_history --manifest-path "$ROOT/Cargo.toml" >&2
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git -C "$work" init -q
"$CARGO_TARGET_DIR/release/examples/seed_watch_history" "$work" "$N"
alerts=$("$ZT" watch --dir "$work" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["alerts"]))')
builds=$("$ZT" watch --dir "$work" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["builds"])')
[ "$builds" = "$N" ] || { echo "zt watch read $builds builds, expected $N" >&2; exit 1; }
zt_ms=$(time_runs 5 "$ZT" watch --dir "$work" --json)
if command -v sqlite3 >/dev/null; then
  sql_ms=$(time_runs 5 sqlite3 "$work/.zt/ledger.db" "SELECT record FROM builds ORDER BY recorded_at, id")
  echo "watch: $N records, $alerts alerts: zt watch ${zt_ms} ms; sqlite3 reading the records ${sql_ms} ms (zt/sqlite3 $(ratio "$sql_ms" "$zt_ms")x); target < 1000 ms"
else
  echo "watch: $N records, $alerts alerts: zt watch ${zt_ms} ms; target < 1000 ms (sqlite3 not installed for the side-by-side)"
fi
awk -v t="$zt_ms" 'BEGIN { exit !(t < 1000) }' || { echo "watch: over the 1 s target" >&2; exit 1; }

# The cost of one recorded exec (seccomp notification round trip + openat2, and the other two
# seccomp programs' per-syscall cost: an upper bound for the recording alone).
tree="$work/exec"
mkdir -p "$tree"
loop='i=0; while [ $i -lt 2000 ]; do /bin/true; i=$((i+1)); done; mkdir -p out; echo done > out/x'
bare_ms=$(time_runs 5 sh -c "$loop")
zt_cmd_ms=0
for r in 1 2 3 4 5; do
  rm -rf "$tree/out"
  "$ZT" build -C "$tree" --allow-dirty --json -- sh -c "$loop" >"$work/b.json" 2>/dev/null || { echo "zt build failed" >&2; exit 1; }
  ms=$(python3 -c 'import json,sys; p=json.load(open(json.load(open(sys.argv[1]))["provenance"])); b=p["predicate"]["buildDefinition"]["internalParameters"]["behaviour"]; assert b["recorded"] and b["executed"][0]["count"] >= 2000, b; print(b["durationMs"])' "$work/b.json")
  zt_cmd_ms=$((zt_cmd_ms + ms))
done
zt_cmd_ms=$(awk -v t="$zt_cmd_ms" 'BEGIN { printf "%.2f", t / 5 }')
echo "exec cost: 2,000 execs: bare ${bare_ms} ms, in the sandbox (recorded) ${zt_cmd_ms} ms: $(awk -v b="$bare_ms" -v z="$zt_cmd_ms" 'BEGIN { printf "%.1f", (z - b) * 1000 / 2000 }') µs more per exec"

