#!/usr/bin/env bash
# Secret-scanning throughput: `zt source scan` (gitleaks' full default rule set, 222 rules) against
# detect-secrets (PyPI) and ripsecrets (crates.io) on the same large real source tree, whole
# process wall time. Prints MB/s for each, MB/s per core for zt, and the ratios.
#
#   bench/scan.sh [TREE]          default TREE: ~/.cargo/registry/src (hundreds of MB of crates)
#
# ZT=/path/to/zt runs that binary instead of building one (e.g. a copy of an earlier build, to
# compare before and after on the same tree).
# Peers: DETECT_SECRETS (default: detect-secrets on PATH, else /root/.cache/zt-source-venv/bin/…),
# RIPSECRETS (default: ripsecrets on PATH, else /root/.cache/zt-source-tools/bin/ripsecrets).
# Install them with `pip install detect-secrets` and `cargo install ripsecrets`.
# detect-secrets is far too slow for the whole tree: it runs on a copy of whole crate directories
# totalling SUBSET_MB (default 5) MB, and zt runs on that same copy for its ratio.
# Figures: wall seconds (the machine may be shared) and CPU seconds (user+sys); throughput per
# core is bytes per CPU second, and ratios are given for both.
set -euo pipefail
cd "$(dirname "$0")/.."

TREE="${1:-$(echo ~/.cargo/registry/src/*/)}"
SUBSET_MB="${SUBSET_MB:-5}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zt-bench-target}"
if [ -z "${ZT:-}" ]; then
  cargo build --release -q -p zt
  ZT="$CARGO_TARGET_DIR/release/zt"
fi
[ -x "$ZT" ] || { echo "not an executable: $ZT" >&2; exit 2; }
DS="${DETECT_SECRETS:-$(command -v detect-secrets || echo /root/.cache/zt-source-venv/bin/detect-secrets)}"
RS="${RIPSECRETS:-$(command -v ripsecrets || echo /root/.cache/zt-source-tools/bin/ripsecrets)}"
CORES=$(nproc)

bytes_of() { find "$@" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}'; }
now() { date +%s.%N; }
# Runs a command (exit 0 or 1 = ran to completion) and prints "<wall s> <cpu s>".
timed() {
  local rc
  set +e; /usr/bin/time -f '%e %U %S' -o /tmp/zt-bench-time "$@" >/dev/null 2>/tmp/zt-bench-stderr; rc=$?; set -e
  if [ "$rc" -gt 1 ]; then echo "failed ($rc): $*" >&2; cat /tmp/zt-bench-stderr >&2; exit 2; fi
  tail -1 /tmp/zt-bench-time | awk '{printf "%s %.2f\n", $1, $2 + $3}'
}
wall() { echo "$1" | cut -d' ' -f1; }
cpu() { echo "$1" | cut -d' ' -f2; }
mbps() { echo "scale=1; $1 / 1000000 / $2" | bc -l; }
ratio() { echo "scale=1; $1 / $2" | bc -l; }

TOTAL=$(bytes_of "$TREE")
FILES=$(find "$TREE" -type f | wc -l)
echo "tree: $TREE — $((TOTAL / 1000000)) MB in $FILES files; $CORES cores"

# Warm the page cache so every tool reads from memory.
find "$TREE" -type f -print0 | xargs -0 cat >/dev/null

report() { # name result bytes
  printf '%-16s wall %7.2f s (%6.1f MB/s), cpu %7.2f s (%6.1f MB/s per core)\n' "$1" \
    "$(wall "$2")" "$(mbps "$3" "$(wall "$2")")" "$(cpu "$2")" "$(mbps "$3" "$(cpu "$2")")"
}

ZT_ALL=$(timed "$ZT" -q source scan "$TREE")
ZT_ONE=$(timed "$ZT" -q source scan --threads 1 "$TREE")
FINDINGS=$("$ZT" -q --json source scan "$TREE" | grep -c '"rule_id"' || true)
report "zt ($CORES threads)" "$ZT_ALL" "$TOTAL"
report "zt (1 thread)" "$ZT_ONE" "$TOTAL"
echo "zt findings on the tree: $FINDINGS (222 gitleaks rules)"

if [ -x "$RS" ]; then
  RS_ALL=$(timed "$RS" "$TREE")
  report "ripsecrets" "$RS_ALL" "$TOTAL"
  echo "ratio zt/ripsecrets (whole tree): wall $(ratio "$(wall "$RS_ALL")" "$(wall "$ZT_ALL")")x, cpu $(ratio "$(cpu "$RS_ALL")" "$(cpu "$ZT_ALL")")x"
else
  echo "ripsecrets: not found ($RS)"
fi

if [ -x "$DS" ]; then
  SUB=$(mktemp -d)
  trap 'rm -rf "$SUB"' EXIT
  # Whole crate directories, in name order, copied until SUBSET_MB is reached.
  acc=0
  for d in "$TREE"/*/; do
    [ "$acc" -ge $((SUBSET_MB * 1000000)) ] && break
    cp -r "$d" "$SUB/"
    acc=$((acc + $(bytes_of "$d")))
  done
  SUBBYTES=$(bytes_of "$SUB")
  echo "subset for detect-secrets: $((SUBBYTES / 1000000)) MB ($(ls "$SUB" | wc -l) crates, $(find "$SUB" -type f | wc -l) files)"
  ZT_SUB=$(timed "$ZT" -q source scan "$SUB")
  # detect-secrets scans paths relative to the working directory: given an absolute path
  # outside it, it reports nothing in a fraction of a second. Run it inside the subset, and
  # show its finding count so a run that scanned nothing is visible.
  DS_SUB=$(cd "$SUB" && timed "$DS" scan --all-files .)
  DS_FINDINGS=$(cd "$SUB" && "$DS" scan --all-files . | grep -c '"type"' || true)
  echo "detect-secrets findings on the subset: $DS_FINDINGS"
  report "zt (subset)" "$ZT_SUB" "$SUBBYTES"
  report "detect-secrets" "$DS_SUB" "$SUBBYTES"
  echo "ratio zt/detect-secrets (subset): wall $(ratio "$(wall "$DS_SUB")" "$(wall "$ZT_SUB")")x, cpu $(ratio "$(cpu "$DS_SUB")" "$(cpu "$ZT_SUB")")x"
else
  echo "detect-secrets: not found ($DS)"
fi
