//! Decimal amount strings: parsing never panics, and whatever parses prints
//! back to the same number of minor units (exact, both ways).
#![no_main]

use libfuzzer_sys::fuzz_target;
use paycore_plugin_sdk::money::{parse_major, to_major_string};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for currency in ["CNY", "JPY", "BHD", "XXX"] {
        if let Ok(minor) = parse_major(text, currency) {
            let printed = to_major_string(minor, currency).expect("a parsed amount prints");
            assert_eq!(parse_major(&printed, currency), Ok(minor), "{text} {currency}");
        }
    }
});
