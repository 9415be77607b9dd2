//! SSH signatures on commits: the armored `sshsig` format (PROTOCOL.sshsig) that
//! `ssh-keygen -Y sign -n git` writes, verified in process with the `ssh-key` crate.

use ssh_key::{HashAlg, PublicKey, SshSig, public::KeyData};

/// The namespace git signs commits in.
pub const NAMESPACE: &str = "git";

/// An SSH public key from a signer policy (an `authorized_keys`-style line).
#[derive(Debug, Clone)]
pub struct SshKey(KeyData);

impl SshKey {
    /// Parses `ssh-ed25519 AAAA… comment` (options before the key are not accepted).
    pub fn parse(line: &str) -> Result<Self, String> {
        PublicKey::from_openssh(line.trim())
            .map(|k| Self(k.key_data().clone()))
            .map_err(|e| format!("not an OpenSSH public key: {e}"))
    }

    /// `SHA256:…`, as `ssh-keygen -l` prints it.
    pub fn fingerprint(&self) -> String {
        self.0.fingerprint(HashAlg::Sha256).to_string()
    }

    /// The key's algorithm name (`ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`).
    pub fn algorithm(&self) -> String {
        self.0.algorithm().to_string()
    }
}

/// A parsed SSH signature.
#[derive(Debug)]
pub struct SshSignature(SshSig);

impl SshSignature {
    /// Parses an armored `-----BEGIN SSH SIGNATURE-----` block.
    pub fn parse(armored: &[u8]) -> Result<Self, String> {
        SshSig::from_pem(armored)
            .map(Self)
            .map_err(|e| format!("malformed SSH signature: {e}"))
    }

    /// The key the signature names.
    pub fn key(&self) -> SshKey {
        SshKey(self.0.public_key().clone())
    }

    /// Whether the signature was made by `key`.
    pub fn is_by(&self, key: &SshKey) -> bool {
        self.0.public_key() == &key.0
    }

    /// Checks the namespace (`git`), the hash (SHA-256 or SHA-512) and the signature over
    /// `payload` with the key embedded in the signature.
    pub fn verify(&self, payload: &[u8]) -> Result<(), String> {
        if self.0.namespace() != NAMESPACE {
            return Err(format!(
                "SSH signature namespace is `{}`, not `{NAMESPACE}`",
                self.0.namespace()
            ));
        }
        if !matches!(self.0.hash_alg(), HashAlg::Sha256 | HashAlg::Sha512) {
            return Err("SSH signature uses a hash other than SHA-256/SHA-512".into());
        }
        PublicKey::from(self.0.public_key().clone())
            .verify(NAMESPACE, payload, &self.0)
            .map_err(|e| format!("SSH signature does not verify: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_garbage() {
        assert!(
            SshSignature::parse(
                b"-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n"
            )
            .is_err()
        );
        assert!(SshSignature::parse(b"").is_err());
        assert!(SshKey::parse("ssh-ed25519 not-base64").is_err());
    }

    proptest::proptest! {
        #[test]
        fn armored_parsers_never_panic(body in "[A-Za-z0-9+/=\n]{0,300}") {
            let armored = format!("-----BEGIN SSH SIGNATURE-----\n{body}\n-----END SSH SIGNATURE-----\n");
            let _ = SshSignature::parse(armored.as_bytes()).map(|s| s.verify(b"x"));
            let pgp = format!("-----BEGIN PGP SIGNATURE-----\n\n{body}\n-----END PGP SIGNATURE-----\n");
            let _ = super::super::openpgp::PgpSignature::parse(pgp.as_bytes());
        }
    }

    #[test]
    fn parses_a_key_line() {
        let k = SshKey::parse(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE/uNTxA0U+qA3eNa84HjbeL3B4TlkaMqx9lLZipDlFN test",
        )
        .unwrap();
        assert_eq!(k.algorithm(), "ssh-ed25519");
        assert_eq!(
            k.fingerprint(),
            "SHA256:mAOetv4a8FIYfK2+91ruVZg4pnGiO4m5ISISmfN+KAE"
        );
    }
}
