#!/usr/bin/env bash
# Secrets broker over HTTP: OIDC token exchanges per second and p50/p99 latency on loopback,
# 64 concurrent keep-alive clients, against `zt serve` (release) with a fresh store. Each
# exchange is the full path: RS256 verify (pinned JWKS), binding match, replay check (in
# memory, made durable by the access record), Ed25519-signed scoped token, access record in
# the access log's write-ahead file (fdatasync, group commit) before the reply; a background
# thread copies records into the transparency log and the ledger (one batch per 50 ms at
# most). Printed beside the cost of one bare RS256 verify + Ed25519 sign on this machine: the
# limit, if everything else were free. `loadgen run` exits non-zero on any refused exchange
# or broken connection, and so does this script.
#
# Usage: bench/secrets.sh [WORKDIR]
#   N=40000        tokens minted up front (each jti is exchangeable once)
#   SECONDS_RUN=10 the run stops after this long, or when the tokens run out
#   CONCURRENCY=64 clients
#   BLOCKING_THREADS   `zt serve --blocking-threads` (the broker's pool; default 8 per CPU)
# Needs openssl (to make the issuer's RSA key). Targets: >= 5,000 exchanges/s on 2 cores,
# p99 < 10 ms, zero errors.
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-$(mktemp -d)}"
mkdir -p "$work"
target="${CARGO_TARGET_DIR:-target}"
n="${N:-40000}"
seconds="${SECONDS_RUN:-10}"
concurrency="${CONCURRENCY:-64}"
blocking="${BLOCKING_THREADS:-}"

cargo build --release -q -p zt
cargo build --release -q -p zt-server --example loadgen --features loadgen
zt="$target/release/zt"
loadgen="$target/release/examples/loadgen"

echo "== machine"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') ($(nproc) cores)"
echo "load average before (other work on the machine skews tails): $(cut -d' ' -f1-3 /proc/loadavg)"

iss="https://token.actions.githubusercontent.com"
rm -rf "$work/repo" && mkdir -p "$work/repo"
source bench/oidc-tokens.sh
mint_tokens "$work" "$n" "$loadgen" "$iss"
"$loadgen" setup --zt "$work/repo/.zt" --jwks "$work/jwks.json" --iss "$iss" --aud zt \
    --bind 'repository=org/app,ref=refs/heads/main'

rm -f "$work/url"
"$zt" serve --repo "$work/repo" --listen 127.0.0.1:0 ${blocking:+--blocking-threads "$blocking"} > "$work/url" 2> "$work/serve.log" &
server=$!
trap 'kill -TERM $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.1; done
url=$(head -n 1 "$work/url")
echo "== $concurrency clients, keep-alive, $n tokens, at most ${seconds}s: $url"
cpu_before=$(awk '{print $14 + $15}' "/proc/$server/stat")
"$loadgen" run --url "$url" --tokens "$work/tokens.txt" --concurrency "$concurrency" --seconds "$seconds"
cpu_after=$(awk '{print $14 + $15}' "/proc/$server/stat")
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "zt serve CPU during the run: $(( (cpu_after - cpu_before) * 10 )) ms (user+sys, all threads)"
kill -TERM "$server"
wait "$server" || true
trap - EXIT
refusals=$(grep -c refused "$work/serve.log" || true)
echo "server log: $refusals refusals logged"

echo "== the broker alone (no HTTP), same store, fresh tokens"
rm -rf "$work/repo2" && mkdir -p "$work/repo2"
"$loadgen" setup --zt "$work/repo2/.zt" --jwks "$work/jwks.json" --iss "$iss" --aud zt \
    --bind 'repository=org/app,ref=refs/heads/main'
"$loadgen" direct --zt "$work/repo2/.zt" --tokens "$work/tokens.txt" --concurrency "$concurrency" --seconds "$seconds"

echo "== the limit"
"$loadgen" limit --key "$work/issuer.pk8" --tokens "$work/tokens.txt"
