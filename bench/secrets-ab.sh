#!/usr/bin/env bash
# Two `zt` binaries' `zt serve`, alternately, under the same OIDC exchange load as
# bench/secrets.sh (64 keep-alive clients, 8 s, the same tokens, a fresh store each run):
# the load generator's rate and latency line, the server's CPU per exchange (user+sys
# from /proc/PID/stat) and its context switches per exchange (voluntary + involuntary, summed
# over its threads from /proc/PID/task/*/status before and after the run).
#
# Usage: bench/secrets-ab.sh ZT_BEFORE ZT_AFTER LOADGEN [ROUNDS] [WORKDIR]
#   LOADGEN: `cargo build --release -p zt-server --example loadgen --features loadgen`
#   N=40000 tokens, SECONDS_RUN=8, CONCURRENCY=64; PERF=1 records the last run's server
#   (`perf record -g`, WORKDIR/perf-<which>.data); TRACE=1 keeps each run's per-exchange
#   trace (WORKDIR/trace-<which>-<round>.txt: send time and latency in µs, `loadgen --trace`)
#   and prints how the slow exchanges (over 10 ms) fall in time (bench/oidc-trace.py).
set -euo pipefail
before="$1"
after="$2"
loadgen="$3"
rounds="${4:-3}"
work="${5:-$(mktemp -d)}"
n="${N:-40000}"
seconds="${SECONDS_RUN:-8}"
concurrency="${CONCURRENCY:-64}"
mkdir -p "$work"
iss="https://token.actions.githubusercontent.com"
source "$(dirname "$0")/oidc-tokens.sh"
[ -f "$work/tokens.txt" ] || mint_tokens "$work" "$n" "$loadgen" "$iss"
tick=$(getconf CLK_TCK)
# Context switches of every thread of process $1 so far (threads that ended are not counted:
# zt serve's workers and blocking threads live through a run).
switches() {
    cat /proc/"$1"/task/*/status 2> /dev/null |
        awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ {n += $2} END {print n + 0}'
}
for r in $(seq "$rounds"); do
    for which in before after; do
        zt=$before
        [ "$which" = after ] && zt=$after
        rm -rf "$work/repo" && mkdir -p "$work/repo"
        "$loadgen" setup --zt "$work/repo/.zt" --jwks "$work/jwks.json" --iss "$iss" --aud zt \
            --bind 'repository=org/app,ref=refs/heads/main' > /dev/null
        rm -f "$work/url"
        "$zt" serve --repo "$work/repo" --listen 127.0.0.1:0 > "$work/url" 2> "$work/serve.log" &
        server=$!
        trap 'kill -TERM $server 2>/dev/null || true' EXIT
        for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.1; done
        url=$(head -n 1 "$work/url")
        perf_pid=
        if [ "${PERF:-}" = 1 ] && [ "$r" = "$rounds" ]; then
            perf record -g -o "$work/perf-$which.data" -p "$server" 2> /dev/null &
            perf_pid=$!
        fi
        load=$(cut -d' ' -f1 /proc/loadavg)
        cpu0=$(awk '{print $14 + $15}' "/proc/$server/stat")
        cs0=$(switches "$server")
        trace=()
        [ "${TRACE:-}" = 1 ] && trace=(--trace "$work/trace-$which-$r.txt")
        out=$("$loadgen" run --url "$url" --tokens "$work/tokens.txt" --concurrency "$concurrency" --seconds "$seconds" "${trace[@]}")
        cpu1=$(awk '{print $14 + $15}' "/proc/$server/stat")
        cs1=$(switches "$server")
        [ -n "$perf_pid" ] && kill -INT "$perf_pid" && wait "$perf_pid" || true
        kill -TERM "$server"
        wait "$server" || true
        trap - EXIT
        ok=$(sed -n 's/^exchanges: \([0-9]*\) ok.*/\1/p' <<<"$out")
        cpu_ms=$(( (cpu1 - cpu0) * 1000 / tick ))
        echo "round $r $which (load average $load): $out"
        echo "    zt serve CPU ${cpu_ms} ms = $(awk -v c="$cpu_ms" -v n="$ok" 'BEGIN{printf "%.0f", c * 1000 / n}') µs per exchange;" \
            "$((cs1 - cs0)) context switches = $(awk -v c="$((cs1 - cs0))" -v n="$ok" 'BEGIN{printf "%.2f", c / n}') per exchange"
        if [ "${TRACE:-}" = 1 ]; then
            python3 "$(dirname "$0")/oidc-trace.py" "$work/trace-$which-$r.txt" | sed 's/^/    /'
        fi
    done
done
