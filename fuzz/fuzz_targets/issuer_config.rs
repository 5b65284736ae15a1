//! The issuer's TOML configuration parse and validation must never panic, whatever the text.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(mut config) = segl_issuer::config::Config::parse(text, "fuzz.toml") {
        let _ = config.validate();
    }
});
