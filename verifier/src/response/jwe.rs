//! Encrypted responses (`response_mode=direct_post.jwt`, OpenID4VP 1.0 §8.3, DIGEST §7.4 and
//! §2 HAIP verifier): the wallet POSTs `response=<JWE>`, a compact JWE (RFC 7516 §7.1) with
//! `alg` `ECDH-ES` on P-256 and `enc` `A128GCM` or `A256GCM`, encrypted to the ephemeral key
//! this verifier put in `client_metadata.jwks`.
//!
//! The JWE itself is [`segl_credential::jwe`], shared with the issuer (encrypted Credential
//! Requests and Responses): [`ResponseDecryptionKey`] is its recipient key, one per request.
//! It gives the public JWK for the request object, the RFC 7638 thumbprint for the mdoc
//! `OpenID4VPHandover` (DIGEST §5.3), and decrypts with `decrypt_json`.

pub use segl_credential::jwe::{
    ContentEncryption, DecryptPolicy, ECDH_ES, EncryptionParams, JweError, JwePart, MAX_JWE_LEN,
    encrypt_compact,
};

/// The verifier's ephemeral P-256 ECDH-ES key for one request (HAIP: "ephemeral encryption keys
/// per request", DIGEST §2). Keep it with the session until the response arrives.
pub type ResponseDecryptionKey = segl_credential::jwe::DecryptionKey;
