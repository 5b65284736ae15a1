//! `vp_token` verification with a fixed query, binding and context must never panic.
//!
//! Two modes on each input. Raw: the input as a JSON `vp_token`, and reshaped to a JSON object of
//! credential query id → array of strings so presentations (SD-JWT or base64url DeviceResponse)
//! reach the credential verifiers. Signed content: the input becomes the payload of an SD-JWT VC
//! signed by an issuer certificate under the anchors (with `cnf.jwk` of a fixed holder key added
//! when absent), presented with a valid KB-JWT for the binding, under each query id; so type,
//! claim matching, value and claim-set checks run on hostile content past every signature.
#![no_main]

use std::sync::LazyLock;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use segl_credential::clock::FixedClock;
use segl_credential::jose::{self, KeyReference};
use segl_credential::keys::{Signer as _, SoftwareSigner};
use segl_credential::sd_jwt::{KeyBindingInput, create_kb_jwt};
use segl_credential::x509::{DevPki, DevPkiOptions, TrustAnchors, generate_dev_pki};
use segl_verifier::request::{ValidatedDcqlQuery, age_over_18_either_format, pid_core};
use segl_verifier::response::{PresentationBinding, VerifyContext, verify_vp_token};
use serde_json::{Map, Value};

const NOW: i64 = 1_800_000_000;
const CLIENT_ID: &str = "x509_san_dns:fuzz.example";
const NONCE: &str = "nonce";

struct Fixture {
    pki: DevPki,
    holder: SoftwareSigner,
    anchors: TrustAnchors,
    queries: Vec<ValidatedDcqlQuery>,
}

static FIXTURE: LazyLock<Option<Fixture>> = LazyLock::new(|| {
    let options = DevPkiOptions {
        ca_common_name: "Fuzz Issuer CA".into(),
        issuer_common_name: "Fuzz Issuer".into(),
        country: Some("DK".into()),
        dns_names: vec!["issuer.fuzz.example".into()],
        uris: vec!["https://issuer.fuzz.example".into()],
        mdoc_ds_eku: true,
        not_before: NOW - 86_400,
        not_after: NOW + 86_400,
    };
    let pki = generate_dev_pki(&options, &mut ChaCha20Rng::seed_from_u64(5)).ok()?;
    let mut anchors = TrustAnchors::new();
    anchors.add_der(&pki.ca_der).ok()?;
    let _ = anchors.add_pem(include_str!("../../test-vectors/mdoc-real/animo-paradym_iaca_root.pem"));
    let queries = [age_over_18_either_format(), pid_core()].into_iter().filter_map(Result::ok).collect();
    let holder = SoftwareSigner::from_scalar(&[19; 32]).ok()?;
    Some(Fixture { pki, holder, anchors, queries })
});

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some(f) = FIXTURE.as_ref() else { return };
    let clock = FixedClock(NOW);
    let context = VerifyContext::new(&f.anchors, &clock);
    let redirect = PresentationBinding::redirect(CLIENT_ID, NONCE, None, "https://fuzz.example/r");
    let dc_api = PresentationBinding::dc_api("https://fuzz.example", NONCE, None);

    if let Ok(vp_token) = serde_json::from_slice::<Value>(data) {
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
        for query in &f.queries {
            let _ = verify_vp_token(&vp_token, query, &redirect, &context);
            let _ = verify_vp_token(&Value::Object(shaped.clone()), query, &dc_api, &context);
        }
    }

    // Signed content: the input as the issuer-signed payload of a bound SD-JWT VC.
    let payload = match serde_json::from_slice::<Value>(data) {
        Ok(Value::Object(mut claims)) => {
            if !claims.contains_key("cnf") {
                claims.insert("cnf".into(), serde_json::json!({ "jwk": f.holder.public_key().to_jwk() }));
            }
            Value::Object(claims).to_string().into_bytes()
        }
        _ => data.to_vec(),
    };
    let signer = &f.pki.issuer_signer;
    let Ok(header) = jose::header("dc+sd-jwt", signer, KeyReference::X5c) else { return };
    let Ok(jwt) = jose::sign_compact(header, &payload, signer) else { return };
    let presented = format!("{jwt}~");
    let input = KeyBindingInput { audience: CLIENT_ID, nonce: NONCE, issued_at: NOW, signer: &f.holder };
    let Ok(kb) = create_kb_jwt(&presented, &input) else { return };
    let presentation = Value::from(format!("{presented}{kb}"));
    for query in &f.queries {
        for credential in &query.query().credentials {
            let mut entries = Map::new();
            entries.insert(credential.id.clone(), Value::Array(vec![presentation.clone()]));
            let _ = verify_vp_token(&Value::Object(entries), query, &redirect, &context);
        }
    }
});
