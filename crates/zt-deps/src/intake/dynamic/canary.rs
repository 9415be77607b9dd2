//! Canary credentials: fake secrets in the places stealers look, each holding a value made
//! for one run, so that a read is seen (the sandbox records opens of these files) and the
//! value is recognised wherever it turns up (a command line, a file written), plain, in hex
//! or in base64.

use std::path::Path;

use serde::Serialize;

/// One planted file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanaryFile {
    /// Its path below the home (`.aws/credentials`).
    pub path: &'static str,
    /// Its contents.
    pub contents: String,
    /// The unique value inside it.
    pub value: String,
}

/// Where a canary value was found, and how it was encoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Leak {
    /// The canary (`~/.npmrc`, `$NPM_TOKEN`).
    pub canary: String,
    /// `plain`, `hex`, `base64`.
    pub encoding: &'static str,
}

/// The canaries of one run.
#[derive(Debug, Clone)]
pub struct Canaries {
    /// The files, below the home.
    pub files: Vec<CanaryFile>,
    /// Environment variables holding canary tokens.
    pub env: Vec<(String, String)>,
}

impl Canaries {
    /// Fresh canaries (values from the kernel's random source).
    pub fn new() -> std::io::Result<Canaries> {
        let mut seed = [0u8; 32];
        std::io::Read::read_exact(&mut fs_err::File::open("/dev/urandom")?, &mut seed)?;
        Ok(Canaries::from_seed(&seed))
    }

    /// Canaries derived from `seed` (tests).
    pub fn from_seed(seed: &[u8]) -> Canaries {
        let mut n = 0u32;
        let mut next = |alphabet: &[u8], len: usize| -> String {
            n += 1;
            let mut input = seed.to_vec();
            input.extend_from_slice(&n.to_le_bytes());
            let mut out = String::new();
            let mut block = 0u32;
            while out.len() < len {
                let mut i = input.clone();
                i.extend_from_slice(&block.to_le_bytes());
                let d = zt_core::Digest::sha256(&i);
                for b in hex::decode(d.hex()).unwrap_or_default() {
                    if out.len() < len
                        && let Some(c) = alphabet.get(usize::from(b) % alphabet.len())
                    {
                        out.push(char::from(*c));
                    }
                }
                block += 1;
            }
            out
        };
        const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let npm = format!("npm_{}", next(ALNUM, 36));
        let aws_id = format!("AKIA{}", next(UPPER, 16));
        let aws_secret = next(ALNUM, 40);
        let ssh = next(ALNUM, 64);
        let pypi = format!("pypi-{}", next(ALNUM, 60));
        let gh = format!("ghp_{}", next(ALNUM, 36));
        let docker = next(ALNUM, 32);
        let git = format!("ghp_{}", next(ALNUM, 36));
        let env_npm = format!("npm_{}", next(ALNUM, 36));
        let env_gh = format!("ghp_{}", next(ALNUM, 36));
        let env_aws = next(ALNUM, 40);
        let files = vec![
            CanaryFile {
                path: ".npmrc",
                contents: format!("//registry.npmjs.org/:_authToken={npm}\n"),
                value: npm,
            },
            CanaryFile {
                path: ".aws/credentials",
                contents: format!(
                    "[default]\naws_access_key_id = {aws_id}\naws_secret_access_key = {aws_secret}\n"
                ),
                value: aws_secret,
            },
            CanaryFile {
                path: ".ssh/id_ed25519",
                contents: format!(
                    "-----BEGIN OPENSSH PRIVATE KEY-----\n{ssh}\n-----END OPENSSH PRIVATE KEY-----\n"
                ),
                value: ssh,
            },
            CanaryFile {
                path: ".pypirc",
                contents: format!(
                    "[distutils]\nindex-servers = pypi\n\n[pypi]\nusername = __token__\npassword = {pypi}\n"
                ),
                value: pypi,
            },
            CanaryFile {
                path: ".config/gh/hosts.yml",
                contents: format!("github.com:\n    oauth_token: {gh}\n    user: builder\n"),
                value: gh,
            },
            CanaryFile {
                path: ".docker/config.json",
                contents: format!(
                    "{{\"auths\":{{\"https://index.docker.io/v1/\":{{\"auth\":\"{docker}\"}}}}}}\n"
                ),
                value: docker,
            },
            CanaryFile {
                path: ".git-credentials",
                contents: format!("https://builder:{git}@github.com\n"),
                value: git,
            },
        ];
        Canaries {
            files,
            env: vec![
                ("NPM_TOKEN".into(), env_npm),
                ("GITHUB_TOKEN".into(), env_gh),
                ("AWS_SECRET_ACCESS_KEY".into(), env_aws),
            ],
        }
    }

    /// Writes the files below `home` (0600; their directories 0700).
    pub fn write(&self, home: &Path) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt as _;
        for f in &self.files {
            let path = home.join(f.path);
            if let Some(dir) = path.parent() {
                fs_err::create_dir_all(dir)?;
                if dir != home {
                    fs_err::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
                }
            }
            fs_err::write(&path, &f.contents)?;
            fs_err::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        }
        Ok(())
    }

    /// `text` with every canary value (of the files and the environment) replaced by
    /// `<canary NAME>`: the evidence keeps what a hook printed or ran, not the values.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for f in &self.files {
            out = out.replace(&f.value, &format!("<canary ~/{}>", f.path));
        }
        for (k, v) in &self.env {
            out = out.replace(v.as_str(), &format!("<canary ${k}>"));
        }
        out
    }

    /// The first canary value in `bytes`, plain, hex or base64; the environment's tokens only
    /// when `with_env` (a build's own logs may record its environment).
    pub fn find(&self, bytes: &[u8], with_env: bool) -> Option<Leak> {
        let files = self
            .files
            .iter()
            .map(|f| (format!("~/{}", f.path), f.value.as_str()));
        let env = self
            .env
            .iter()
            .filter(|_| with_env)
            .map(|(k, v)| (format!("${k}"), v.as_str()));
        for (canary, value) in files.chain(env) {
            for (encoding, needle) in encodings(value) {
                if contains(bytes, needle.as_bytes()) {
                    return Some(Leak {
                        canary: canary.clone(),
                        encoding,
                    });
                }
            }
        }
        None
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    // memmem's vectorised search, not a comparison at every offset: a hook's written files
    // (a wheel, a build directory) are looked through for ~60 needles each.
    !needle.is_empty() && memchr::memmem::find(hay, needle).is_some()
}

/// The forms a value is looked for in: itself, lower- and upper-case hex, and base64 at each
/// of the three alignments it can have inside a longer encoded text (the part of the
/// encoding that does not depend on the bytes around it).
fn encodings(value: &str) -> Vec<(&'static str, String)> {
    let mut out = vec![
        ("plain", value.to_owned()),
        ("hex", hex::encode(value)),
        ("hex", hex::encode_upper(value)),
    ];
    for shift in 0..3usize {
        let mut input = vec![0u8; shift];
        input.extend_from_slice(value.as_bytes());
        let enc = base64(&input);
        // Drop the characters that mix in the padding bytes before, and the last group
        // (which mixes in whatever follows).
        let skip = (shift * 4).div_ceil(3);
        let keep = enc.len().saturating_sub(4);
        if let Some(core) = enc.get(skip..keep)
            && core.len() >= 16
        {
            out.push(("base64", core.to_owned()));
        }
    }
    out
}

fn base64(bytes: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let idx = ((n >> (18 - 6 * i)) & 63) as usize;
                out.push(char::from(T.get(idx).copied().unwrap_or(b'=')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Plain base64 (tests).
#[cfg(test)]
pub(crate) fn tests_base64(s: &str) -> String {
    base64(s.as_bytes())
}
