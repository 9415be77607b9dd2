#!/usr/bin/env bash
# Transparency log benchmark: durable append throughput (batched; one fdatasync of the log's
# write-ahead file per batch, the partial tiles and checkpoint file published when no append
# waits or every 25 ms, everything synced together at each base) and proof latency
# at 1M and 10M leaves, beside this machine's single-core SHA-256 rate on 64-byte inputs
# (`openssl speed`), the cost floor of RFC 6962 hashing (about two SHA-256 calls per leaf).
#
# Usage: bench/tlog.sh [WORKDIR]   (default: a temp dir; needs ~1.5 GB free for 10M leaves)
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-$(mktemp -d)}"
mkdir -p "$work"
target="${CARGO_TARGET_DIR:-target}"

cargo build --release -q -p zt
cargo build --release -q -p zt-tlog --example tlog-bench
bench="$target/release/examples/tlog-bench"
zt="$target/release/zt"

echo "== machine"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') ($(nproc) cores)"
echo "load average (other work on the machine skews tails): $(cut -d' ' -f1-3 /proc/loadavg)"
sha_kbs=$(openssl speed -seconds 3 -bytes 64 sha256 2>/dev/null | awk '/^sha256 /{print $2}' | tr -d k)
sha_rate=$(awk -v k="$sha_kbs" 'BEGIN{printf "%.0f", k*1000/64}')
echo "openssl sha256, 64-byte inputs, 1 core: ${sha_rate} hashes/s (${sha_kbs} kB/s)"
echo "  => RFC 6962 hashing floor: $((sha_rate / 2)) leaves/s (one leaf hash + one node hash per leaf)"
# A batch is durable after one appending fdatasync of the write-ahead file: that latency
# bounds group commit (THREADS writers, each with one append in flight, fill a batch at most).
sync_s=$(dd if=/dev/zero of="$work/dsync" bs=512 count=2000 oflag=dsync 2>&1 | awk '/copied/ {print $(NF-3)}')
rm -f "$work/dsync"
sync_us=$(awk -v s="$sync_s" 'BEGIN{printf "%.0f", s * 1e6 / 2000}')
echo "one appending 512-byte write + fdatasync (dd oflag=dsync): ${sync_us} µs"
echo "  => 64 writers, one sync per batch: at most $(awk -v u="$sync_us" 'BEGIN{printf "%.0f", 64e6 / u}') appends/s"

run_append() {
    rm -rf "$work/a"
    "$bench" append "$work/a" "$1" "$2" | tee "$work/out"
    rate=$(sed -n 's/.*s, \([0-9]*\) entries\/s.*/\1/p' "$work/out")
    awk -v r="$rate" -v s="$sha_rate" 'BEGIN{printf "  ratio: %.4f of the single-core SHA-256 rate (%d/%d)\n", r/s, r, s}'
}

echo "== durable appends (one fdatasync of the write-ahead file per batch; partial tiles and the checkpoint file published when no append waits, or every 25 ms)"
run_append 300 1
run_append 20000 100
run_append 100000 1000
run_append 200000 10000
rm -rf "$work/c"
for threads in 8 64; do
    rm -rf "$work/c"
    "$bench" concurrent "$work/c" 20000 "$threads" | tee "$work/out"
done
rate=$(sed -n 's/.*s, \([0-9]*\) entries\/s.*/\1/p' "$work/out")
echo "  target: >= 50000 appends/s from 64 writers ($(awk -v r="$rate" 'BEGIN{printf "%.2f", r / 50000}')x of it)"
rm -rf "$work/a" "$work/c"

for size in 1000000 10000000; do
    echo "== $size leaves"
    rm -rf "$work/big"
    /usr/bin/time -f "  build wall %e s, max RSS %M kB" "$bench" build "$work/big" "$size"
    sync
    du -sh "$work/big" | awk '{print "  on disk: " $1}'
    "$bench" prove "$work/big" 2000
    start=$(date +%s%N)
    "$zt" log --dir "$work/big" prove --index $((size / 3)) > /dev/null
    echo "  zt log prove (whole process, release): $(( ($(date +%s%N) - start) / 1000 )) µs"
done
rm -rf "$work/big"
