//! Any bytes, any limit: the scrubber must not panic, must respect the limit, and scrubbing its
//! output again must change nothing.
#![no_main]

use std::sync::OnceLock;

use candor_privacy::{MachineLiterals, Scrubber};
use libfuzzer_sys::fuzz_target;

/// Built once: the automaton is the expensive part, and hosts build it once too.
fn scrubber() -> &'static Scrubber {
    static SCRUBBER: OnceLock<Scrubber> = OnceLock::new();
    SCRUBBER.get_or_init(|| {
        Scrubber::new(&MachineLiterals {
            user_name: Some("fuzzuser".into()),
            home_dir: Some("/home/fuzzuser".into()),
            host_name: Some("fuzz-host".into()),
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let (limit, text) = match data.split_first() {
        Some((first, rest)) => (usize::from(*first) * 16, rest),
        None => (0, data),
    };
    let scrubber = scrubber();
    let once = scrubber.scrub_bytes(text, limit);
    assert!(once.len() <= limit);
    let unlimited = scrubber.scrub_bytes(text, usize::MAX);
    assert_eq!(scrubber.scrub(&unlimited), unlimited, "scrubbing is idempotent");
});
