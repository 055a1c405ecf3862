//! The cashier API's create-payment body: any bytes are refused with a
//! reason naming a field, or become a valid request; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paycore::payments::request::PaymentBody;

fuzz_target!(|data: &[u8]| {
    if let Ok(body) = serde_json::from_slice::<PaymentBody>(data)
        && let Err(e) = body.validate()
    {
        assert!(!e.field.is_empty(), "a refusal names its field");
    }
});
