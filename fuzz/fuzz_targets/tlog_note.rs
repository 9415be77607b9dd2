//! Signed notes and checkpoints from untrusted bytes: parsing never panics, and whatever
//! parses re-serialises to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zt_tlog::{Checkpoint, Note, NoteVerifier, TrustPolicy};

fuzz_target!(|data: &[u8]| {
    if let Ok(note) = Note::parse(data) {
        // Base64 has one canonical form per byte string only when padding is canonical;
        // the text part must survive unchanged.
        let again = Note::parse(note.to_text().as_bytes()).expect("a serialised note parses");
        assert_eq!(again.text(), note.text());
        assert_eq!(again.signatures(), note.signatures());
        if let Ok(cp) = Checkpoint::parse_body(note.text()) {
            assert_eq!(Checkpoint::parse_body(&cp.to_body()).ok(), Some(cp));
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = NoteVerifier::parse(text);
        let _ = TrustPolicy::parse(text);
    }
});
