//! Scrubber throughput on a corpus written here: mostly clean log lines, exception messages and
//! stack traces, with some personal data. In the same run, a naive scrubber that applies one
//! `Regex::replace_all` per detector class Candor has, in sequence, the obvious way to write one
//! (and without Candor's validators, so it does less work per match).
//!
//! Run: `cargo bench -p candor-privacy --bench scrub`. The ratios the project tracks: Candor
//! against the naive scrubber on the mixed corpus, and Candor's throughput on clean text.

use std::hint::black_box;

use candor_privacy::{MachineLiterals, Scrubber};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use regex::Regex;

/// A small deterministic generator, so every run scrubs the same corpus.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const CLEAN: &[&str] = &[
    "info: request completed in 12 ms with status 200",
    "warn: retrying connection to telemetry endpoint after timeout",
    "debug: loaded 42 configuration settings from the default profile",
    "info: sensor initialised; instrumentation engine attached to process",
    "error: the operation was cancelled because the host is shutting down",
    "System.InvalidOperationException: Sequence contains no elements",
    "   at System.Linq.ThrowHelper.ThrowNoElementsException()",
    "   at Contrast.Agent.Policy.RuleSet.Load(String name) in D:\\a\\1\\s\\RuleSet.cs:line 88",
    "--- End of stack trace from previous location ---",
    "info: dashboard page structured-logs rendered 250 rows in 31 ms",
    "trace: span export batch of 512 items queued for the exporter",
    "agent version 21.4.3 running on runtime 8.0.11 with Version=8.0.0.0",
];

const PERSONAL: &[&str] = &[
    "error: could not read C:\\Users\\jdoe\\AppData\\Local\\app\\settings.json",
    "warn: login failed for jane.doe@example.com from 203.0.113.7",
    "debug: Server=db;User ID=sa;Password=hunter2;Encrypt=true",
    "info: GET https://api.example.com/v1/items?access_token=abc123def456&page=2",
    "error: Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlX2hlcmU",
    "warn: unexpected key AKIAIOSFODNN7EXAMPLE in environment",
    "debug: opened /home/jdoe/projects/app/data.db on buildhost-17",
    "error: card 4111 1111 1111 1111 rejected by processor",
    "warn: config has sk_live_51HqLmNoPqRsTuVwXyZ0123456789 in plain text",
    "debug: <add key=\"SmtpPassword\" value=\"Wint3r!\" />",
    "info: refund to DE76003439239571015926 queued",
    "warn: callback number +14155550173 unreachable",
];

fn corpus(lines: usize, personal_every: u64, seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut out = String::new();
    for _ in 0..lines {
        let line = if personal_every > 0 && rng.next().is_multiple_of(personal_every) {
            rng.pick(PERSONAL)
        } else {
            rng.pick(CLEAN)
        };
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The straightforward scrubber: one regular expression per detector, applied in turn.
struct NaiveScrubber {
    rules: Vec<(Regex, &'static str)>,
}

impl NaiveScrubber {
    fn new() -> Self {
        let rules = [
            (
                r"-----BEGIN [A-Z ]+-----[\s\S]*?-----END [A-Z ]+-----",
                "[pem]",
            ),
            (r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", "[email]"),
            (
                r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b",
                "[ip]",
            ),
            (r"\b(?:[0-9A-Fa-f]{1,4}:){2,7}[0-9A-Fa-f]{1,4}\b", "[ip]"),
            (r"\b(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}\b", "[mac]"),
            (r"(?i)([\\/](?:users|home)[\\/])[^\\/\s]+", "${1}[user]"),
            (r"://[^/\s:@]+:[^/\s@]+@", "://[credentials]@"),
            (
                r"(?i)([?&](?:access_token|token|sig|code|key)=)[^&\s#]+",
                "${1}[secret]",
            ),
            (r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+", "Bearer [token]"),
            (
                r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*",
                "[jwt]",
            ),
            (r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b", "[api-key]"),
            (r"\bgh[pousr]_[A-Za-z0-9]{30,}", "[api-key]"),
            (r"\bxox[abprse][-.][A-Za-z0-9.-]{10,}", "[api-key]"),
            (r"\bAIza[A-Za-z0-9_-]{30,}", "[api-key]"),
            (
                r#"(?i)\b((?:password|passwd|pwd|secret|token|api[_-]?key|accountkey)["']?\s*(?:=>|:=|[=:,(])\s*@?["'{]?)[^;&\s"'}]+"#,
                "${1}[secret]",
            ),
            // The classes added since: one expression each, without the validators (Luhn,
            // mod-97, checksums, entropy) Candor applies.
            (
                r"[A-Za-z0-9._%+-]+(?:%40|%2540|\\u0040|&#64;|&#x40;)[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
                "[email]",
            ),
            (
                r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}",
                "[api-key]",
            ),
            (r"\bsk-[A-Za-z0-9_-]{32,}", "[api-key]"),
            (r"\bnpm_[A-Za-z0-9]{30,}", "[api-key]"),
            (r"\bpypi-AgEI[A-Za-z0-9_-]{40,}", "[api-key]"),
            (r"\bSG\.[A-Za-z0-9_.-]{50,}", "[api-key]"),
            (
                r"\bgl(?:pat|dt|rt|ptt|cbt|imt|soat|oas|agent|ffct)-[A-Za-z0-9_-]{20,}",
                "[api-key]",
            ),
            (
                r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]{20,}",
                "[api-key]",
            ),
            (r"\bdo[por]_v1_[a-f0-9]{64}", "[api-key]"),
            (r"\bshp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}", "[api-key]"),
            (r"\bPMAK-[a-fA-F0-9-]{40,}", "[api-key]"),
            (r"\bsq0(?:atp|csp)-[A-Za-z0-9_-]{22,}", "[api-key]"),
            (r"\bEAA[ABCGI][A-Za-z0-9_-]{40,}", "[api-key]"),
            (r"\b\d{8,10}:AA[A-Za-z0-9_-]{33,}", "[api-key]"),
            (r"\b[a-f0-9]{32}-us\d{1,2}\b", "[api-key]"),
            (r"\b[\w~.-]{3}\dQ~[\w~.-]{31,40}", "[secret]"),
            (
                r"\b[MNO][A-Za-z\d_-]{23,25}\.[\w-]{6,7}\.[\w-]{27,38}",
                "[api-key]",
            ),
            (r"\b(?:SK|AC)[a-f0-9]{32}\b", "[api-key]"),
            (
                r"(?i)([\\/](?:documents and settings|profiles)[\\/])[^\\/\s]+",
                "${1}[user]",
            ),
            (
                r#"(?:-u|--user)[ =]['"]?[^\s:'"]+:[^\s'"]+"#,
                "[credentials]",
            ),
            (
                r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b",
                "[iban]",
            ),
            (r"\b\d{3}-\d{2}-\d{4}\b", "[ssn]"),
            (
                r"\+\d{1,3}[ .-]?\(?\d{1,4}\)?(?:[ .-]?\d{2,4}){2,4}|\(\d{3}\) \d{3}-\d{4}",
                "[phone]",
            ),
            (
                r"\b(?:bc1[a-z0-9]{25,60}|[13][1-9A-HJ-NP-Za-km-z]{25,34}|0x[a-fA-F0-9]{40})\b",
                "[wallet]",
            ),
            (
                r"\b[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\b",
                "[mac]",
            ),
            (r"\B::1\b", "[ip]"),
            (r"\b[A-Za-z0-9+/_-]{24,}={0,2}", "[secret]"),
            (r"\b[2-6](?:[ -]?\d){12,18}\b", "[card]"),
            // Classes Candor had before the list above was written and that it lacked.
            (r"\\\\[A-Za-z0-9._-]+\\[^\\\s]+", r"\\[host]\[share]"),
            (
                r"(?i)\b((?:user ?id|user ?name|uid|login|user)\s*[=:]\s*)[^;&\s\x22']+",
                "${1}[user]",
            ),
            (r"\bgithub_pat_[A-Za-z0-9_]{40,}", "[api-key]"),
            (r"\bhf_[A-Za-z0-9]{30,}", "[api-key]"),
            (r"\bdckr_pat_[A-Za-z0-9_-]{24,}", "[api-key]"),
            (r"\b\d{3}[-.]\d{3}[-.]\d{4}\b", "[phone]"),
            (
                r"(?i)((?:%2f|%5c|%252f|%255c|\\/|&#47;|&#92;)(?:home|users)(?:%2f|%5c|%252f|%255c|\\/|&#47;|&#92;))[A-Za-z0-9._-]+",
                "${1}[user]",
            ),
            (r"\b[A-Za-z0-9._-]+@[A-Za-z0-9-]+\b", "[user]@[host]"),
            // And the classes added with them.
            (
                r"\b((?:mysql\w*|mariadb[\w-]*)\b.*?\s-p)(?:'[^']*'|\x22[^\x22]*\x22|\S+)",
                "${1}[secret]",
            ),
            (r"\b0[1-9]\d{1,4}(?:[ .-]\d{2,8}){1,4}\b", "[phone]"),
            (r"\bjdoe\b", "[user]"),
            (r"\bbuildhost-17\b", "[host]"),
        ];
        Self {
            rules: rules
                .into_iter()
                .map(|(pattern, replacement)| {
                    (Regex::new(pattern).expect("valid pattern"), replacement)
                })
                .collect(),
        }
    }

    fn scrub(&self, text: &str) -> String {
        let mut current = text.to_owned();
        for (regex, replacement) in &self.rules {
            current = regex.replace_all(&current, *replacement).into_owned();
        }
        current
    }
}

fn bench(c: &mut Criterion) {
    let literals = MachineLiterals {
        user_name: Some("jdoe".into()),
        home_dir: Some("/home/jdoe".into()),
        host_name: Some("buildhost-17".into()),
    };
    let candor = Scrubber::new(&literals);
    let naive = NaiveScrubber::new();
    let mixed = corpus(20_000, 20, 0x5eed);
    let clean = corpus(20_000, 0, 0xc1ea);
    // Both scrubbers do the job they are timed on (this also runs under `cargo test --benches`).
    for (name, out) in [
        ("candor", candor.scrub(&mixed)),
        ("naive-regex", naive.scrub(&mixed)),
    ] {
        for planted in [
            "hunter2",
            "jane.doe@example.com",
            "AKIAIOSFODNN7EXAMPLE",
            "/jdoe/",
        ] {
            assert!(!out.contains(planted), "{name} left {planted}");
        }
    }
    assert_eq!(candor.scrub(&clean), clean, "clean text is kept as it is");

    let mut group = c.benchmark_group("scrub");
    for (name, text) in [("mixed", &mixed), ("clean", &clean)] {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(format!("candor/{name}"), |b| {
            b.iter(|| candor.scrub(black_box(text)))
        });
        group.bench_function(format!("naive-regex/{name}"), |b| {
            b.iter(|| naive.scrub(black_box(text)))
        });
    }
    group.finish();

    // Per-line use, as a host scrubs one value at a time.
    let lines: Vec<&str> = mixed.lines().collect();
    let mut group = c.benchmark_group("scrub-per-line");
    group.throughput(Throughput::Bytes(mixed.len() as u64));
    group.bench_function("candor/mixed", |b| {
        b.iter(|| {
            lines
                .iter()
                .map(|l| candor.scrub_limited(black_box(l), 4096).len())
                .sum::<usize>()
        })
    });
    group.bench_function("naive-regex/mixed", |b| {
        b.iter(|| {
            lines
                .iter()
                .map(|l| naive.scrub(black_box(l)).len())
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
