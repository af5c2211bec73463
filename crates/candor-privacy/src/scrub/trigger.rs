//! Where the triggers occur: every (pattern, start) pair, ignoring ASCII case.
//!
//! An Aho-Corasick DFA does this in one table step per byte, but each step waits for the one
//! before it, log text has no rare byte to skip to, and that chain was the scrubber's largest
//! cost. Most positions start no trigger, so three bytes at a time are instead hashed (letters
//! folded to one case) into a table of the patterns' three-byte pieces, at even positions only:
//! a pattern is entered by one piece at an even offset and one at an odd offset, so a start of
//! either parity is seen from an even position (a three-byte pattern, which has only one piece,
//! is entered once more for every byte that may come before it, and seen from the position
//! before it). Of the pieces at each parity the one least common in text is entered
//! ([`rarest_piece`]), or one already entered for another pattern: a pattern's first three
//! bytes are often part of ordinary words. Seven
//! positions are looked up from one read of sixteen bytes, with lookups that do not depend on
//! each other; where the table says a pattern may be near, the few it names are compared, each
//! turned away by its first four bytes before the whole pattern is, and all of them at once
//! first by the bytes just before and after the three (a piece is often part of a word: `use`
//! of `user` stands in `because`, and the `s` after it is no pattern's).
//!
//! Where the CPU runs AVX2 (see `kernel`), the even positions are tested sixteen at a time
//! (`simd`): each position's three bytes, folded to eighteen bits ([`trigram_key`]), are looked
//! up in a bit set of the pieces entered (32 KiB, gathered eight at a time), which is exact
//! where the hashed table is not; the table is read only at the positions the bit set marks,
//! which are every position where a pattern can match, so the matches are the same.
//!
//! Patterns shorter than three bytes (`@`, `q~`, `\\`) are found by a memchr scan for their last
//! byte. Where that cannot be set up (more than three such last bytes), the DFA does the job;
//! both report the same pairs in the same order: by start, then shortest first.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::kernel::Kernel;
#[cfg(target_arch = "x86_64")]
use super::simd::Avx2;

/// Bytes of text searched at a time: the matches of one chunk are sorted before they are
/// reported, so this bounds that buffer.
const CHUNK: usize = 32 * 1024;

/// Length of the prefixes the filter looks up.
const PREFIX: usize = 3;

/// A trigger found in the text: bytes `start..end` are pattern `pattern`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TriggerMatch {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) pattern: usize,
}

/// A pattern to search for, and, for a three-byte one, the bytes that must stand beside it
/// where it starts at an odd position (see [`Beside`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    pub(crate) bytes: Vec<u8>,
    pub(crate) beside: Option<Beside>,
}

impl Pattern {
    pub(crate) fn plain(bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            bytes: bytes.into(),
            beside: None,
        }
    }
}

/// A three-byte pattern is seen at an odd start from the even position before it or after it,
/// through the byte beside it; with no more known, every byte beside it is entered in the
/// filter, which makes two of its bytes a filter of their own. Where its validator finds
/// nothing unless a byte of a known class stands after it (`eyJ` and a base64 character, `%40`
/// and a domain's) or before it (a separator before `CN=`), only those are entered: at an odd
/// start with any other byte beside it, the pattern is not reported (the search then reports
/// less than every match, and exactly what the validators can use). A property test holds
/// it to that: text scrubs the same when a byte before it moves every start to the other
/// parity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Beside {
    /// The bytes are those after the pattern (else before it).
    pub(crate) after: bool,
    /// Lower case: letters match either case.
    pub(crate) bytes: Vec<u8>,
}

#[derive(Debug, Clone)]
pub(crate) struct TriggerSearch {
    engine: Engine,
}

#[derive(Debug, Clone)]
enum Engine {
    Filtered(Box<Filtered>),
    Dfa(AhoCorasick),
}

impl TriggerSearch {
    /// `None` when the patterns cannot be searched for (one is empty, or the DFA is too big).
    /// The DFA, the fallback, reports every match, those [`Beside`] leaves out included.
    /// `kernel` is the form of the filter's scan (it reports the same either way).
    pub(crate) fn new(patterns: &[Pattern], kernel: Kernel) -> Option<Self> {
        if let Some(filtered) = Filtered::new(patterns, kernel) {
            return Some(Self {
                engine: Engine::Filtered(Box::new(filtered)),
            });
        }
        dfa(patterns).map(|dfa| Self {
            engine: Engine::Dfa(dfa),
        })
    }

    /// Calls `each` for every trigger in `text`, by start and then shortest first.
    pub(crate) fn for_each(&self, text: &[u8], each: impl FnMut(TriggerMatch)) {
        match &self.engine {
            Engine::Filtered(filtered) => filtered.for_each(text, each),
            Engine::Dfa(dfa) => dfa_for_each(dfa, text, each),
        }
    }

    #[cfg(test)]
    fn dfa_only(patterns: &[Pattern]) -> Self {
        Self {
            engine: Engine::Dfa(dfa(patterns).expect("builds")),
        }
    }
}

fn dfa(patterns: &[Pattern]) -> Option<AhoCorasick> {
    let patterns = patterns.iter().map(|p| &p.bytes);
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        // A full DFA: one table lookup per byte (the default NFA is several times slower here).
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .build(patterns)
        .ok()
}

fn dfa_for_each(dfa: &AhoCorasick, text: &[u8], mut each: impl FnMut(TriggerMatch)) {
    // Overlapping matches come by end; they are reordered by start within a window that no
    // pattern can span, so the buffer stays small whatever the text.
    let longest = dfa.max_pattern_len();
    let mut pending: Vec<TriggerMatch> = Vec::new();
    for m in dfa.find_overlapping_iter(text) {
        let found = TriggerMatch {
            start: m.start(),
            end: m.end(),
            pattern: m.pattern().as_usize(),
        };
        // Everything pending that starts before any later match can start is final.
        let settled = found.end.saturating_sub(longest);
        if pending.first().is_some_and(|p| p.start < settled) {
            pending.sort_unstable_by_key(|p| (p.start, p.end, p.pattern));
            let cut = pending.partition_point(|p| p.start < settled);
            pending.drain(..cut).for_each(&mut each);
        }
        pending.push(found);
    }
    pending.sort_unstable_by_key(|p| (p.start, p.end, p.pattern));
    pending.into_iter().for_each(each);
}

#[derive(Debug, Clone)]
struct Filtered {
    /// Every pattern, lower-cased.
    patterns: Vec<Box<[u8]>>,
    /// The AVX2 kernel, where the scan runs in that form (see [`Filtered::search_chunk`]).
    #[cfg(target_arch = "x86_64")]
    avx2: Option<Avx2>,
    /// One bit per [`trigram_key`], set for the key of every three bytes entered in `even`:
    /// where the bit of a position's three bytes is clear, `even` holds no entry for them
    /// (though a chance one of the hash may be there, in which no pattern can match), so the
    /// vector form of the scan looks `even` up only where it is set.
    #[cfg(target_arch = "x86_64")]
    present: Box<[u32; PRESENT_WORDS]>,
    /// Shorter patterns by last byte.
    short_by_last: Vec<Vec<u32>>,
    /// The distinct last bytes of the short patterns, either case (at most three, for memchr3).
    short_needles: Vec<u8>,
    /// One entry per hashed, case-folded three-byte sequence, looked up at even positions only:
    /// zero means no pattern is near, else the entry (minus one) names a group of (pattern,
    /// where it starts relative to the position) pairs to compare. A pattern of four bytes or
    /// more is entered by its rarest piece at an even offset and at an odd one (starting that
    /// many bytes before); a three-byte pattern by its bytes (starting here) and, for every
    /// byte that may come before it, by that byte and its first two (starting one after).
    /// Every start, odd or even, is then seen from one even position.
    even: Box<[u16; 1 << FILTER_BITS]>,
    /// Entry `g` names `candidates[group_starts[g - 1]..group_starts[g]]`: one array, so that a
    /// hit reads a few neighbouring cache lines, not a list per entry.
    group_starts: Vec<u32>,
    /// For entry `g` (at `g - 1`), the bytes that may stand just before and just after the
    /// three bytes looked up, for any of its patterns to match: a bit per [`folded`] byte,
    /// every bit where a pattern leaves the byte open (it starts or ends there). Most pieces
    /// are parts of ordinary words (`use` of `user`, `gin` of `login`): a hit in a word that
    /// is not the pattern's is turned away by its neighbours before any pattern is compared.
    neighbours: Vec<Neighbours>,
    candidates: Vec<Candidate>,
    /// The furthest a pattern's entered piece lies from its start: a match starting at `s` is
    /// seen from an even position in `s - 1..=s + reach`.
    reach: usize,
    /// For a three-byte pattern with a [`Beside`], the bytes allowed beside it (a bit each,
    /// both cases): a chance hit from another entry of the filter must not report it at an odd
    /// start the filter left out.
    beside: Vec<Option<(bool, [u64; 4])>>,
}

/// The bytes allowed beside the three bytes of a filter entry, a bit per [`folded`] byte.
#[derive(Debug, Clone, Copy)]
struct Neighbours {
    before: u64,
    after: u64,
}

impl Neighbours {
    /// Whether the bytes beside the three at `at` (when the text has them) are allowed.
    fn allow(self, text: &[u8], at: usize) -> bool {
        let allowed = |set: u64, byte: Option<&u8>| byte.is_none_or(|&b| set >> folded(b) & 1 == 1);
        allowed(self.after, text.get(at + PREFIX))
            && allowed(self.before, at.checked_sub(1).map(|b| &text[b]))
    }
}

/// A byte as six bits: its low five, and bit 6 as bit 5, so that a letter's two cases (which
/// differ in bit 5) are one. Bytes that differ in bit 5 or bit 7 only are one too (`@` and
/// `` ` ``): that only lets more through.
fn folded(b: u8) -> u32 {
    u32::from((b & 0x1f) | (b >> 1 & 0x20))
}

/// A pattern that may start near an even position, with its first (up to) four bytes folded to
/// one case, so that most chance hits are turned away by one comparison of four bytes.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    pattern: u32,
    /// Where the pattern would start, relative to the position: from `-MAX_PIECE_OFFSET` to 1.
    delta: i16,
    len: u32,
    /// The pattern's first bytes with letters' case bit cleared, and which bits of a four-byte
    /// read they are compared with.
    head: u32,
    head_mask: u32,
}

impl Candidate {
    fn new(pattern: u32, delta: i16, bytes: &[u8]) -> Option<Self> {
        let mut head = [0u8; 4];
        let mut mask = [0u8; 4];
        for (k, &b) in bytes.iter().take(4).enumerate() {
            head[k] = b & 0xdf;
            mask[k] = 0xdf;
        }
        Some(Self {
            pattern,
            delta,
            len: u32::try_from(bytes.len()).ok()?,
            head: u32::from_le_bytes(head),
            head_mask: u32::from_le_bytes(mask),
        })
    }
}

/// Bits of the filter's index: 131072 entries of two bytes. The built-in triggers fill 2 211 of
/// them (most for the three-byte patterns, once per case-folded byte beside them that their
/// [`Beside`] allows). On the scrub bench's clean log text one even position in 55 hits an
/// entry (one in 38 before pieces of common words were ranked common, [`COMMON_PIECES`], and
/// a piece already entered was taken again; one in 156 before the key names, identities and
/// vendor prefixes of the larger detector set); 65536 entries measured 7 % slower, 262144 no
/// faster, and a bit set of the occupied entries (16 KiB, in the first-level cache) 10 %
/// slower than the table of entries it saves reading.
const FILTER_BITS: u32 = 17;

/// Pieces of a pattern are entered no further than this from its start, so that a search
/// looks at most this far past the starts it reports.
const MAX_PIECE_OFFSET: usize = 32;

/// Where the three-byte piece of `pattern` (four bytes or more) that text is least likely to
/// hold by chance starts, among the offsets of `parity`: a pattern starting at an even position
/// has its even-offset pieces there, and one starting at an odd position its odd-offset ones.
/// Every chance hit costs a mispredicted branch and a comparison, and a pattern's first pieces
/// are often common words' (`---` of `-----BEGIN `, `ith` of `github_pat_`, `pro` of
/// `\profiles\`): entering the rarest cut the hits on the bench's log text to a third. A
/// piece the filter already stops at for `entered(piece)` other patterns adds no hit, only one
/// more comparison at each: it costs that many, so that a piece many patterns share is not
/// shared further (text dense with their triggers compares them all at every hit).
fn rarest_piece(pattern: &[u8], parity: usize, entered: impl Fn([u8; 3]) -> Option<u32>) -> usize {
    (parity..=(pattern.len() - PREFIX).min(MAX_PIECE_OFFSET))
        .step_by(2)
        .min_by_key(|&at| {
            let three = [pattern[at], pattern[at + 1], pattern[at + 2]];
            entered(three).unwrap_or_else(|| piece_commonness(three))
        })
        .expect("a pattern of four bytes or more has a piece at either parity")
}

/// How often a three-byte piece (lower case) comes by in text: its bytes' [`commonness`], and
/// far more when it is one of [`COMMON_PIECES`].
fn piece_commonness(three: [u8; 3]) -> u32 {
    let bytes: u32 = three.iter().map(|&b| commonness(b)).sum();
    if COMMON_PIECES.contains(&three) {
        bytes + 16
    } else {
        bytes
    }
}

/// Three-letter pieces of words that log lines and prose are full of (English stems and
/// endings, and the vocabulary of logs and exceptions: `host`, `user`, `status`, `name`,
/// `run`, `login`…): our own list, not measured on any corpus. Made of common letters, such a
/// piece would often rank as rare as one that is not: `red` of `credential`, `hos` of
/// `hostname`, `run` of `runas`.
const COMMON_PIECES: &[[u8; 3]] = &[
    *b"ace", *b"ach", *b"ack", *b"act", *b"ade", *b"age", *b"ail", *b"ain", *b"ali", *b"all",
    *b"ame", *b"and", *b"ant", *b"are", *b"art", *b"ase", *b"ass", *b"ata", *b"ate", *b"ati",
    *b"ble", *b"cal", *b"cat", *b"ces", *b"cha", *b"che", *b"cla", *b"com", *b"con", *b"cor",
    *b"cti", *b"dat", *b"def", *b"den", *b"der", *b"eat", *b"ect", *b"ell", *b"ems", *b"enc",
    *b"end", *b"ent", *b"era", *b"ere", *b"ern", *b"err", *b"ers", *b"ert", *b"ese", *b"ess",
    *b"est", *b"ete", *b"eve", *b"exc", *b"fai", *b"fig", *b"fil", *b"for", *b"fro", *b"get",
    *b"han", *b"has", *b"hat", *b"her", *b"his", *b"hos", *b"ice", *b"ide", *b"ied", *b"ile",
    *b"ill", *b"ime", *b"ine", *b"ing", *b"ini", *b"int", *b"ion", *b"ist", *b"ite", *b"iti",
    *b"ity", *b"ive", *b"lin", *b"lis", *b"loa", *b"log", *b"lue", *b"man", *b"men", *b"mpl",
    *b"nam", *b"nce", *b"nde", *b"ndi", *b"ner", *b"nfi", *b"nne", *b"nte", *b"nti", *b"nit",
    *b"not", *b"ode", *b"ogg", *b"ome", *b"omp", *b"one", *b"ons", *b"ont", *b"ore", *b"ork",
    *b"ors", *b"ost", *b"oth", *b"our", *b"out", *b"ove", *b"par", *b"per", *b"ple", *b"pon",
    *b"pre", *b"pro", *b"put", *b"que", *b"ran", *b"rat", *b"rea", *b"red", *b"req", *b"res",
    *b"rom", *b"ror", *b"run", *b"sen", *b"ser", *b"ses", *b"set", *b"sio", *b"sta", *b"ste",
    *b"sto", *b"str", *b"sys", *b"tat", *b"ted", *b"tem", *b"ter", *b"tha", *b"the", *b"thi",
    *b"tim", *b"tin", *b"tio", *b"tor", *b"tra", *b"tur", *b"tus", *b"ues", *b"ult", *b"ure",
    *b"use", *b"val", *b"ver", *b"vic", *b"was", *b"whi", *b"wit", *b"wor", *b"yst",
];

/// A rough rank of how often a byte occurs in log lines and prose (our own coarse grading, not
/// measured on any corpus): the space first, then the common letters, path and URL
/// punctuation, digits, down to rare letters and symbols.
fn commonness(b: u8) -> u32 {
    match b.to_ascii_lowercase() {
        b' ' => 6,
        b'e' | b't' | b'a' | b'o' | b'i' | b'n' => 5,
        b's' | b'h' | b'r' | b'd' | b'l' | b'-' | b'.' | b'/' | b':' => 4,
        b'c' | b'u' | b'm' | b'w' | b'f' | b'g' | b'y' | b'p' | b'0'..=b'9' => 3,
        b'b' | b'v' | b'k' | b'_' | b'\\' | b'=' | b'"' | b'\'' | b',' | b'(' | b')' => 2,
        _ => 1,
    }
}

/// The filter's bit for the three bytes in the low end of `word`: letters fold to one case by
/// clearing bit 5 (a few punctuation bytes fold onto control bytes; that only costs a failed
/// comparison now and then).
fn filter_key(word: u32) -> usize {
    ((word & 0x00df_dfdf).wrapping_mul(0x9e37_79b1) >> (32 - FILTER_BITS)) as usize
}

/// Bits of a [`trigram_key`].
#[cfg(target_arch = "x86_64")]
const TRIGRAM_KEY_BITS: u32 = 18;

/// The `u32` words of [`Filtered::present`]: one bit per [`trigram_key`], 32 KiB, which stay in
/// the first-level cache.
#[cfg(target_arch = "x86_64")]
pub(crate) const PRESENT_WORDS: usize = 1 << (TRIGRAM_KEY_BITS - 5);

/// The bytes the vector form of the scan steps by: sixteen even positions.
#[cfg(target_arch = "x86_64")]
pub(crate) const TRIGRAM_STEP: usize = 32;

/// The bytes the vector form of the scan reads for a step: the step's, and the eight after
/// them (of which it needs two).
#[cfg(target_arch = "x86_64")]
pub(crate) const TRIGRAM_READ: usize = TRIGRAM_STEP + 8;

/// Three bytes as eighteen bits, six of each: its low five bits and bit 6, so that a letter's
/// two cases (which differ in bit 5) have one key. Bytes that differ in bit 5 or bit 7 only
/// share a key (`@` and `` ` ``, a byte and the byte 0x80 above it): that only costs a lookup.
#[cfg(target_arch = "x86_64")]
pub(crate) fn trigram_key(three: [u8; 3]) -> usize {
    let fold = |b: u8| folded(b) as usize;
    fold(three[0]) | fold(three[1]) << 6 | fold(three[2]) << 12
}

impl Filtered {
    fn new(patterns: &[Pattern], kernel: Kernel) -> Option<Self> {
        let lowered: Vec<Box<[u8]>> = patterns
            .iter()
            .map(|p| p.bytes.to_ascii_lowercase().into_boxed_slice())
            .collect();
        if lowered.iter().any(|p| p.is_empty()) {
            return None;
        }
        let mut short_by_last = vec![Vec::new(); 256];
        let mut short_needles = Vec::new();
        for (i, pattern) in lowered.iter().enumerate() {
            let index = u32::try_from(i).ok()?;
            if pattern.len() < PREFIX {
                let last = pattern[pattern.len() - 1];
                short_by_last[usize::from(last)].push(index);
                for needle in [last, last.to_ascii_uppercase()] {
                    if !short_needles.contains(&needle) {
                        short_needles.push(needle);
                    }
                }
            }
        }
        if short_needles.len() > 3 {
            return None;
        }
        #[cfg(target_arch = "x86_64")]
        let avx2 = match kernel {
            Kernel::Avx2(avx2) => Some(avx2),
            Kernel::Scalar => None,
        };
        // Where this target has no vector form, the scalar one is the only kernel.
        #[cfg(not(target_arch = "x86_64"))]
        let Kernel::Scalar = kernel;
        let mut even = Box::new([0u16; 1 << FILTER_BITS]);
        // Every three bytes entered, for the vector form's `present`.
        let mut entered = Vec::new();
        let mut even_groups: Vec<Vec<(u32, i16)>> = Vec::new();
        let mut enter = |even: &mut [u16; 1 << FILTER_BITS],
                         groups: &mut Vec<Vec<(u32, i16)>>,
                         three: [u8; 3],
                         entry: (u32, i16)|
         -> Option<()> {
            entered.push(three);
            let key = filter_key(u32::from_le_bytes([three[0], three[1], three[2], 0]));
            if even[key] == 0 {
                groups.push(Vec::new());
                even[key] = u16::try_from(groups.len()).ok()?;
            }
            let group = &mut groups[usize::from(even[key]) - 1];
            if !group.contains(&entry) {
                group.push(entry);
            }
            Some(())
        };
        let mut reach = 0;
        // The pieces that leave no choice first (a pattern of three bytes, a parity with one
        // piece); then each other pattern's rarest piece, where one the filter already stops at
        // adds no hit.
        let mut chosen: Vec<(u32, usize)> = Vec::new();
        for (i, pattern) in lowered.iter().enumerate() {
            let index = u32::try_from(i).ok()?;
            match pattern.len() {
                0..PREFIX => {}
                PREFIX => {
                    enter(
                        &mut even,
                        &mut even_groups,
                        [pattern[0], pattern[1], pattern[2]],
                        (index, 0),
                    )?;
                    // A start at an odd position is seen from the even position before it
                    // (the byte before and the pattern's first two) or after it (the
                    // pattern's last two and the byte after): with the bytes its `Beside`
                    // allows, or else whichever pair is rarer in text, with every byte.
                    let first_two = commonness(pattern[0]) + commonness(pattern[1]);
                    let last_two = commonness(pattern[1]) + commonness(pattern[2]);
                    let (after, beside): (bool, Vec<u8>) = match &patterns[i].beside {
                        Some(b) => (b.after, b.bytes.to_ascii_lowercase()),
                        None => (first_two > last_two, (0..=255).collect()),
                    };
                    for b in beside {
                        if after {
                            enter(
                                &mut even,
                                &mut even_groups,
                                [pattern[1], pattern[2], b],
                                (index, -1),
                            )?;
                        } else {
                            enter(
                                &mut even,
                                &mut even_groups,
                                [b, pattern[0], pattern[1]],
                                (index, 1),
                            )?;
                        }
                    }
                }
                len => {
                    for parity in [0, 1] {
                        if len < PREFIX + 2 + parity {
                            // One piece of this parity: `rarest_piece` has no choice.
                            let three = [pattern[parity], pattern[parity + 1], pattern[parity + 2]];
                            reach = reach.max(parity);
                            enter(
                                &mut even,
                                &mut even_groups,
                                three,
                                (index, -i16::try_from(parity).ok()?),
                            )?;
                        } else {
                            chosen.push((index, parity));
                        }
                    }
                }
            }
        }
        for (index, parity) in chosen {
            let pattern = &lowered[index as usize];
            let at = rarest_piece(pattern, parity, |three| {
                let entry = even[filter_key(u32::from_le_bytes([three[0], three[1], three[2], 0]))];
                (entry != 0).then(|| {
                    u32::try_from(even_groups[usize::from(entry) - 1].len()).unwrap_or(u32::MAX)
                })
            });
            let three = [pattern[at], pattern[at + 1], pattern[at + 2]];
            reach = reach.max(at);
            enter(
                &mut even,
                &mut even_groups,
                three,
                (index, -i16::try_from(at).ok()?),
            )?;
        }
        #[cfg(target_arch = "x86_64")]
        let present = {
            let mut present = Box::new([0u32; PRESENT_WORDS]);
            for three in entered {
                let bit = trigram_key(three);
                present[bit / 32] |= 1 << (bit % 32);
            }
            present
        };
        #[cfg(not(target_arch = "x86_64"))]
        drop(entered);
        let mut group_starts = vec![0u32];
        let mut candidates = Vec::new();
        let mut neighbours = Vec::new();
        for group in &even_groups {
            let mut beside = Neighbours {
                before: 0,
                after: 0,
            };
            for &(pattern, delta) in group {
                let bytes = &lowered[pattern as usize];
                candidates.push(Candidate::new(pattern, delta, bytes)?);
                // The pattern's bytes before and after the three at the position, where the
                // pattern has them: it starts `delta` bytes from the position.
                let at = |offset: isize| {
                    usize::try_from(offset - isize::from(delta))
                        .ok()
                        .and_then(|i| bytes.get(i))
                        .map_or(u64::MAX, |&b| 1 << folded(b))
                };
                beside.before |= at(-1);
                beside.after |= at(PREFIX as isize);
            }
            group_starts.push(u32::try_from(candidates.len()).ok()?);
            neighbours.push(beside);
        }
        let beside = patterns
            .iter()
            .map(|p| {
                p.beside
                    .as_ref()
                    .filter(|_| p.bytes.len() == PREFIX)
                    .map(|b| {
                        let mut allowed = [0u64; 4];
                        for byte in b.bytes.iter().flat_map(|c| [*c, c.to_ascii_uppercase()]) {
                            allowed[usize::from(byte >> 6)] |= 1 << (byte & 63);
                        }
                        (b.after, allowed)
                    })
            })
            .collect();
        Some(Self {
            beside,
            #[cfg(target_arch = "x86_64")]
            avx2,
            #[cfg(target_arch = "x86_64")]
            present,
            patterns: lowered,
            short_by_last,
            short_needles,
            even,
            group_starts,
            neighbours,
            candidates,
            reach,
        })
    }

    fn for_each(&self, text: &[u8], mut each: impl FnMut(TriggerMatch)) {
        // (start, length, pattern) of one chunk's matches, sorted before they are reported.
        let mut found: Vec<(usize, usize, usize)> = Vec::new();
        let mut chunk_start = 0;
        while chunk_start < text.len() {
            let chunk_end = text.len().min(chunk_start + CHUNK);
            found.clear();
            self.search_chunk(text, chunk_start, chunk_end, &mut found);
            found.sort_unstable();
            for &(start, len, pattern) in &found {
                each(TriggerMatch {
                    start,
                    end: start + len,
                    pattern,
                });
            }
            chunk_start = chunk_end;
        }
    }

    /// Compares the patterns of even-position entry `group` (plus one) seen at `at`, keeping
    /// the matches that start in `starts`.
    fn matches_near(
        &self,
        text: &[u8],
        at: usize,
        group: u16,
        starts: std::ops::Range<usize>,
        found: &mut Vec<(usize, usize, usize)>,
    ) {
        let group = usize::from(group);
        if !self.neighbours[group - 1].allow(text, at) {
            return;
        }
        let range = self.group_starts[group - 1] as usize..self.group_starts[group] as usize;
        for candidate in &self.candidates[range] {
            let Some(start) = at.checked_add_signed(isize::from(candidate.delta)) else {
                continue;
            };
            let end = start + candidate.len as usize;
            if !starts.contains(&start) || end > text.len() {
                continue;
            }
            if let Some(four) = text.get(start..start + 4) {
                let four = u32::from_le_bytes(four.try_into().expect("four bytes"));
                if four & candidate.head_mask != candidate.head {
                    continue;
                }
            }
            let pattern = candidate.pattern as usize;
            if text[start..end].eq_ignore_ascii_case(&self.patterns[pattern])
                && self.beside_allows(pattern, text, start, end)
            {
                found.push((start, end - start, pattern));
            }
        }
    }

    /// False for a three-byte pattern at an odd start without an allowed byte beside it.
    fn beside_allows(&self, pattern: usize, text: &[u8], start: usize, end: usize) -> bool {
        let Some((after, allowed)) = &self.beside[pattern] else {
            return true;
        };
        if start.is_multiple_of(2) {
            return true;
        }
        let byte = if *after {
            text.get(end)
        } else {
            start.checked_sub(1).map(|b| &text[b])
        };
        byte.is_some_and(|b| allowed[usize::from(b >> 6)] >> (b & 63) & 1 == 1)
    }

    /// The even positions of [`Filtered::search_chunk`] from `at` up to `last`, by the AVX2
    /// kernel, while the text holds the bytes a step reads: the same positions, the same
    /// lookups where `present` says `even` holds an entry, so the same matches. Returns the
    /// position from which the scalar search goes on.
    #[cfg(target_arch = "x86_64")]
    fn search_even_avx2(
        &self,
        avx2: Avx2,
        text: &[u8],
        mut at: usize,
        last: usize,
        starts: std::ops::Range<usize>,
        found: &mut Vec<(usize, usize, usize)>,
    ) -> usize {
        // Thirty-two bytes at a time, and `even` looked up only where `present` says it holds
        // an entry for a position's three bytes: where it does not, no pattern can match (see
        // `present`). The vector loop only marks the positions, so that it runs without a
        // branch on what it finds.
        let mut hits = [0u32; 32];
        loop {
            let (steps, written) = avx2.trigram_hits(text, at, last, &self.present, &mut hits);
            for &hit in &hits[..written] {
                let step = at + TRIGRAM_STEP * (hit >> 16) as usize;
                // The step's entries first, looked up independently of each other (text dense
                // with triggers marks most positions), then their patterns compared.
                let mut entries = [(0usize, 0u16); TRIGRAM_STEP / 2];
                let mut marked = 0;
                let mut positions = hit & 0xffff;
                while positions != 0 {
                    let at = step + 2 * positions.trailing_zeros() as usize;
                    positions &= positions - 1;
                    let word = u32::from_le_bytes([text[at], text[at + 1], text[at + 2], 0]);
                    entries[marked] = (at, self.even[filter_key(word)]);
                    marked += 1;
                }
                for &(at, entry) in &entries[..marked] {
                    if entry != 0 {
                        self.matches_near(text, at, entry, starts.clone(), found);
                    }
                }
            }
            at += TRIGRAM_STEP * steps;
            if steps < hits.len() {
                return at;
            }
        }
    }

    /// The matches in `text` that start in `from..to`.
    fn search_chunk(
        &self,
        text: &[u8],
        from: usize,
        to: usize,
        found: &mut Vec<(usize, usize, usize)>,
    ) {
        // Even positions only, seven at a time from one read of sixteen bytes: the lookups do
        // not depend on each other, their entries are gathered in a register, and the rare hit
        // is handled after them. A start in `from..to` is seen from an even position in
        // `from - 1..=to + reach`.
        let even = &self.even;
        let last = to.saturating_add(self.reach);
        let mut at = from & !1;
        #[cfg(target_arch = "x86_64")]
        if let Some(avx2) = self.avx2 {
            at = self.search_even_avx2(avx2, text, at, last, from..to, found);
        }
        while at <= last
            && let Some(block) = text.get(at..at + 16)
        {
            let window = u128::from_le_bytes(block.try_into().expect("sixteen bytes"));
            // Only whether any entry is set is kept: the rare hit looks its entries up again,
            // so the common case holds nothing but this in registers.
            let mut any = 0u16;
            for k in 0..7 {
                any |= even[filter_key((window >> (16 * k)) as u32)];
            }
            if any != 0 {
                for k in 0..7 {
                    let entry = even[filter_key((window >> (16 * k)) as u32)];
                    if entry != 0 {
                        self.matches_near(text, at + 2 * k, entry, from..to, found);
                    }
                }
            }
            at += 14;
        }
        // The last positions read what the text holds, and a zero past its end: a three-byte
        // pattern at an odd start ending the text is seen from its last two bytes.
        while at <= last && at + PREFIX - 1 <= text.len() {
            let third = text.get(at + 2).copied().unwrap_or(0);
            let word = u32::from_le_bytes([text[at], text[at + 1], third, 0]);
            let entry = even[filter_key(word)];
            if entry != 0 {
                self.matches_near(text, at, entry, from..to, found);
            }
            at += 2;
        }
        // A short pattern's last byte may lie one past the chunk's last start.
        let window_end = text.len().min(to + PREFIX - 1);
        let mut short = |offset: usize| {
            let last_at = from + offset;
            let last = text[last_at].to_ascii_lowercase();
            for &pattern in &self.short_by_last[usize::from(last)] {
                let bytes = &self.patterns[pattern as usize];
                let Some(start) = (last_at + 1).checked_sub(bytes.len()) else {
                    continue;
                };
                if (from..to).contains(&start) && text[start..=last_at].eq_ignore_ascii_case(bytes)
                {
                    found.push((start, bytes.len(), pattern as usize));
                }
            }
        };
        let window = &text[from..window_end];
        match self.short_needles[..] {
            [] => {}
            [a] => memchr::memchr_iter(a, window).for_each(&mut short),
            [a, b] => memchr::memchr2_iter(a, b, window).for_each(&mut short),
            [a, b, c, ..] => memchr::memchr3_iter(a, b, c, window).for_each(&mut short),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    fn all(search: &TriggerSearch, text: &[u8]) -> Vec<TriggerMatch> {
        let mut out = Vec::new();
        search.for_each(text, |m| out.push(m));
        out
    }

    fn patterns() -> Vec<Pattern> {
        let mut patterns: Vec<Pattern> = super::super::literal::builtin_triggers()
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        patterns.extend([
            Pattern::plain("jdoe"),
            Pattern::plain("/home/jdoe"),
            Pattern::plain("buildhost-17"),
            // A home folder long enough that its rarest pieces lie far from its start.
            Pattern::plain(LONG_LITERAL),
        ]);
        patterns
    }

    /// What the filtered search must report: every match the DFA reports, but for a
    /// three-byte pattern at an odd start a byte beside it that its [`Beside`] allows.
    fn expected(dfa: &TriggerSearch, patterns: &[Pattern], text: &[u8]) -> Vec<TriggerMatch> {
        all(dfa, text)
            .into_iter()
            .filter(|m| {
                let Some(beside) = &patterns[m.pattern].beside else {
                    return true;
                };
                if m.start % 2 == 0 || m.end - m.start != PREFIX {
                    return true;
                }
                let byte = if beside.after {
                    text.get(m.end)
                } else {
                    m.start.checked_sub(1).map(|b| &text[b])
                };
                byte.is_some_and(|b| beside.bytes.contains(&b.to_ascii_lowercase()))
            })
            .collect()
    }

    const LONG_LITERAL: &str = "/home/jdoe/projects/a-rather-long-folder-name_xyz";

    #[test]
    fn the_filtered_search_reports_what_the_dfa_reports() {
        for kernel in Kernel::all() {
            the_filtered_search_reports_what_the_dfa_reports_by(kernel);
        }
    }

    fn the_filtered_search_reports_what_the_dfa_reports_by(kernel: Kernel) {
        let patterns = patterns();
        let filtered = TriggerSearch::new(&patterns, kernel).expect("builds");
        let dfa = TriggerSearch::dfa_only(&patterns);
        let mut text = String::new();
        for i in 0..4000 {
            text.push_str(match i % 9 {
                0 => "Password=x; USER id=jdoe@BuildHost-17 ",
                1 => "\\\\srv\\share q~x @ %40 ://a ",
                2 => "plain words with no trigger at all, numbers 12 34 ",
                3 => "sk_live_abc sk-proj xoxb-1 ghp_ eyJ AKIA -----BEGIN ",
                4 => "/home/jdoe/Users/ \\users\\ &#64; \\u0040 ",
                5 => "tokentokentoken userusername ",
                6 => "@",
                7 => "\\",
                _ => "q",
            });
        }
        let bytes = text.as_bytes();
        assert_eq!(
            all(&filtered, bytes),
            expected(&dfa, &patterns, bytes),
            "{kernel:?}"
        );
        // Short texts end before a whole block of eight positions.
        for line in text.split(' ').take(200) {
            assert_eq!(
                all(&filtered, line.as_bytes()),
                expected(&dfa, &patterns, line.as_bytes()),
                "{kernel:?}"
            );
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1000))]

        #[test]
        fn the_filtered_search_agrees_with_the_dfa_at_every_offset(
            pieces in proptest::collection::vec(proptest::prop_oneof![
                proptest::sample::select(patterns()).prop_map(|p| p.bytes),
                "[a-zA-Z0-9 @%:/_.~=-]{0,5}".prop_map(String::into_bytes),
            ], 0..60)
        ) {
            let patterns = patterns();
            let dfa = TriggerSearch::dfa_only(&patterns);
            let text = pieces.concat();
            for kernel in Kernel::all() {
                let filtered = TriggerSearch::new(&patterns, kernel).expect("builds");
                // Every start parity and every tail length.
                for skip in 0..3.min(text.len() + 1) {
                    let bytes = &text[skip..];
                    proptest::prop_assert_eq!(
                        all(&filtered, bytes),
                        expected(&dfa, &patterns, bytes),
                        "{:?}", kernel
                    );
                }
            }
        }
    }

    #[test]
    fn the_built_in_triggers_take_the_filtered_search() {
        // Adding a fourth short trigger, or more than 65535 filter entries, would silently fall
        // back to the DFA and cost the scrubber most of its speed.
        for kernel in Kernel::all() {
            let search = TriggerSearch::new(&patterns(), kernel).expect("builds");
            assert!(matches!(search.engine, Engine::Filtered(_)));
        }
    }

    #[test]
    fn each_parity_enters_its_least_common_piece() {
        let even = rarest_piece(b"-----begin ", 0, |_| None);
        let odd = rarest_piece(b"-----begin ", 1, |_| None);
        assert_eq!((even % 2, odd % 2), (0, 1));
        assert_ne!(&b"-----begin "[even..even + PREFIX], b"---");
        assert_ne!(&b"-----begin "[odd..odd + PREFIX], b"---");
        // `ub_` and `b_p` are rarer than `git` and `ith`.
        assert_eq!(rarest_piece(b"github_pat_", 0, |_| None), 4);
        assert_eq!(rarest_piece(b"github_pat_", 1, |_| None), 5);
        // Pieces of common words are passed over: `hos` of `hostname`, `run` of `runas`.
        assert_eq!(rarest_piece(b"hostname", 0, |_| None), 2);
        assert_eq!(rarest_piece(b"runas", 0, |_| None), 2);
        // A piece the filter already stops at is taken again: it adds no hit.
        assert_eq!(
            rarest_piece(b"hostname", 0, |t| (&t == b"nam").then_some(1)),
            4
        );
        // Unless many patterns share it already.
        assert_eq!(
            rarest_piece(b"hostname", 0, |t| (&t == b"nam").then_some(40)),
            2
        );
        // A four-byte pattern has one piece of each parity.
        assert_eq!(
            (
                rarest_piece(b"akia", 0, |_| None),
                rarest_piece(b"akia", 1, |_| None)
            ),
            (0, 1)
        );
        // However long the pattern, its pieces lie near its start.
        let long = "ab".repeat(100);
        assert!(rarest_piece(long.as_bytes(), 1, |_| None) <= MAX_PIECE_OFFSET);
        let search = TriggerSearch::new(&patterns(), Kernel::Scalar).expect("builds");
        let Engine::Filtered(filtered) = &search.engine else {
            panic!("the built-in triggers take the filtered search");
        };
        assert!(filtered.reach > 8 && filtered.reach <= MAX_PIECE_OFFSET);
    }

    #[test]
    fn matches_across_a_chunk_boundary_are_found_once() {
        for kernel in Kernel::all() {
            matches_across_a_chunk_boundary_are_found_once_by(kernel);
        }
    }

    fn matches_across_a_chunk_boundary_are_found_once_by(kernel: Kernel) {
        let patterns = patterns();
        let filtered = TriggerSearch::new(&patterns, kernel).expect("builds");
        let dfa = TriggerSearch::dfa_only(&patterns);
        for offset in CHUNK - 12..CHUNK + 2 {
            let mut text = "x".repeat(offset);
            text.push_str("password\\\\q~@buildhost-17");
            let got = all(&filtered, text.as_bytes());
            assert_eq!(
                got,
                expected(&dfa, &patterns, text.as_bytes()),
                "offset {offset}"
            );
            // `password`, `\\` and each of its backslashes, `q~` and its `~`, `@`, the host.
            assert_eq!(got.len(), 8, "offset {offset}");
        }
        // A pattern whose entered pieces lie past the chunk's end while it starts before it.
        let long = patterns
            .iter()
            .position(|p| p.bytes == LONG_LITERAL.as_bytes())
            .expect("listed");
        for offset in CHUNK - LONG_LITERAL.len() - 4..CHUNK + 2 {
            let mut text = "x".repeat(offset);
            text.push_str(LONG_LITERAL);
            let got = all(&filtered, text.as_bytes());
            assert_eq!(
                got,
                expected(&dfa, &patterns, text.as_bytes()),
                "offset {offset}"
            );
            assert_eq!(
                got.iter().filter(|m| m.pattern == long).count(),
                1,
                "offset {offset}"
            );
        }
    }
}
