//! The trust-list operator's TOML configuration parse must never panic, whatever the text.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(config) = segl_trust_list::config::TrustListConfig::from_toml(text) {
        let _ = config.next_update(1_800_000_000);
    }
});
