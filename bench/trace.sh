#!/usr/bin/env bash
# `zt trace` (whole process, release) at N artifacts, on the embedded SQLite ledger and on
# PostgreSQL: the bundled example taken through `zt pipeline run` three times (its artifact
# has four builds' evidence: provenance, SBOM, tests, scans, … each signed and logged), then a
# seeded synthetic history of N bundles (four per artifact digest) recorded in the same
# ledger. Timed, RUNS times each after one warm-up, the median wall time of:
#   trace              `zt trace DIGEST --json` (verifies what it shows, no policy)
#   trace --decisions  the same judged at every stage (verifies every bundle, one policy)
#   synthetic          `zt trace` of a synthetic digest (no bundle verifies)
#   server             `zt trace DIGEST --json --server URL`: the same trace asked of `zt serve`
#                      over the same store (how an organisation on PostgreSQL traces: the
#                      server keeps verified evidence; its first answer for the digest, which
#                      verifies and judges it, is printed apart as `first`)
# beside the floor: `sqlite3` / `psql` reading the artifact's rows (what any tracer reads), and
# on PostgreSQL `pgbench -C`'s time to open one connection (a new server process per client:
# what every `zt` process on PostgreSQL pays before its first query).
#
# Usage: bench/trace.sh [WORKDIR]
#   N=1000000  synthetic artifacts' bundles (SEED=42)   RUNS=20
#   STORES="sqlite postgres"   PG="host=127.0.0.1 user=postgres dbname=test"
# Target (issue 18): < 10 ms at 1M artifacts on both stores.
set -euo pipefail
source "$(dirname "$0")/common.sh"
work="${1:-$(mktemp -d)}"
mkdir -p "$work"
n="${N:-1000000}"
seed="${SEED:-42}"
runs="${RUNS:-20}"
stores="${STORES:-sqlite postgres}"
pg="${PG:-host=127.0.0.1 user=postgres dbname=test}"
target_ms=10
build_zt
psql_() { psql -X -q -v ON_ERROR_STOP=1 "$pg" "$@"; }

echo "== machine"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') ($(nproc) cores)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# median RUNS CMD...: the median wall time of CMD in ms over RUNS runs, after one warm-up
# (every exit status checked).
median() {
  local k=$1; shift
  "$@" >/dev/null 2>"$work/err" || { echo "command failed: $*" >&2; cat "$work/err" >&2; exit 1; }
  local times=() s e
  for ((i = 0; i < k; i++)); do
    s=$(now_ns)
    "$@" >/dev/null 2>"$work/err" || { echo "command failed: $*" >&2; cat "$work/err" >&2; exit 1; }
    e=$(now_ns)
    times+=("$(( (e - s) / 1000 ))")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] / 1000 }'
}

# The example, run three times in a fresh repository recorded in the current store.
example() {
  local repo=$1
  rm -rf "$repo"
  ( cd "$(dirname "$repo")" && "$ZT" pipeline run --workdir "$(basename "$repo")" --json > "$repo.run1.json" )
  for i in 2 3; do "$ZT" pipeline run "$repo" --json > "$repo.run$i.json"; done
  grep -o '"sha256:[0-9a-f]*"' "$repo.run1.json" | head -n 1 | tr -d '"'
}

report() {
  local store=$1 repo=$2 digest=$3 synthetic=$4 floor=$5 bundles=$6
  local shown judged synth token url server_pid s e first via
  shown=$(cd "$repo" && median "$runs" "$ZT" trace "$digest" --json)
  judged=$(cd "$repo" && median "$runs" "$ZT" trace "$digest" --decisions --json)
  synth=$(cd "$repo" && median "$runs" "$ZT" trace "$synthetic" --json)
  # The trace must show the builds, and the judged one three decisions.
  (cd "$repo" && "$ZT" trace "$digest" --decisions --json) | python3 -c '
import json, sys
t = json.load(sys.stdin)
assert len(t["builds"]) >= 3 and len(t["decisions"]) == 3, (len(t["builds"]), len(t["decisions"]))'
  # The same trace from `zt serve` on the same repository and store.
  token=$(cd "$repo" && "$ZT" serve token create --role read --name bench-trace --repo .)
  rm -f "$work/url"
  (cd "$repo" && exec "$ZT" serve --repo . ${ZT_STORE_URL:+--store "$ZT_STORE_URL"} \
      --listen 127.0.0.1:0 > "$work/url" 2>> "$work/serve.log") &
  server_pid=$!
  for _ in $(seq 300); do [ -s "$work/url" ] && break; sleep 0.1; done
  url=$(head -n 1 "$work/url")
  [ -n "$url" ] || { echo "zt serve did not start:" >&2; cat "$work/serve.log" >&2; exit 1; }
  export ZT_SERVER_TOKEN=$token
  s=$(now_ns)
  "$ZT" trace "$digest" --json --server "$url" > "$work/server-trace.json" \
    || { echo "zt trace --server failed" >&2; cat "$work/serve.log" >&2; exit 1; }
  e=$(now_ns)
  first=$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.1f", (e - s) / 1e6 }')
  python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))
assert len(t["builds"]) >= 3 and len(t["decisions"]) == 3, (len(t["builds"]), len(t["decisions"]))' "$work/server-trace.json"
  via=$(median "$runs" "$ZT" trace "$digest" --json --server "$url")
  unset ZT_SERVER_TOKEN
  kill -TERM "$server_pid"
  wait "$server_pid" || true
  printf '%-9s %9s bundles  trace %6s ms  --decisions %6s ms  synthetic %6s ms  server %6s ms (first %s ms)  floor %6s ms  target/trace %sx  target/server %sx\n' \
    "$store" "$bundles" "$shown" "$judged" "$synth" "$via" "$first" "$floor" "$(ratio "$shown" "$target_ms")" \
    "$(ratio "$via" "$target_ms")"
}

for store in $stores; do
  case $store in
    sqlite)
      unset ZT_STORE_URL
      repo="$work/sqlite-repo"
      digest=$(example "$repo")
      db="$repo/.zt/ledger.db"
      # The synthetic history, shaped as bench/seed-history.sh's (digests are made-up hex:
      # SQLite has no sha256()).
      sqlite3 "$db" <<SQL
BEGIN;
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $n)
INSERT INTO bundles (id, json, predicate_type, key_id, log_index, stage, recorded_at)
SELECT 'sha256:' || printf('%016x%048x', $seed, i),
       '{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","synthetic":' || i || '}',
       CASE i % 4 WHEN 0 THEN 'https://slsa.dev/provenance/v1' WHEN 1 THEN 'https://cyclonedx.org/bom'
         WHEN 2 THEN 'https://in-toto.io/attestation/test-result/v0.1' ELSE 'https://zt.dev/attestation/vuln-scan/v1' END,
       printf('%064x', i % 50), i, 'ci', 1700000000 + i
FROM s;
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $n)
INSERT INTO bundle_subjects (digest, bundle_id)
SELECT 'sha256:' || printf('%016x%048x', $seed + 1, i / 4), 'sha256:' || printf('%016x%048x', $seed, i) FROM s;
COMMIT;
ANALYZE;
SQL
      synthetic="sha256:$(printf '%016x%048x' $((seed + 1)) 1)"
      bundles=$(sqlite3 "$db" "SELECT count(*) FROM bundles")
      floor=$(median "$runs" sqlite3 "$db" "SELECT b.json FROM bundle_subjects s JOIN bundles b ON b.id = s.bundle_id WHERE s.digest = '$digest'")
      report sqlite "$repo" "$digest" "$synthetic" "$floor" "$bundles"
      ;;
    postgres)
      schema="zt_trace_${seed}_${n}"
      psql_ -c "DROP SCHEMA IF EXISTS $schema CASCADE"
      export ZT_STORE_URL="postgres://postgres@127.0.0.1/test?schema=$schema"
      repo="$work/pg-repo"
      digest=$(example "$repo")
      "$ROOT/bench/seed-history.sh" "$pg" "$schema" "$n" "$seed" 1700000000
      synthetic=$(psql_ -tAc "SELECT digest FROM $schema.bundle_subjects WHERE digest <> '$digest' ORDER BY digest LIMIT 1")
      bundles=$(psql_ -tAc "SELECT count(*) FROM $schema.bundles")
      floor=$(median "$runs" psql -X -q "$pg" -c "SELECT b.json FROM $schema.bundle_subjects s JOIN $schema.bundles b ON b.id = s.bundle_id WHERE s.digest = '$digest'")
      if command -v pgbench >/dev/null; then
        echo "SELECT 1;" > "$work/select1.sql"
        pgbench -C -n -T 3 -f "$work/select1.sql" "$pg" 2>/dev/null | grep -E "average connection time" \
          | sed 's/^/postgres  pgbench -C (one new connection, then SELECT 1): /' \
          || { echo "pgbench failed" >&2; exit 1; }
      fi
      report postgres "$repo" "$digest" "$synthetic" "$floor" "$bundles"
      unset ZT_STORE_URL
      echo "(the store is schema $schema: psql -c 'DROP SCHEMA $schema CASCADE')"
      ;;
    *) echo "unknown store $store" >&2; exit 2 ;;
  esac
done
