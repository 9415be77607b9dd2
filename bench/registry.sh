#!/usr/bin/env bash
# The curated mirror as registries under load (issue 20): `zt serve` answering Cargo sparse
# index files, npm packuments and PyPI simple pages from a mirror of the real packages in
# crates/zt/tests/data (taken in with `zt deps intake`), against the peer: `python3 -m
# http.server` serving the same documents as static files (what a plain file mirror does).
# 64 keep-alive clients (hubload), SECONDS_RUN each; every reply must be 200.
#
# Usage: bench/registry.sh [WORKDIR]
#   SECONDS_RUN=10 CONCURRENCY=64 PROFILE=release (debug: a smoke run, figures mean nothing)
# Target: >= 2,000 index/packument requests/s with p99 < 20 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-$(mktemp -d)}"
mkdir -p "$work"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
seconds="${SECONDS_RUN:-10}"
concurrency="${CONCURRENCY:-64}"
profile="${PROFILE:-release}"
flag=$([ "$profile" = release ] && echo --release || true)
cargo build $flag -q -p zt
cargo build $flag -q -p zt-server --example hubload --features loadgen
zt="$CARGO_TARGET_DIR/$profile/zt"
load="$CARGO_TARGET_DIR/$profile/examples/hubload"
data="crates/zt/tests/data/registry"

echo "== machine"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') ($(nproc) cores)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== a mirror of cfg-if 1.0.0, is-number 7.0.0, iniconfig 2.0.0 (zt deps intake)"
repo="$work/repo"
rm -rf "$repo"; mkdir -p "$repo"
cp "$data"/* "$repo"/
crate_sum=$(sha256sum "$repo/cfg-if-1.0.0.crate" | cut -d' ' -f1)
whl_sum=$(sha256sum "$repo/iniconfig-2.0.0-py3-none-any.whl" | cut -d' ' -f1)
npm_sri="sha512-$(openssl dgst -sha512 -binary "$repo/is-number-7.0.0.tgz" | base64 -w0)"
printf 'version = 4\n\n[[package]]\nname = "cfg-if"\nversion = "1.0.0"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\nchecksum = "%s"\n' "$crate_sum" > "$repo/Cargo.lock"
printf '{"name":"app","lockfileVersion":3,"packages":{"":{"name":"app"},"node_modules/is-number":{"version":"7.0.0","integrity":"%s"}}}\n' "$npm_sri" > "$repo/package-lock.json"
printf 'iniconfig==2.0.0 --hash=sha256:%s\n' "$whl_sum" > "$repo/requirements.txt"
( cd "$repo"
  "$zt" deps intake cfg-if@1.0.0 --ecosystem crates.io --archive cfg-if-1.0.0.crate --lockfile Cargo.lock --allow-unknown-age
  "$zt" deps intake is-number@7.0.0 --ecosystem npm --archive is-number-7.0.0.tgz --lockfile package-lock.json --allow-unknown-age
  "$zt" deps intake iniconfig@2.0.0 --ecosystem pypi --archive iniconfig-2.0.0-py3-none-any.whl --lockfile requirements.txt --allow-unknown-age
) > "$work/intake.log" 2>&1 || { cat "$work/intake.log" >&2; echo "intake failed" >&2; exit 1; }

echo "== zt serve"
"$zt" serve --listen 127.0.0.1:0 --repo "$repo" > "$work/url" 2> "$work/serve.log" &
serve_pid=$!
trap 'kill "$serve_pid" 2>/dev/null || true; [ -n "${peer_pid:-}" ] && kill "$peer_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.1; done
url=$(head -n1 "$work/url")
printf '/cargo/cf/g-/cfg-if\n/npm/is-number\n/pypi/simple/iniconfig/\n' > "$work/paths"
# The peer serves the very bytes zt served, as files under the same paths.
static="$work/static"
rm -rf "$static"
while read -r p; do
  f="$static$p"; [ "${p: -1}" = / ] && f="${f}index.html"
  mkdir -p "$(dirname "$f")"
  curl -sSf -o "$f" "$url$p"
done < "$work/paths"

zt_out=$("$load" get --url "$url" --paths "$work/paths" --concurrency "$concurrency" --seconds "$seconds")
echo "zt serve:        $zt_out"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
( cd "$static" && exec python3 -m http.server --bind 127.0.0.1 "$port" ) >/dev/null 2>&1 &
peer_pid=$!
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/npm/is-number" && break; sleep 0.1; done
peer_out=$("$load" get --url "http://127.0.0.1:$port" --paths "$work/paths" --concurrency "$concurrency" --seconds "$seconds")
echo "python http.server: $peer_out"
rate() { sed -E 's/.*= ([0-9]+)\/s.*/\1/' <<<"$1"; }
p99() { sed -E 's/.*p99 ([0-9.]+) ms.*/\1/' <<<"$1"; }
echo "ratio (zt / peer requests/s): $(awk -v a="$(rate "$zt_out")" -v b="$(rate "$peer_out")" 'BEGIN { printf "%.1f", a / b }')"
awk -v r="$(rate "$zt_out")" -v p="$(p99 "$zt_out")" 'BEGIN {
  ok = (r >= 2000 && p < 20); printf "target >= 2000/s, p99 < 20 ms: %s\n", ok ? "met" : "NOT met"; exit !ok }'
