//! Text from outside (input lines, file contents, a receiver's answer) shown in a message: control
//! characters escaped, so a line cannot move the cursor or retitle the terminal, and cut to a
//! length a terminal can show. Every message `candor` prints on stderr passes through here.

/// The most characters of one message.
pub(crate) const MAX_MESSAGE_CHARS: usize = 1000;

/// `text` with control and bidi-override characters escaped (`\u{1b}`), cut to `max`
/// characters with a note of how much was left out.
pub(crate) fn shown(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max * 2));
    for (kept, (i, c)) in text.char_indices().enumerate() {
        if kept >= max {
            out.push_str(&format!("… ({} more bytes)", text.len() - i));
            return out;
        }
        let hidden = c.is_control()
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}');
        if hidden {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_long_text_cut() {
        assert_eq!(
            shown("a\u{1b}]0;pwned\u{7}b", 100),
            "a\\u{1b}]0;pwned\\u{7}b"
        );
        assert_eq!(shown("x\ny", 100), "x\\u{a}y");
        let long = "z".repeat(10_000);
        let cut = shown(&long, 20);
        assert!(cut.starts_with(&"z".repeat(20)));
        assert!(cut.ends_with("(9980 more bytes)"), "{cut}");
        assert_eq!(shown("é\u{202e}", 10), "é\\u{202e}");
    }
}
