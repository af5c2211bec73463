//! Any text through the stack-trace filter: no panic, and frame counts add up.
#![no_main]

use candor_privacy::stack::StackFilter;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let filtered = StackFilter::new(["System", "Contrast", "candor"]).filter(&text);
    assert!(filtered.kept + filtered.dropped <= text.lines().count());
    let again = StackFilter::new(["System", "Contrast", "candor"]).filter(&filtered.text);
    assert_eq!(again.dropped, 0, "filtered output has no frame left to drop");
});
