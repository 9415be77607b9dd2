#!/usr/bin/env bash
# Serving the transparency log's tiles over HTTP: `zt serve` (release) against a static file
# server serving the same log directory (python3 -m http.server, ThreadingHTTPServer; busybox
# httpd instead when installed), both on loopback, the same keep-alive load generator, the same
# paths: every full and partial tile, entry bundle and the checkpoint of a log of N entries.
#
# Usage: bench/tiles.sh [WORKDIR]
#   N=20000         entries in the log (78 full level-0 tiles, bundles, upper levels)
#   SECONDS_RUN=5   seconds per run
#   CONCURRENCY=32  keep-alive clients
# Prints requests/s and p50/p99 for each and the ratio zt/peer. Every step's exit status is
# checked (set -e; the load generator exits non-zero on any non-200 reply).
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-$(mktemp -d)}"
mkdir -p "$work"
target="${CARGO_TARGET_DIR:-target}"
n="${N:-20000}"
seconds="${SECONDS_RUN:-5}"
concurrency="${CONCURRENCY:-32}"

cargo build --release -q -p zt
cargo build --release -q -p zt-server --example loadgen --features loadgen
zt="$target/release/zt"
loadgen="$target/release/examples/loadgen"

echo "== machine"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') ($(nproc) cores)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

repo="$work/repo"
rm -rf "$repo" && mkdir -p "$repo/.zt"
"$zt" log --dir "$repo/.zt/log" init --origin bench.example/log >/dev/null
# N entries, appended in batches of 1000 files.
mkdir -p "$work/entries"
for ((i = 0; i < n; i++)); do printf 'entry %d\n' "$i" > "$work/entries/$i"; done
for ((i = 0; i < n; i += 1000)); do
  files=()
  for ((j = i; j < i + 1000 && j < n; j++)); do files+=("$work/entries/$j"); done
  "$zt" log --dir "$repo/.zt/log" append "${files[@]}" >/dev/null 2>&1
done
rm -rf "$work/entries"
(cd "$repo/.zt/log" && find tile -type f | sort > "$work/paths.txt" && echo checkpoint >> "$work/paths.txt")
echo "== log of $n entries: $(wc -l < "$work/paths.txt") paths ($(du -sh "$repo/.zt/log/tile" | cut -f1))"

pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

rm -f "$work/url"
"$zt" serve --repo "$repo" --listen 127.0.0.1:0 > "$work/url" 2> "$work/serve.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.1; done
zurl=$(head -n 1 "$work/url")
[ -n "$zurl" ] || { echo "zt serve did not start" >&2; cat "$work/serve.log" >&2; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
if command -v busybox >/dev/null && busybox httpd --help >/dev/null 2>&1; then
  peer="busybox httpd"
  busybox httpd -f -p "127.0.0.1:$port" -h "$repo/.zt/log" &
else
  peer="python3 -m http.server"
  (cd "$repo/.zt/log" && exec python3 -m http.server --bind 127.0.0.1 "$port") >/dev/null 2>&1 &
fi
pids+=($!)
for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$port/checkpoint" 2>/dev/null && break; sleep 0.1; done
# Both serve the same bytes.
for p in checkpoint $(head -n 3 "$work/paths.txt"); do
  cmp <(curl -fsS "$zurl/$p") <(curl -fsS "http://127.0.0.1:$port/$p")
done

echo "== zt serve ($concurrency clients, ${seconds}s)"
zt_line=$("$loadgen" get --url "$zurl" --paths "$work/paths.txt" --concurrency "$concurrency" --seconds "$seconds")
echo "$zt_line"
echo "== $peer ($concurrency clients, ${seconds}s)"
peer_line=$("$loadgen" get --url "http://127.0.0.1:$port" --paths "$work/paths.txt" --concurrency "$concurrency" --seconds "$seconds")
echo "$peer_line"
zrps=$(echo "$zt_line" | sed -E 's/.*= ([0-9]+)\/s.*/\1/')
prps=$(echo "$peer_line" | sed -E 's/.*= ([0-9]+)\/s.*/\1/')
echo "== ratio zt/peer: $(awk -v a="$zrps" -v b="$prps" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "inf" }')x"
grep -c '"route":"/tile/{\*path}"' "$work/serve.log" >/dev/null || { echo "no request lines in the server log" >&2; exit 1; }
