#!/usr/bin/env bash
# `zt verify IMAGE` (one signature + three attestations, each stored as an OCI 1.1 referrer and
# in cosign's .sig/.att layout) against a registry on loopback, whole process, against the
# cosign-equivalent check done with sigstore-python: list the image's referrers, fetch each
# Sigstore bundle, verify its log inclusion proof, signed checkpoint and signature
# (crates/zt/tests/data/oci/sigstore_python_check.py; sigstore-python's own Verifier takes
# only Fulcio-certificate bundles). Target: zt ≤ 30 ms.
# Usage: bench/oci.sh [RUNS]   (needs docker-registry; installs sigstore==4.5.1 into a venv
# under ~/.cache if needed)
source "$(dirname "$0")/common.sh"
RUNS=${1:-20}
build_zt
command -v docker-registry >/dev/null || { echo "docker-registry is not installed (apt-get install docker-registry)" >&2; exit 2; }
VENV="${SIGSTORE_VENV:-$HOME/.cache/sigstore-venv}"
if ! "$VENV/bin/python" -c 'import sigstore' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q sigstore==4.5.1
fi

WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$WORK/registry.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $WORK/data
http:
  addr: 127.0.0.1:$PORT
YML
docker-registry serve "$WORK/registry.yml" >/dev/null 2>&1 &
REG_PID=$!
trap 'kill $REG_PID 2>/dev/null; wait $REG_PID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do python3 -c "import socket; socket.create_connection(('127.0.0.1',$PORT))" 2>/dev/null && break; sleep 0.05; done

# A one-layer image, pushed with the distribution API (POST + PUT per blob, PUT manifest).
DIGEST=$(python3 - "$PORT" <<'PY'
import hashlib, json, sys, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}/v2/bench/app"
def blob(data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    r = urllib.request.urlopen(urllib.request.Request(base + "/blobs/uploads/", method="POST", data=b""))
    loc = r.headers["Location"]
    loc = loc if loc.startswith("http") else f"http://127.0.0.1:{sys.argv[1]}{loc}"
    urllib.request.urlopen(urllib.request.Request(loc + ("&" if "?" in loc else "?") + "digest=" + d, method="PUT", data=data,
                                                  headers={"Content-Type": "application/octet-stream"}))
    return {"digest": d, "size": len(data)}
config, layer = b'{"architecture":"amd64","os":"linux"}', b"bench layer" * 1000
m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **blob(config)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **blob(layer)}]}).encode()
urllib.request.urlopen(urllib.request.Request(base + "/manifests/v1", method="PUT", data=m,
                                              headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"}))
print("sha256:" + hashlib.sha256(m).hexdigest())
PY
)
IMAGE="127.0.0.1:$PORT/bench/app@$DIGEST"
cd "$WORK"
"$ZT" key generate --type p256 --out k >/dev/null
printf '<testsuite name="u" tests="1"><testcase name="a"/></testsuite>' >junit.xml
printf 'SF:a.c\nDA:1,1\nend_of_record\n' >lcov.info
printf '{"buildDefinition":{"buildType":"https://zt.dev/build/v1"}}' >prov.json
"$ZT" sign "$IMAGE" --key k >/dev/null
"$ZT" attest "$IMAGE" --type test-results --from junit.xml --key k >/dev/null
"$ZT" attest "$IMAGE" --type coverage --from lcov.info --key k >/dev/null
"$ZT" attest "$IMAGE" --predicate-type https://slsa.dev/provenance/v1 --predicate prov.json --key k >/dev/null
"$ZT" log trusted-root >trusted_root.json
found=$("$ZT" verify "$IMAGE" --key k.pub --json | python3 -c 'import json,sys; v=json.load(sys.stdin); print(len(v["signatures"]), len(v["attestations"]))')
[ "$found" = "2 6" ] || { echo "zt verify found $found (signatures attestations), expected 2 6" >&2; exit 1; }

# The peer: fetch the referrers and bundles over HTTP, then sigstore-python's checks.
cat >peer.py <<PY
import json, runpy, sys, urllib.request
base = "http://127.0.0.1:$PORT/v2/bench/app"
accept = {"Accept": "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json"}
get = lambda url: urllib.request.urlopen(urllib.request.Request(url, headers=accept)).read()
hexd = "$DIGEST".split(":")[1]
index = json.loads(get(f"{base}/manifests/sha256-{hexd}"))
paths = []
for i, d in enumerate(index["manifests"]):
    m = json.loads(get(f"{base}/manifests/{d['digest']}"))
    with open(f"b{i}.json", "wb") as f:
        f.write(get(f"{base}/blobs/{m['layers'][0]['digest']}"))
    paths.append(f"b{i}.json")
sys.argv = ["check", "trusted_root.json", "k.pub", hexd, *paths]
runpy.run_path("$ROOT/crates/zt/tests/data/oci/sigstore_python_check.py", run_name="__main__")
PY
"$VENV/bin/python" peer.py >/dev/null

zt_ms=$(time_runs "$RUNS" "$ZT" verify "$IMAGE" --key k.pub)
py_ms=$(time_runs "$RUNS" "$VENV/bin/python" peer.py)
printf "%-44s %10s %16s %7s\n" case "zt (ms)" "sigstore-py (ms)" ratio
printf "%-44s %10s %16s %7s\n" "verify IMAGE: 1 signature + 3 attestations" "$zt_ms" "$py_ms" "$(ratio "$zt_ms" "$py_ms")x"
echo "(zt checks both stored forms: 2 signatures + 6 attestations; the peer checks the 4 referrer bundles)"
