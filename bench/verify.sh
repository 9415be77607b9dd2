#!/usr/bin/env bash
# `zt verify` against sigstore-python on the same happy-path bundles, whole process, offline.
# Usage: bench/verify.sh [RUNS]   (installs sigstore==4.5.1 into a venv under ~/.cache if needed)
source "$(dirname "$0")/common.sh"
RUNS=${1:-20}
build_zt

VENV="${SIGSTORE_VENV:-$HOME/.cache/sigstore-venv}"
if [ ! -x "$VENV/bin/sigstore" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q sigstore==4.5.1
fi

CONF="$SHARED/sigstore/conformance"
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
# sigstore-python has no trusted-root flag: wrap the root and a signing config in a
# ClientTrustConfig.
python3 - "$SHARED/sigstore/trust" "$WORK/trust-config.json" <<'PY'
import json, sys
d, out = sys.argv[1], sys.argv[2]
json.dump({
    "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
    "trustedRoot": json.load(open(f"{d}/trusted_root.json")),
    "signingConfig": json.load(open(f"{d}/signing_config.v0.2.json")),
}, open(out, "w"))
PY

ID="https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
ISS="https://token.actions.githubusercontent.com"
printf "%-32s %12s %14s %8s\n" case "zt (ms)" "sigstore (ms)" ratio
for c in happy-path-v0.3 happy-path-intoto-in-dsse-v3 rekor2-happy-path; do
  b="$CONF/$c/bundle.sigstore.json"
  a="$CONF/a.txt"; [ -f "$CONF/$c/artifact" ] && a="$CONF/$c/artifact"
  tr=(); [ -f "$CONF/$c/trusted_root.json" ] && tr=(--trusted-root "$CONF/$c/trusted_root.json")
  tc="$WORK/trust-config.json"
  if [ -f "$CONF/$c/trusted_root.json" ]; then
    python3 - "$CONF/$c/trusted_root.json" "$SHARED/sigstore/trust/signing_config_rekor_v2.v0.2.json" "$WORK/$c.json" <<'PY'
import json, sys
json.dump({"mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
           "trustedRoot": json.load(open(sys.argv[1])), "signingConfig": json.load(open(sys.argv[2]))},
          open(sys.argv[3], "w"))
PY
    tc="$WORK/$c.json"
  fi
  zt_ms=$(time_runs "$RUNS" "$ZT" verify "$a" --bundle "$b" --certificate-identity "$ID" --certificate-oidc-issuer "$ISS" "${tr[@]}")
  py_ms=$(time_runs 3 "$VENV/bin/sigstore" --trust-config "$tc" verify identity --offline --bundle "$b" \
    --cert-identity "$ID" --cert-oidc-issuer "$ISS" "$a") || py_ms=0
  printf "%-32s %12s %14s %7sx\n" "$c" "$zt_ms" "$py_ms" "$(ratio "$zt_ms" "$py_ms")"
done
