//! Look-alike characters folded to the ASCII the detectors read.
//!
//! A number or a name typed through an input method comes out in full-width forms
//! (`０９０－１２３４－５６７８`, `ｐａｓｓｗｏｒｄ＝…`), and digits may be written in another
//! script's (`٤١١١…`). Each detector reads ASCII, so text holding such characters is scanned a
//! second time as a copy with each of them replaced by its ASCII character, and what is found
//! there is mapped back onto the text. Text without them (all-ASCII text is told by one fast
//! check) is not copied.
//!
//! Characters that show as nothing (a zero-width space, a joiner, a soft hyphen…) are left out
//! of the copy: written inside a key's name (`pass\u{200b}word=…`), an address or a token, they
//! would hide it from every detector while the reader sees it whole. The text itself keeps
//! them (an emoji sequence or a Persian word needs its joiners); only what a detector finds
//! around them is replaced, with them.

/// A copy of a text with the look-alikes folded, and where its positions lie in the text.
pub(super) struct Folded {
    pub(super) text: String,
    /// For each folded character, in order: the position just after it in the copy, and how
    /// many bytes shorter the copy is than the text up to there.
    shifts: Vec<(usize, usize)>,
}

impl Folded {
    /// Where position `at` of the copy lies in the text: every position of the copy is on a
    /// character boundary of both, since a character folds whole into one byte or into
    /// nothing. Where invisible characters were left out, `at` lies after them.
    pub(super) fn original(&self, at: usize) -> usize {
        let i = self.shifts.partition_point(|&(after, _)| after <= at);
        at + i.checked_sub(1).map_or(0, |i| self.shifts[i].1)
    }
}

/// The ASCII character a look-alike stands for: the full-width forms of printable ASCII, the
/// ideographic space, and the Arabic-Indic, extended Arabic-Indic (Persian) and Devanagari
/// digits.
fn ascii_for(c: char) -> Option<u8> {
    let code = u32::from(c);
    let offset = |base: u32, first: u8| u8::try_from(code - base).ok().map(|n| first + n);
    match code {
        0xFF01..=0xFF5E => offset(0xFF01, b'!'),
        0x3000 => Some(b' '),
        0x0660..=0x0669 => offset(0x0660, b'0'),
        0x06F0..=0x06F9 => offset(0x06F0, b'0'),
        0x0966..=0x096F => offset(0x0966, b'0'),
        _ => None,
    }
}

/// Characters that show as nothing and join or split no word a detector reads: the soft
/// hyphen, the combining grapheme joiner, the Mongolian vowel separator, the zero-width space,
/// non-joiner and joiner, the word joiner and the invisible operators, and the zero-width
/// no-break space (a byte-order mark inside text). The copy leaves them out.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200D}'
            | '\u{2060}'..='\u{2064}'
            | '\u{FEFF}'
    )
}

/// A byte that starts a character [`ascii_for`] folds or [`is_invisible`] leaves out.
fn starts_look_alike(b: u8) -> bool {
    matches!(
        b,
        0xC2 | 0xCD | 0xD9 | 0xDB | 0xE0 | 0xE1 | 0xE2 | 0xE3 | 0xEF
    )
}

/// The copy of `text` with its look-alikes folded; `None` when it holds none.
pub(super) fn fold(text: &str) -> Option<Folded> {
    let bytes = text.as_bytes();
    let mut from = 0;
    let first = loop {
        let lead = from + bytes[from..].iter().position(|&b| starts_look_alike(b))?;
        let c = text[lead..].chars().next()?;
        if ascii_for(c).is_some() || is_invisible(c) {
            break lead;
        }
        from = lead + c.len_utf8();
    };
    let mut folded = String::with_capacity(text.len());
    folded.push_str(&text[..first]);
    let mut shifts = Vec::new();
    let mut removed = 0;
    for c in text[first..].chars() {
        match ascii_for(c) {
            Some(ascii) => {
                folded.push(char::from(ascii));
                removed += c.len_utf8() - 1;
                shifts.push((folded.len(), removed));
            }
            None if is_invisible(c) => {
                removed += c.len_utf8();
                shifts.push((folded.len(), removed));
            }
            None => folded.push(c),
        }
    }
    Some(Folded {
        text: folded,
        shifts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alikes_fold_and_positions_map_back() {
        let text = "tel ０９０－１２ é ٤١ end";
        let folded = fold(text).expect("folds");
        assert_eq!(folded.text, "tel 090-12 é 41 end");
        // Every boundary of the copy maps to the same character's boundary in the text.
        let copy: Vec<usize> = folded.text.char_indices().map(|(i, _)| i).collect();
        let original: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        for (c, o) in copy.iter().zip(&original) {
            assert_eq!(folded.original(*c), *o);
        }
        assert_eq!(folded.original(folded.text.len()), text.len());
    }

    #[test]
    fn invisible_characters_are_left_out_and_positions_map_after_them() {
        let text = "pass\u{200b}word=x \u{feff}\u{2060}ab\u{ad}";
        let folded = fold(text).expect("folds");
        assert_eq!(folded.text, "password=x ab");
        // `word` starts after the zero-width space; `ab` after both invisible characters.
        assert_eq!(folded.original(4), 7);
        // A span ending where one was left out takes it along: `ab` and its soft hyphen.
        assert_eq!(&text[folded.original(11)..folded.original(13)], "ab\u{ad}");
        assert_eq!(folded.original(folded.text.len()), text.len());
        for at in 0..=folded.text.len() {
            assert!(text.is_char_boundary(folded.original(at)), "{at}");
        }
    }

    #[test]
    fn text_without_look_alikes_is_not_copied() {
        assert!(fold("plain ascii").is_none());
        assert!(fold("café, naïve, 日本語, Ω").is_none());
        // Curly quotes, dashes and an ellipsis share a first byte with the invisible
        // characters, and are kept.
        assert!(fold("“quoted” – ‘single’ …").is_none());
    }

    #[test]
    fn every_look_alike_starts_with_a_byte_the_scan_looks_for() {
        for code in (0x00A0..0x0A00)
            .chain(0x1800..0x1900)
            .chain(0x2000..0x2100)
            .chain(0x3000..0x3001)
            .chain(0xFE00..0xFFFF)
        {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            if ascii_for(c).is_some() || is_invisible(c) {
                let mut buf = [0; 4];
                assert!(
                    starts_look_alike(c.encode_utf8(&mut buf).as_bytes()[0]),
                    "{c}"
                );
            }
        }
    }
}
