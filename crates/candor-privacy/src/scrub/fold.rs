//! Look-alike characters folded to the ASCII the detectors read.
//!
//! A number or a name typed through an input method comes out in full-width forms
//! (`０９０－１２３４－５６７８`, `ｐａｓｓｗｏｒｄ＝…`), and digits may be written in another
//! script's (`٤١١١…`). Each detector reads ASCII, so text holding such characters is scanned a
//! second time as a copy with each of them replaced by its ASCII character, and what is found
//! there is mapped back onto the text. Text without them (all-ASCII text is told by one fast
//! check) is not copied.

/// A copy of a text with the look-alikes folded, and where its positions lie in the text.
pub(super) struct Folded {
    pub(super) text: String,
    /// For each folded character, in order: the position just after it in the copy, and how
    /// many bytes shorter the copy is than the text up to there.
    shifts: Vec<(usize, usize)>,
}

impl Folded {
    /// Where position `at` of the copy lies in the text: every position of the copy is on a
    /// character boundary of both, since a character folds whole into one byte.
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

/// A byte that starts a character [`ascii_for`] folds.
fn starts_look_alike(b: u8) -> bool {
    matches!(b, 0xD9 | 0xDB | 0xE0 | 0xE3 | 0xEF)
}

/// The copy of `text` with its look-alikes folded; `None` when it holds none.
pub(super) fn fold(text: &str) -> Option<Folded> {
    let bytes = text.as_bytes();
    let mut from = 0;
    let first = loop {
        let lead = from + bytes[from..].iter().position(|&b| starts_look_alike(b))?;
        let c = text[lead..].chars().next()?;
        if ascii_for(c).is_some() {
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
    fn text_without_look_alikes_is_not_copied() {
        assert!(fold("plain ascii").is_none());
        assert!(fold("café, naïve, 日本語, Ω").is_none());
    }

    #[test]
    fn every_look_alike_starts_with_a_byte_the_scan_looks_for() {
        for code in (0x0600..0x0A00).chain(0x3000..0x3001).chain(0xFF00..0xFF60) {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            if ascii_for(c).is_some() {
                let mut buf = [0; 4];
                assert!(
                    starts_look_alike(c.encode_utf8(&mut buf).as_bytes()[0]),
                    "{c}"
                );
            }
        }
    }
}
