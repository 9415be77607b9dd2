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
    }
}
