#!/usr/bin/env bash
# Upstream provenance verification (issue 20): the real npm SLSA provenance of sigstore@3.1.0
# against its tarball, verified offline against the Sigstore public-good root, by
#   zt deps provenance   (the path `zt deps intake --provenance` takes: zt-sign, sigstore-rs)
#   sigstore-python      (`sigstore verify identity --offline`, in a venv of its own)
# N runs each after a warm-up; mean wall time per verification, whole process included.
#
# Usage: bench/provenance.sh [WORKDIR]    N=20  PROFILE=release (debug: a smoke run)
# Target: <= 10 ms per npm bundle for zt.
source "$(dirname "$0")/common.sh"
work="${1:-$(mktemp -d)}"
mkdir -p "$work"
n="${N:-20}"
if [ "${PROFILE:-release}" = release ]; then
  build_zt
else
  cargo build -q -p zt --manifest-path "$ROOT/Cargo.toml" >&2
  ZT="$CARGO_TARGET_DIR/debug/zt"
fi
data="$ROOT/crates/zt/tests/data/provenance/npm"
tgz="$data/sigstore-3.1.0.tgz"
doc="$data/sigstore-3.1.0.sigstore.json"
identity="https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
issuer="https://token.actions.githubusercontent.com"

"$ZT" deps provenance sigstore@3.1.0 --ecosystem npm --archive "$tgz" --document "$doc" \
  || { echo "zt did not verify the bundle" >&2; exit 1; }
zt_ms=$(time_runs "$n" "$ZT" deps provenance sigstore@3.1.0 --ecosystem npm --archive "$tgz" --document "$doc")
echo "zt deps provenance:  $zt_ms ms"

venv="$work/sigstore-venv"
if [ ! -x "$venv/bin/sigstore" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q sigstore
fi
peer=("$venv/bin/sigstore" verify identity --offline --bundle "$doc" \
  --cert-identity "$identity" --cert-oidc-issuer "$issuer" "$tgz")
peer_version=$("$venv/bin/pip" show sigstore | sed -n 's/^Version: //p')
if "${peer[@]}" > "$work/peer.log" 2>&1; then
  peer_ms=$(time_runs "$n" "${peer[@]}")
  echo "sigstore-python $peer_version: $peer_ms ms"
  echo "ratio (sigstore-python / zt): $(ratio "$zt_ms" "$peer_ms")"
else
  # sigstore-python 4.x refuses Rekor v1 `intoto` 0.0.2 entries, which npm's provenance
  # bundles carry ("Integrated time only supported for dsse/hashedrekord 0.0.1 types").
  echo "sigstore-python $peer_version: could not verify this bundle, no ratio:"
  grep -E 'ERROR|supported' "$work/peer.log" | sed 's/^/  /' | head -5
fi
awk -v t="$zt_ms" 'BEGIN { ok = (t <= 10); printf "target <= 10 ms: %s\n", ok ? "met" : "NOT met"; exit !ok }'
