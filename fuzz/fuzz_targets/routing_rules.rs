//! Arbitrary `[[rules]]` (and top-level keys such as `timezone`) in front of
//! fixed channels: they parse or are refused, and whatever parses routes
//! payments through candidate filtering without panicking, `route` and
//! `explain` agreeing.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| paycore_core::fuzzing::routing_rules(data));
