#!/usr/bin/env bash
# Benchmarks for zt-build. Usage: bench/build.sh [normalize|sandbox|overhead|repro|all]
#
#   normalize: `zt normalize` against Debian's `strip-nondeterminism` on a generated zip of tens
#              of MB and thousands of entries (same options; the outputs must be identical).
#   sandbox:   start-up of `zt sandbox-probe -- true` (whole process, and the sandbox alone:
#              many in one process, `--runs`) against `bwrap` with comparable isolation and
#              against `unshare -Urnmpf --mount-proc true`, then the whole `zt build -- true`.
#   overhead:  `zt build` of a real crate (regex-syntax from ~/.cargo/registry, `cargo build
#              --offline --release`) against the same command run bare, several runs each.
#   repro:     `zt repro` against `reprotest` on a trivial build.
#
# Builds zt with `cargo build --release -p zt`; needs hyperfine, strip-nondeterminism, zip,
# bubblewrap, reprotest (apt) and a rustup toolchain. Every figure is hyperfine's mean ± σ.
set -euo pipefail
cd "$(dirname "$0")/.."
part="${1:-all}"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zt-build}"
cargo build --release -q -p zt 2>/dev/null || cargo build --release -p zt
ZT="$CARGO_TARGET_DIR/release/zt"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
# hyperfine's mean ± σ and min, in ms, from its JSON export: stats FILE INDEX
stats() {
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]; print("%.2f ± %.2f ms (min %.2f)" % (r["mean"]*1e3, r["stddev"]*1e3, r["min"]*1e3))' "$1" "$2"
}
stat_field() {
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]; print(r[sys.argv[3]])' "$1" "$2" "$3"
}
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
  strip-nondeterminism --timestamp 1423159771 "$work/theirs.zip"
  "$ZT" normalize --timestamp 1423159771 "$work/ours.zip" >/dev/null
  if cmp -s "$work/theirs.zip" "$work/ours.zip"; then same="identical output"; else same="OUTPUTS DIFFER"; fi
  hyperfine -w 1 -r "${NORM_RUNS:-5}" --export-json "$work/nz.json" \
    --prepare "cp $input $work/t.zip" "strip-nondeterminism --timestamp 1423159771 $work/t.zip" \
    --prepare "cp $input $work/t.zip" "$ZT normalize --timestamp 1423159771 $work/t.zip" >/dev/null 2>&1
  echo "normalize: strip-nondeterminism $(stats "$work/nz.json" 0)"
  echo "normalize: zt normalize         $(stats "$work/nz.json" 1)"
  printf 'normalize: ratio %.1fx (mean), %.1fx (min); %s\n' \
    "$(echo "$(stat_field "$work/nz.json" 0 mean) / $(stat_field "$work/nz.json" 1 mean)" | bc -l)" \
    "$(echo "$(stat_field "$work/nz.json" 0 min) / $(stat_field "$work/nz.json" 1 min)" | bc -l)" "$same"
}

RUNS="${RUNS:-200}"

bench_sandbox() {
  command -v bwrap >/dev/null || { echo "sandbox: bwrap not installed (apt-get install bubblewrap)"; return; }
  command -v hyperfine >/dev/null || { echo "sandbox: hyperfine not installed (apt-get install hyperfine)"; return; }
  local tree="$work/empty" git_tree="$work/clean"
  mkdir -p "$tree" "$git_tree"
  echo x >"$git_tree/a"
  git -C "$git_tree" init -q && git -C "$git_tree" add a && git -C "$git_tree" -c user.name=b -c user.email=b@b commit -qm b
  # bwrap with the isolation zt gives: all namespaces, read-only base system, tmpfs /tmp, a
  # minimal /dev, fresh /proc, writable source bind, fixed hostname, cleared environment.
  local bw="bwrap --unshare-all --die-with-parent --new-session --hostname zt-build --clearenv \
--ro-bind /usr /usr --ro-bind /etc /etc --ro-bind /opt /opt --symlink usr/bin /bin --symlink usr/sbin /sbin \
--symlink usr/lib /lib --symlink usr/lib64 /lib64 --proc /proc --dev /dev --tmpfs /tmp \
--bind $tree /build/src --chdir /build/src --remount-ro / true"
  hyperfine -N -w 20 -r "$RUNS" --export-json "$work/sb.json" \
    "$ZT sandbox-probe -- true" "$bw" "unshare -Urnmpf --mount-proc true" >/dev/null 2>&1
  echo "sandbox: hyperfine -N -w 20 -r $RUNS (whole processes, $RUNS runs each)"
  echo "sandbox:   zt sandbox-probe -- true            $(stats "$work/sb.json" 0)"
  echo "sandbox:   bwrap (comparable isolation) true   $(stats "$work/sb.json" 1)"
  echo "sandbox:   unshare -Urnmpf --mount-proc true   $(stats "$work/sb.json" 2)"
  local zmin bmin umin
  zmin=$(stat_field "$work/sb.json" 0 min); bmin=$(stat_field "$work/sb.json" 1 min); umin=$(stat_field "$work/sb.json" 2 min)
  printf 'sandbox:   min zt - min unshare = %.2f ms; bwrap / zt (min) = %.2fx, (mean) = %.2fx\n' \
    "$(echo "($zmin - $umin) * 1000" | bc -l)" "$(echo "$bmin / $zmin" | bc -l)" \
    "$(echo "$(stat_field "$work/sb.json" 1 mean) / $(stat_field "$work/sb.json" 0 mean)" | bc -l)"
  # The sandbox alone, as a running zt pays it for each build step or install hook: N
  # sandboxes one after the other in one process (zt's own start counted once, not per run).
  local inproc
  inproc=$("$ZT" sandbox-probe --runs "$RUNS" --json -- true) || { echo "sandbox: zt sandbox-probe --runs failed" >&2; return 1; }
  python3 - "$inproc" "$(stat_field "$work/sb.json" 1 mean)" "$(stat_field "$work/sb.json" 2 mean)" <<'PY2'
import json, sys
v = json.loads(sys.argv[1]); bw = float(sys.argv[2]); un = float(sys.argv[3])
print("sandbox:   zt, in one process (--runs %d)        mean %.2f ms, median %.2f, min %.2f" % (
    v["runs"], v["mean_seconds"] * 1e3, v["median_seconds"] * 1e3, v["min_seconds"] * 1e3))
print("sandbox:   in one process: bwrap / zt (mean) = %.2fx; zt - (unshare + 1 ms) = %+.2f ms" % (
    bw / v["mean_seconds"], (v["mean_seconds"] - un - 1e-3) * 1e3))
PY2
  # The whole `zt build -- true`: git state, copy, sandbox, provenance (digest cache warm).
  "$ZT" build -C "$git_tree" -- true >/dev/null 2>&1
  hyperfine -N -w 5 -r 50 --export-json "$work/zb.json" \
    "$ZT build -C $tree --allow-dirty -- true" "$ZT build -C $git_tree -- true" >/dev/null 2>&1
  echo "sandbox: zt build -- true, non-git tree (--allow-dirty, tree digest)   $(stats "$work/zb.json" 0)"
  echo "sandbox: zt build -- true, clean git tree (commit, provenance)         $(stats "$work/zb.json" 1)"
}

bench_overhead() {
  command -v hyperfine >/dev/null || { echo "overhead: hyperfine not installed"; return; }
  local crate tc
  crate=$(ls -d "$HOME"/.cargo/registry/src/*/regex-syntax-0.8.* 2>/dev/null | head -1)
  tc=$(rustc --print sysroot 2>/dev/null)
  [ -n "$crate" ] && [ -x "$tc/bin/cargo" ] || { echo "overhead: regex-syntax sources or a rustup toolchain missing"; return; }
  local src="$work/crate" bare="$work/crate-bare"
  cp -r "$crate" "$src"
  # Offline without a registry: drop the optional `arbitrary` dependency and the benches.
  python3 - "$src/Cargo.toml" <<'PY'
import re, sys
p = sys.argv[1]
s = open(p).read()
s = s.replace('arbitrary = ["dep:arbitrary"]\n', '')
s = re.sub(r'\[dependencies\.arbitrary\]\n(?:[^\[].*\n|\n)*', '', s)
s = re.sub(r'\[\[bench\]\]\n(?:[^\[].*\n|\n)*', '', s)
open(p, 'w').write(s)
PY
  cp -r "$src" "$bare"
  local cmd="PATH=$tc/bin:/usr/bin:/bin CARGO_HOME=/tmp/cargo-home cargo build --offline --release -q -j2 && mkdir -p out && cp target/release/libregex_syntax.rlib out/"
  # Interleaved (bare, zt, zt, bare, …) so that a change of the machine's load hits both alike;
  # GNU time gives wall and CPU (user + sys of every process of the build).
  local n="${BUILD_RUNS:-6}" i
  : >"$work/ov.txt"
  run_bare() { rm -rf "$bare/target" "$bare/out"; (cd "$bare" && /usr/bin/time -f "bare %e %U %S" -a -o "$work/ov.txt" env -i HOME=/tmp sh -c "$cmd" >/dev/null 2>&1); }
  run_zt() {
    rm -rf "$src/out"
    /usr/bin/time -f "zt %e %U %S" -a -o "$work/ov.txt" "$ZT" build -C "$src" --allow-dirty --input "$tc" --json -- sh -c "$cmd" >"$work/zt.json" 2>/dev/null
    # The sandbox's own wall time as zt measures it: the rest is zt's work around the build.
    python3 -c 'import json,sys; print("sandbox", json.load(open(sys.argv[1]))["sandbox_seconds"])' "$work/zt.json" >>"$work/ov.txt"
  }
  run_bare; run_zt; : >"$work/ov.txt"   # warm-up
  for i in $(seq "$n"); do
    if [ $((i % 2)) = 1 ]; then run_bare; run_zt; else run_zt; run_bare; fi
  done
  echo "overhead: $(basename "$crate") cargo build --offline --release -j2, $n interleaved runs each (GNU time)"
  python3 - "$work/ov.txt" <<'PY'
import statistics as st, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
def col(kind, f):
    return [f(r) for r in rows if r[0] == kind]
for label, f in (("wall", lambda r: float(r[1])), ("cpu", lambda r: float(r[2]) + float(r[3]))):
    b, z = col("bare", f), col("zt", f)
    mb, mz = st.mean(b), st.mean(z)
    print("overhead:   %-4s bare %.2f ± %.2f s, zt build %.2f ± %.2f s: %+.2f%% (σ/mean bare %.1f%%, zt %.1f%%)"
          % (label, mb, st.stdev(b), mz, st.stdev(z), (mz - mb) * 100 / mb, st.stdev(b) * 100 / mb, st.stdev(z) * 100 / mz))
# Each zt run against itself, free of the machine's drift between runs: its wall time minus
# the sandbox's (state, copy, provenance, signing, and the wait for the input digests).
outside = [float(w[1]) - float(s[1]) for w, s in zip([r for r in rows if r[0] == "zt"], [r for r in rows if r[0] == "sandbox"])]
mb = st.mean(col("bare", lambda r: float(r[1])))
print("overhead:   zt outside the sandbox: %.0f ± %.0f ms per build = %.2f%% of the bare wall time"
      % (st.mean(outside) * 1e3, st.stdev(outside) * 1e3, st.mean(outside) * 100 / mb))
PY
}

bench_repro() {
  command -v reprotest >/dev/null || { echo "repro: reprotest not installed (apt-get install reprotest)"; return; }
  local a="$work/rp-a" b="$work/rp-b"
  mkdir -p "$a" "$b"; echo x >"$a/src.txt"; echo x >"$b/src.txt"
  # reprotest without the variations that need root or disorderfs (not available here).
  hyperfine -w 1 -r "${REPRO_RUNS:-5}" --export-json "$work/rp.json" \
    "cd $a && reprotest --no-diffoscope --variations=-fileordering,-user_group,-domain_host 'sh -c \"mkdir -p out; cp src.txt out/a\"' 'out/a'" \
    "$ZT repro -C $b --allow-dirty -- sh -c 'mkdir -p out; cp src.txt out/a'" >/dev/null 2>&1
  echo "repro: trivial build, ${REPRO_RUNS:-5} runs each (hyperfine)"
  echo "repro:   reprotest (2 builds)                    $(stats "$work/rp.json" 0)"
  echo "repro:   zt repro (2 builds, 10 variations)      $(stats "$work/rp.json" 1)"
  printf 'repro:   ratio %.1fx\n' "$(echo "$(stat_field "$work/rp.json" 0 mean) / $(stat_field "$work/rp.json" 1 mean)" | bc -l)"
}

case "$part" in
  normalize) bench_normalize ;;
  sandbox) bench_sandbox ;;
  overhead) bench_overhead ;;
  repro) bench_repro ;;
  all) bench_normalize; bench_sandbox; bench_overhead; bench_repro ;;
  *) echo "usage: $0 [normalize|sandbox|overhead|repro|all]" >&2; exit 2 ;;
esac
