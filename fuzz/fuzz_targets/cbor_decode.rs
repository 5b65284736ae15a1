//! Strict CBOR decoding must never panic, whatever the bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = segl_credential::cbor::decode(data);
});
