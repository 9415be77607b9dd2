//! Artifact digests: `sha256:<hex>` is the primary key everywhere in zt.

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;

use sha2::Digest as _;

use crate::Error;

/// A hash algorithm zt computes and accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DigestAlgorithm {
    /// SHA-256, the default and the key of every index.
    Sha256,
    /// SHA-512.
    Sha512,
}

impl DigestAlgorithm {
    /// The name used in digest strings and in in-toto digest sets.
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "sha256",
            DigestAlgorithm::Sha512 => "sha512",
        }
    }

    /// The digest's length in bytes.
    pub fn size(self) -> usize {
        match self {
            DigestAlgorithm::Sha256 => 32,
            DigestAlgorithm::Sha512 => 64,
        }
    }

    /// Looks an algorithm up by its name (`sha256`, `sha512`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha256" => Some(DigestAlgorithm::Sha256),
            "sha512" => Some(DigestAlgorithm::Sha512),
            _ => None,
        }
    }
}

/// A digest: an algorithm and the hash value's bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: DigestAlgorithm,
    bytes: Vec<u8>,
}

impl Digest {
    /// Builds a digest from raw bytes, checking the length against the algorithm.
    pub fn new(algorithm: DigestAlgorithm, bytes: Vec<u8>) -> Result<Self, Error> {
        if bytes.len() != algorithm.size() {
            return Err(Error::InvalidDigest {
                value: hex::encode(&bytes),
                reason: "wrong length for the algorithm",
            });
        }
        Ok(Self { algorithm, bytes })
    }

    /// Parses a hex value for the given algorithm (lowercase or uppercase hex).
    pub fn from_hex(algorithm: DigestAlgorithm, hex_value: &str) -> Result<Self, Error> {
        if hex_value.len() != algorithm.size() * 2 {
            return Err(Error::InvalidDigest {
                value: shorten(hex_value),
                reason: "wrong number of hex digits for the algorithm",
            });
        }
        let bytes = hex::decode(hex_value).map_err(|_| Error::InvalidDigest {
            value: shorten(hex_value),
            reason: "not hexadecimal",
        })?;
        Self::new(algorithm, bytes)
    }

    /// Hashes a byte string.
    pub fn of_bytes(algorithm: DigestAlgorithm, data: &[u8]) -> Self {
        let mut hasher = Hasher::new(algorithm);
        hasher.update(data);
        hasher.finish()
    }

    /// Hashes everything a reader yields, in 1 MiB chunks (constant memory for large files).
    pub fn of_reader(algorithm: DigestAlgorithm, mut reader: impl Read) -> std::io::Result<Self> {
        let mut hasher = Hasher::new(algorithm);
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            hasher.update(buf.get(..n).unwrap_or_default());
        }
        Ok(hasher.finish())
    }

    /// Hashes a file by streaming it; the error names the path.
    pub fn of_file(algorithm: DigestAlgorithm, path: &Path) -> Result<Self, Error> {
        let file = fs_err::File::open(path)?;
        Ok(Self::of_reader(algorithm, file)?)
    }

    /// The SHA-256 of a byte string.
    pub fn sha256(data: &[u8]) -> Self {
        Self::of_bytes(DigestAlgorithm::Sha256, data)
    }

    /// The algorithm.
    pub fn algorithm(&self) -> DigestAlgorithm {
        self.algorithm
    }

    /// The raw hash bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The hash value as lowercase hex (no algorithm prefix).
    pub fn hex(&self) -> String {
        hex::encode(&self.bytes)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex())
    }
}

impl FromStr for Digest {
    type Err = Error;

    /// Parses `sha256:<hex>` or `sha512:<hex>`.
    fn from_str(s: &str) -> Result<Self, Error> {
        let (algo, value) = s.split_once(':').ok_or_else(|| Error::InvalidDigest {
            value: shorten(s),
            reason: "expected `ALGORITHM:HEX`",
        })?;
        let algorithm = DigestAlgorithm::from_name(algo).ok_or_else(|| Error::InvalidDigest {
            value: shorten(s),
            reason: "unknown algorithm (zt accepts sha256 and sha512)",
        })?;
        if value.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(Error::InvalidDigest {
                value: shorten(s),
                reason: "hex digits must be lowercase",
            });
        }
        Self::from_hex(algorithm, value).map_err(|e| match e {
            Error::InvalidDigest { reason, .. } => Error::InvalidDigest {
                value: shorten(s),
                reason,
            },
            other => other,
        })
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Incremental hashing for either algorithm.
#[derive(Clone)]
pub enum Hasher {
    /// SHA-256 state.
    Sha256(sha2::Sha256),
    /// SHA-512 state.
    Sha512(sha2::Sha512),
}

impl Hasher {
    /// A fresh hasher.
    pub fn new(algorithm: DigestAlgorithm) -> Self {
        match algorithm {
            DigestAlgorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            DigestAlgorithm::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }

    /// Absorbs more input.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    /// Finishes and returns the digest.
    pub fn finish(self) -> Digest {
        match self {
            Hasher::Sha256(h) => Digest {
                algorithm: DigestAlgorithm::Sha256,
                bytes: h.finalize().to_vec(),
            },
            Hasher::Sha512(h) => Digest {
                algorithm: DigestAlgorithm::Sha512,
                bytes: h.finalize().to_vec(),
            },
        }
    }
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 80 {
        let head: String = s.chars().take(77).collect();
        format!("{head}...")
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_sha256() {
        let d = Digest::sha256(b"abc");
        assert_eq!(
            d.to_string(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let d512 = Digest::of_bytes(DigestAlgorithm::Sha512, b"abc");
        assert!(d512.to_string().starts_with("sha512:ddaf35a193617aba"));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "sha256",
            "md5:abcd",
            "sha256:abc",
            "sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
            "sha256:zz7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "",
        ] {
            assert!(bad.parse::<Digest>().is_err(), "{bad}");
        }
    }

    #[test]
    fn streaming_equals_one_shot() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let streamed = Digest::of_reader(DigestAlgorithm::Sha256, &data[..]).unwrap();
        assert_eq!(streamed, Digest::sha256(&data));
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,200}") {
            let _ = s.parse::<Digest>();
        }

        #[test]
        fn display_parse_round_trip(bytes in proptest::collection::vec(any::<u8>(), 32)) {
            let d = Digest::new(DigestAlgorithm::Sha256, bytes).unwrap();
            prop_assert_eq!(d.to_string().parse::<Digest>().unwrap(), d);
        }
    }
}
