//! The wallet side: a signed Request Object (JWS with `x5c`) fetched from a verifier is outside
//! input. `verify_request_object` with fixed expectations must never panic. The fuzzer's text is
//! checked as a whole JWS, and its bytes also become the payload of a Request Object correctly
//! signed by an access certificate under the anchor, so the claim checks (`client_id`, `aud`,
//! `exp`, `wallet_nonce`, response mode, DCQL) run on hostile content.
#![no_main]

use std::sync::LazyLock;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use segl_credential::jose::{self, KeyReference};
use segl_credential::x509::{DevPki, DevPkiOptions, TrustAnchors, generate_dev_pki};
use segl_verifier::request::object::{REQUEST_OBJECT_TYP, SELF_ISSUED_AUDIENCE};
use segl_verifier::request::{WalletExpectations, verify_request_object};

const NOW: i64 = 1_800_000_000;

static PKI: LazyLock<Option<(DevPki, TrustAnchors)>> = LazyLock::new(|| {
    let options = DevPkiOptions {
        ca_common_name: "Fuzz Access CA".into(),
        issuer_common_name: "Fuzz Verifier".into(),
        country: Some("DK".into()),
        dns_names: vec!["fuzz.example".into()],
        uris: vec![],
        mdoc_ds_eku: false,
        not_before: NOW - 86_400,
        not_after: NOW + 86_400,
    };
    let pki = generate_dev_pki(&options, &mut ChaCha20Rng::seed_from_u64(3)).ok()?;
    let mut anchors = TrustAnchors::new();
    anchors.add_der(&pki.ca_der).ok()?;
    Some((pki, anchors))
});

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((pki, anchors)) = PKI.as_ref() else { return };
    let signed = jose::header(REQUEST_OBJECT_TYP, &pki.issuer_signer, KeyReference::X5c)
        .and_then(|header| jose::sign_compact(header, data, &pki.issuer_signer))
        .ok();
    let text = std::str::from_utf8(data).ok();
    for wallet_nonce in [None, Some("wn")] {
        let expect = WalletExpectations {
            anchors,
            now: NOW,
            invocation_client_id: "x509_san_dns:fuzz.example",
            audience: SELF_ISSUED_AUDIENCE,
            wallet_nonce,
        };
        for jws in [text, signed.as_deref()].into_iter().flatten() {
            let _ = verify_request_object(jws, &expect);
        }
    }
});
