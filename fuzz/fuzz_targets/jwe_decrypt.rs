//! Response decryption (`direct_post.jwt` / `dc_api.jwt`, ECDH-ES + AES-GCM) with a fixed key
//! must never panic. The fuzzer's text is decrypted as a compact JWE, and also encrypted
//! correctly to the key as plaintext so the decrypted payload parsing (`vp_token`, `state`)
//! runs on hostile content.
#![no_main]

use std::sync::LazyLock;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use segl_verifier::response::jwe::{
    ContentEncryption, EncryptionParams, ResponseDecryptionKey, encrypt_compact,
};

static KEY: LazyLock<Option<ResponseDecryptionKey>> = LazyLock::new(|| {
    let jwk = serde_json::from_str(include_str!(
        "../../test-vectors/oid4vp/vectors/encrypted_response_private_jwk.json"
    ))
    .ok()?;
    ResponseDecryptionKey::from_private_jwk(&jwk).ok()
});

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some(key) = KEY.as_ref() else { return };
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = key.decrypt(text);
        let _ = key.open_response(text, Some("state"));
    }
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let params = EncryptionParams { kid: key.kid(), enc: ContentEncryption::A128Gcm, apu: None, apv: None };
    if let Ok(jwe) = encrypt_compact(key.public_key(), &params, data, &mut rng) {
        let _ = key.decrypt_response(&jwe);
        let _ = key.open_response(&jwe, None);
    }
});
