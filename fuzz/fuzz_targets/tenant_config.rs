//! A tenant file's text, whatever it is, is either a valid tenant or a list
//! of problems with positions inside the text; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(errors) = paycore::config::tenant_from_str(Path::new("t.toml"), text) {
        assert!(!errors.0.is_empty(), "a refusal names at least one problem");
        let _ = errors.to_string();
    }
});
