//! DCQL query parsing and validation (OpenID4VP 1.0 §6) must never panic, whatever the text: a
//! wallet-side or admin-supplied query is outside input.
#![no_main]

use segl_verifier::request::DcqlQuery;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(query) = DcqlQuery::parse(text) {
        let _ = query.to_json();
        for credential in &query.query().credentials {
            let _ = credential.claim_options();
        }
        let _ = query.query().validate();
    }
});
