//! Time per megabyte of one long line built by repeating a shape that once made a scrubber
//! quadratic (a validator re-scanning to the line's end for every trigger in it). Each shape is
//! scrubbed as one line of 64 KB, 256 KB and 1 MB; a linear scrubber shows the same throughput
//! at every size.
//!
//! Run: `cargo bench -p candor-privacy --bench scrub_adversarial`.

use std::hint::black_box;

use candor_privacy::{MachineLiterals, Scrubber};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// Shapes that repeat a trigger with no line break: each would rescan the rest of the line.
const SHAPES: &[(&str, &str)] = &[
    ("ipv4", "10.0.0.1 "),
    ("user-at", "user@"),
    ("url-credentials", "http://u:p@"),
    ("url-query", "http://x?a&"),
    ("email", "a.b@example.com "),
    ("jwt-header", "eyJ"),
    ("jwt-dots", "eyJhbGciOi."),
    ("aws", "AKIA"),
    ("slack", "xoxb-"),
    ("github", "ghp_"),
    ("secret-key", "password="),
    ("quoted-secret", "token=\""),
    ("home-path", "/home/"),
    ("unc", "\\\\a\\"),
    ("bearer", "Bearer "),
    ("ipv6-colons", "1:"),
    ("mac-dashes", "aa-"),
    ("card-digits", "4111 "),
    ("pem", "-----BEGIN "),
    ("hex", "deadbeef"),
    ("base64", "Zm9vYmFy+/"),
    ("percent-at", "x%40"),
    ("quoted-account", "'a'@'"),
    ("token-at", "[email]@a.bc "),
    ("db-password", "mysql -pS3 "),
    ("db-password-quoted", "mysql -p'a -p\"b "),
    ("phone-national", "tel 01 23 45 67 89 "),
    // The detectors added for Windows servers and the long tail of formats.
    ("account", "A\\"),
    ("account-worded", "for user 'CORP\\a"),
    ("account-escaped", "CORP\\\\"),
    ("app-pool", "IIS APPPOOL\\"),
    ("sid", "S-1-5-21-1-"),
    ("unc-home", "\\\\a\\home\\"),
    ("dn", "CN=a,"),
    ("computer-name", "DESKTOP-"),
    ("device-name", "ab-laptop-"),
    ("tilde", "~ab/"),
    ("key-ending", "key="),
    ("netrc", "machine a login b "),
    ("prose-password", "password is "),
    ("credential-pair", "user/pass a/"),
    ("login-option", " -u a -p "),
    ("vendor-prefix", "tskey-"),
    ("vendor-checked", "dt0c01."),
    ("vendor-dotted", "1000."),
    ("reference", "password=$"),
    ("url-password", "http://a:b/"),
    ("card-dots", "4111."),
    ("ssn-spaced", "123 45 "),
    ("iban-lower", "de89 "),
    ("phone-worded", "tel 12 "),
    // Full-width forms, scanned a second time as ASCII.
    ("full-width-card", "４１１１ "),
    ("full-width-at", "ａ＠"),
    // Characters that show as nothing, left out of the same second scan.
    ("zero-width-key", "pass\u{200b}word="),
];

const SIZES: &[(&str, usize)] = &[
    ("64KB", 64 * 1024),
    ("256KB", 256 * 1024),
    ("1MB", 1024 * 1024),
];

fn line_of(shape: &str, len: usize) -> String {
    let mut out = shape.repeat(len / shape.len() + 1);
    // On a character boundary: some shapes are not ASCII.
    let end = (0..=len)
        .rev()
        .find(|&at| out.is_char_boundary(at))
        .unwrap_or(0);
    out.truncate(end);
    out
}

fn bench(c: &mut Criterion) {
    let scrubber = Scrubber::new(&MachineLiterals {
        user_name: Some("jdoe".into()),
        home_dir: Some("/home/jdoe".into()),
        host_name: Some("buildhost-17".into()),
    });
    let mut group = c.benchmark_group("scrub_adversarial");
    for (name, shape) in SHAPES {
        for (size_name, size) in SIZES {
            let text = line_of(shape, *size);
            if *size == SIZES[0].1 {
                // What is timed is a real scrub: it reaches a fixpoint.
                let once = scrubber.scrub(&text);
                assert_eq!(scrubber.scrub(&once), once, "{name} is not a fixpoint");
            }
            group.throughput(Throughput::Bytes(text.len() as u64));
            group.bench_with_input(BenchmarkId::new(*name, size_name), &text, |b, text| {
                b.iter(|| scrubber.scrub(black_box(text)).len())
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
