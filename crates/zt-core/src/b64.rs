//! Base64 as the formats zt reads use it: DSSE and Sigstore write standard base64 with padding,
//! but producers in the wild also emit URL-safe and unpadded text, so reading accepts all four.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

/// Encodes bytes as standard base64 with padding (what zt writes everywhere).
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard or URL-safe base64, padded or not. Returns `None` on invalid text.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    let url = text.contains(['-', '_']);
    let padded = text.ends_with('=');
    let engine = match (url, padded) {
        (false, true) => &STANDARD,
        (false, false) => &STANDARD_NO_PAD,
        (true, true) => &URL_SAFE,
        (true, false) => &URL_SAFE_NO_PAD,
    };
    engine.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_alphabet() {
        let bytes = [0xfbu8, 0xff, 0xfe, 0x01];
        for text in ["+//+AQ==", "+//+AQ", "-__-AQ==", "-__-AQ"] {
            assert_eq!(decode(text).as_deref(), Some(&bytes[..]), "{text}");
        }
        assert_eq!(decode("+_/-AQ=="), None, "mixed alphabets are not base64");
        assert_eq!(decode("a"), None);
        assert_eq!(decode("ab!c"), None);
    }
}
