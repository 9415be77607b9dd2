#!/usr/bin/env bash
# zt guards its own supply chain: the last step of .ci/run. Fails on a secret in the tree, a
# denied dependency (pinning, licences, known malware) or an unwaived high or critical
# vulnerability in Cargo.lock. Waivers are in zt-waivers.toml (`zt vuln waive`).
set -euo pipefail
cd "$(dirname "$0")/.."

zt="${ZT:-${CARGO_TARGET_DIR:-target}/debug/zt}"
shared=../shared/testdata
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== zt source scan . (gitleaks' rules; .gitleaks.toml allows the scanner tests' planted fakes)"
"$zt" source scan .

echo "== zt deps check . (pinning, licences per .ci/dogfood.toml, known malware)"
# Licences as each package declares them, for the packages built on this platform.
cargo metadata --format-version 1 --locked --offline --filter-platform x86_64-unknown-linux-gnu \
  | python3 -c '
import json, sys
m = json.load(sys.stdin)
json.dump({"pkg:cargo/%s@%s" % (p["name"], p["version"]): p.get("license") or ""
           for p in m["packages"] if p.get("license")}, sys.stdout, sort_keys=True)
' >"$tmp/licenses.json"
"$zt" deps check . --config .ci/dogfood.toml --licenses "$tmp/licenses.json" \
  --malware "$shared/osv/malicious" --quiet

echo "== zt vuln scan of Cargo.lock against RustSec (fails on high or critical)"
"$zt" vuln db import "$shared/osv/rustsec" --store "$tmp/vuln" --quiet
"$zt" sbom . --out "$tmp/bom.cdx.json" --quiet
"$zt" vuln scan "$tmp/bom.cdx.json" --store "$tmp/vuln" --fail-on high --repo .

echo "== zt source verify (commit signatures)"
if [ -f .zt/signers.toml ] && git log -1 --format=%G? | grep -q '[GUXYE]'; then
  "$zt" source verify
else
  echo "skipped: the commits are not signed and .zt/signers.toml lists no signers"
fi
