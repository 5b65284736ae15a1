//! SD-JWT Key Binding JWT checks (RFC 9901 §4.3, §7.3) on hostile content: a correctly signed
//! issuer JWT with `cnf.jwk` of a fixed holder key, then the fuzzer's bytes as the KB-JWT
//! *payload* signed by that holder key (so `aud`, `nonce`, `iat`, `sd_hash` handling runs past the
//! signature), and as a whole KB-JWT string. Must never panic.
#![no_main]

use std::sync::LazyLock;

use segl_credential::clock::FixedClock;
use segl_credential::jose::{self, KeyReference};
use segl_credential::keys::{Signer as _, SoftwareSigner};
use segl_credential::sd_jwt::{self, ExpectedTyp, KeyBindingPolicy, VerifyOptions};
use segl_credential::x509::IssuerKeySource;

struct Keys {
    issuer: SoftwareSigner,
    holder: SoftwareSigner,
    presented: String,
}

static KEYS: LazyLock<Option<Keys>> = LazyLock::new(|| {
    let issuer = SoftwareSigner::from_scalar(&[13; 32]).ok()?;
    let holder = SoftwareSigner::from_scalar(&[17; 32]).ok()?;
    let payload = serde_json::json!({
        "iss": "https://issuer.fuzz.example",
        "vct": "urn:fuzz",
        "iat": 1_799_999_000,
        "_sd_alg": "sha-256",
        "cnf": { "jwk": holder.public_key().to_jwk() },
    });
    let header = jose::header("dc+sd-jwt", &issuer, KeyReference::None).ok()?;
    let jwt = jose::sign_compact(header, payload.to_string().as_bytes(), &issuer).ok()?;
    Some(Keys { issuer, holder, presented: format!("{jwt}~") })
});

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some(keys) = KEYS.as_ref() else { return };
    let clock = FixedClock(1_800_000_000);
    let options = VerifyOptions {
        issuer_key: IssuerKeySource::Key(keys.issuer.public_key()),
        clock: &clock,
        skew: 60,
        typ: ExpectedTyp::Any,
        key_binding: KeyBindingPolicy::Required { audience: "aud", nonce: "n", max_age: 300 },
    };
    if let Ok(header) = jose::header("kb+jwt", &keys.holder, KeyReference::None)
        && let Ok(kb) = jose::sign_compact(header, data, &keys.holder)
    {
        let _ = sd_jwt::verify(&format!("{}{kb}", keys.presented), &options);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = sd_jwt::verify(&format!("{}{text}", keys.presented), &options);
    }
});
