use std::path::Path;

use zt_sign::pkcs11::Pkcs11Key;
use zt_sign::{FileKey, KeyType, Signer as _};

use crate::cli::{KeyArgs, KeyCommand, KeyTypeArg};
use crate::commands::Status;
use crate::printer::Printer;
use crate::report::CliError;

pub(crate) fn run(args: KeyArgs, printer: &Printer) -> Result<Status, CliError> {
    match args.command {
        KeyCommand::Generate { key_type, out } => {
            let key_type = match key_type {
                KeyTypeArg::Ed25519 => KeyType::Ed25519,
                KeyTypeArg::P256 => KeyType::P256,
            };
            let (id, private, public) = if out.starts_with("pkcs11:") {
                let key = Pkcs11Key::generate(&out, key_type)?;
                (
                    key.public_key().key_id(),
                    "(in the token)".to_string(),
                    None,
                )
            } else {
                let key = FileKey::generate(key_type);
                let out_path = Path::new(&out);
                let public_path = zt_sign::keys::write_key_pair(&key, out_path)?;
                (key.public_key().key_id(), out.clone(), Some(public_path))
            };
            if printer.json {
                printer.json(&serde_json::json!({
                    "type": key_type.name(),
                    "private_key": private,
                    "public_key": public,
                    "key_id": id,
                }));
            } else {
                printer.out(format!("{} key {id}", key_type.name()));
                match public {
                    Some(p) => printer.info(format!(
                        "wrote `{private}` (private, 0600) and `{}` (public)",
                        p.display()
                    )),
                    None => printer.info("generated the key pair inside the token; export the public key with `zt key show URI --pem`"),
                }
            }
            Ok(Status::Success)
        }
        KeyCommand::Show { key, pem } => {
            let public = zt_sign::load_public_key(&key)?;
            if pem {
                printer.out(public.to_pem().trim_end());
            } else if printer.json {
                printer.json(&serde_json::json!({
                    "algorithm": public.algorithm(),
                    "key_id": public.key_id(),
                    "public_key_pem": public.to_pem(),
                }));
            } else {
                printer.out(format!("{} {}", public.algorithm(), public.key_id()));
            }
            Ok(Status::Success)
        }
        KeyCommand::Revoke {
            key,
            reason,
            at,
            repo,
        } => revoke(&key, &reason, at.as_deref(), &repo, printer),
    }
}

fn revoke(
    key: &str,
    reason: &str,
    at: Option<&str>,
    repo: &Path,
    printer: &Printer,
) -> Result<Status, CliError> {
    let key_id = if key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit()) {
        key.to_ascii_lowercase()
    } else {
        zt_sign::load_public_key(key)?.key_id()
    };
    let ws = crate::commands::workspace(repo, printer)?;
    let now = ws.now();
    let revoked_at = match at {
        None => now,
        Some(at) => zt_core::time::parse_instant(at, None).map_err(|e| {
            CliError::input(format!("`--at`: {e}"), "e.g. `--at 2026-11-01T00:00:00Z`")
        })?,
    };
    let radius = zt_pipeline::revoke::revoke(&ws, &key_id, reason, revoked_at, now)?;
    if printer.json {
        printer.json(&serde_json::to_value(&radius).unwrap_or_default());
        return Ok(Status::Success);
    }
    let when = zt_core::time::rfc3339(radius.revoked_at);
    if radius.already_revoked {
        printer.info(format!(
            "key {} was already revoked; the first revocation ({when}) stands",
            &radius.key_id[..12]
        ));
    }
    if let Some(b) = &radius.bundle {
        printer.info(format!(
            "signed and logged the revocation: `{b}`{}",
            radius
                .cutoff
                .as_ref()
                .map(|c| format!(" (entries of the log below {} predate it)", c.index))
                .unwrap_or_else(|| {
                    " (backdated: only a signed time earlier than it keeps a bundle trusted)".into()
                })
        ));
    }
    printer.out(format!(
        "revoked {} from {when}: {} bundles signed, {} now rejected, {} still trusted (logged before), {} builds affected",
        &radius.key_id[..12],
        radius.bundles.len(),
        radius.rejected(),
        radius.bundles.len() - radius.rejected(),
        radius.builds.len()
    ));
    for b in &radius.bundles {
        printer.out(format!(
            "  {} {} {} {}",
            if b.still_trusted {
                "trusted "
            } else {
                "REJECTED"
            },
            b.log_index
                .map_or_else(|| "unlogged".to_string(), |i| format!("entry {i}")),
            b.predicate_type.as_deref().unwrap_or("signature"),
            b.subjects.join(",")
        ));
    }
    for build in &radius.builds {
        printer.out(format!("  build {build}"));
    }
    Ok(Status::Success)
}
