#!/usr/bin/env bash
# Benchmarks for zt-build. Usage: bench/build.sh [normalize|sandbox|overhead|repro|all]
#
#   normalize: `zt normalize` against Debian's `strip-nondeterminism` on a generated zip of tens
#              of MB and thousands of entries (same options; the outputs must be identical).
#   sandbox:   start-up of `zt build -- true` (whole command, and the sandboxed part alone as
#              zt reports it) against `bwrap` with comparable isolation and against
#              `unshare -Urnmpf --mount-proc true`.
#   overhead:  `zt build -- make -j2` against a bare `make -j2` of the same generated C project.
#   repro:     `zt repro` against `reprotest` on a trivial build.
#
# Builds zt with `cargo build --release -p zt`; needs strip-nondeterminism, zip, bubblewrap,
# reprotest, gcc and make (apt).
set -euo pipefail
cd "$(dirname "$0")/.."
part="${1:-all}"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zt-build}"
cargo build --release -q -p zt 2>/dev/null || cargo build --release -p zt
ZT="$CARGO_TARGET_DIR/release/zt"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
elapsed() { echo "$(now) - $1" | bc -l; }
ratio() { echo "scale=1; $1 / $2" | bc -l; }

bench_normalize() {
  command -v strip-nondeterminism >/dev/null || { echo "normalize: strip-nondeterminism not installed (apt-get install strip-nondeterminism)"; return; }
  command -v zip >/dev/null || { echo "normalize: zip not installed (apt-get install zip)"; return; }
  local src="$work/tree"
  mkdir -p "$src/bin" "$src/txt"
  # 2,000 incompressible and 2,000 compressible files of 8 KiB, in 40 directories.
  head -c $((2000 * 8192)) /dev/urandom >"$work/rand"
  (cd "$src/bin" && split -a 4 -b 8192 "$work/rand" r_)
  head -c $((2000 * 6144)) /dev/urandom | base64 -w 100 >"$work/text"
  (cd "$src/txt" && split -a 4 -b 8192 "$work/text" t_)
  for d in $(seq 0 39); do mkdir -p "$src/d$d"; done
  i=0; for f in "$src"/bin/r_* "$src"/txt/t_*; do mv "$f" "$src/d$((i % 40))/"; i=$((i + 1)); done
  rmdir "$src/bin" "$src/txt"
  (cd "$src" && zip -q -r "$work/big-extra.zip" .)
  local input="$work/big-extra.zip"
  local size entries
  size=$(stat -c %s "$input")
  entries=$(unzip -Z1 "$input" | wc -l)
  echo "normalize: $(basename "$input"): $((size / 1048576)) MiB, $entries entries (Info-ZIP, with UT/ux extra fields)"
  cp "$input" "$work/theirs.zip"; cp "$input" "$work/ours.zip"
  local t0 theirs ours
  t0=$(now); strip-nondeterminism --timestamp 1423159771 "$work/theirs.zip"; theirs=$(elapsed "$t0")
  t0=$(now); "$ZT" normalize --timestamp 1423159771 "$work/ours.zip" >/dev/null; ours=$(elapsed "$t0")
  if cmp -s "$work/theirs.zip" "$work/ours.zip"; then same="identical output"; else same="OUTPUTS DIFFER"; fi
  printf 'normalize: strip-nondeterminism %.3f s, zt normalize %.3f s, ratio %sx (%s)\n' "$theirs" "$ours" "$(ratio "$theirs" "$ours")" "$same"
}

RUNS=20

bench_sandbox() {
  command -v bwrap >/dev/null || { echo "sandbox: bwrap not installed (apt-get install bubblewrap)"; return; }
  local tree="$work/empty"
  mkdir -p "$tree"
  local t0 zt_total bw un sandboxed=0 s
  t0=$(now)
  for _ in $(seq $RUNS); do
    rm -rf "$tree/.zt"
    s=$("$ZT" --json build -C "$tree" --allow-dirty -- true | grep -o '"sandbox_seconds": *[0-9.e-]*' | sed 's/.*: *//')
    sandboxed=$(echo "$sandboxed + $s" | bc -l)
  done
  zt_total=$(elapsed "$t0")
  t0=$(now)
  for _ in $(seq $RUNS); do
    bwrap --unshare-all --die-with-parent --new-session --hostname zt-build --clearenv \
      --ro-bind /usr /usr --ro-bind /etc /etc --symlink usr/bin /bin --symlink usr/sbin /sbin \
      --symlink usr/lib /lib --symlink usr/lib64 /lib64 --proc /proc --dev /dev --tmpfs /tmp \
      --bind "$tree" /build/src --chdir /build/src --remount-ro / true
  done
  bw=$(elapsed "$t0")
  t0=$(now)
  for _ in $(seq $RUNS); do unshare -Urnmpf --mount-proc true; done
  un=$(elapsed "$t0")
  printf 'sandbox: per run: zt build -- true %.1f ms (sandboxed part %.1f ms), bwrap %.1f ms, unshare -Urnmpf --mount-proc %.1f ms\n' \
    "$(echo "$zt_total * 1000 / $RUNS" | bc -l)" "$(echo "$sandboxed * 1000 / $RUNS" | bc -l)" \
    "$(echo "$bw * 1000 / $RUNS" | bc -l)" "$(echo "$un * 1000 / $RUNS" | bc -l)"
  printf 'sandbox: ratio bwrap / zt sandboxed part %sx\n' "$(ratio "$bw" "$sandboxed")"
}

bench_overhead() {
  command -v gcc >/dev/null && command -v make >/dev/null || { echo "overhead: gcc/make not installed"; return; }
  local src="$work/cproj"
  mkdir -p "$src"
  for i in $(seq 1 40); do
    { echo "#include <stdio.h>"; for j in $(seq 1 40); do echo "int f${i}_$j(int x) { int s = 0; for (int k = 0; k < x; k++) s += k * $j ^ (s >> 3); return s; }"; done; } >"$src/m$i.c"
  done
  printf 'int main(void) { return 0; }\n' >"$src/main.c"
  printf 'SRC := $(wildcard *.c)\nOBJ := $(SRC:.c=.o)\nout/prog: $(OBJ)\n\tmkdir -p out\n\t$(CC) -o $@ $(OBJ)\n%%.o: %%.c\n\t$(CC) -O2 -c -o $@ $<\n' >"$src/Makefile"
  cp -r "$src" "$work/bare"
  local t0 bare zt
  t0=$(now); make -s -C "$work/bare" -j2 >/dev/null; bare=$(elapsed "$t0")
  t0=$(now); "$ZT" build -C "$src" --allow-dirty -- make -s -j2 >/dev/null 2>&1; zt=$(elapsed "$t0")
  printf 'overhead: bare make -j2 %.3f s, zt build -- make -j2 %.3f s, overhead %s%%\n' "$bare" "$zt" "$(echo "scale=1; ($zt - $bare) * 100 / $bare" | bc -l)"
}

bench_repro() {
  command -v reprotest >/dev/null || { echo "repro: reprotest not installed (apt-get install reprotest)"; return; }
  local a="$work/rp-a" b="$work/rp-b"
  mkdir -p "$a" "$b"; echo x >"$a/src.txt"; echo x >"$b/src.txt"
  local t0 rt zt
  # reprotest without the variations that need sudo or disorderfs (not installed here).
  t0=$(now)
  (cd "$a" && reprotest --no-diffoscope --variations=-fileordering,-user_group,-domain_host 'sh -c "mkdir -p out; cp src.txt out/a"' 'out/a' >/dev/null 2>&1)
  rt=$(elapsed "$t0")
  t0=$(now)
  "$ZT" repro -C "$b" --allow-dirty -- sh -c 'mkdir -p out; cp src.txt out/a' >/dev/null 2>&1
  zt=$(elapsed "$t0")
  printf 'repro: reprotest %.3f s, zt repro (2 builds, 9 variations) %.3f s, ratio %sx\n' "$rt" "$zt" "$(ratio "$rt" "$zt")"
}

case "$part" in
  normalize) bench_normalize ;;
  sandbox) bench_sandbox ;;
  overhead) bench_overhead ;;
  repro) bench_repro ;;
  all) bench_normalize; bench_sandbox; bench_overhead; bench_repro ;;
  *) echo "usage: $0 [normalize|sandbox|overhead|repro|all]" >&2; exit 2 ;;
esac
