"""sigstore-python checks what zt attached to an image: the Sigstore bundles parse in its own
models; every transparency-log entry's Merkle inclusion proof and signed checkpoint verify
against the trusted root `zt log trusted-root` wrote (sigstore-python's
`TransparencyLogEntry._verify`); the message signature is over the image's manifest digest and
each DSSE envelope's statement names it, and both verify with the signer's public key.

sigstore-python's `Bundle` and `Verifier` accept only Fulcio-certificate bundles, so zt's
key-signed bundles are checked part by part with its own code.

usage: python sigstore_python_check.py TRUSTED_ROOT PUBLIC_KEY SHA256_HEX BUNDLE...
"""
import base64
import json
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, utils
from sigstore.models import TransparencyLogEntry, TrustedRoot
from sigstore._internal.trust import KeyringPurpose
from sigstore_models.bundle.v1 import Bundle as _Bundle

root_path, key_path, digest_hex, *bundles = sys.argv[1:]
keyring = TrustedRoot.from_file(root_path).rekor_keyring(KeyringPurpose.VERIFY)
key = serialization.load_pem_public_key(open(key_path, "rb").read())


def check_signature(signature, message=None, prehashed=None):
    if isinstance(key, ed25519.Ed25519PublicKey):
        key.verify(signature, message)
    elif prehashed is not None:
        key.verify(signature, prehashed, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
    else:
        key.verify(signature, message, ec.ECDSA(hashes.SHA256()))


kinds = []
for path in bundles:
    inner = _Bundle.from_json(open(path, "rb").read())
    entries = inner.verification_material.tlog_entries
    assert len(entries) == 1, path
    TransparencyLogEntry(entries[0])._verify(keyring)
    if inner.message_signature is not None:
        md = inner.message_signature.message_digest.digest
        assert md.hex() == digest_hex, (md.hex(), digest_hex)
        check_signature(inner.message_signature.signature, prehashed=md)
        kinds.append("signature")
    else:
        env = inner.dsse_envelope
        statement = json.loads(env.payload)
        assert any(s["digest"].get("sha256") == digest_hex for s in statement["subject"]), statement
        pae = b"DSSEv1 %d %s %d %s" % (
            len(env.payload_type), env.payload_type.encode(), len(env.payload), env.payload)
        check_signature(env.signatures[0].sig, message=pae)
        kinds.append(statement["predicateType"])
print(json.dumps(kinds))
