//! The `DigitalCredential.data` the browser hands back for a DC API transaction (`{vp_token}`,
//! `{response: JWE}` or `{error}`) is outside input: `finish_dc_api` on any JSON must never panic
//! (plain and `dc_api.jwt` transactions).
#![no_main]

use std::sync::LazyLock;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use segl_credential::clock::FixedClock;
use segl_credential::x509::TrustAnchors;
use segl_verifier::flow::{
    DcApiOptions, Transaction, TransactionIds, VerifierIdentity, finish_dc_api, start_dc_api,
};
use segl_verifier::request::age_over_18_either_format;
use segl_verifier::response::VerifyContext;
use serde_json::Value;

const NOW: i64 = 1_800_000_000;
const ORIGIN: &str = "https://fuzz.example";

static TRANSACTIONS: LazyLock<Vec<Transaction>> = LazyLock::new(|| {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let clock = FixedClock(NOW);
    let identity = VerifierIdentity::redirect_uri();
    [false, true]
        .into_iter()
        .filter_map(|encrypted| {
            let options = DcApiOptions {
                query: age_over_18_either_format().ok()?,
                signed: false,
                expected_origins: vec![ORIGIN.into()],
                encrypted,
                lifetime_seconds: 300,
            };
            let ids = TransactionIds::generate(&mut rng);
            start_dc_api(&identity, ids, options, &mut rng, &clock).ok().map(|(_, t)| t)
        })
        .collect()
});

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else { return };
    let anchors = TrustAnchors::new();
    let clock = FixedClock(NOW);
    let context = VerifyContext::new(&anchors, &clock);
    for transaction in TRANSACTIONS.iter() {
        let _ = finish_dc_api(transaction, &value, ORIGIN, &context, NOW + 1);
    }
});
