//! HTML by hand: every piece of text that reaches a page goes through [`escape`] (text and
//! attribute values alike), every URL query value through [`url_encode`]; the page frame
//! (landmarks, navigation, the stylesheet and script pinned by digest) is [`page`].

use std::fmt::Write as _;

/// Escapes `s` for HTML text and double- or single-quoted attribute values: `&`, `<`, `>`,
/// `"`, `'` become character references; control characters other than tab and newline are
/// dropped (they have no business in a page and some browsers misparse them).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes `s` for a URL query value (RFC 3986 unreserved characters stay).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A share as a percentage with one decimal (`87.5 %`), or `no data`.
pub fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.1} %", x * 100.0))
        .unwrap_or_else(|| "no data".into())
}

/// Milliseconds (`1234 ms`), or `no data`.
pub fn millis(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.0} ms"))
        .unwrap_or_else(|| "no data".into())
}

/// Unix seconds as RFC 3339.
pub fn time(secs: i64) -> String {
    zt_core::time::rfc3339(secs)
}

/// The first `n` characters of `s` (a digest's or commit's short form).
pub fn short(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => s.get(..i).unwrap_or(s),
        None => s,
    }
}

/// The assets a page links, with the digests that pin them.
#[derive(Debug, Clone)]
pub struct AssetLinks {
    /// The stylesheet's URL (its digest in the name).
    pub css: String,
    /// Its `integrity` value (`sha256-<base64>`).
    pub css_integrity: String,
    /// The script's URL.
    pub js: String,
    /// Its `integrity` value.
    pub js_integrity: String,
}

/// The navigation entries: path and label.
const NAV: &[(&str, &str)] = &[
    ("/", "Overview"),
    ("/search", "Artifacts"),
    ("/denials", "Denials"),
    ("/alerts", "Alerts and incidents"),
    ("/log", "Log"),
];

/// A whole page: `title` (escaped here), the navigation with `current` marked, and `main`
/// (already HTML).
pub fn page(assets: &AssetLinks, title: &str, current: &str, main: &str) -> String {
    let mut nav = String::new();
    for (href, label) in NAV {
        let here = if *href == current {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(nav, "<li><a href=\"{href}\"{here}>{label}</a></li>");
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} · zt</title>\n\
         <link rel=\"stylesheet\" href=\"{css}\" integrity=\"{css_i}\">\n\
         <script defer src=\"{js}\" integrity=\"{js_i}\"></script>\n</head>\n<body>\n\
         <a class=\"skip\" href=\"#main\">Skip to content</a>\n\
         <header><p class=\"brand\">zt</p><nav aria-label=\"Dashboard\"><ul>{nav}</ul></nav>\n\
         <form class=\"search\" role=\"search\" action=\"/search\" method=\"get\">\
         <label for=\"q\">Search artifacts</label> \
         <input id=\"q\" name=\"q\" type=\"search\" placeholder=\"digest, file name, repository, commit\"> \
         <button type=\"submit\">Search</button></form></header>\n\
         <main id=\"main\" tabindex=\"-1\">\n<h1>{title}</h1>\n{main}</main>\n\
         <footer><p>Read-only view of this server's ledger and log. Every figure links to the \
         evidence it comes from in the <a href=\"/api/v1/openapi.json\">API</a>.</p></footer>\n\
         </body>\n</html>\n",
        title = escape(title),
        css = escape(&assets.css),
        css_i = escape(&assets.css_integrity),
        js = escape(&assets.js),
        js_i = escape(&assets.js_integrity),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn markup_and_quotes_are_escaped() {
        assert_eq!(
            escape(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(escape("a\u{0}b\u{1b}c\td\ne"), "abc\td\ne");
        assert_eq!(escape("café ✓"), "café ✓");
        // Already-escaped text is escaped again: the page shows what was stored.
        assert_eq!(escape("&amp;"), "&amp;amp;");
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            url_encode("https://slsa.dev/provenance/v1"),
            "https%3A%2F%2Fslsa.dev%2Fprovenance%2Fv1"
        );
        assert_eq!(url_encode("a b&c=d\"<"), "a%20b%26c%3Dd%22%3C");
        assert_eq!(url_encode("tests.coverage-1_~"), "tests.coverage-1_~");
    }

    #[test]
    fn short_forms_cut_on_characters() {
        assert_eq!(short("abcdef", 3), "abc");
        assert_eq!(short("ab", 3), "ab");
        assert_eq!(short("éééé", 2), "éé");
    }

    proptest! {
        // Whatever the input, nothing in the output can open or close a tag, an attribute or
        // an entity other than the ones escape wrote.
        #[test]
        fn escaped_text_never_carries_markup(s in any::<String>()) {
            let e = escape(&s);
            prop_assert!(!e.contains('<') && !e.contains('>'));
            prop_assert!(!e.contains('"') && !e.contains('\''));
            for (i, _) in e.match_indices('&') {
                let rest = &e[i..];
                prop_assert!(
                    ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"].iter().any(|r| rest.starts_with(r)),
                    "stray & in {e:?}"
                );
            }
            prop_assert!(!e.chars().any(|c| c.is_control() && c != '\t' && c != '\n'));
        }

        #[test]
        fn encoded_values_are_unreserved_or_percent(s in any::<String>()) {
            let e = url_encode(&s);
            prop_assert!(e.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~%".contains(&b)));
        }
    }
}
