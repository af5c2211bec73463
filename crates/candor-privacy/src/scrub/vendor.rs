//! Tokens that say whose they are: a vendor's fixed prefix, then a body of a known alphabet and
//! least length, with its structure or checksum checked where the format has one.
//!
//! Which formats exist was learnt from the public rule lists of secret scanners (gitleaks,
//! Nosey Parker) and vendors' own documentation; each is written here by its shape, not taken
//! from those rules. A prefix alone is never enough: `glpat-` in a sentence, `key-value` or
//! `sk-learn` has no body of the format's length after it.
//!
//! Each body is scanned through a memo per alphabet, so a line of one prefix repeated costs
//! one pass; checks read a bounded stretch of the body.

use super::lex::{RunMemo, boundary_before, is_alnum, is_base64url, is_word, push, run_within};
use super::{Finding, Span};

/// What a vendor token's body is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Body {
    /// Letters and digits.
    Alnum,
    /// Lower-case letters and digits.
    Lower,
    /// Upper-case letters and digits.
    Upper,
    /// Upper-case letters, digits and `-`.
    UpperDash,
    /// Hex digits, either case.
    Hex,
    /// Hex digits in lower case.
    LowerHex,
    /// Hex digits and `-`.
    HexDash,
    /// Letters, digits and `_`.
    Word,
    /// Letters, digits, `_` and `-`.
    Base64Url,
    /// Letters, digits and `-`.
    AlnumDash,
    /// Base64url and `.`.
    Dotted,
    /// Base64url and `/`: a URL's path.
    Path,
    /// Base64url, `/` and `@`: a webhook URL's path.
    PathAt,
    /// Base64 (`+ / =`), with base64url's `_` and `-`.
    Base64,
}

impl Body {
    const COUNT: usize = 14;

    fn index(self) -> usize {
        self as usize
    }

    pub(crate) fn contains(self, b: u8) -> bool {
        match self {
            Body::Alnum => is_alnum(b),
            Body::Lower => b.is_ascii_lowercase() || b.is_ascii_digit(),
            Body::Upper => b.is_ascii_uppercase() || b.is_ascii_digit(),
            Body::UpperDash => b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-',
            Body::Hex => b.is_ascii_hexdigit(),
            Body::LowerHex => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
            Body::HexDash => b.is_ascii_hexdigit() || b == b'-',
            Body::Word => is_word(b),
            Body::Base64Url => is_base64url(b),
            Body::AlnumDash => is_alnum(b) || b == b'-',
            Body::Dotted => is_base64url(b) || b == b'.',
            Body::Path => is_base64url(b) || b == b'/',
            Body::PathAt => is_base64url(b) || b == b'/' || b == b'@',
            Body::Base64 => is_base64url(b) || matches!(b, b'+' | b'/' | b'='),
        }
    }
}

/// A vendor's token format.
pub(crate) struct Vendor {
    /// The prefix as the vendor writes it (the trigger is its lower-case form).
    pub(crate) prefix: &'static str,
    /// The prefix may be written in any case.
    any_case: bool,
    /// The prefix starts a word (not so for a webhook's host, which follows `//` or a dot).
    word_start: bool,
    /// Letters and digits required right before the prefix, part of the token
    /// (`<14>.atlasv1.`).
    lead: usize,
    body: Body,
    /// The body's least length: shorter is a word that happens to share the prefix.
    min: usize,
    /// The body's structure, where it has more than an alphabet and a length.
    check: Option<fn(&[u8]) -> bool>,
    finding: Finding,
}

const fn token(prefix: &'static str, body: Body, min: usize) -> Vendor {
    Vendor {
        prefix,
        any_case: false,
        word_start: true,
        lead: 0,
        body,
        min,
        check: None,
        finding: Finding::ApiKey,
    }
}

impl Vendor {
    const fn check(mut self, check: fn(&[u8]) -> bool) -> Self {
        self.check = Some(check);
        self
    }

    const fn any_case(mut self) -> Self {
        self.any_case = true;
        self
    }

    const fn anywhere(mut self) -> Self {
        self.word_start = false;
        self
    }

    const fn lead(mut self, lead: usize) -> Self {
        self.lead = lead;
        self
    }

    const fn secret(mut self) -> Self {
        self.finding = Finding::Secret;
        self
    }
}

/// Token formats with a fixed prefix. Their triggers are the prefixes in lower case; the
/// validator insists on the prefix's case (unless the vendor documents any case), a word
/// boundary before, and the body.
pub(crate) const VENDORS: &[Vendor] = &[
    // Stripe: secret, restricted and publishable keys, and webhook signing secrets.
    token("sk_live_", Body::Alnum, 16),
    token("sk_test_", Body::Alnum, 16),
    token("sk_prod_", Body::Alnum, 16),
    token("rk_live_", Body::Alnum, 16),
    token("rk_test_", Body::Alnum, 16),
    token("rk_prod_", Body::Alnum, 16),
    token("pk_live_", Body::Alnum, 16),
    token("pk_test_", Body::Alnum, 16),
    token("whsec_", Body::Alnum, 32),
    // OpenAI (`sk-…`, `sk-proj-…`, `sk-svcacct-…`), Anthropic (`sk-ant-api03-…`) and the
    // others that took the same prefix.
    token("sk-", Body::Base64Url, 32),
    token("xai-", Body::Alnum, 70),
    token("gsk_", Body::Alnum, 50),
    token("pplx-", Body::Alnum, 48),
    token("r8_", Body::Alnum, 37),
    token("hf_", Body::Alnum, 30),
    token("api_org_", Body::Alnum, 30),
    token("jina_", Body::Alnum, 60),
    token("tvly-", Body::Base64Url, 32),
    token("fc-", Body::LowerHex, 32).check(exactly::<32>),
    token("pcsk_", Body::Base64Url, 50),
    token("lsv2_pt_", Body::Word, 43),
    token("lsv2_sk_", Body::Word, 43),
    // Package registries.
    token("npm_", Body::Alnum, 30),
    token("pypi-AgEI", Body::Base64Url, 40),
    token("oy2", Body::Lower, 43).check(exactly::<43>),
    token("rubygems_", Body::LowerHex, 48),
    token("CLOJARS_", Body::Alnum, 60).any_case(),
    token("dckr_pat_", Body::Base64Url, 24),
    token("dckr_oat_", Body::Base64Url, 24),
    token("AKCp", Body::Alnum, 69),
    token("cmVmdGtu", Body::Alnum, 56),
    // SendGrid: `SG.` id `.` secret.
    token("SG.", Body::Dotted, 50),
    token("xkeysib-", Body::AlnumDash, 81).check(sendinblue),
    // GitLab personal, deploy, runner, trigger, CI job, incoming-mail, OAuth, agent,
    // feature-flag, feed and SCIM tokens, and runner registration tokens.
    token("glpat-", Body::Base64Url, 20),
    token("gldt-", Body::Base64Url, 20),
    token("glrt-", Body::Base64Url, 20),
    token("glptt-", Body::Base64Url, 20),
    token("glcbt-", Body::Base64Url, 20),
    token("glimt-", Body::Base64Url, 20),
    token("glsoat-", Body::Base64Url, 20),
    token("gloas-", Body::Base64Url, 20),
    token("glagent-", Body::Base64Url, 20),
    token("glffct-", Body::Base64Url, 20),
    token("glft-", Body::Base64Url, 20),
    token("GR1348941", Body::Base64Url, 20),
    // Webhooks: the path is the secret.
    token("hooks.slack.com/services/", Body::Path, 20).anywhere(),
    token("hooks.slack.com/workflows/", Body::Path, 20).anywhere(),
    token("hooks.slack.com/triggers/", Body::Path, 20).anywhere(),
    token("discord.com/api/webhooks/", Body::Path, 20).anywhere(),
    token("discordapp.com/api/webhooks/", Body::Path, 20).anywhere(),
    token("webhook.office.com/webhookb2/", Body::PathAt, 40).anywhere(),
    // DigitalOcean personal, OAuth and refresh tokens.
    token("dop_v1_", Body::Hex, 64),
    token("doo_v1_", Body::Hex, 64),
    token("dor_v1_", Body::Hex, 64),
    // Shopify access, shared-secret, custom-app and partner tokens.
    token("shpat_", Body::Hex, 32),
    token("shpss_", Body::Hex, 32),
    token("shpca_", Body::Hex, 32),
    token("shppa_", Body::Hex, 32),
    token("PMAK-", Body::HexDash, 40),
    // Square access and OAuth secrets, and its `EAAA` tokens.
    token("sq0atp-", Body::Base64Url, 22),
    token("sq0csp-", Body::Base64Url, 40),
    token("EAAA", Body::Base64Url, 56),
    // Facebook / Meta access tokens.
    token("EAAB", Body::Alnum, 40),
    token("EAAC", Body::Alnum, 40),
    token("EAAG", Body::Alnum, 40),
    token("EAAI", Body::Alnum, 40),
    token("EAAM", Body::Alnum, 40),
    // Age identities (X25519 secret keys), bech32 with their checksum.
    token("AGE-SECRET-KEY-1", Body::Upper, 58)
        .check(age_identity)
        .secret(),
    // Tailscale auth, API, OAuth client, SCIM and webhook keys: `tskey-<kind>-<id>-<secret>`.
    token("tskey-", Body::AlnumDash, 30).check(tailscale),
    // Sourcegraph access tokens.
    token("sgp_", Body::Word, 40).check(sourcegraph),
    // SonarQube user, project and global analysis tokens.
    token("squ_", Body::LowerHex, 40).check(exactly::<40>),
    token("sqp_", Body::LowerHex, 40).check(exactly::<40>),
    token("sqa_", Body::LowerHex, 40).check(exactly::<40>),
    // Vercel personal, integration, app access, app refresh tokens and API keys.
    token("vcp_", Body::Alnum, 24),
    token("vci_", Body::Alnum, 24),
    token("vca_", Body::Alnum, 24),
    token("vcr_", Body::Alnum, 24),
    token("vck_", Body::Alnum, 24),
    // Databricks personal access tokens, with an optional `-N` suffix.
    token("dapi", Body::HexDash, 32).check(leading_hex::<32>),
    // New Relic user, admin, insights insert and query, REST and browser keys.
    token("NRAK-", Body::Alnum, 27).any_case(),
    token("NRAA-", Body::Hex, 27).any_case(),
    token("NRII-", Body::Base64Url, 32).any_case(),
    token("NRIQ-", Body::Base64Url, 32).any_case(),
    token("NRRA-", Body::Hex, 42).any_case(),
    token("NRJS-", Body::Hex, 19).any_case(),
    token("px-api-", Body::HexDash, 36),
    // Dynatrace: `dt0c01.` (or another kind), 24 and 64 upper-case letters and digits.
    token("dt0", Body::Dotted, 93).check(dynatrace),
    // Mailgun private and public keys.
    token("key-", Body::LowerHex, 32).check(exactly::<32>),
    token("pubkey-", Body::LowerHex, 32).check(exactly::<32>),
    // Buildkite, Contentful, Zoho (`1000.` and two runs of 32 hex digits).
    token("bkua_", Body::LowerHex, 40),
    token("CFPAT-", Body::Base64Url, 43),
    token("1000.", Body::Dotted, 65).check(zoho),
    // Alibaba, Atlassian and Bitbucket, Adafruit.
    token("LTAI", Body::Alnum, 20),
    token("ATATT", Body::Base64, 100),
    token("ATBB", Body::Alnum, 28),
    token("aio_", Body::Alnum, 28),
    // Cloudflare origin CA keys.
    token("v1.0-", Body::HexDash, 171).check(cloudflare_origin),
    // Doppler personal, service, CLI, service-account, SCIM and audit tokens.
    token("dp.pt.", Body::Alnum, 40),
    token("dp.st.", Body::Alnum, 40),
    token("dp.ct.", Body::Alnum, 40),
    token("dp.sa.", Body::Alnum, 40),
    token("dp.scim.", Body::Alnum, 40),
    token("dp.audit.", Body::Alnum, 40),
    token("duffel_test_", Body::Base64Url, 43),
    token("duffel_live_", Body::Base64Url, 43),
    token("EZAK", Body::Alnum, 54),
    token("EZTK", Body::Alnum, 54),
    token("FLWSECK_TEST-", Body::AlnumDash, 32),
    token("FLWSECK-", Body::AlnumDash, 32),
    token("FLWPUBK_TEST-", Body::AlnumDash, 32),
    token("FLWPUBK-", Body::AlnumDash, 32),
    // Fly.io tokens and macaroons.
    token("fo1_", Body::Base64Url, 43),
    token("fm1a_", Body::Base64, 100),
    token("fm1r_", Body::Base64, 100),
    token("fm2_", Body::Base64, 100),
    token("fio-u-", Body::Base64Url, 64),
    // Grafana cloud and service-account tokens, and its older API keys (base64 JSON).
    token("glc_", Body::Base64, 32),
    token("glsa_", Body::Word, 40),
    token("eyJrIjoi", Body::Alnum, 70),
    // Harness `pat.`/`sat.` tokens: three dot-separated parts.
    token("pat.", Body::Dotted, 68).check(harness),
    token("sat.", Body::Dotted, 68).check(harness),
    // Terraform Cloud: 14 letters and digits, `.atlasv1.`, then the secret.
    token(".atlasv1.", Body::Base64, 60).lead(14).anywhere(),
    token("HRKU-AA", Body::Base64Url, 58),
    token("ico-", Body::Alnum, 32),
    token("s-s4t2ud-", Body::LowerHex, 64),
    token("s-s4t2af-", Body::LowerHex, 64),
    token("lin_api_", Body::Alnum, 40),
    // Notion integration tokens, new and old.
    token("ntn_", Body::Alnum, 46),
    token("secret_", Body::Alnum, 43),
    token("API-", Body::Upper, 26).check(exactly::<26>),
    token("sha256~", Body::Base64Url, 43),
    token("pscale_tkn_", Body::Dotted, 32),
    token("pscale_oauth_", Body::Dotted, 32),
    token("pscale_pw_", Body::Dotted, 32),
    token("pnu_", Body::Alnum, 36),
    token("pul-", Body::LowerHex, 40),
    token("rdme_", Body::Lower, 70),
    token("tk-us-", Body::Base64Url, 48),
    // Sentry user and organisation tokens.
    token("sntryu_", Body::LowerHex, 64),
    token("sntrys_", Body::Base64, 60),
    token("sm_pat_", Body::Alnum, 16),
    token("sm_aat_", Body::Alnum, 16),
    token("sm_sat_", Body::Alnum, 16),
    token("shippo_live_", Body::Hex, 40),
    token("shippo_test_", Body::Hex, 40),
    // Supabase management tokens and secret keys.
    token("sbp_", Body::LowerHex, 40),
    token("sb_secret_", Body::Base64Url, 20),
    token("tfp_", Body::Dotted, 59),
    // HashiCorp Vault service and batch tokens.
    token("hvs.", Body::Base64Url, 90),
    token("hvb.", Body::Base64Url, 138),
    token("AQVN", Body::Base64Url, 35),
    token("nfp_", Body::Alnum, 36),
    token("figd_", Body::Base64Url, 40),
    token("CCIPAT_", Body::Base64Url, 60),
    token("CCIPRJ_", Body::Base64Url, 60),
    token("rnd_", Body::Alnum, 32),
    // 1Password service-account tokens and account secret keys.
    token("ops_eyJ", Body::Base64, 200),
    token("A3-", Body::UpperDash, 36).check(one_password),
    // Google OAuth client secrets, access tokens and refresh tokens.
    token("GOCSPX-", Body::Base64Url, 28),
    token("ya29.", Body::Dotted, 50),
    token("1//0", Body::Base64Url, 40),
    token("odt_", Body::Alnum, 32),
    token("hawk.", Body::Dotted, 41).check(stackhawk),
    token("4b1d", Body::Alnum, 38),
    token("ABSK", Body::Base64, 109),
    token("sl.", Body::Base64Url, 130),
];

/// A body of exactly `N` bytes.
fn exactly<const N: usize>(body: &[u8]) -> bool {
    body.len() == N
}

/// A body whose first `N` bytes are hex digits.
fn leading_hex<const N: usize>(body: &[u8]) -> bool {
    body.get(..N)
        .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
}

/// Reads `n` bytes of `class` at `at` and returns where they end.
fn group(body: &[u8], at: usize, n: usize, class: impl Fn(u8) -> bool) -> Option<usize> {
    body.get(at..at + n)
        .filter(|g| g.iter().all(|b| class(*b)))
        .map(|_| at + n)
}

/// Reads the separator `sep` at `at`.
fn sep(body: &[u8], at: usize, sep: u8) -> Option<usize> {
    (body.get(at) == Some(&sep)).then_some(at + 1)
}

fn lower_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

fn upper_alnum(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit()
}

fn sendinblue(body: &[u8]) -> bool {
    group(body, 0, 64, lower_hex)
        .and_then(|at| sep(body, at, b'-'))
        .and_then(|at| group(body, at, 16, is_alnum))
        .is_some()
}

const BECH32: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/// An age identity's 58 bech32 characters (upper case), whose checksum holds for the
/// human-readable part `age-secret-key-`.
fn age_identity(body: &[u8]) -> bool {
    if body.len() != 58 {
        return false;
    }
    let mut values = [0u8; 58];
    for (value, b) in values.iter_mut().zip(body) {
        match BECH32.iter().position(|c| *c == b.to_ascii_lowercase()) {
            Some(v) => *value = v as u8,
            None => return false,
        }
    }
    super::shape::bech32_checksum(b"age-secret-key-", &values) == 1
}

/// `<kind>-<id>-<secret>` after `tskey-` (or an older `<id>-<secret>`): a part of 16 or more
/// letters and digits after a dash, and a digit somewhere, in the first stretch of the body.
fn tailscale(body: &[u8]) -> bool {
    let head = &body[..body.len().min(128)];
    let mut parts = head.split(|b| *b == b'-');
    let first = parts.next().unwrap_or_default();
    !first.is_empty() && parts.any(|p| p.len() >= 16) && head.iter().any(u8::is_ascii_digit)
}

/// `<40 hex>`, `<16 hex>_<40 hex>` or `local_<40 hex>` after `sgp_`.
fn sourcegraph(body: &[u8]) -> bool {
    let hex = |at| group(body, at, 40, |b: u8| b.is_ascii_hexdigit());
    hex(0).is_some()
        || group(body, 0, 16, |b: u8| b.is_ascii_hexdigit())
            .and_then(|at| sep(body, at, b'_'))
            .and_then(hex)
            .is_some()
        || body.starts_with(b"local_") && hex(6).is_some()
}

/// `<letter><2 digits>.<24>.<64>` after `dt0`, in upper-case letters and digits.
fn dynatrace(body: &[u8]) -> bool {
    group(body, 0, 1, |b: u8| b.is_ascii_lowercase())
        .and_then(|at| group(body, at, 2, |b: u8| b.is_ascii_digit()))
        .and_then(|at| sep(body, at, b'.'))
        .and_then(|at| group(body, at, 24, upper_alnum))
        .and_then(|at| sep(body, at, b'.'))
        .and_then(|at| group(body, at, 64, upper_alnum))
        .is_some()
}

/// `<32 hex>.<32 hex>` after `1000.`.
fn zoho(body: &[u8]) -> bool {
    group(body, 0, 32, lower_hex)
        .and_then(|at| sep(body, at, b'.'))
        .and_then(|at| group(body, at, 32, lower_hex))
        .is_some()
}

/// `<22>.<24>.<20>` after `pat.` or `sat.`.
fn harness(body: &[u8]) -> bool {
    group(body, 0, 22, is_base64url)
        .and_then(|at| sep(body, at, b'.'))
        .and_then(|at| group(body, at, 24, is_alnum))
        .and_then(|at| sep(body, at, b'.'))
        .and_then(|at| group(body, at, 20, is_alnum))
        .is_some()
}

/// `<24 hex>-<146 hex>` after `v1.0-`.
fn cloudflare_origin(body: &[u8]) -> bool {
    group(body, 0, 24, lower_hex)
        .and_then(|at| sep(body, at, b'-'))
        .and_then(|at| group(body, at, 146, lower_hex))
        .is_some()
}

/// A 1Password account secret key after `A3-`: `<6>-<11>` or `<6>-<6>-<5>`, then three groups
/// of 5.
fn one_password(body: &[u8]) -> bool {
    let Some(at) = group(body, 0, 6, upper_alnum).and_then(|at| sep(body, at, b'-')) else {
        return false;
    };
    let middle = group(body, at, 11, upper_alnum).or_else(|| {
        group(body, at, 6, upper_alnum)
            .and_then(|at| sep(body, at, b'-'))
            .and_then(|at| group(body, at, 5, upper_alnum))
    });
    let five = |at: Option<usize>| {
        at.and_then(|at| sep(body, at, b'-'))
            .and_then(|at| group(body, at, 5, upper_alnum))
    };
    five(five(five(middle))).is_some()
}

/// `<20>.<20>` after `hawk.`.
fn stackhawk(body: &[u8]) -> bool {
    group(body, 0, 20, is_base64url)
        .and_then(|at| sep(body, at, b'.'))
        .and_then(|at| group(body, at, 20, is_base64url))
        .is_some()
}

/// One memo per alphabet the formats below and above use.
#[derive(Debug, Default)]
pub(crate) struct VendorMemos {
    bodies: [RunMemo; Body::COUNT],
    telegram: RunMemo,
    azure: RunMemo,
    alnum: RunMemo,
    word: RunMemo,
    slack: RunMemo,
    base64url: RunMemo,
}

/// A token with a vendor's fixed prefix: `start..end` is the trigger.
pub(crate) fn vendor_token(
    bytes: &[u8],
    start: usize,
    end: usize,
    index: usize,
    memos: &mut VendorMemos,
    spans: &mut Vec<Span>,
) {
    let vendor = &VENDORS[index];
    let written = &bytes[start..end];
    let prefix_matches = if vendor.any_case {
        written.eq_ignore_ascii_case(vendor.prefix.as_bytes())
    } else {
        written == vendor.prefix.as_bytes()
    };
    if !prefix_matches {
        return;
    }
    let token_start = if vendor.lead > 0 {
        let lead = start.saturating_sub(vendor.lead);
        if start < vendor.lead
            || !bytes[lead..start].iter().all(|b| is_alnum(*b))
            || !boundary_before(bytes, lead)
        {
            return;
        }
        lead
    } else {
        if vendor.word_start && !boundary_before(bytes, start) {
            return;
        }
        start
    };
    let body = vendor.body;
    let mut body_end = memos.bodies[body.index()].run(bytes, end, |b| body.contains(b));
    while body_end > end && matches!(bytes[body_end - 1], b'.' | b'/') {
        body_end -= 1;
    }
    let body_bytes = &bytes[end..body_end];
    if body_bytes.len() >= vendor.min && vendor.check.is_none_or(|check| check(body_bytes)) {
        push(spans, token_start, body_end, vendor.finding);
    }
}

/// `123456789:AA` and 33 base64url characters: a Telegram bot's id and secret.
pub(crate) fn telegram(bytes: &[u8], colon: usize, memos: &mut VendorMemos, spans: &mut Vec<Span>) {
    if &bytes[colon..colon + 3] != b":AA" {
        return;
    }
    let mut id_start = colon;
    while id_start > 0 && colon - id_start < 11 && bytes[id_start - 1].is_ascii_digit() {
        id_start -= 1;
    }
    if !(8..=10).contains(&(colon - id_start)) || !boundary_before(bytes, id_start) {
        return;
    }
    let end = memos.telegram.run(bytes, colon + 3, is_base64url);
    if end - (colon + 3) >= 33 {
        push(spans, id_start, end, Finding::ApiKey);
    }
}

/// 32 hex digits, `-us` and a data-centre number: a Mailchimp API key.
pub(crate) fn mailchimp(bytes: &[u8], dash: usize, spans: &mut Vec<Span>) {
    if &bytes[dash..dash + 3] != b"-us" || dash < 32 {
        return;
    }
    let start = dash - 32;
    if !bytes[start..dash].iter().all(u8::is_ascii_hexdigit) || !boundary_before(bytes, start) {
        return;
    }
    let digits_end = run_within(bytes, dash + 3, 3, |b| b.is_ascii_digit());
    if (1..=2).contains(&(digits_end - dash - 3))
        && !bytes.get(digits_end).is_some_and(|b| is_word(*b))
    {
        push(spans, start, digits_end, Finding::ApiKey);
    }
}

fn azure_secret_char(b: u8) -> bool {
    is_word(b) || matches!(b, b'~' | b'.' | b'-')
}

/// An Azure AD (Entra) client secret: three characters, a digit, `Q~`, then 31 to 34 more.
pub(crate) fn azure_secret(bytes: &[u8], q: usize, memos: &mut VendorMemos, spans: &mut Vec<Span>) {
    if &bytes[q..q + 2] != b"Q~" || q < 4 || !bytes[q - 1].is_ascii_digit() {
        return;
    }
    let start = q - 4;
    if !bytes[start..q - 1].iter().all(|b| azure_secret_char(*b)) || !boundary_before(bytes, start)
    {
        return;
    }
    let end = memos.azure.run(bytes, q + 2, azure_secret_char);
    if (31..=40).contains(&(end - q - 2)) {
        push(spans, start, end, Finding::Secret);
    }
}

/// The four-letter prefixes of AWS access key ids: users' and roles' long-term keys,
/// temporary (STS) keys, and the ids of groups, policies, roles, instance profiles and
/// certificates that carry the same shape. `A3T` and a letter or digit is the older form.
pub(crate) const AWS_PREFIXES: &[&str] = &[
    "AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AIPA", "ANPA", "ANVA", "APKA", "AROA", "ASCA",
    "A3T",
];

/// An AWS key id: one of [`AWS_PREFIXES`] and 16 upper-case letters or digits (20 in all).
pub(crate) fn aws(bytes: &[u8], start: usize, end: usize, spans: &mut Vec<Span>) {
    let prefix = &bytes[start..end];
    if !AWS_PREFIXES.iter().any(|p| prefix == p.as_bytes()) || !boundary_before(bytes, start) {
        return;
    }
    // Twenty-one bytes settle it: twenty of the id and one that must not continue it.
    let id_end = run_within(bytes, end, 21 - prefix.len(), upper_alnum);
    if id_end - start == 20 && !bytes.get(id_end).is_some_and(|b| is_alnum(*b)) {
        push(spans, start, id_end, Finding::ApiKey);
    }
}

/// GitHub (`ghp_`…), Slack (`xoxb-`…) and Google (`AIza`) tokens: the prefix written exactly
/// as the vendor does, then at least `min_body` token characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prefixed {
    GitHub,
    GitHubPat,
    Slack,
    Google,
}

pub(crate) fn prefixed(
    bytes: &[u8],
    start: usize,
    end: usize,
    kind: Prefixed,
    memos: &mut VendorMemos,
    spans: &mut Vec<Span>,
) {
    let prefix = &bytes[start..end];
    let exact = match prefix[0] {
        b'A' => prefix == b"AIza",
        b'g' | b'x' => prefix.iter().all(|b| !b.is_ascii_uppercase()),
        _ => false,
    };
    if !exact || !boundary_before(bytes, start) {
        return;
    }
    let (min_body, token_end) = match kind {
        Prefixed::GitHub => (30, memos.alnum.run(bytes, end, is_alnum)),
        Prefixed::GitHubPat => (40, memos.word.run(bytes, end, is_word)),
        Prefixed::Slack => (
            10,
            memos.slack.run(bytes, end, |b| is_alnum(b) || b == b'-'),
        ),
        Prefixed::Google => (30, memos.base64url.run(bytes, end, is_base64url)),
    };
    if token_end - end >= min_body {
        push(spans, start, token_end, Finding::ApiKey);
    }
}

/// Unused alphabets would leave a memo slot idle, not a bug; this only keeps the count honest.
const _: () = assert!(Body::Base64 as usize + 1 == Body::COUNT);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_prefix_is_distinct_and_every_check_is_reachable() {
        for (i, a) in VENDORS.iter().enumerate() {
            for b in &VENDORS[i + 1..] {
                assert_ne!(a.prefix, b.prefix);
            }
            assert!(a.prefix.len() >= 3, "{}", a.prefix);
        }
    }
}
