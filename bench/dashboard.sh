#!/usr/bin/env bash
# Server-side render time of the dashboard's pages (`zt serve` at `/`), loopback only, on a
# PostgreSQL store holding a seeded synthetic history of N artifacts (the generator of
# bench/server.sh, recorded within the last N seconds so that every period covers them) plus
# the real evidence of the bundled example taken through `zt pipeline run` three times and
# once denied, in the served repository itself (figures, denials, builds, log).
#
# Each page is fetched once (`first`: nothing cached; the overview is then kept for a minute
# per period, like `/metrics`) and then RUNS times; the script prints the first request's time,
# p50 and max of curl's `time_total` (the whole request on loopback: an upper bound of the
# render time) and the ratio of the target to the p50. Every status is checked.
#
# Usage: bench/dashboard.sh [WORKDIR]
#   N=1000000  synthetic artifacts (SEED=42)   RUNS=20   PROFILE=release
#   PG="host=127.0.0.1 user=postgres dbname=test"
# Target (issue 23): every page < 200 ms server-side at 1M artifacts.
# No peer dashboard runs offline here: the comparison is with the target.
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-$(mktemp -d)}"
mkdir -p "$work"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
n="${N:-1000000}"
seed="${SEED:-42}"
runs="${RUNS:-20}"
pg="${PG:-host=127.0.0.1 user=postgres dbname=test}"
schema="zt_dash_${seed}_${n}"
target_ms=200
profile="${PROFILE:-release}"
flag=$([ "$profile" = release ] && echo --release || true)
cargo build $flag -q -p zt
zt="$CARGO_TARGET_DIR/$profile/zt"
psql_() { psql -X -q -v ON_ERROR_STOP=1 "$pg" "$@"; }

echo "== machine"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') ($(nproc) cores)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== PostgreSQL schema $schema: a fresh store"
psql_ -c "DROP SCHEMA IF EXISTS $schema CASCADE"
export ZT_STORE_URL="postgres://postgres@127.0.0.1/test?schema=$schema"

echo "== the served repository: the example, 3 allowed runs and 1 denied"
rm -rf "$work/repo"
( cd "$work" && "$zt" pipeline run --workdir repo --json > run1.json )
for i in 2 3; do "$zt" pipeline run "$work/repo" --json > "$work/run$i.json"; done
sed -i 's/min_coverage = 0.0/min_coverage = 80.0/' "$work/repo/zt.toml"
git -C "$work/repo" -c user.name=bench -c user.email=bench@example.com commit -qam "require coverage"
set +e
"$zt" pipeline run "$work/repo" --json > "$work/run4.json"
code=$?
set -e
[ "$code" = 1 ] || { echo "the denied run exited $code, expected 1" >&2; exit 1; }
digest=$(grep -o '"sha256:[0-9a-f]*"' "$work/run1.json" | head -n 1 | tr -d '"')
commit=$(git -C "$work/repo" rev-parse HEAD~1)
[ -n "$digest" ] || { echo "no artifact digest in the first run's report" >&2; exit 1; }
token=$("$zt" serve token create --role read --name bench --repo "$work/repo")

echo "== seeded history: $n artifacts (seed $seed), recorded in the last $n seconds"
now=$(date +%s)
t0=$(date +%s%N)
bench/seed-history.sh "$pg" "$schema" "$n" "$seed" "$(( $now - $n ))"
t1=$(date +%s%N)
echo "generated in $(( (t1 - t0) / 1000000 )) ms; bundles: $(psql_ -tAc "SELECT count(*) FROM $schema.bundles")"

rm -f "$work/url"
"$zt" serve --repo "$work/repo" --listen 127.0.0.1:0 > "$work/url" 2>> "$work/serve.log" &
server=$!
trap 'kill -TERM $server 2>/dev/null || true' EXIT
for _ in $(seq 200); do [ -s "$work/url" ] && break; sleep 0.1; done
url=$(head -n 1 "$work/url")
[ -n "$url" ] || { echo "zt serve did not start:" >&2; cat "$work/serve.log" >&2; exit 1; }

synthetic=$(psql_ -tAc "SELECT digest FROM $schema.bundle_subjects ORDER BY digest LIMIT 1")
pages=(
  "/"
  "/?since=1d"
  "/artifacts/$digest"
  "/artifacts/$synthetic"
  "/search?q=$commit"
  "/search?q=$digest"
  "/search?q=out%2Fhello"
  "/denials"
  "/denials?rule=tests.coverage"
  "/alerts"
  "/log?index=0"
)
echo "== per page: the first request, then $runs more; curl time_total in ms"
printf '%-48s %8s %8s %8s %10s\n' page first p50 max "target/p50"
worst=0
for p in "${pages[@]}"; do
  want=200
  t=$(curl -sS -o /dev/null -w '%{http_code} %{time_total}' -H "Authorization: Bearer $token" "$url$p")
  [ "${t%% *}" = "$want" ] || { echo "GET $p: ${t%% *}, expected $want" >&2; exit 1; }
  first=$(awk -v t="${t##* }" 'BEGIN { printf "%.1f", t * 1000 }')
  times=()
  for ((i = 0; i < runs; i++)); do
    t=$(curl -sS -o /dev/null -w '%{http_code} %{time_total}' -H "Authorization: Bearer $token" "$url$p")
    [ "${t%% *}" = "$want" ] || { echo "GET $p: ${t%% *}" >&2; exit 1; }
    times+=("${t##* }")
  done
  read -r p50 max < <(printf '%s\n' "${times[@]}" | sort -g | awk '{ a[NR] = $1 * 1000 } END { printf "%.1f %.1f\n", a[int((NR + 1) / 2)], a[NR] }')
  printf '%-48s %8s %8s %8s %10s\n' "${p:0:48}" "$first" "$p50" "$max" "$(awk -v t=$target_ms -v p="$p50" 'BEGIN { printf "%.1f", t / p }')"
  worst=$(awk -v a="$worst" -v b="$p50" 'BEGIN { print (b > a) ? b : a }')
done
echo "slowest page p50: $worst ms (target < $target_ms ms)"
kill -TERM $server
wait $server || true
trap - EXIT
echo "== done; the store is schema $schema (drop it with: psql -c 'DROP SCHEMA $schema CASCADE')"
