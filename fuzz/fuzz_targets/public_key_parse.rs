//! Public keys from outside (a JWK in a JOSE header or `cnf`, a COSE_Key in an MSO, an SPKI in a
//! certificate) must parse or fail cleanly, never panic; a parsed key's encodings are exercised.
#![no_main]

use coset::CborSerializable;
use segl_credential::keys::PublicKey;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut keys = Vec::new();
    if let Ok(jwk) = serde_json::from_slice::<serde_json::Value>(data) {
        keys.extend(PublicKey::from_jwk(&jwk).ok());
    }
    if let Ok(cose) = coset::CoseKey::from_slice(data) {
        keys.extend(PublicKey::from_cose_key(&cose).ok());
    }
    keys.extend(PublicKey::from_spki_der(data).ok());
    for key in keys {
        let _ = key.to_jwk();
        let _ = key.to_cose_key();
        let _ = key.jwk_thumbprint();
    }
});
