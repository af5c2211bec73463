//! Findings recognised by the shape of a whole word: Cisco MAC addresses, IBANs, wallet
//! addresses, Discord and Twilio tokens, and opaque high-entropy tokens of no known vendor.
//!
//! Wallets: Bitcoin addresses pass their Base58Check or bech32 checksum. Ethereum addresses are
//! `0x` and 40 hex digits; written in one case they carry no checksum and are addresses by shape,
//! written in mixed case they must pass EIP-55 (Keccak-256, from RustCrypto's `sha3`). A
//! mixed-case one that fails is not a wallet; it is replaced as a secret.
//!
//! The pass of blocks (`blocks`) finds the ends of the long runs of token characters (letters,
//! digits and `_ - + / = . ~`) in its masks, where it also settles, without reading a byte,
//! that most of them (words, dotted names, runs without a digit) hold no shape ([`run_ends`]);
//! each other run is looked at once, from the block where it ends, by validators that only read
//! the run, so the pass is linear. IBANs ([`iban`]) are checked by
//! the numeric scan, at the digits after two capital letters.
//!
//! The opaque-token rule, and what it deliberately keeps:
//! - a hexadecimal run of 20 or more digits is a secret, unless its length is that of a common
//!   digest (32, 40, 56, 64, 96 or 128: MD5, SHA-1, SHA-224, SHA-256, SHA-384, SHA-512, and
//!   GUIDs without hyphens), which telemetry legitimately carries (build ids, file hashes);
//! - any other run of 24 or more base64 / base64url characters is a secret when it mixes upper
//!   case, lower case and at least two digits and its characters carry at least 4 bits of
//!   Shannon entropy each (identifiers and words carry less), unless it is a subresource
//!   integrity hash (`sha256-…`) or a GUID.

use sha2::{Digest, Sha256};
use sha3::Keccak256;

use super::blocks::{BLOCK, Masks, Window, is_token};
use super::{Finding, Span};

/// Shorter runs hold nothing this module looks for (the shortest, a Cisco MAC, has 14 bytes).
/// IBANs, which may be written in groups of four, are found by the numeric scan.
const MIN_RUN: usize = 14;

/// The shortest run [`run`] finds anything in but a Cisco MAC address ([`CISCO_MAC_LEN`]).
const MIN_SHAPE: usize = 20;

/// Where in the block whose masks are `current` (`previous` are those of the block before) a
/// run of token bytes ends that [`block`] may find something in: bit i set when byte i is the
/// first after a run (the text's end included) of [`CISCO_MAC_LEN`] bytes, or of
/// [`MIN_SHAPE`] or more that holds a digit, or that began before the block before (whose
/// start and digits the masks do not show). A superset of the runs [`block`] passes to [`run`],
/// settled by the masks without reading a byte: most runs in log text are words and dotted
/// names without a digit, or shorter.
#[inline(always)]
pub(crate) fn run_ends(previous: &Masks, current: &Masks) -> u64 {
    let token = Window::new(previous.token(), current.token());
    let digit = Window::new(previous.digit, current.digit);
    // Bit i set when byte i - 1 is a token byte.
    let before = token << 1;
    // The runs' first bytes, but for the window's first byte: its run may have begun earlier.
    let starts = token & !before & Window::new(!1, !0);
    // A run's first byte added to its bytes that are no digits carries to the byte after the
    // run when it holds no digit; its first digit stops the carry.
    let digitless = ((token & !digit) + starts) & !token;
    // Bit i set when the n bytes before byte i are token bytes.
    let two = before & before << 1;
    let four = two & two << 2;
    let eight = four & four << 4;
    let fourteen = eight & eight << 6;
    let sixteen = eight & eight << 8;
    let twenty = sixteen & sixteen << 4;
    let exactly_fourteen = fourteen & !(token << 15);
    let ends = !token & before;
    (ends & (exactly_fourteen | twenty & !digitless)).high()
}

/// Examines the runs of token bytes that end in the block at `block` where `ends` (see
/// [`run_ends`]) says; `previous` and `current` are the masks of the block before and of this
/// one. Each run is found by the masks when it begins inside them, else by reading back to its
/// first byte: it ends in one block only, so it is read once.
pub(crate) fn block(
    bytes: &[u8],
    block: usize,
    previous: &Masks,
    current: &Masks,
    mut ends: u64,
    spans: &mut Vec<Span>,
) {
    let token = u128::from(previous.token()) | u128::from(current.token()) << 64;
    let digits = u128::from(previous.digit) | u128::from(current.digit) << 64;
    while ends != 0 {
        let offset = ends.trailing_zeros() as usize;
        ends &= ends - 1;
        // The byte after the run, and its place in the two blocks' masks.
        let end = (block + offset).min(bytes.len());
        let at = BLOCK + offset;
        // The token bytes right before it, up to the masks' first byte.
        let length = (!token << (2 * BLOCK - at)).leading_zeros() as usize;
        let (start, has_digit) = if length < at {
            let mask = (1u128 << length) - 1;
            (end - length, (digits >> (at - length)) & mask != 0)
        } else {
            let start = bytes[..end]
                .iter()
                .rposition(|b| !is_token(*b))
                .map_or(0, |n| n + 1);
            (start, bytes[start..end].iter().any(u8::is_ascii_digit))
        };
        if end - start >= MIN_RUN && (has_digit || end - start == CISCO_MAC_LEN) {
            run(&bytes[start..end], start, spans);
        }
    }
}

fn push(spans: &mut Vec<Span>, start: usize, end: usize, finding: Finding) {
    if start < end {
        spans.push(Span::new(start, end, finding));
    }
}

fn run(word: &[u8], offset: usize, spans: &mut Vec<Span>) {
    if is_cisco_mac(word) {
        push(spans, offset, offset + word.len(), Finding::Mac);
        return;
    }
    if word.len() < MIN_SHAPE {
        // Every other shape is at least this long (`instrumentation` is not looked at).
        return;
    }
    if is_discord_token(word) {
        push(spans, offset, offset + word.len(), Finding::ApiKey);
        return;
    }
    // The rest is about segments between dots, tildes and equals signs (`x.y` is two words and
    // `key=value` a key and a value, not one token).
    let mut at = 0;
    let mut previous: &[u8] = &[];
    for segment in word.split(|b| matches!(b, b'.' | b'~' | b'=')) {
        let start = offset + at;
        let segment_end = at + segment.len();
        at += segment.len() + 1;
        let key = std::mem::replace(&mut previous, segment);
        if segment.len() < 20 {
            // Its core, shorter still, is too short to be a token.
            continue;
        }
        // `PublicKey=0024000004800000…` (an assembly's strong name): a public key, published.
        if key.eq_ignore_ascii_case(b"PublicKey") {
            continue;
        }
        // Leading and trailing punctuation is not part of a token.
        let lead = segment
            .iter()
            .position(|b| b.is_ascii_alphanumeric())
            .unwrap_or(segment.len());
        let trail = segment
            .iter()
            .rposition(|b| b.is_ascii_alphanumeric())
            .map_or(lead, |p| p + 1);
        let core = &segment[lead..trail];
        if core.len() < 20 {
            continue;
        }
        // Padding belongs to a base64 token.
        let pad = if trail == segment.len() {
            word[segment_end..]
                .iter()
                .take_while(|b| **b == b'=')
                .count()
        } else {
            0
        };
        if let Some(finding) = classify(core) {
            push(spans, start + lead, start + trail + pad, finding);
        }
    }
}

fn classify(core: &[u8]) -> Option<Finding> {
    if !core.iter().any(u8::is_ascii_digit) {
        // Wallets, hexadecimal and opaque tokens all hold digits (a Twilio id's 32 hex digits
        // hold one but for odds of 1 in 10^13); a word such as `InvalidOperationException` is
        // settled by one look at its bytes.
        return None;
    }
    if is_wallet(core) {
        return Some(Finding::Wallet);
    }
    if core.len() == 42
        && core[0] == b'0'
        && matches!(core[1], b'x' | b'X')
        && core[2..].iter().all(u8::is_ascii_hexdigit)
    {
        // An Ethereum address whose EIP-55 checksum fails is no wallet, but is 160 bits all
        // the same (and software logs the addresses it rejects): a secret, whatever its
        // entropy.
        return Some(Finding::Secret);
    }
    if core.len() == 66
        && core[0] == b'0'
        && matches!(core[1], b'x' | b'X')
        && core[2..].iter().all(u8::is_ascii_hexdigit)
    {
        // `0x` and 256 bits: a raw private key as Ethereum tools write one (a digest is
        // written without the `0x`).
        return Some(Finding::Secret);
    }
    if is_twilio(core) || is_vendor_shaped(core) {
        return Some(Finding::ApiKey);
    }
    if is_aws_secret(core) {
        return Some(Finding::Secret);
    }
    if core.iter().all(u8::is_ascii_hexdigit) {
        let digest = matches!(core.len(), 32 | 40 | 56 | 64 | 96 | 128);
        // Random hex is about 3/8 letters: a long number with a letter or two in it is not.
        let letters = core.iter().filter(|b| b.is_ascii_alphabetic()).count();
        let mixed = letters >= core.len() / 6 && core.len() - letters >= core.len() / 6;
        return (!digest && mixed && distinct(core) >= 8).then_some(Finding::Secret);
    }
    is_opaque(core).then_some(Finding::Secret)
}

fn distinct(core: &[u8]) -> usize {
    let mut seen = [false; 256];
    for b in core {
        seen[usize::from(*b)] = true;
    }
    seen.iter().filter(|s| **s).count()
}

/// The most bytes whose entropy is measured: enough to tell, and bounded.
const ENTROPY_SPAN: usize = 256;

/// `c · log2(c)` for every count a measured stretch can hold, so that the entropy costs a
/// table look-up per byte, not a logarithm per distinct byte.
static COUNT_LOG2_COUNT: std::sync::LazyLock<[f64; ENTROPY_SPAN + 1]> =
    std::sync::LazyLock::new(|| std::array::from_fn(|c| c as f64 * (c as f64).log2().max(0.0)));

/// Shannon entropy in bits per byte of `core` (at most [`ENTROPY_SPAN`] bytes):
/// `log2(n) - Σ c·log2(c) / n` over the counts `c` of its distinct bytes.
fn entropy(core: &[u8]) -> f64 {
    debug_assert!(core.len() <= ENTROPY_SPAN);
    let table = &*COUNT_LOG2_COUNT;
    let mut counts = [0u16; 256];
    let mut sum = 0.0;
    for b in core {
        // Raising a count from c to c + 1 adds the difference of their terms.
        let count = &mut counts[usize::from(*b)];
        sum += table[usize::from(*count) + 1] - table[usize::from(*count)];
        *count += 1;
    }
    let n = core.len() as f64;
    n.log2() - sum / n
}

/// Rounding in [`entropy`] stays under this for stretches of at most [`ENTROPY_SPAN`] bytes
/// (a few hundred sums of terms below 2 048, each good to 1e-16 relative, divided by the
/// length), far under the distance from 4 bits of any stretch the review could build that is
/// not at 4 bits exactly (8.2e-10).
const ENTROPY_ROUNDING: f64 = 1e-12;

/// At least 4 bits per byte. A stretch at 4 exactly (16 bytes, as often each) counts whichever
/// way its logarithms round; the margin is too small to let in one that is truly below.
fn carries_four_bits(core: &[u8]) -> bool {
    entropy(core) >= 4.0 - ENTROPY_ROUNDING
}

fn is_opaque(core: &[u8]) -> bool {
    if core.len() < 24 {
        return false;
    }
    let upper = core.iter().filter(|b| b.is_ascii_uppercase()).count();
    let lower = core.iter().filter(|b| b.is_ascii_lowercase()).count();
    let digits = core.iter().filter(|b| b.is_ascii_digit()).count();
    if upper == 0 || lower == 0 || digits < 2 {
        return false;
    }
    for sri in [&b"sha256-"[..], b"sha384-", b"sha512-", b"sha1-"] {
        if core.len() > sri.len() && core[..sri.len()].eq_ignore_ascii_case(sri) {
            return false;
        }
    }
    if is_guid(core) {
        return false;
    }
    // Identifiers and paths are words: long runs of lower-case letters. Random tokens rarely
    // hold more than a few letters of one case in a row.
    let longest_lower = core
        .split(|b| !b.is_ascii_lowercase())
        .map(<[u8]>::len)
        .max()
        .unwrap_or(0);
    if longest_lower >= 8 {
        return false;
    }
    carries_four_bits(&core[..core.len().min(ENTROPY_SPAN)])
}

fn is_guid(core: &[u8]) -> bool {
    core.len() == 36
        && core.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// The length of a Cisco MAC address, `aabb.ccdd.eeff`.
const CISCO_MAC_LEN: usize = 14;

/// `aabb.ccdd.eeff`.
fn is_cisco_mac(word: &[u8]) -> bool {
    word.len() == CISCO_MAC_LEN
        && word.iter().enumerate().all(|(i, b)| match i {
            4 | 9 => *b == b'.',
            _ => b.is_ascii_hexdigit(),
        })
}

/// A Discord bot token: the bot's id in base64 (24–26 characters, starting `M`, `N` or `O`), a
/// timestamp (6–7) and an HMAC (27–38), dot-separated.
fn is_discord_token(word: &[u8]) -> bool {
    if !(59..=73).contains(&word.len()) {
        return false;
    }
    let mut parts = word.split(|b| *b == b'.');
    let (Some(id), Some(time), Some(mac), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let b64url = |p: &[u8]| {
        p.iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
    };
    (24..=26).contains(&id.len())
        && matches!(id[0], b'M' | b'N' | b'O')
        && (6..=7).contains(&time.len())
        && (27..=38).contains(&mac.len())
        && [id, time, mac].iter().all(|p| b64url(p))
        && id.iter().any(u8::is_ascii_digit)
}

/// Vendor tokens with no prefix to trigger on, recognised by their whole shape: a New Relic
/// license key (36 hex digits and `NRAL`), a Mailgun webhook signing key (`[a-h0-9]` in groups
/// of 32, 8 and 8), an Azure DevOps personal access token (84 letters and digits with `AZDO`
/// at 76).
fn is_vendor_shaped(core: &[u8]) -> bool {
    let new_relic = core.len() == 40
        && core[36..].eq_ignore_ascii_case(b"NRAL")
        && core[..36].iter().all(u8::is_ascii_alphanumeric);
    let mailgun = core.len() == 50
        && core.iter().enumerate().all(|(i, b)| match i {
            32 | 41 => *b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'h').contains(b),
        });
    let azure_devops =
        core.len() == 84 && &core[76..80] == b"AZDO" && core.iter().all(u8::is_ascii_alphanumeric);
    new_relic || mailgun || azure_devops
}

/// An AWS secret access key written alone: 40 characters of base64 (`+` and `/` among
/// letters and digits), mixed case, random by its entropy and its lack of long words.
fn is_aws_secret(core: &[u8]) -> bool {
    core.len() == 40
        && core
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/'))
        && core.iter().any(u8::is_ascii_uppercase)
        && core.iter().any(u8::is_ascii_lowercase)
        && core
            .split(|b| !b.is_ascii_lowercase())
            .all(|run| run.len() < 8)
        && core
            .split(|b| !b.is_ascii_uppercase())
            .all(|run| run.len() < 12)
        && carries_four_bits(core)
}

/// Twilio API key (`SK`) or account (`AC`) id: the prefix and 32 lower-case hex digits.
fn is_twilio(core: &[u8]) -> bool {
    core.len() == 34
        && (core.starts_with(b"SK") || core.starts_with(b"AC"))
        && core[2..]
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

fn is_wallet(core: &[u8]) -> bool {
    if core.len() == 42 && core[0] == b'0' && matches!(core[1], b'x' | b'X') {
        return is_ethereum_address(&core[2..]);
    }
    if core.len() >= 14 && core[..3].eq_ignore_ascii_case(b"bc1") {
        return bech32_valid(core);
    }
    matches!(core.first(), Some(b'1' | b'3'))
        && (26..=35).contains(&core.len())
        && base58check(core)
}

/// The 40 hex digits of an Ethereum address (after `0x`). Written in one case they carry no
/// checksum, and are an address by shape alone: `0x` and 160 bits is what an address looks
/// like, and those are kept by nothing else. Written in mixed case they carry an EIP-55
/// checksum: a letter is upper case exactly when the matching hex digit of the Keccak-256 hash
/// of the lower-case address is 8 or more. A mixed-case run that fails the check is not an
/// address (it may still be an opaque token, which the caller decides).
fn is_ethereum_address(hex: &[u8]) -> bool {
    if hex.len() != 40 || !hex.iter().all(u8::is_ascii_hexdigit) {
        return false;
    }
    let upper = hex.iter().any(u8::is_ascii_uppercase);
    let lower = hex.iter().any(u8::is_ascii_lowercase);
    if !(upper && lower) {
        return true;
    }
    let mut lowered = [0u8; 40];
    lowered.copy_from_slice(hex);
    lowered.make_ascii_lowercase();
    let hash = Keccak256::digest(lowered);
    hex.iter().enumerate().all(|(i, b)| {
        let nibble = (hash[i / 2] >> if i % 2 == 0 { 4 } else { 0 }) & 0x0f;
        !b.is_ascii_alphabetic() || b.is_ascii_uppercase() == (nibble >= 8)
    })
}

const BASE58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// A Base58Check string: the decoded bytes end in the first four bytes of the double SHA-256
/// of the rest.
fn base58check(text: &[u8]) -> bool {
    // 35 base58 digits fit in 26 bytes; decode into a fixed buffer.
    let mut out = [0u8; 32];
    for c in text {
        let Some(mut carry) = BASE58.iter().position(|b| b == c) else {
            return false;
        };
        for byte in out.iter_mut().rev() {
            carry += usize::from(*byte) * 58;
            *byte = (carry & 0xff) as u8;
            carry >>= 8;
        }
        if carry != 0 {
            return false;
        }
    }
    let leading_ones = text.iter().take_while(|c| **c == b'1').count();
    let first = out.iter().position(|b| *b != 0).unwrap_or(out.len());
    let mut decoded = vec![0u8; leading_ones];
    decoded.extend_from_slice(&out[first..]);
    if decoded.len() != 25 {
        return false;
    }
    let (payload, check) = decoded.split_at(21);
    let digest = Sha256::digest(Sha256::digest(payload));
    digest[..4] == *check
}

const BECH32: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

fn bech32_polymod(values: impl Iterator<Item = u8>) -> u32 {
    const GEN: [u32; 5] = [
        0x3b6a_57b2,
        0x2650_8e6d,
        0x1ea1_19fa,
        0x3d42_33dd,
        0x2a14_62b3,
    ];
    let mut chk: u32 = 1;
    for v in values {
        let top = chk >> 25;
        chk = ((chk & 0x01ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

/// The bech32 checksum of `data` (values 0 to 31, checksum included) under the
/// human-readable part `hrp` (lower case): 1 for bech32, `0x2bc830a3` for bech32m.
pub(crate) fn bech32_checksum(hrp: &[u8], data: &[u8]) -> u32 {
    let expanded = hrp
        .iter()
        .map(|c| c >> 5)
        .chain(std::iter::once(0))
        .chain(hrp.iter().map(|c| c & 31))
        .chain(data.iter().copied());
    bech32_polymod(expanded)
}

/// A bech32 or bech32m Bitcoin address (`bc1…`), in one case, with a valid checksum.
fn bech32_valid(text: &[u8]) -> bool {
    if !(14..=74).contains(&text.len())
        || text.iter().any(u8::is_ascii_uppercase) && text.iter().any(u8::is_ascii_lowercase)
    {
        return false;
    }
    let lower: Vec<u8> = text.iter().map(u8::to_ascii_lowercase).collect();
    let (hrp, data) = (&lower[..2], &lower[3..]);
    let mut values = Vec::with_capacity(data.len());
    for c in data {
        match BECH32.iter().position(|b| b == c) {
            Some(v) => values.push(v as u8),
            None => return false,
        }
    }
    matches!(bech32_checksum(hrp, &values), 1 | 0x2bc8_30a3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use super::super::blocks::numeric_spans;
    use super::super::kernel::Kernel;
    use super::super::{blocks, numeric};

    /// What the whole-word scan must find, by its definition: every maximal run of token bytes
    /// of at least [`MIN_RUN`] that holds a digit or is as long as a Cisco MAC address, passed
    /// to [`run`].
    fn by_runs(text: &[u8]) -> Vec<Span> {
        let mut spans = Vec::new();
        let mut at = 0;
        while at < text.len() {
            if !is_token(text[at]) {
                at += 1;
                continue;
            }
            let start = at;
            while at < text.len() && is_token(text[at]) {
                at += 1;
            }
            let word = &text[start..at];
            if word.len() >= MIN_RUN
                && (word.iter().any(u8::is_ascii_digit) || word.len() == CISCO_MAC_LEN)
            {
                run(word, start, &mut spans);
            }
        }
        spans
    }

    /// Runs of every length around the masks' edges, with and without digits, and the
    /// shapes [`run`] finds.
    fn run_piece() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z]{1,30}",
            "[a-zA-Z0-9]{10,25}",
            "[a-f0-9]{18,70}",
            "[a-zA-Z0-9+/_.=~-]{1,140}",
            "[ ,;:@()\\\\]{1,3}",
            Just("\u{e9}".to_owned()),
            Just("aB3xK9pQ2mZ7vR4tW8yL1nC6".to_owned()),
            Just("0123.4567.89ab".to_owned()),
            Just("0x195bcfb809fec3922a29feed700ed6f21e33e11b".to_owned()),
            (1usize..300).prop_map(|n| "ab".repeat(n)),
            (1usize..300).prop_map(|n| "a1".repeat(n)),
            // A digit only far before the run's end: the masks of the end's block and the
            // one before do not show it.
            (60usize..300).prop_map(|n| format!("7{}", "b".repeat(n))),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

        /// The pass of blocks finds what the numeric scan finds and, of the runs, exactly what
        /// their definition finds: the masks that leave most runs unread leave out none
        /// that holds a shape.
        #[test]
        fn the_blocks_find_every_run_the_definition_finds(
            pieces in prop::collection::vec(run_piece(), 0..12),
            shift in 0usize..64,
        ) {
            let text = format!("{}{}", " ".repeat(shift), pieces.concat());
            let mut expected = numeric_spans(&text, numeric::events);
            expected.extend(by_runs(text.as_bytes()));
            expected.sort();
            for kernel in Kernel::all() {
                let mut spans = Vec::new();
                blocks::find(&text, &mut spans, kernel);
                spans.sort();
                prop_assert_eq!(&spans, &expected, "{:?}", kernel);
            }
        }
    }

    /// Shannon entropy from its definition, `Σ -p·log2(p)`.
    fn entropy_by_definition(core: &[u8]) -> f64 {
        let mut counts = [0u32; 256];
        for b in core {
            counts[usize::from(*b)] += 1;
        }
        let n = core.len() as f64;
        counts
            .iter()
            .filter(|c| **c > 0)
            .map(|c| {
                let p = f64::from(*c) / n;
                -p * p.log2()
            })
            .sum()
    }

    #[test]
    fn entropy_from_the_table_is_the_definition() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for len in 1..=ENTROPY_SPAN {
            for alphabet in [2u64, 16, 64, 256] {
                let core: Vec<u8> = (0..len)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        (state % alphabet) as u8
                    })
                    .collect();
                let (got, expected) = (entropy(&core), entropy_by_definition(&core));
                assert!(
                    (got - expected).abs() < 1e-9,
                    "{len} {alphabet}: {got} {expected}"
                );
            }
        }
    }

    #[test]
    fn four_bits_exactly_count_and_just_below_does_not() {
        // Sixteen bytes as often each is 4 bits exactly, however its logarithms round.
        for each in 1..=16 {
            let core: Vec<u8> = (0..16 * each).map(|i| b'A' + (i % 16) as u8).collect();
            assert!(carries_four_bits(&core), "{each}");
        }
        // Counts from the review, exactly 4 bits, which the old sum rounded below 4 for some
        // assignments of counts to bytes: 9, ten times 3 and nine times 1 in 48 bytes.
        let mut core = vec![b'z'; 9];
        for (k, b) in (b'a'..=b'j').enumerate() {
            core.extend([b, b, b]);
            core.push(b'0' + k as u8);
        }
        core.truncate(9 + 30 + 9);
        assert_eq!(core.len(), 48);
        assert!(carries_four_bits(&core));
        // Truly below 4 bits, by 8.2e-10 (checked in exact arithmetic by the review): 243
        // bytes, 41 distinct.
        let counts = [
            82, 26, 14, 11, 10, 9, 7, 7, 7, 6, 5, 4, 4, 4, 4, 4, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2,
        ];
        let symbols = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmno";
        let mut core = Vec::new();
        for (k, &symbol) in symbols.iter().enumerate() {
            let count = counts.get(k).copied().unwrap_or(1);
            core.extend(std::iter::repeat_n(symbol, count));
        }
        assert_eq!(core.len(), 243);
        assert!(!carries_four_bits(&core), "{}", entropy(&core));
    }

    #[test]
    fn a_long_run_is_found_wherever_it_falls_in_the_blocks() {
        let token = "aB3xK9pQ2mZ7vR4tW8yL1nC6";
        for offset in 0..100 {
            // Short words before it (breaks at every alignment), one long word after it.
            let mut text: String = "ab cd ".chars().cycle().take(offset).collect();
            if !text.is_empty() && !text.ends_with(' ') {
                text.push(' ');
            }
            let start = text.len();
            text.push_str(token);
            text.push_str(" instrumentation ok");
            for kernel in super::super::kernel::Kernel::all() {
                assert_eq!(
                    super::super::blocks::found_by(&text, kernel),
                    vec![(start, start + token.len())],
                    "offset {offset} by {kernel:?}"
                );
            }
        }
    }

    #[test]
    fn base58check_and_bech32() {
        assert!(base58check(b"1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"));
        assert!(!base58check(b"1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3"));
        assert!(bech32_valid(b"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"));
        assert!(!bech32_valid(b"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdp"));
    }
}
