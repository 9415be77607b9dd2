use std::path::Path;

use zt_sign::{FileKey, KeyType, PublicKey, Signer as _};

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
            let key = FileKey::generate(key_type);
            let public_path = zt_sign::keys::write_key_pair(&key, &out)?;
            let id = key.public_key().key_id();
            if printer.json {
                printer.json(&serde_json::json!({
                    "type": key_type.name(),
                    "private_key": out,
                    "public_key": public_path,
                    "key_id": id,
                }));
            } else {
                printer.out(format!("{} key {id}", key_type.name()));
                printer.info(format!(
                    "wrote `{}` (private, 0600) and `{}` (public)",
                    out.display(),
                    public_path.display()
                ));
            }
            Ok(Status::Success)
        }
        KeyCommand::Show { key } => {
            let path = Path::new(&key);
            let text = fs_err::read_to_string(path).map_err(zt_sign::Error::from)?;
            let public = if text.contains("PRIVATE KEY") {
                FileKey::from_pem(&text, path)?.public_key()
            } else {
                PublicKey::from_pem(&text, path)?
            };
            if printer.json {
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
