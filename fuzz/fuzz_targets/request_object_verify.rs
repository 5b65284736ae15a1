//! The wallet side: a signed Request Object (JWS with `x5c`) fetched from a verifier is outside
//! input. `verify_request_object` with fixed expectations must never panic.
#![no_main]

use std::sync::LazyLock;

use segl_credential::x509::TrustAnchors;
use segl_verifier::request::{WalletExpectations, verify_request_object};

static ANCHORS: LazyLock<TrustAnchors> = LazyLock::new(|| {
    let mut anchors = TrustAnchors::new();
    let _ = anchors.add_pem(include_str!("../../examples/dev-ca.pem"));
    anchors
});

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for wallet_nonce in [None, Some("wn")] {
        let expect = WalletExpectations {
            anchors: &ANCHORS,
            now: 1_800_000_000,
            invocation_client_id: "x509_san_dns:fuzz.example",
            audience: "https://self-issued.me/v2",
            wallet_nonce,
        };
        let _ = verify_request_object(text, &expect);
    }
});
