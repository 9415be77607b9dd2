#!/usr/bin/env bash
# Secret-scanning throughput: `zt source scan` (gitleaks' full default rule set, 222 rules) against
# detect-secrets (PyPI) and ripsecrets (crates.io) on the same large real source tree, whole
# process wall time. Prints MB/s for each, MB/s per core for zt, and the ratios.
#
#   bench/scan.sh [TREE]          default TREE: ~/.cargo/registry/src (hundreds of MB of crates)
#
# Peers: DETECT_SECRETS (default: detect-secrets on PATH, else /root/.cache/zt-source-venv/bin/…),
# RIPSECRETS (default: ripsecrets on PATH, else /root/.cache/zt-source-tools/bin/ripsecrets).
# Install them with `pip install detect-secrets` and `cargo install ripsecrets`.
# detect-secrets is too slow for the whole tree: it runs on a subset of SUBSET_MB (default 25) MB
# of whole crate directories, and zt runs on that same subset for its ratio.
set -euo pipefail
cd "$(dirname "$0")/.."

TREE="${1:-$(echo ~/.cargo/registry/src/*/)}"
SUBSET_MB="${SUBSET_MB:-25}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zt-bench-target}"
cargo build --release -q -p zt
ZT="$CARGO_TARGET_DIR/release/zt"
DS="${DETECT_SECRETS:-$(command -v detect-secrets || echo /root/.cache/zt-source-venv/bin/detect-secrets)}"
RS="${RIPSECRETS:-$(command -v ripsecrets || echo /root/.cache/zt-source-tools/bin/ripsecrets)}"
CORES=$(nproc)

bytes_of() { find "$@" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}'; }
now() { date +%s.%N; }
# Runs a command (exit 0 or 1 = ran to completion) and prints its wall seconds.
timed() {
  local t0 t1 rc
  t0=$(now)
  set +e; "$@" >/dev/null 2>/tmp/zt-bench-stderr; rc=$?; set -e
  t1=$(now)
  if [ "$rc" -gt 1 ]; then echo "failed ($rc): $*" >&2; cat /tmp/zt-bench-stderr >&2; exit 2; fi
  echo "$t1 - $t0" | bc -l
}
mbps() { echo "scale=1; $1 / 1000000 / $2" | bc -l; }
ratio() { echo "scale=1; $1 / $2" | bc -l; }

TOTAL=$(bytes_of "$TREE")
FILES=$(find "$TREE" -type f | wc -l)
echo "tree: $TREE — $((TOTAL / 1000000)) MB in $FILES files; $CORES cores"

# Warm the page cache so every tool reads from memory.
find "$TREE" -type f -print0 | xargs -0 cat >/dev/null

ZT_ALL=$(timed "$ZT" -q source scan "$TREE")
ZT_ONE=$(timed "$ZT" -q source scan --threads 1 "$TREE")
FINDINGS=$("$ZT" -q --json source scan "$TREE" | grep -c '"rule_id"' || true)
echo "zt (${CORES} threads): $(printf '%.2f' "$ZT_ALL") s, $(mbps "$TOTAL" "$ZT_ALL") MB/s; $FINDINGS findings"
echo "zt (1 thread):   $(printf '%.2f' "$ZT_ONE") s, $(mbps "$TOTAL" "$ZT_ONE") MB/s per core"

if [ -x "$RS" ]; then
  RS_ALL=$(timed "$RS" "$TREE")
  echo "ripsecrets:      $(printf '%.2f' "$RS_ALL") s, $(mbps "$TOTAL" "$RS_ALL") MB/s (whole tree)"
  echo "ratio zt/ripsecrets (whole tree, same input): $(ratio "$RS_ALL" "$ZT_ALL")x"
else
  echo "ripsecrets: not found ($RS)"
fi

if [ -x "$DS" ]; then
  SUB=$(mktemp -d)
  trap 'rm -rf "$SUB"' EXIT
  # Whole crate directories, in name order, until SUBSET_MB is reached (symlinked, not copied).
  acc=0
  for d in "$TREE"/*/; do
    [ "$acc" -ge $((SUBSET_MB * 1000000)) ] && break
    ln -s "$(readlink -f "$d")" "$SUB/$(basename "$d")"
    acc=$((acc + $(bytes_of "$d")))
  done
  SUBBYTES=$(bytes_of -L "$SUB")
  ZT_SUB=$(timed "$ZT" -q source scan "$SUB"/*/)
  DS_SUB=$(timed "$DS" scan --all-files "$SUB"/*/)
  echo "subset for detect-secrets: $((SUBBYTES / 1000000)) MB ($(ls "$SUB" | wc -l) crates)"
  echo "zt on subset:    $(printf '%.2f' "$ZT_SUB") s, $(mbps "$SUBBYTES" "$ZT_SUB") MB/s"
  echo "detect-secrets:  $(printf '%.2f' "$DS_SUB") s, $(mbps "$SUBBYTES" "$DS_SUB") MB/s (subset)"
  echo "ratio zt/detect-secrets (subset, same input): $(ratio "$DS_SUB" "$ZT_SUB")x"
else
  echo "detect-secrets: not found ($DS)"
fi
