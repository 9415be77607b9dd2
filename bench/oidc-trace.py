#!/usr/bin/env python3
"""How the slow exchanges of one `loadgen run --trace FILE` fall in time.

Each line of FILE is `SENT_US LATENCY_US`. Prints the latency percentiles, then cuts the run
into 10 ms windows (by send time) and says how the exchanges over the threshold (10 ms, the
target's p99) are spread: if most of them sit in a few windows, the server (or the machine)
stalled now and then; if they are spread over all windows, the tail is steady queueing. Also
the period of the windows that hold them, when they recur (e.g. every 50 ms: the access log's
committer batches).

Usage: bench/oidc-trace.py FILE [THRESHOLD_MS]
"""
import collections
import sys


def main():
    path = sys.argv[1]
    threshold = float(sys.argv[2]) * 1000 if len(sys.argv) > 2 else 10_000
    rows = [tuple(map(int, line.split())) for line in open(path) if line.strip()]
    if not rows:
        sys.exit(f"{path}: no exchanges")
    lat = sorted(l for _, l in rows)
    n = len(lat)

    def pct(p):
        return lat[min(n - 1, max(0, int(n * p + 0.999999) - 1))] / 1000

    print(f"{n} exchanges: p50 {pct(0.5):.2f} ms, p90 {pct(0.9):.2f}, p99 {pct(0.99):.2f}, "
          f"p99.9 {pct(0.999):.2f}, max {lat[-1] / 1000:.2f}")
    window = 10_000
    slow = collections.Counter(s // window for s, l in rows if l > threshold)
    total = collections.Counter(s // window for s, _ in rows)
    nslow = sum(slow.values())
    if not nslow:
        print(f"none over {threshold / 1000:.0f} ms")
        return
    busiest = sorted(slow.values(), reverse=True)
    share10 = sum(busiest[: max(1, len(total) // 10)]) / nslow
    print(f"{nslow} over {threshold / 1000:.0f} ms ({100 * nslow / n:.2f} %), in {len(slow)} of "
          f"{len(total)} 10-ms windows; the busiest tenth of the windows hold {100 * share10:.0f} % of them")
    # Gaps between windows holding at least a fifth of their exchanges slow.
    hot = sorted(w for w, c in slow.items() if c * 5 >= total[w])
    gaps = collections.Counter(b - a for a, b in zip(hot, hot[1:]) if b - a > 1)
    if gaps:
        common = ", ".join(f"{g * 10} ms ×{c}" for g, c in gaps.most_common(3))
        print(f"windows at least a fifth slow: {len(hot)}; most common gaps between them: {common}")


if __name__ == "__main__":
    main()
