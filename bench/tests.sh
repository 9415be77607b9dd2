#!/usr/bin/env bash
# What `cargo test --workspace` costs, split as cargo splits it. Usage: bench/tests.sh [compile|run|all]
#
#   compile: compiling the test targets alone, as a newcomer's `cargo test --workspace` does
#            after `cargo run -p zt` built the libraries: `touch` a zt-core file, `cargo build
#            -p zt` (not timed), then `cargo test --workspace --no-run --timings` timed with
#            incremental compilation off (a fresh clone has no incremental cache). The timing
#            report is copied to $OUT/timing.html.
#   run:     every test binary of the workspace, one after another as cargo runs them, from
#            its package's directory, each timed with /usr/bin/time: wall, user, sys and the
#            libtest summary, one line each in $OUT/run.txt, then the sums. Not included: doc
#            tests (rustdoc compiles and runs them: `cargo test --workspace --doc`) and the
#            unit tests of the proc-macro crate vstd-macros (they need rustc's own libraries).
#
# Wall time on a shared machine varies with its load; user+sys CPU is the figure to compare.
# OUT defaults to a new temp directory. CARGO_TARGET_DIR and CARGO_BUILD_JOBS are respected.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
OUT=${OUT:-$(mktemp -d)}
export CARGO_INCREMENTAL=0
target=${CARGO_TARGET_DIR:-target}

compile() {
  touch crates/zt-core/src/lib.rs
  cargo build -q -p zt
  /usr/bin/time -f "%e %U %S" -o "$OUT/compile.time" \
    cargo test -q --workspace --no-run --timings 2>/dev/null
  cp "$target/cargo-timings/cargo-timing.html" "$OUT/timing.html"
  read -r wall user sys < "$OUT/compile.time"
  echo "compile: wall $wall s, CPU $user user + $sys sys (report: $OUT/timing.html)"
}

run() {
  # The environment cargo gives tests that rustup's proxies would have set.
  if command -v rustup >/dev/null; then
    RUSTUP_TOOLCHAIN=${RUSTUP_TOOLCHAIN:-$(rustup show active-toolchain | cut -d' ' -f1)}
    export RUSTUP_TOOLCHAIN RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}
  fi
  export CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}
  cargo test -q --workspace --no-run --message-format=json 2>/dev/null | python3 -c '
import json, os, sys
for line in sys.stdin:
    m = json.loads(line)
    if (m.get("reason") == "compiler-artifact" and m.get("executable")
            and m["profile"]["test"] and m["target"]["kind"] != ["proc-macro"]):
        print(os.path.dirname(m["manifest_path"]), m["target"]["name"], m["executable"])
' > "$OUT/binaries.txt"
  : > "$OUT/run.txt"
  while read -r dir name exe; do
    log="$OUT/$(basename "$exe").log"
    status=0
    (cd "$dir" && CARGO_MANIFEST_DIR=$dir /usr/bin/time -f "%e %U %S" -o "$OUT/t" "$exe" \
      > "$log" 2>&1) || status=$?
    echo "$(cat "$OUT/t" | tail -n 1) exit=$status ${dir#"$PWD"/} $name :: $(grep -h '^test result' "$log" | tail -n 1)" \
      >> "$OUT/run.txt"
  done < "$OUT/binaries.txt"
  awk '{w += $1; u += $2; s += $3; n++} END {printf "run: %d binaries, wall %.1f s, CPU %.1f user + %.1f sys\n", n, w, u, s}' "$OUT/run.txt"
  if grep -v ' exit=0 ' "$OUT/run.txt"; then
    echo "error: a test binary failed (logs in $OUT)" >&2
    return 1
  fi
}

case $what in
  compile) compile ;;
  run) run ;;
  all) compile; run ;;
  *) echo "usage: bench/tests.sh [compile|run|all]" >&2; exit 2 ;;
esac
