#!/usr/bin/env python3
"""Rebuilds the cosign-layout OCI image layouts under this directory from the public record
(see SOURCE.md): for each signed image, the `sha256-<hex>.sig` image cosign pushed, with its
simple-signing payload layer and the layer's annotations as cosign wrote them."""
import base64, hashlib, json, os, shutil

HERE = os.path.dirname(os.path.abspath(__file__))
LOG_ID = "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"

FIXTURES = [
    {
        "dir": "cosign-key",
        "reference": "ghcr.io/gertd/demo",
        "digest": "sha256:e583dc0e018fc11d659da7d1957c60ad8a523eafc142a9de391516eb45594e6f",
        "body": "gertd-demo.rekor-body.b64",
        "set": "MEUCIQDCaDwN4azHfMDAoSxPinbKVzBjC11VLz5H8M2SCJDQCAIgBjJs60kKyd++ih2N/Yv6UyHTOtWG71WbJKz6sq/aveM=",
        "integrated_time": 1706849798,
        "log_index": 68494219,
        "keyless": False,
    },
    {
        "dir": "cosign-keyless",
        "reference": "index.docker.io/salrashid123/server_image",
        "digest": "sha256:adce22cdd04fa2b012209f2d048c883c66b7ab89eaadf4f596899fde52d3b0bd",
        "body": "salrashid123-server_image.rekor-body.b64",
        "set": "MEUCIDb5ngT0cYnECAPpZR88M57VSt2SMuCw32+6cWQDy0m7AiEAz5q89Wb2LzWeun3luNuOsKCxWdQzwQvmKnRVR/8JS14=",
        "integrated_time": 1770388876,
        "log_index": 924321775,
        "keyless": True,
    },
]


def compact(v):
    return json.dumps(v, separators=(",", ":")).encode()


def put(blobs, data):
    h = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, h), "wb") as f:
        f.write(data)
    return "sha256:" + h


for fx in FIXTURES:
    out = os.path.join(HERE, fx["dir"])
    shutil.rmtree(out, ignore_errors=True)
    blobs = os.path.join(out, "blobs", "sha256")
    os.makedirs(blobs)
    body_b64 = open(os.path.join(HERE, fx["body"])).read().strip()
    body = json.loads(base64.b64decode(body_b64))
    # cosign's payload: Go's encoding of its SimpleContainerImage, `optional` null.
    payload = compact({
        "critical": {
            "identity": {"docker-reference": fx["reference"]},
            "image": {"docker-manifest-digest": fx["digest"]},
            "type": "cosign container image signature",
        },
        "optional": None,
    })
    # The payload is the one Rekor logged: its hash is in the entry's body.
    assert hashlib.sha256(payload).hexdigest() == body["spec"]["data"]["hash"]["value"], fx["dir"]
    payload_digest = put(blobs, payload)
    rekor_bundle = json.dumps({
        "SignedEntryTimestamp": fx["set"],
        "Payload": {
            "body": body_b64,
            "integratedTime": fx["integrated_time"],
            "logIndex": fx["log_index"],
            "logID": LOG_ID,
        },
    }, separators=(",", ":"))
    annotations = {
        "dev.cosignproject.cosign/signature": body["spec"]["signature"]["content"],
        "dev.sigstore.cosign/bundle": rekor_bundle,
    }
    key_pem = base64.b64decode(body["spec"]["signature"]["publicKey"]["content"]).decode()
    if fx["keyless"]:
        annotations["dev.sigstore.cosign/certificate"] = key_pem
    else:
        with open(os.path.join(HERE, fx["dir"] + ".pub"), "w") as f:
            f.write(key_pem)
    # go-containerregistry's config for cosign's signature image (byte-exact: for the keyless
    # image it hashes to the config digest crane showed).
    config = ('{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],'
              '"os":"","rootfs":{"type":"layers","diff_ids":["%s"]},"config":{}}' % payload_digest).encode()
    config_digest = put(blobs, config)
    manifest = compact({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": len(config), "digest": config_digest},
        "layers": [{
            "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
            "size": len(payload),
            "digest": payload_digest,
            "annotations": dict(sorted(annotations.items())),
        }],
    })
    manifest_digest = put(blobs, manifest)
    tag = fx["digest"].replace("sha256:", "sha256-") + ".sig"
    with open(os.path.join(out, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    with open(os.path.join(out, "index.json"), "wb") as f:
        f.write(compact({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifest_digest,
                "size": len(manifest),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }],
        }))
    print(fx["dir"], fx["digest"], "->", tag, manifest_digest)
