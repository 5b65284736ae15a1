//! Compact JWS parsing and header accessors must never panic, whatever the text.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(jws) = segl_credential::jose::CompactJws::parse(text) {
        let _ = jws.algorithm();
        let _ = jws.typ();
        let _ = jws.x5c();
        let _ = jws.jwk();
        let _ = jws.payload_json();
    }
});
