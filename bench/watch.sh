#!/usr/bin/env bash
# `zt watch` over a generated history of N build records (default 10,000; target < 1 s), in a
# SQLite ledger, against `sqlite3` merely reading the same records (the floor any detector
# over this ledger pays). Usage: bench/watch.sh [N]
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
