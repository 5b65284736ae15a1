//! JWE decryption (`direct_post.jwt` / `dc_api.jwt` responses, encrypted Credential Requests;
//! ECDH-ES + AES-GCM, optional DEFLATE) with a fixed key must never panic. The fuzzer's text is
//! decrypted as a compact JWE under both policies, and also encrypted correctly to the key (once
//! deflated) so the plaintext handling (inflation, JSON object parsing) runs on hostile content.
#![no_main]

use std::sync::LazyLock;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use segl_credential::jwe::{
    ContentEncryption, DecryptPolicy, DecryptionKey, EncryptionParams, encrypt_compact,
};

static KEY: LazyLock<Option<DecryptionKey>> = LazyLock::new(|| {
    let jwk = serde_json::from_str(include_str!(
        "../../test-vectors/oid4vp/vectors/encrypted_response_private_jwk.json"
    ))
    .ok()?;
    DecryptionKey::from_private_jwk(&jwk).ok()
});

const WITH_DEFLATE: DecryptPolicy<'static> = DecryptPolicy { allow_deflate: true, ..DecryptPolicy::DEFAULT };

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some(key) = KEY.as_ref() else { return };
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = key.decrypt(text);
        let _ = key.decrypt_json_with(text, &WITH_DEFLATE);
    }
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    for deflate in [false, true] {
        let params = EncryptionParams {
            kid: Some(key.kid()),
            enc: ContentEncryption::A128Gcm,
            apu: None,
            apv: None,
            deflate,
        };
        if let Ok(jwe) = encrypt_compact(key.public_key(), &params, data, &mut rng) {
            let _ = key.decrypt_json_with(&jwe, &WITH_DEFLATE);
        }
    }
});
