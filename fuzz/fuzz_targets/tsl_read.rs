//! ETSI TS 119 612 trusted list XML reading must never panic, whatever the text.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = segl_trust_list::tsl::read_services(text);
});
