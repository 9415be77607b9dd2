use std::path::{Path, PathBuf};

use serde_json::json;
use zt_core::b64;
use zt_sign::FileKey;
use zt_tlog::ed25519_dalek::SigningKey;
use zt_tlog::merkle::hash_from_slice;
use zt_tlog::{
    Checkpoint, Hash, Log, NoteSigner, NoteVerifier, TlogProof, TrustPolicy, WitnessSigner,
    leaf_hash, verify_consistency, verify_inclusion,
};

use crate::cli::{LogArgs, LogCommand};
use crate::commands::Status;
use crate::printer::Printer;
use crate::report::CliError;

pub(crate) fn run(args: LogArgs, printer: &Printer) -> Result<Status, CliError> {
    // The repository's log unless one is named: found from the current directory, so
    // `zt log …` works from any subdirectory as every other command does.
    let ws_dir = || -> Result<PathBuf, CliError> {
        Ok(zt_core::Workspace::discover(Path::new("."))?
            .layout()
            .dir()
            .to_path_buf())
    };
    let dir = match args.dir {
        Some(dir) => dir,
        None => ws_dir()?.join("log"),
    };
    let dir_text = dir.to_string_lossy();
    let url = args.log_url.clone().or_else(|| {
        (dir_text.starts_with("https://") || dir_text.starts_with("http://"))
            .then(|| dir_text.into_owned())
    });
    if let Some(url) = url {
        return remote(&url, &dir, args.log_key.as_deref(), args.command, printer);
    }
    match args.command {
        LogCommand::Init { origin, key } => init(&dir, origin, key, printer),
        LogCommand::Append { files } => append(&dir, &files, printer),
        LogCommand::Checkpoint => {
            let log = Log::open(&dir)?;
            let text = log.checkpoint();
            if printer.json {
                let cp = Checkpoint::open(text.as_bytes(), log.verifier())?.0;
                printer.json(&json!({
                    "origin": cp.origin,
                    "size": cp.size,
                    "root": b64::encode(cp.root),
                    "checkpoint": text,
                }));
            } else {
                printer.out(text.trim_end());
            }
            Ok(Status::Success)
        }
        LogCommand::TrustedRoot { out } => {
            let root = zt_sign::transparency::trusted_root(&dir)?;
            let mut text = serde_json::to_string_pretty(&root).unwrap_or_default();
            text.push('\n');
            match out {
                Some(path) => {
                    zt_core::fsutil::write_atomic(&path, text.as_bytes())
                        .map_err(zt_core::Error::from)?;
                    printer.info(format!("wrote `{}`", path.display()));
                }
                None => printer.out(text.trim_end()),
            }
            Ok(Status::Success)
        }
        LogCommand::Prove { index, size, out } => prove(&dir, index, size, out, printer),
        LogCommand::Consistency { from, to } => {
            let log = Log::open(&dir)?;
            let to = to.unwrap_or(log.size());
            let proof = log.consistency_proof(from, to)?;
            let (root1, root2) = (log.root_at(from)?, log.root_at(to)?);
            if printer.json {
                printer.json(&json!({
                    "size1": from, "size2": to,
                    "root1": b64::encode(root1), "root2": b64::encode(root2),
                    "proof": proof.iter().map(b64::encode).collect::<Vec<_>>(),
                }));
            } else {
                printer.out(format!("size1 {from}"));
                printer.out(format!("size2 {to}"));
                printer.out(format!("root1 {}", b64::encode(root1)));
                printer.out(format!("root2 {}", b64::encode(root2)));
                printer.out(format!("proof {}", join(&proof)));
            }
            Ok(Status::Success)
        }
        LogCommand::VerifyInclusion {
            leaf_hash,
            index,
            size,
            root,
            proof,
        } => {
            let leaf = hash_arg("--leaf-hash", &leaf_hash)?;
            let root = hash_arg("--root", &root)?;
            let proof = proof_arg(proof.as_deref())?;
            verify_inclusion(&leaf, index, size, &proof, &root).map_err(zt_tlog::Error::from)?;
            report_valid(
                printer,
                json!({"valid": true, "index": index, "size": size}),
                || format!("inclusion proof valid: leaf {index} is in the tree of size {size}"),
            );
            Ok(Status::Success)
        }
        LogCommand::VerifyConsistency {
            size1,
            size2,
            root1,
            root2,
            proof,
        } => {
            let root1 = hash_arg("--root1", &root1)?;
            let root2 = hash_arg("--root2", &root2)?;
            let proof = proof_arg(proof.as_deref())?;
            verify_consistency(size1, size2, &proof, &root1, &root2)
                .map_err(zt_tlog::Error::from)?;
            report_valid(
                printer,
                json!({"valid": true, "size1": size1, "size2": size2}),
                || {
                    format!(
                        "consistency proof valid: the tree of size {size1} is a prefix of size {size2}"
                    )
                },
            );
            Ok(Status::Success)
        }
        LogCommand::VerifyProof {
            proof_file,
            entry,
            policy,
        } => {
            let proof = TlogProof::parse(&read(&proof_file)?).map_err(|e| {
                CliError::from(e).context(format!("reading `{}`", proof_file.display()))
            })?;
            let policy = match policy {
                Some(p) => TrustPolicy::parse(&String::from_utf8_lossy(&read(&p)?))
                    .map_err(|e| CliError::from(e).context(format!("reading `{}`", p.display())))?,
                None => {
                    TrustPolicy::log_only(read_vkey(&dir.join("log.pub").display().to_string())?)?
                }
            };
            let leaf = leaf_hash(&read(&entry)?);
            let ok = proof.verify(&leaf, &policy)?;
            let cp = &ok.checkpoint;
            report_valid(
                printer,
                json!({
                    "valid": true, "index": proof.index, "size": cp.size, "origin": cp.origin,
                    "root": b64::encode(cp.root), "witnesses": ok.witnesses,
                }),
                || {
                    format!(
                        "proof valid: entry {} of `{}` at size {} ({} of {} required witnesses)",
                        proof.index,
                        cp.origin,
                        cp.size,
                        ok.witnesses.len(),
                        policy.quorum()
                    )
                },
            );
            Ok(Status::Success)
        }
        LogCommand::Cosign {
            key,
            name,
            checkpoint,
            log_key,
            proof,
            state,
            out,
        } => {
            let witness = WitnessSigner::new(&name, ed25519_key(&key)?)?;
            let state = match state {
                Some(state) => state,
                None => ws_dir()?.join("witness"),
            };
            let cp_path = checkpoint.unwrap_or_else(|| dir.join("checkpoint"));
            let log_key = log_key.unwrap_or_else(|| dir.join("log.pub").display().to_string());
            cosign(
                &dir,
                &witness,
                &cp_path,
                &read_vkey(&log_key)?,
                proof.as_deref(),
                &state,
                out,
                printer,
            )
        }
        LogCommand::Vkey { key, name, witness } => {
            let key = ed25519_key(&key)?;
            let vkey = if witness {
                WitnessSigner::new(&name, key)?.verifier().to_vkey()
            } else {
                NoteSigner::new(&name, key)?.verifier().to_vkey()
            };
            if printer.json {
                printer.json(&json!({"vkey": vkey, "witness": witness}));
            } else {
                printer.out(vkey);
            }
            Ok(Status::Success)
        }
    }
}

fn init(
    dir: &Path,
    origin: Option<String>,
    key: Option<PathBuf>,
    printer: &Printer,
) -> Result<Status, CliError> {
    let key = match key {
        Some(path) => ed25519_key(&path)?,
        None => match FileKey::generate(zt_sign::KeyType::Ed25519) {
            FileKey::Ed25519(k) => k,
            FileKey::P256(_) => unreachable!("asked for an Ed25519 key"),
        },
    };
    let origin =
        origin.unwrap_or_else(|| zt_sign::transparency::default_origin(&key.verifying_key()));
    let log = Log::init(dir, key, &origin)?;
    let vkey = log.verifier().to_vkey();
    if printer.json {
        printer.json(&json!({"dir": dir, "origin": origin, "vkey": vkey, "size": 0}));
    } else {
        printer.out(&vkey);
        printer.info(format!(
            "created log `{origin}` in `{}`; verifier key in `{}`, signing key in `{}` (keep it private)",
            dir.display(),
            dir.join("log.pub").display(),
            dir.join("private/log.key").display()
        ));
    }
    Ok(Status::Success)
}

fn append(dir: &Path, files: &[PathBuf], printer: &Printer) -> Result<Status, CliError> {
    // Read everything first: a bad file appends nothing.
    let entries = files
        .iter()
        .map(|f| read(f))
        .collect::<Result<Vec<_>, _>>()?;
    let log = Log::open(dir)?;
    let first = log.append_batch(&entries)?;
    let size = log.size();
    if printer.json {
        let items: Vec<_> = files
            .iter()
            .zip(&entries)
            .enumerate()
            .map(|(i, (f, e))| {
                json!({"file": f, "index": first + i as u64, "leaf_hash": b64::encode(leaf_hash(e))})
            })
            .collect();
        printer.json(&json!({"entries": items, "size": size, "checkpoint": log.checkpoint()}));
    } else {
        for (i, f) in files.iter().enumerate() {
            printer.out(format!("{} {}", first + i as u64, f.display()));
        }
        printer.info(format!("checkpoint now covers {size} entries"));
    }
    Ok(Status::Success)
}

/// An inclusion proof, printed (`index`, `size`, leaf hash, root, the path) and, with `--out`,
/// written as a `c2sp.org/tlog-proof@v1` file under the current checkpoint (`current` is its
/// size; `checkpoint` gives its text) — the same for a local and a remote log.
fn print_proof(
    out: Option<&Path>,
    (index, size, current): (u64, u64, u64),
    (leaf, root, proof): (Hash, Hash, &[Hash]),
    checkpoint: impl FnOnce() -> String,
    printer: &Printer,
) -> Result<(), CliError> {
    if let Some(out) = out {
        if size != current {
            return Err(CliError::input(
                format!("`--out` needs the current checkpoint's size {current}, not {size}"),
                "leave out `--size` to write a proof file under the current checkpoint",
            ));
        }
        let file = TlogProof {
            extra: None,
            index,
            hashes: proof.to_vec(),
            checkpoint: checkpoint(),
        };
        zt_core::fsutil::write_atomic(out, file.to_text().as_bytes())
            .map_err(zt_tlog::Error::from)?;
        printer.info(format!("wrote `{}`", out.display()));
    }
    if printer.json {
        printer.json(&json!({
            "index": index, "size": size, "leaf_hash": b64::encode(leaf), "root": b64::encode(root),
            "proof": proof.iter().map(b64::encode).collect::<Vec<_>>(),
        }));
    } else {
        printer.out(format!("index {index}"));
        printer.out(format!("size {size}"));
        printer.out(format!("leaf-hash {}", b64::encode(leaf)));
        printer.out(format!("root {}", b64::encode(root)));
        printer.out(format!("proof {}", join(proof)));
    }
    Ok(())
}

fn prove(
    dir: &Path,
    index: u64,
    size: Option<u64>,
    out: Option<PathBuf>,
    printer: &Printer,
) -> Result<Status, CliError> {
    let log = Log::open(dir)?;
    let current = log.size();
    let size = size.unwrap_or(current);
    let proof = log.inclusion_proof(index, size)?;
    let root = log.root_at(size)?;
    let leaf = log.leaf_hash(index)?;
    print_proof(
        out.as_deref(),
        (index, size, current),
        (leaf, root, &proof),
        || log.checkpoint(),
        printer,
    )?;
    Ok(Status::Success)
}

#[allow(clippy::too_many_arguments)] // One call site; each argument is one flag.
fn cosign(
    dir: &Path,
    witness: &WitnessSigner,
    cp_path: &Path,
    log_key: &NoteVerifier,
    proof: Option<&str>,
    state: &Path,
    out: Option<PathBuf>,
    printer: &Printer,
) -> Result<Status, CliError> {
    let signed = read(cp_path)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let given = proof.map(|p| proof_arg(Some(p))).transpose()?;
    let cosigned = zt_tlog::Witness::new(witness, state)
        .cosign(
            &signed,
            log_key,
            |old, new| match given {
                Some(p) => Ok(p),
                None => Log::open(dir)?.consistency_proof(old, new),
            },
            now,
        )
        .map_err(|e| CliError::from(e).context(format!("cosigning `{}`", cp_path.display())))?;
    let cp = cosigned.checkpoint;
    let cosigned = cosigned.text;
    match &out {
        Some(path) => {
            zt_core::fsutil::write_atomic(path, cosigned.as_bytes())
                .map_err(zt_tlog::Error::from)?;
            printer.info(format!("wrote `{}`", path.display()));
        }
        None if !printer.json => printer.out(cosigned.trim_end()),
        None => {}
    }
    if printer.json {
        printer.json(&json!({
            "origin": cp.origin, "size": cp.size, "root": b64::encode(cp.root),
            "witness": witness.verifier().to_vkey(), "timestamp": now, "checkpoint": cosigned,
        }));
    }
    Ok(Status::Success)
}

/// `zt log --log-url URL checkpoint|prove|consistency`: the same reports from a remote log,
/// every proof checked against its signed checkpoint.
fn remote(
    url: &str,
    dir: &Path,
    log_key: Option<&str>,
    command: LogCommand,
    printer: &Printer,
) -> Result<Status, CliError> {
    let local_key = dir.join("log.pub");
    let verifier = match log_key {
        Some(k) => read_vkey(k)?,
        None if local_key.is_file() => read_vkey(&local_key.display().to_string())?,
        None => {
            let k = zt_server::remote_log::RemoteLog::published_key(url)?;
            printer.info(format!(
                "trusting the key `{}` that {url}/log.pub serves; pin it with `--log-key`",
                k.to_vkey()
            ));
            k
        }
    };
    let log = zt_server::remote_log::RemoteLog::new(url, verifier)?;
    let cp = log.checkpoint()?;
    match command {
        LogCommand::Checkpoint => {
            if printer.json {
                printer.json(&json!({
                    "origin": cp.checkpoint.origin,
                    "size": cp.checkpoint.size,
                    "root": b64::encode(cp.checkpoint.root),
                    "checkpoint": cp.text,
                    "url": url,
                }));
            } else {
                printer.out(cp.text.trim_end());
            }
        }
        LogCommand::Prove { index, size, out } => {
            let size = size.unwrap_or(cp.checkpoint.size);
            let (proof, leaf, root) = log.inclusion_proof(index, size, &cp.checkpoint)?;
            print_proof(
                out.as_deref(),
                (index, size, cp.checkpoint.size),
                (leaf, root, &proof),
                || cp.text.clone(),
                printer,
            )?;
        }
        LogCommand::Consistency { from, to } => {
            let to = to.unwrap_or(cp.checkpoint.size);
            let (proof, root1, root2) = log.consistency_proof(from, to, &cp.checkpoint)?;
            if printer.json {
                printer.json(&json!({
                    "size1": from, "size2": to,
                    "root1": b64::encode(root1), "root2": b64::encode(root2),
                    "proof": proof.iter().map(b64::encode).collect::<Vec<_>>(),
                }));
            } else {
                printer.out(format!("size1 {from}"));
                printer.out(format!("size2 {to}"));
                printer.out(format!("root1 {}", b64::encode(root1)));
                printer.out(format!("root2 {}", b64::encode(root2)));
                printer.out(format!("proof {}", join(&proof)));
            }
        }
        _ => {
            return Err(CliError::input(
                format!("this `zt log` command works on a log directory, not on `{url}`"),
                "remote logs answer `zt log checkpoint`, `zt log prove` and `zt log consistency` with `--log-url URL`",
            ));
        }
    }
    Ok(Status::Success)
}

fn report_valid(printer: &Printer, json: serde_json::Value, human: impl FnOnce() -> String) {
    if printer.json {
        printer.json(&json);
    } else {
        printer.out(format!("{} {}", printer.ok_mark(), human()));
    }
}

fn join(hashes: &[Hash]) -> String {
    hashes.iter().map(b64::encode).collect::<Vec<_>>().join(",")
}

fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    fs_err::read(path).map_err(|e| zt_tlog::Error::from(e).into())
}

/// A hash flag: base64 that does not decode is an input error (exit 2); base64 of the wrong
/// length is a hash that cannot match, so the proof is rejected (exit 1).
fn hash_arg(flag: &str, text: &str) -> Result<Hash, CliError> {
    let bytes = b64::decode(text).ok_or_else(|| {
        CliError::input(
            format!("`{flag}` is not base64: `{text}`"),
            "pass the hash as standard base64",
        )
    })?;
    hash_from_slice(&bytes).ok_or_else(|| {
        CliError::rejected(
            format!(
                "`{flag}` is {} bytes, not a 32-byte SHA-256 hash",
                bytes.len()
            ),
            "the proof cannot verify against a hash of the wrong length",
        )
    })
}

fn proof_arg(text: Option<&str>) -> Result<Vec<Hash>, CliError> {
    match text {
        None => Ok(Vec::new()),
        // `--proof ""` is one empty hash, which no proof holds: rejected, not empty.
        Some(t) => t
            .split(',')
            .map(|h| hash_arg("--proof", h.trim()))
            .collect(),
    }
}

/// A verifier key given inline (`name+id+key`) or as a file holding one.
fn read_vkey(arg: &str) -> Result<NoteVerifier, CliError> {
    let path = Path::new(arg);
    let text = if NoteVerifier::parse(arg).is_err() && path.exists() {
        String::from_utf8_lossy(&read(path)?).into_owned()
    } else {
        arg.to_owned()
    };
    NoteVerifier::parse(&text).map_err(|e| {
        let e: CliError = zt_tlog::Error::from(e).into();
        if path.exists() {
            e.context(format!("reading `{arg}`"))
        } else {
            e
        }
    })
}

fn ed25519_key(path: &Path) -> Result<SigningKey, CliError> {
    match FileKey::load(path)? {
        FileKey::Ed25519(k) => Ok(k),
        _ => Err(CliError::input(
            format!("`{}` is not an Ed25519 key", path.display()),
            "note signatures are Ed25519: make one with `zt key generate --type ed25519`",
        )),
    }
}
