//! A List of Trusted Entities (ETSI TS 119 602, JWS) fetched from an operator is outside input:
//! `LoteVerifier::verify` on any text must never panic; an accepted list's per-service anchor
//! lookup is exercised too.
#![no_main]

use std::sync::LazyLock;

use segl_credential::x509::TrustAnchors;
use segl_trust_list::lote::LoteVerifier;

static VERIFIER: LazyLock<LoteVerifier> = LazyLock::new(|| {
    let mut anchors = TrustAnchors::new();
    let _ = anchors.add_pem(include_str!("../../examples/dev-ca.pem"));
    LoteVerifier::new(anchors)
});

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for previous in [None, Some(1)] {
        if let Ok(accepted) = VERIFIER.verify(text, 1_800_000_000, previous) {
            let _ = accepted.anchors_for("http://uri.etsi.org/19602/SvcType/PID/Issuance");
        }
    }
});
