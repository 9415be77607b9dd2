//! Which lines of a policy may read the decision's time (`input.context.time`), so that a
//! long-running judge can tell a decision that holds at every time from one that holds only
//! for its input's second.
//!
//! A Rego policy reads its input only through the `input` root: a reference that starts with
//! the identifier `input` (or an `import input…` alias). The reference's expression starts on
//! the line of that identifier, and regorus marks the line of every expression it evaluates
//! (its coverage). So: the lines of a file that hold an `input` reference which may reach
//! `input.context.time` are listed here; an evaluation that marked none of them never read
//! the time, and — regorus being deterministic over the values it reads — gives the same
//! decision at any other time, the rest of the input equal.
//!
//! A reference is known not to reach the time only in the forms `input.NAME` with NAME other
//! than `context`, and `input.context.NAME` with NAME other than `time`. Every other use of
//! `input` on a line (`input` alone, `input.context`, `input[x]`, `input.context[x]`, a `with
//! input as …`) lists the line. A file that imports from `input` cannot be read this way
//! (its aliases read `input` on other lines), and then no line is trusted at all.
//! Comments are skipped; string literals cannot read the input and are skipped too.

use std::collections::BTreeSet;

/// The lines (1-based) of `text` with an `input` reference that may read
/// `input.context.time`; `None` when the file imports from `input` (every line may then read
/// it).
pub(crate) fn clock_lines(text: &str) -> Option<BTreeSet<u32>> {
    let code = code_only(text);
    let mut lines = BTreeSet::new();
    let mut from = 0;
    while let Some(at) = code
        .get(from..)
        .and_then(|rest| find_word(rest, "input"))
        .map(|found| from + found)
    {
        let before = code.get(..at).unwrap_or_default().trim_end();
        if before.ends_with("import")
            && before
                .get(..before.len() - "import".len())
                .and_then(|b| b.chars().next_back())
                .is_none_or(|c| !is_ident_char(c))
        {
            return None;
        }
        let after = code.get(at + "input".len()..).unwrap_or_default();
        if !safe_reference(after) {
            let line = code
                .get(..at)
                .unwrap_or_default()
                .bytes()
                .filter(|b| *b == b'\n')
                .count()
                + 1;
            lines.insert(u32::try_from(line).unwrap_or(u32::MAX));
        }
        from = at + "input".len();
    }
    Some(lines)
}

/// Whether the text after an `input` identifier is `.NAME` (NAME not `context`) or
/// `.context.NAME` (NAME not `time`).
fn safe_reference(after: &str) -> bool {
    let Some(rest) = after.strip_prefix('.') else {
        return false;
    };
    let (name, rest) = ident(rest);
    match name {
        "" => false,
        "context" => {
            let Some(rest) = rest.strip_prefix('.') else {
                return false;
            };
            let (field, _) = ident(rest);
            !field.is_empty() && field != "time"
        }
        _ => true,
    }
}

/// The identifier at the start of `s`, and what follows it.
fn ident(s: &str) -> (&str, &str) {
    let end = s
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
        .map_or(s.len(), |(i, _)| i);
    s.split_at(end)
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The byte offset of `word` in `s` as a whole identifier.
fn find_word(s: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = s.get(from..).and_then(|r| r.find(word)) {
        let at = from + found;
        let before_ok = s
            .get(..at)
            .and_then(|b| b.chars().next_back())
            .is_none_or(|c| !is_ident_char(c));
        let after_ok = s
            .get(at + word.len()..)
            .and_then(|a| a.chars().next())
            .is_none_or(|c| !is_ident_char(c));
        if before_ok && after_ok {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

/// `text` with comments and the contents of string literals blanked (each replaced by
/// spaces, newlines kept, so line numbers stay).
fn code_only(text: &str) -> String {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Code,
        Comment,
        Quoted,
        QuotedEscape,
        Raw,
    }
    let mut out = String::with_capacity(text.len());
    let mut state = State::Code;
    for c in text.chars() {
        let (next, keep) = match (state, c) {
            (_, '\n') if state != State::Raw => (State::Code, true),
            (State::Code, '#') => (State::Comment, false),
            (State::Code, '"') => (State::Quoted, true),
            (State::Code, '`') => (State::Raw, true),
            (State::Code, _) => (State::Code, true),
            (State::Comment, _) => (State::Comment, false),
            (State::Quoted, '\\') => (State::QuotedEscape, false),
            (State::Quoted, '"') => (State::Code, true),
            (State::Quoted, _) => (State::Quoted, false),
            (State::QuotedEscape, _) => (State::Quoted, false),
            (State::Raw, '`') => (State::Code, true),
            (State::Raw, '\n') => (State::Raw, true),
            (State::Raw, _) => (State::Raw, false),
        };
        out.push(if keep { c } else { ' ' });
        state = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<u32> {
        clock_lines(text).unwrap().into_iter().collect()
    }

    #[test]
    fn references_that_may_reach_the_time_list_their_line() {
        let text = "package zt.x\n\
                    a if input.evidence[_].time\n\
                    b if input.context.stage == \"ci\"\n\
                    c if input.context.time\n\
                    d := input.context\n\
                    e := input\n\
                    f := input[\"context\"]\n\
                    g := input.context[\"time\"]\n\
                    h if { x := 1 } with input as {}\n\
                    i if input.context.timezone\n\
                    j if input.  context\n";
        assert_eq!(lines(text), vec![4, 5, 6, 7, 8, 9, 11]);
    }

    #[test]
    fn comments_strings_and_other_identifiers_are_not_references() {
        let text = "package zt.x\n\
                    # the input's time: input.context.time\n\
                    a := \"input.context.time\"\n\
                    b := `raw\ninput.context\n`\n\
                    c := my_input.context.time\n\
                    d := inputs.context\n\
                    e := \"esc \\\" input\" # input\n\
                    f := input.context.time # after\n";
        assert_eq!(lines(text), vec![10]);
    }

    #[test]
    fn an_import_from_input_trusts_no_line() {
        assert_eq!(clock_lines("package zt.x\nimport input.context\n"), None);
        assert_eq!(clock_lines("package zt.x\nimport input\n"), None);
        assert_eq!(clock_lines("package zt.x\nimport\n  input.context\n"), None);
        assert!(clock_lines("package zt.x\nimport data.zt.lib\n").is_some());
    }
}
