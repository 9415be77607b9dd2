#!/usr/bin/env bash
# The evidence hub under load, loopback only, bounded in count and time: `zt serve` (release)
# on a PostgreSQL store holding a seeded synthetic history of N artifacts plus a real CI
# run's evidence (the bundled example through `zt pipeline run`, uploaded over HTTP), then
#   1. decisions/s (POST /api/v1/decide, stage deploy) and traces/s (GET /api/v1/trace) with
#      p50/p99, 64 keep-alive clients, SECONDS_RUN each;
#   2. durable uploads/s (POST /api/v1/bundles: verified, logged with fsync, stored in one
#      PostgreSQL transaction) of UPLOADS distinct signed bundles;
#   3. the query plans (EXPLAIN ANALYZE) of the evidence queries and the index each uses.
#
# Usage: bench/server.sh [WORKDIR]
#   N=1000000       synthetic artifacts in the history (seeded: SEED=42)
#   UPLOADS=1000    distinct bundles signed up front for the upload run
#   SECONDS_RUN=10  per query run
#   CONCURRENCY=64
#   PG="host=127.0.0.1 user=postgres dbname=test"
#   PROFILE=release  (debug: a quick smoke run of this script; its figures mean nothing)
# Targets (issue 17): decisions and traces >= 5,000/s with p99 < 20 ms; uploads >= 1,000/s.
# No peer runs offline here: for the comparison with Archivista's GraphQL-over-SQL the plans
# are printed (docs/server.md, the issue note).
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-$(mktemp -d)}"
mkdir -p "$work"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
n="${N:-1000000}"
seed="${SEED:-42}"
uploads="${UPLOADS:-1000}"
seconds="${SECONDS_RUN:-10}"
concurrency="${CONCURRENCY:-64}"
pg="${PG:-host=127.0.0.1 user=postgres dbname=test}"
schema="zt_bench_${seed}_${n}"

profile="${PROFILE:-release}"
flag=$([ "$profile" = release ] && echo --release || true)
cargo build $flag -q -p zt
cargo build $flag -q -p zt-server --example hubload --features loadgen
zt="$CARGO_TARGET_DIR/$profile/zt"
load="$CARGO_TARGET_DIR/$profile/examples/hubload"
psql_() { psql -X -q -v ON_ERROR_STOP=1 "$pg" "$@"; }

echo "== machine"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') ($(nproc) cores)"
echo "load average before (other work on the machine skews tails): $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== a real CI run (the bundled example) and a server trusting its key and log"
rm -rf "$work/runner" "$work/server"
( cd "$work" && "$zt" pipeline run --workdir runner --json > pipeline.json )
mkdir -p "$work/server/.zt/keys"
cp "$work/runner/zt.toml" "$work/server/zt.toml"
cp "$work/runner/.zt/keys/pipeline.pub" "$work/server/.zt/keys/pipeline.pub"
digest=$(cd "$work/runner" && "$zt" verify out/hello --stage deploy --json | grep -o '"digest": *"sha256:[0-9a-f]*"' | grep -o 'sha256:[0-9a-f]*')
[ -n "$digest" ] || { echo "no digest from the runner's verify" >&2; exit 1; }
token=$("$zt" serve token create --role admin --name bench --repo "$work/server")

echo "== PostgreSQL schema $schema: a fresh store"
psql_ -c "DROP SCHEMA IF EXISTS $schema CASCADE"
store="postgres://postgres@127.0.0.1/test?schema=$schema"
start_server() {
  rm -f "$work/url"
  "$zt" serve --repo "$work/server" --store "$store" --listen 127.0.0.1:0 \
      --trust-log "$work/runner/.zt/log/log.pub" > "$work/url" 2>> "$work/serve.log" &
  server=$!
  for _ in $(seq 200); do [ -s "$work/url" ] && break; sleep 0.1; done
  url=$(head -n 1 "$work/url")
  [ -n "$url" ] || { echo "zt serve did not start:" >&2; cat "$work/serve.log" >&2; exit 1; }
}
start_server
trap 'kill -TERM $server 2>/dev/null || true' EXIT

echo "== seeded history: $n artifacts (seed $seed), each with one statement, subject and commit"
t0=$(date +%s%N)
bench/seed-history.sh "$pg" "$schema" "$n" "$seed" 1700000000
t1=$(date +%s%N)
echo "generated in $(( (t1 - t0) / 1000000 )) ms; rows: $(psql_ -tAc "SELECT count(*) FROM $schema.bundles")"

echo "== the real run's evidence, uploaded"
for f in "$work"/runner/.zt/bundles/*.sigstore.json; do
  code=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" --data-binary "@$f" "$url/api/v1/bundles")
  [ "$code" = 201 ] || [ "$code" = 200 ] || { echo "upload of $f: $code" >&2; exit 1; }
done
allow=$(curl -sS -H "Authorization: Bearer $token" -d "{\"digest\":\"$digest\",\"stage\":\"deploy\"}" "$url/api/v1/decide" | grep -o '"allow": *[a-z]*' | grep -o '[a-z]*$')
echo "server's decision for $digest at deploy: allow=$allow"
[ "$allow" = true ] || { echo "expected allow" >&2; exit 1; }

# The digests queried: the real artifact, and synthetic ones (4 statements each, which the
# gate reads and rejects: they are not signed).
{ echo "$digest"; psql_ -tAc "SELECT DISTINCT digest FROM $schema.bundle_subjects ORDER BY digest LIMIT 99"; } > "$work/digests.txt"
echo "$digest" > "$work/real.txt"

# The server's CPU time (user + system) per 1,000 requests of a run: steadier than the rates
# when other work shares the cores.
ticks=$(getconf CLK_TCK)
server_cpu() { awk '{print $14 + $15}' "/proc/$server/stat"; }
measured() {
  local before after out n
  before=$(server_cpu)
  out=$("$load" "$@") || { echo "$out"; echo "hubload $1 failed" >&2; exit 1; }
  after=$(server_cpu)
  n=$(echo "$out" | grep -o '^[a-z]*: [0-9]*' | grep -o '[0-9]*$')
  echo "$out"
  echo "   server CPU: $(( (after - before) * 1000 / ticks )) ms, $(( (after - before) * 1000000 / ticks / n )) ms per 1,000 requests; load average now $(cut -d' ' -f1-3 /proc/loadavg)"
}
echo "== decisions (real artifact), $concurrency clients, ${seconds}s"
measured decide --url "$url" --token "$token" --digests "$work/real.txt" --concurrency "$concurrency" --seconds "$seconds"
echo "== decisions (real + 99 synthetic artifacts)"
measured decide --url "$url" --token "$token" --digests "$work/digests.txt" --concurrency "$concurrency" --seconds "$seconds"
echo "== traces (real artifact)"
measured trace --url "$url" --token "$token" --digests "$work/real.txt" --concurrency "$concurrency" --seconds "$seconds"

echo "== $uploads distinct bundles signed by the runner"
mkdir -p "$work/runner/many" "$work/uploads"
t0=$(date +%s%N)
for i in $(seq "$uploads"); do
  echo "artifact $i" > "$work/runner/many/f$i"
done
( cd "$work/runner" && for i in $(seq "$uploads"); do
    "$zt" sign "many/f$i" --key .zt/keys/pipeline --bundle "$work/uploads/f$i.json" > /dev/null 2>&1 \
      || { echo "zt sign many/f$i failed" >&2; exit 1; }
  done )
t1=$(date +%s%N)
echo "signed in $(( (t1 - t0) / 1000000 )) ms"
echo "== durable uploads: $uploads bundles, $concurrency clients"
measured upload --url "$url" --token "$token" --bundles "$work/uploads" --concurrency "$concurrency"

echo "== query plans (EXPLAIN ANALYZE) at $(psql_ -tAc "SELECT count(*) FROM $schema.bundles") bundles"
explain() {
  echo "-- $1"
  psql_ -c "SET search_path TO $schema; EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) $2" | sed 's/^/   /'
}
cols="b.id, b.json, b.predicate_type, b.key_id, b.log_index, b.stage, b.recorded_at"
# Literal values, as the server binds them (a sub-select would hide them from the planner).
key=$(psql_ -tAc "SELECT key_id FROM $schema.bundles WHERE key_id IS NOT NULL ORDER BY id LIMIT 1")
commit=$(psql_ -tAc "SELECT commit_id FROM $schema.bundle_commits ORDER BY bundle_id LIMIT 1")
some=$(psql_ -tAc "SELECT id FROM $schema.bundles ORDER BY id LIMIT 1")
explain "evidence by subject (the gate's and trace's lookup)" \
  "SELECT $cols FROM bundles b JOIN bundle_subjects s ON s.bundle_id = b.id AND s.digest = '$digest' ORDER BY b.recorded_at, b.id LIMIT 100"
explain "subjects of one bundle (read back with every row)" \
  "SELECT digest FROM bundle_subjects WHERE bundle_id = '$some' ORDER BY digest"
explain "evidence by predicate type, one page after a cursor" \
  "SELECT $cols FROM bundles b WHERE b.predicate_type = 'https://cyclonedx.org/bom' AND (b.recorded_at, b.id) > (1700500000, '') ORDER BY b.recorded_at, b.id LIMIT 100"
explain "evidence by key and time range" \
  "SELECT $cols FROM bundles b WHERE b.key_id = '$key' AND b.recorded_at >= 1700100000 AND b.recorded_at < 1700200000 ORDER BY b.recorded_at, b.id LIMIT 100"
explain "evidence by commit" \
  "SELECT $cols FROM bundles b JOIN bundle_commits c ON c.bundle_id = b.id AND c.commit_id = '$commit' ORDER BY b.recorded_at, b.id LIMIT 100"
explain "upload idempotency check" \
  "SELECT bundle_id, log_index, who, at FROM uploads WHERE bundle_id = '$digest'"

kill -TERM $server
wait $server || true
trap - EXIT
echo "== done; the store is schema $schema (drop it with: psql -c 'DROP SCHEMA $schema CASCADE')"
