#!/usr/bin/env bash
# Two tlog-bench binaries, alternately: `concurrent DIR 20000 64` (64 writers, group commit),
# each into a fresh directory PAUSE seconds after the previous one was removed (ext4 without a
# journal skips inodes freed in the last 5-35 s at every creation: docs/performance.md). Prints
# the rate, the CPU (`perf stat -e task-clock`), context switches and the load average of each.
#
# Usage: bench/tlog-ab.sh BEFORE AFTER [ROUNDS] [WORKDIR]   (PAUSE=8 by default)
#   build each with `cargo build --release -p zt-tlog --example tlog-bench` and copy it aside.
set -euo pipefail
before="$1"
after="$2"
rounds="${3:-3}"
work="${4:-$(mktemp -d)}"
mkdir -p "$work"
for r in $(seq "$rounds"); do
    for which in before after; do
        bin=$before
        [ "$which" = after ] && bin=$after
        rm -rf "$work/c"
        sync
        sleep "${PAUSE:-8}"
        load=$(cut -d' ' -f1 /proc/loadavg)
        out=$(perf stat -x, -e task-clock,context-switches -o "$work/perf" "$bin" concurrent "$work/c" 20000 64)
        cpu=$(awk -F, '/task-clock/{printf "%.0f", $1}' "$work/perf")
        cs=$(awk -F, '/context-switches/{print $1}' "$work/perf")
        rate=$(sed -n 's/.*s, \([0-9]*\) entries\/s.*/\1/p' <<<"$out")
        echo "round $r $which: ${rate}/s, task-clock ${cpu} ms, context switches ${cs}, load average ${load}"
    done
done
rm -rf "$work/c"
