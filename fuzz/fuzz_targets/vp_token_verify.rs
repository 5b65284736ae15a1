//! `vp_token` verification with a fixed query, binding and context must never panic. The input is
//! structure-aware: a JSON object of credential query id → array of presentation strings (SD-JWT
//! or base64url DeviceResponse); anything else is tried as a raw JSON `vp_token` too.
#![no_main]

use std::sync::LazyLock;

use segl_credential::clock::FixedClock;
use segl_credential::x509::TrustAnchors;
use segl_verifier::request::{ValidatedDcqlQuery, age_over_18_either_format, pid_core};
use segl_verifier::response::{PresentationBinding, VerifyContext, verify_vp_token};
use serde_json::{Map, Value};

static ANCHORS: LazyLock<TrustAnchors> = LazyLock::new(|| {
    let mut anchors = TrustAnchors::new();
    let _ = anchors.add_pem(include_str!("../../test-vectors/mdoc-real/animo-paradym_iaca_root.pem"));
    let _ = anchors.add_pem(include_str!("../../examples/dev-ca.pem"));
    anchors
});
static QUERIES: LazyLock<Vec<ValidatedDcqlQuery>> =
    LazyLock::new(|| [age_over_18_either_format(), pid_core()].into_iter().filter_map(Result::ok).collect());

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(vp_token) = serde_json::from_slice::<Value>(data) else { return };
    // Structure-aware: keep only id → [string] entries, so the presentations reach the
    // credential verifiers rather than failing the shape check.
    let shaped: Map<String, Value> = vp_token
        .as_object()
        .map(|entries| {
            entries
                .iter()
                .filter_map(|(id, value)| {
                    let strings: Vec<Value> =
                        value.as_array()?.iter().filter(|v| v.is_string()).cloned().collect();
                    Some((id.clone(), Value::Array(strings)))
                })
                .collect()
        })
        .unwrap_or_default();
    let clock = FixedClock(1_800_000_000);
    let context = VerifyContext::new(&ANCHORS, &clock);
    let redirect =
        PresentationBinding::redirect("x509_san_dns:fuzz.example", "nonce", None, "https://fuzz.example/r");
    let dc_api = PresentationBinding::dc_api("https://fuzz.example", "nonce", None);
    for query in QUERIES.iter() {
        let _ = verify_vp_token(&vp_token, query, &redirect, &context);
        let _ = verify_vp_token(&Value::Object(shaped.clone()), query, &dc_api, &context);
    }
});
