#!/usr/bin/env bash
# Start-up time of the static musl binary against the glibc (PIE) build: `zt --version`,
# whole process, RUNS times each (default 200).
# Usage: bench/startup.sh [RUNS]
# Needs the target (`rustup target add x86_64-unknown-linux-musl`) and a musl C compiler for
# the C parts (`apt-get install musl-tools`: sqlite, ring).
source "$(dirname "$0")/common.sh"
RUNS=${1:-200}
MUSL=x86_64-unknown-linux-musl
# ZT_GLIBC / ZT_STATIC: binaries built already (e.g. in other target dirs); else built here.
if [ -n "${ZT_GLIBC:-}" ]; then GLIBC="$ZT_GLIBC"; else build_zt; GLIBC="$ZT"; fi
if [ -n "${ZT_STATIC:-}" ]; then
  STATIC="$ZT_STATIC"
else
  cargo build --release -q -p zt --target "$MUSL" --manifest-path "$ROOT/Cargo.toml" >&2
  STATIC="$CARGO_TARGET_DIR/$MUSL/release/zt"
fi

# The musl binary must be static and must work.
# (`ldd` succeeds on a static PIE too, printing "statically linked": ask `file` instead.)
if ! file -L "$STATIC" | grep -q 'static'; then
  echo "$STATIC is dynamically linked: $(file -L "$STATIC")" >&2
  exit 1
fi
"$STATIC" --version >/dev/null
file "$GLIBC" "$STATIC" >&2
ls -l "$GLIBC" "$STATIC" | awk '{ printf "%s %d bytes\n", $NF, $5 }' >&2

g=$(time_runs "$RUNS" "$GLIBC" --version)
m=$(time_runs "$RUNS" "$STATIC" --version)
printf "%-28s %10s\n" binary "ms per run"
printf "%-28s %10s\n" "glibc PIE (release)" "$g"
printf "%-28s %10s\n" "static musl (release)" "$m"
echo "musl / glibc: $(ratio "$g" "$m")"
