//! A tenant file's text, whatever it is, is either a valid tenant or a list
//! of problems with positions inside the text; never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| paycore_core::fuzzing::tenant_config(data));
