//! The cashier API's create-payment body: any bytes are refused with a
//! reason naming a field, or become a valid request; never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| paycore_core::fuzzing::payment_body(data));
