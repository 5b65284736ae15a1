//! Encrypted responses (`response_mode=direct_post.jwt`, OpenID4VP 1.0 §8.3, DIGEST §7.4 and
//! §2 HAIP verifier): the wallet POSTs `response=<JWE>`, a compact JWE (RFC 7516 §7.1) with
//! `alg` `ECDH-ES` (direct key agreement, RFC 7518 §4.6) on P-256 and `enc` `A128GCM` or
//! `A256GCM`, encrypted to the ephemeral key this verifier put in `client_metadata.jwks`.
//!
//! [`ResponseDecryptionKey`] is that per-request key: it gives the public JWK for the request
//! object, the RFC 7638 thumbprint for the mdoc `OpenID4VPHandover` (DIGEST §5.3), and decrypts.
//! Everything else is refused with a typed [`JweError`]: other `alg`/`enc`, a foreign `kid`, an
//! `epk` off P-256, `zip`, `crit`, a non-empty encrypted key, a bad tag.
//!
//! Why not a JOSE crate: the maintained ones (josekit on OpenSSL, biscuit on ring, jose-jwe
//! unfinished) bring their own key types and crypto backends; HAIP needs exactly one algorithm
//! pair on P-256, the compact framing is five base64url parts, and aws-lc-rs (already our
//! crypto) has ECDH P-256 and AES-GCM. Concat KDF (RFC 7518 §4.6.2, NIST SP 800-56A) is one
//! SHA-256 block for key lengths up to 256 bits.

use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::agreement::{self, ECDH_P256, UnparsedPublicKey};
use aws_lc_rs::digest::{SHA256, digest};
use rand_core::CryptoRngCore;
use segl_credential::jose::{base64url_decode, base64url_encode};
use segl_credential::keys::{Curve, PublicKey};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

/// The largest compact JWE accepted: a `vp_token` with a few presentations of up to
/// [`super::MAX_PRESENTATION_LEN`] each, base64url-expanded once more.
pub const MAX_JWE_LEN: usize = 8 << 20;

/// The JWE `alg` HAIP mandates for encrypted responses (DIGEST §2).
pub const ECDH_ES: &str = "ECDH-ES";

const IV_LEN: usize = 12;
const TAG_LEN: usize = 16;
const P256_SCALAR_LEN: usize = 32;

/// The JWE `enc` values this verifier supports and advertises in
/// `encrypted_response_enc_values_supported` (HAIP: both, DIGEST §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentEncryption {
    /// AES-128-GCM (RFC 7518 §5.3).
    A128Gcm,
    /// AES-256-GCM (RFC 7518 §5.3); the one a HAIP wallet prefers.
    A256Gcm,
}

impl ContentEncryption {
    /// Every supported value, in the order advertised.
    pub const ALL: [ContentEncryption; 2] = [ContentEncryption::A128Gcm, ContentEncryption::A256Gcm];

    /// The JOSE name (`A128GCM`, `A256GCM`), also the Concat KDF AlgorithmID (RFC 7518 §4.6.2).
    pub fn name(self) -> &'static str {
        match self {
            ContentEncryption::A128Gcm => "A128GCM",
            ContentEncryption::A256Gcm => "A256GCM",
        }
    }

    /// Parses a JOSE `enc` name; anything but the two GCM values is refused.
    pub fn from_name(name: &str) -> Result<Self, JweError> {
        match name {
            "A128GCM" => Ok(ContentEncryption::A128Gcm),
            "A256GCM" => Ok(ContentEncryption::A256Gcm),
            other => Err(JweError::UnsupportedEncryption(other.to_owned())),
        }
    }

    /// The content encryption key length in bytes (keydatalen / 8).
    fn key_len(self) -> usize {
        match self {
            ContentEncryption::A128Gcm => 16,
            ContentEncryption::A256Gcm => 32,
        }
    }

    fn aead(self) -> &'static aws_lc_rs::aead::Algorithm {
        match self {
            ContentEncryption::A128Gcm => &AES_128_GCM,
            ContentEncryption::A256Gcm => &AES_256_GCM,
        }
    }
}

/// The five parts of a compact JWE (RFC 7516 §7.1), named in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwePart {
    /// The BASE64URL(UTF8(JWE Protected Header)).
    ProtectedHeader,
    /// The JWE Encrypted Key (empty for ECDH-ES direct key agreement).
    EncryptedKey,
    /// The Initialization Vector.
    Iv,
    /// The Ciphertext.
    Ciphertext,
    /// The Authentication Tag.
    Tag,
}

/// Why an encrypted response was refused or a key could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JweError {
    /// The JWE is longer than [`MAX_JWE_LEN`].
    #[error("JWE of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not five dot-separated parts.
    #[error("a compact JWE has 5 parts, this one has {0}")]
    PartCount(usize),
    /// A part is not strict base64url, or has the wrong length.
    #[error("JWE {part:?}: {reason}")]
    Malformed {
        /// Which part.
        part: JwePart,
        /// What is wrong.
        reason: String,
    },
    /// The protected header names an `alg` other than `ECDH-ES`.
    #[error("JWE alg `{0}` is not supported (only ECDH-ES)")]
    UnsupportedAlgorithm(String),
    /// The protected header names an `enc` other than `A128GCM` / `A256GCM`.
    #[error("JWE enc `{0}` is not supported (only A128GCM, A256GCM)")]
    UnsupportedEncryption(String),
    /// A header member is missing, mistyped or refused (`zip`, `crit`, a bad `epk`).
    #[error("JWE header `{member}`: {reason}")]
    Header {
        /// The header member at fault.
        member: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The `kid` names a key other than this request's encryption key.
    #[error("JWE kid `{found}` is not this request's encryption key `{expected}`")]
    KidMismatch {
        /// Our key's id.
        expected: String,
        /// The JWE's `kid`.
        found: String,
    },
    /// ECDH with the sender's `epk` failed.
    #[error("ECDH key agreement with the JWE epk failed")]
    KeyAgreement,
    /// The authentication tag does not verify: wrong key, or anything was changed.
    #[error("JWE decryption failed: the authentication tag does not verify")]
    Decryption,
    /// The plaintext is not the JSON object an encrypted response carries.
    #[error("JWE plaintext is not a JSON object: {0}")]
    Payload(String),
    /// The payload carries an OAuth error instead of a `vp_token` (OpenID4VP 1.0 §8.5).
    #[error("the wallet answered with error `{error}`: {description:?}")]
    WalletError {
        /// The `error` code, e.g. `access_denied`.
        error: String,
        /// The `error_description`, if any.
        description: Option<String>,
    },
    /// The payload has no `vp_token` object.
    #[error("the response has no vp_token object")]
    MissingVpToken,
    /// The payload's `state` is not this session's.
    #[error("the response state {found:?} is not this session's")]
    StateMismatch {
        /// The `state` the response carried.
        found: Option<String>,
    },
    /// A key could not be generated, read or used.
    #[error("encryption key: {0}")]
    Key(String),
}

/// The verifier's ephemeral P-256 ECDH-ES key for one request (HAIP: "ephemeral encryption keys
/// per request", DIGEST §2). Keep it with the session until the response arrives.
pub struct ResponseDecryptionKey {
    kid: String,
    private: agreement::PrivateKey,
    public: PublicKey,
}

impl std::fmt::Debug for ResponseDecryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseDecryptionKey")
            .field("kid", &self.kid)
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl ResponseDecryptionKey {
    /// A fresh key from `rng`, named `kid`.
    pub fn generate(kid: impl Into<String>, rng: &mut impl CryptoRngCore) -> Result<Self, JweError> {
        // A uniformly drawn 32-byte string is a valid scalar unless it is 0 or >= n (chance
        // about 2^-32); draw again then.
        let kid = kid.into();
        for _ in 0..16 {
            let mut scalar = Zeroizing::new([0u8; P256_SCALAR_LEN]);
            rng.fill_bytes(scalar.as_mut());
            if let Ok(key) = Self::from_scalar(kid.clone(), scalar.as_ref()) {
                return Ok(key);
            }
        }
        Err(JweError::Key("could not draw a valid P-256 scalar".into()))
    }

    /// A key from its 32-byte big-endian private scalar.
    pub fn from_scalar(kid: impl Into<String>, scalar: &[u8]) -> Result<Self, JweError> {
        let private = agreement::PrivateKey::from_private_key(&ECDH_P256, scalar)
            .map_err(|e| JweError::Key(format!("invalid P-256 scalar: {e}")))?;
        let point = private.compute_public_key().map_err(|_| JweError::Key("no public key".into()))?;
        let public = PublicKey::from_uncompressed_point(Curve::P256, point.as_ref())
            .map_err(|e| JweError::Key(e.to_string()))?;
        Ok(Self { kid: kid.into(), private, public })
    }

    /// A key from a private EC JWK (`kty` EC, `crv` P-256, `d`, and `kid`), e.g. the one the
    /// OpenID4VP 1.0 §8.3 example gives. `x`/`y`, when present, must match `d`.
    pub fn from_private_jwk(jwk: &Value) -> Result<Self, JweError> {
        let member = |name: &str| jwk.get(name).and_then(Value::as_str);
        if member("kty") != Some("EC") || member("crv") != Some("P-256") {
            return Err(JweError::Key("expected an EC P-256 JWK".into()));
        }
        let kid = member("kid").ok_or_else(|| JweError::Key("the JWK has no kid".into()))?;
        let d = member("d").ok_or_else(|| JweError::Key("the JWK has no private `d`".into()))?;
        let scalar = Zeroizing::new(base64url_decode(d).map_err(|e| JweError::Key(format!("`d`: {e}")))?);
        let key = Self::from_scalar(kid, &scalar)?;
        if let (Some(x), Some(y)) = (member("x"), member("y")) {
            let public = key.public.to_jwk();
            if public.get("x").and_then(Value::as_str) != Some(x)
                || public.get("y").and_then(Value::as_str) != Some(y)
            {
                return Err(JweError::Key("`x`/`y` do not belong to `d`".into()));
            }
        }
        Ok(key)
    }

    /// The private scalar, big-endian, for storing the key with the session.
    pub fn private_scalar(&self) -> Result<Zeroizing<Vec<u8>>, JweError> {
        use aws_lc_rs::encoding::{AsBigEndian, EcPrivateKeyBin};
        let bin: EcPrivateKeyBin<'static> =
            self.private.as_be_bytes().map_err(|_| JweError::Key("cannot export the scalar".into()))?;
        Ok(Zeroizing::new(bin.as_ref().to_vec()))
    }

    /// The key id, sent in the JWK and expected back in the JWE `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The public JWK for `client_metadata.jwks`: `kty`, `crv`, `x`, `y`, plus `kid`, `use: enc`
    /// and `alg: ECDH-ES` (OpenID4VP 1.0 §8.3: each key has `kid` and `alg`).
    pub fn public_jwk(&self) -> Value {
        let mut jwk = match self.public.to_jwk() {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        jwk.insert("kid".into(), Value::from(self.kid.as_str()));
        jwk.insert("use".into(), Value::from("enc"));
        jwk.insert("alg".into(), Value::from(ECDH_ES));
        Value::Object(jwk)
    }

    /// The RFC 7638 SHA-256 thumbprint of the public key: the `jwkThumbprint` of the mdoc
    /// `OpenID4VPHandoverInfo` when the response is encrypted (OpenID4VP 1.0 B.2.6.1, DIGEST
    /// §5.3), to pass to `SessionTranscript::openid4vp` / `PresentationBinding::redirect`.
    pub fn jwk_thumbprint(&self) -> [u8; 32] {
        self.public.jwk_thumbprint()
    }

    /// Decrypts a compact JWE encrypted to this key and returns the plaintext bytes.
    pub fn decrypt(&self, compact: &str) -> Result<Vec<u8>, JweError> {
        if compact.len() > MAX_JWE_LEN {
            return Err(JweError::TooLarge { len: compact.len(), max: MAX_JWE_LEN });
        }
        let parts: Vec<&str> = compact.split('.').collect();
        let [header_b64, encrypted_key, iv, ciphertext, tag] = parts.as_slice() else {
            return Err(JweError::PartCount(parts.len()));
        };
        let header = parse_header(header_b64)?;
        let enc = self.check_header(&header)?;
        // RFC 7516 §5.2 step 10: with Direct Key Agreement, verify that the JWE Encrypted Key
        // is the empty octet sequence.
        if !encrypted_key.is_empty() {
            return Err(malformed(JwePart::EncryptedKey, "must be empty for ECDH-ES"));
        }
        let iv = decode(JwePart::Iv, iv)?;
        let iv: [u8; IV_LEN] = iv.try_into().map_err(|_| malformed(JwePart::Iv, "must be 96 bits"))?;
        let tag = decode(JwePart::Tag, tag)?;
        if tag.len() != TAG_LEN {
            return Err(malformed(JwePart::Tag, "must be 128 bits"));
        }
        let mut in_out = decode(JwePart::Ciphertext, ciphertext)?;
        let epk = epk(&header)?;
        let cek = derive_cek(&self.private, &epk, enc, &header)?;
        in_out.extend_from_slice(&tag);
        // RFC 7516 §5.2 step 14: the AAD is ASCII(Encoded Protected Header).
        let key = LessSafeKey::new(UnboundKey::new(enc.aead(), &cek).map_err(|_| JweError::Decryption)?);
        let plaintext = key
            .open_in_place(Nonce::assume_unique_for_key(iv), Aad::from(header_b64.as_bytes()), &mut in_out)
            .map_err(|_| JweError::Decryption)?;
        let len = plaintext.len();
        in_out.truncate(len);
        Ok(in_out)
    }

    /// Decrypts a `direct_post.jwt` `response` and returns its JSON object payload
    /// (`{"vp_token": {...}, "state": ...}`, OpenID4VP 1.0 §8.3).
    pub fn decrypt_response(&self, compact: &str) -> Result<Map<String, Value>, JweError> {
        let plaintext = self.decrypt(compact)?;
        match serde_json::from_slice(&plaintext) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(JweError::Payload("not an object".into())),
            Err(e) => Err(JweError::Payload(e.to_string())),
        }
    }

    /// Decrypts a `direct_post.jwt` `response` and returns its `vp_token`, ready for
    /// [`super::verify_vp_token`], after checking that `state` is this session's
    /// (`expected_state`, or absent when the request had none). A payload carrying `error`
    /// becomes [`JweError::WalletError`].
    pub fn open_response(&self, compact: &str, expected_state: Option<&str>) -> Result<Value, JweError> {
        let mut payload = self.decrypt_response(compact)?;
        if let Some(error) = payload.get("error").and_then(Value::as_str) {
            return Err(JweError::WalletError {
                error: error.to_owned(),
                description: payload.get("error_description").and_then(Value::as_str).map(str::to_owned),
            });
        }
        let state = payload.get("state").and_then(Value::as_str);
        if state != expected_state {
            return Err(JweError::StateMismatch { found: state.map(str::to_owned) });
        }
        match payload.remove("vp_token") {
            Some(vp_token @ Value::Object(_)) => Ok(vp_token),
            _ => Err(JweError::MissingVpToken),
        }
    }

    fn check_header(&self, header: &Map<String, Value>) -> Result<ContentEncryption, JweError> {
        let alg = header_str(header, "alg")?;
        if alg != ECDH_ES {
            return Err(JweError::UnsupportedAlgorithm(alg.to_owned()));
        }
        let enc = ContentEncryption::from_name(header_str(header, "enc")?)?;
        // DIGEST §7.4 (OpenID4VP 1.0 §8.3): each client_metadata.jwks key has a `kid`, and the
        // JWE header names it in `kid`. Ours always has one, so a missing or other kid is refused.
        let kid = header_str(header, "kid")?;
        if kid != self.kid {
            return Err(JweError::KidMismatch { expected: self.kid.clone(), found: kid.to_owned() });
        }
        if header.contains_key("zip") {
            return Err(JweError::Header { member: "zip", reason: "compression is not accepted".into() });
        }
        if header.contains_key("crit") {
            return Err(JweError::Header { member: "crit", reason: "no extension is understood".into() });
        }
        Ok(enc)
    }
}

/// What the sender (the wallet) puts in a JWE besides the plaintext: the recipient key's `kid`,
/// the `enc`, and optional `apu`/`apv` (raw bytes, base64url-encoded into the header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptionParams<'a> {
    /// The recipient key's `kid`.
    pub kid: &'a str,
    /// The content encryption.
    pub enc: ContentEncryption,
    /// Agreement PartyUInfo, if any.
    pub apu: Option<&'a [u8]>,
    /// Agreement PartyVInfo, if any.
    pub apv: Option<&'a [u8]>,
}

/// The wallet's side (RFC 7516 §5.1 with RFC 7518 §4.6): encrypts `plaintext` to `recipient`
/// under a fresh ephemeral key from `rng`. Segl's verifier never sends JWEs; this exists for
/// tests and wallet simulators.
pub fn encrypt_compact(
    recipient: &PublicKey,
    params: &EncryptionParams<'_>,
    plaintext: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<String, JweError> {
    let ephemeral = ResponseDecryptionKey::generate("epk", rng)?;
    let mut header = Map::new();
    header.insert("alg".into(), Value::from(ECDH_ES));
    header.insert("enc".into(), Value::from(params.enc.name()));
    header.insert("kid".into(), Value::from(params.kid));
    header.insert("epk".into(), ephemeral.public.to_jwk());
    if let Some(apu) = params.apu {
        header.insert("apu".into(), Value::from(base64url_encode(apu)));
    }
    if let Some(apv) = params.apv {
        header.insert("apv".into(), Value::from(base64url_encode(apv)));
    }
    let header_json = serde_json::to_vec(&header).map_err(|e| JweError::Payload(e.to_string()))?;
    let header_b64 = base64url_encode(header_json);
    let cek = derive_cek(&ephemeral.private, recipient, params.enc, &header)?;
    let mut iv = [0u8; IV_LEN];
    rng.fill_bytes(&mut iv);
    let key = LessSafeKey::new(UnboundKey::new(params.enc.aead(), &cek).map_err(|_| JweError::Decryption)?);
    let mut in_out = plaintext.to_vec();
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(iv),
            Aad::from(header_b64.as_bytes()),
            &mut in_out,
        )
        .map_err(|_| JweError::Key("AES-GCM sealing failed".into()))?;
    Ok(format!(
        "{header_b64}..{}.{}.{}",
        base64url_encode(iv),
        base64url_encode(&in_out),
        base64url_encode(tag.as_ref())
    ))
}

fn malformed(part: JwePart, reason: &str) -> JweError {
    JweError::Malformed { part, reason: reason.to_owned() }
}

fn decode(part: JwePart, text: &str) -> Result<Vec<u8>, JweError> {
    base64url_decode(text).map_err(|e| JweError::Malformed { part, reason: e.to_string() })
}

fn parse_header(header_b64: &str) -> Result<Map<String, Value>, JweError> {
    let bytes = decode(JwePart::ProtectedHeader, header_b64)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(malformed(JwePart::ProtectedHeader, "not a JSON object")),
        Err(e) => Err(JweError::Malformed { part: JwePart::ProtectedHeader, reason: e.to_string() }),
    }
}

fn header_str<'h>(header: &'h Map<String, Value>, member: &'static str) -> Result<&'h str, JweError> {
    match header.get(member) {
        Some(Value::String(value)) => Ok(value),
        Some(_) => Err(JweError::Header { member, reason: "not a string".into() }),
        None => Err(JweError::Header { member, reason: "missing".into() }),
    }
}

/// The sender's ephemeral public key, which must be an EC P-256 public JWK (HAIP: ECDH-ES on
/// P-256, DIGEST §2).
fn epk(header: &Map<String, Value>) -> Result<PublicKey, JweError> {
    let epk = header.get("epk").ok_or(JweError::Header { member: "epk", reason: "missing".into() })?;
    if epk.get("kty").and_then(Value::as_str) != Some("EC")
        || epk.get("crv").and_then(Value::as_str) != Some("P-256")
    {
        return Err(JweError::Header { member: "epk", reason: "must be an EC P-256 key".into() });
    }
    PublicKey::from_jwk(epk).map_err(|e| JweError::Header { member: "epk", reason: e.to_string() })
}

/// The optional `apu`/`apv` members, base64url-decoded (empty when absent).
fn party_info(header: &Map<String, Value>, member: &'static str) -> Result<Vec<u8>, JweError> {
    match header.get(member) {
        None => Ok(Vec::new()),
        Some(Value::String(text)) => {
            base64url_decode(text).map_err(|e| JweError::Header { member, reason: e.to_string() })
        }
        Some(_) => Err(JweError::Header { member, reason: "not a string".into() }),
    }
}

/// ECDH between `private` and `peer`, then Concat KDF (RFC 7518 §4.6.2): one SHA-256 round over
/// `counter=1 || Z || AlgorithmID || PartyUInfo || PartyVInfo || SuppPubInfo`, where the
/// AlgorithmID is the `enc` value (direct key agreement), each datum is length-prefixed (32-bit
/// big-endian), and SuppPubInfo is keydatalen in bits.
fn derive_cek(
    private: &agreement::PrivateKey,
    peer: &PublicKey,
    enc: ContentEncryption,
    header: &Map<String, Value>,
) -> Result<Zeroizing<Vec<u8>>, JweError> {
    let apu = party_info(header, "apu")?;
    let apv = party_info(header, "apv")?;
    let peer = UnparsedPublicKey::new(&ECDH_P256, peer.uncompressed_point());
    agreement::agree(private, peer, JweError::KeyAgreement, |z| {
        let key_len = enc.key_len();
        let mut input = Zeroizing::new(Vec::with_capacity(4 + z.len() + 64 + apu.len() + apv.len()));
        input.extend_from_slice(&1u32.to_be_bytes());
        input.extend_from_slice(z);
        for datum in [enc.name().as_bytes(), &apu, &apv] {
            let len = u32::try_from(datum.len()).map_err(|_| JweError::KeyAgreement)?;
            input.extend_from_slice(&len.to_be_bytes());
            input.extend_from_slice(datum);
        }
        let bits = u32::try_from(key_len * 8).map_err(|_| JweError::KeyAgreement)?;
        input.extend_from_slice(&bits.to_be_bytes());
        let hash = digest(&SHA256, &input);
        let cek = hash.as_ref().get(..key_len).ok_or(JweError::KeyAgreement)?;
        Ok(Zeroizing::new(cek.to_vec()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use serde_json::json;

    fn key(rng: &mut ChaCha20Rng) -> ResponseDecryptionKey {
        ResponseDecryptionKey::generate("k1", rng).unwrap()
    }

    fn encrypt(key: &ResponseDecryptionKey, enc: ContentEncryption, rng: &mut ChaCha20Rng) -> String {
        let params = EncryptionParams { kid: key.kid(), enc, apu: Some(b"wallet"), apv: Some(b"nonce") };
        encrypt_compact(key.public_key(), &params, br#"{"vp_token":{"q":["x"]},"state":"s"}"#, rng).unwrap()
    }

    /// Re-encodes the protected header after `edit` (the tag no longer matches, so only checks
    /// made before decryption can name the fault).
    fn with_header(jwe: &str, edit: impl FnOnce(&mut Map<String, Value>)) -> String {
        let (header_b64, rest) = jwe.split_once('.').unwrap();
        let mut header = parse_header(header_b64).unwrap();
        edit(&mut header);
        format!("{}.{rest}", base64url_encode(serde_json::to_vec(&header).unwrap()))
    }

    #[test]
    fn round_trips_both_encodings_with_party_info() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let key = key(&mut rng);
        for enc in ContentEncryption::ALL {
            let jwe = encrypt(&key, enc, &mut rng);
            let response = key.decrypt_response(&jwe).unwrap();
            assert_eq!(
                response,
                json!({"vp_token": {"q": ["x"]}, "state": "s"}).as_object().cloned().unwrap()
            );
        }
    }

    #[test]
    fn rejects_a_foreign_state_a_wallet_error_and_a_missing_vp_token() {
        let mut rng = ChaCha20Rng::seed_from_u64(10);
        let key = key(&mut rng);
        let jwe = encrypt(&key, ContentEncryption::A128Gcm, &mut rng);
        assert_eq!(key.open_response(&jwe, Some("s")).unwrap(), json!({"q": ["x"]}));
        assert_eq!(
            key.open_response(&jwe, Some("t")),
            Err(JweError::StateMismatch { found: Some("s".into()) })
        );
        assert_eq!(key.open_response(&jwe, None), Err(JweError::StateMismatch { found: Some("s".into()) }));
        let params = EncryptionParams { kid: "k1", enc: ContentEncryption::A256Gcm, apu: None, apv: None };
        let error = br#"{"error":"access_denied","error_description":"user said no"}"#;
        let jwe = encrypt_compact(key.public_key(), &params, error, &mut rng).unwrap();
        assert_eq!(
            key.open_response(&jwe, None),
            Err(JweError::WalletError {
                error: "access_denied".into(),
                description: Some("user said no".into())
            })
        );
        let jwe = encrypt_compact(key.public_key(), &params, br#"{"vp_token":"x"}"#, &mut rng).unwrap();
        assert_eq!(key.open_response(&jwe, None), Err(JweError::MissingVpToken));
    }

    #[test]
    fn scalar_export_restores_the_same_key() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let key = key(&mut rng);
        let jwe = encrypt(&key, ContentEncryption::A256Gcm, &mut rng);
        let restored = ResponseDecryptionKey::from_scalar("k1", &key.private_scalar().unwrap()).unwrap();
        assert_eq!(restored.public_key(), key.public_key());
        assert_eq!(restored.jwk_thumbprint(), key.jwk_thumbprint());
        assert!(restored.decrypt(&jwe).is_ok());
    }

    #[test]
    fn public_jwk_names_the_key_for_encryption() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let key = key(&mut rng);
        let jwk = key.public_jwk();
        assert_eq!(
            (jwk["kid"].as_str(), jwk["use"].as_str(), jwk["alg"].as_str()),
            (Some("k1"), Some("enc"), Some("ECDH-ES"))
        );
        assert!(jwk.get("d").is_none());
        assert_eq!(PublicKey::from_jwk(&jwk).unwrap().jwk_thumbprint(), key.jwk_thumbprint());
    }

    #[test]
    fn rejects_another_recipient_key() {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let ours = key(&mut rng);
        let other = key(&mut rng);
        let jwe = encrypt(&other, ContentEncryption::A128Gcm, &mut rng);
        assert_eq!(ours.decrypt(&jwe), Err(JweError::Decryption));
    }

    type HeaderEdit = Box<dyn FnOnce(&mut Map<String, Value>)>;

    #[test]
    fn rejects_header_changes() {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let key = key(&mut rng);
        let jwe = encrypt(&key, ContentEncryption::A128Gcm, &mut rng);
        let cases: Vec<(HeaderEdit, JweError)> = vec![
            (
                Box::new(|h| drop(h.insert("alg".into(), json!("ECDH-ES+A128KW")))),
                JweError::UnsupportedAlgorithm("ECDH-ES+A128KW".into()),
            ),
            (
                Box::new(|h| drop(h.insert("alg".into(), json!("dir")))),
                JweError::UnsupportedAlgorithm("dir".into()),
            ),
            (
                Box::new(|h| drop(h.insert("enc".into(), json!("A128CBC-HS256")))),
                JweError::UnsupportedEncryption("A128CBC-HS256".into()),
            ),
            (
                Box::new(|h| drop(h.insert("kid".into(), json!("k2")))),
                JweError::KidMismatch { expected: "k1".into(), found: "k2".into() },
            ),
            (
                Box::new(|h| drop(h.remove("kid"))),
                JweError::Header { member: "kid", reason: "missing".into() },
            ),
            (
                Box::new(|h| drop(h.insert("zip".into(), json!("DEF")))),
                JweError::Header { member: "zip", reason: "compression is not accepted".into() },
            ),
            (
                Box::new(|h| drop(h.insert("crit".into(), json!(["x"])))),
                JweError::Header { member: "crit", reason: "no extension is understood".into() },
            ),
            (
                Box::new(|h| drop(h.remove("epk"))),
                JweError::Header { member: "epk", reason: "missing".into() },
            ),
            (
                Box::new(|h| drop(h.insert("epk".into(), json!({"kty": "OKP", "crv": "X25519", "x": "AA"})))),
                JweError::Header { member: "epk", reason: "must be an EC P-256 key".into() },
            ),
            (
                Box::new(|h| drop(h.insert("apu".into(), json!(5)))),
                JweError::Header { member: "apu", reason: "not a string".into() },
            ),
        ];
        for (edit, expected) in cases {
            assert_eq!(key.decrypt(&with_header(&jwe, edit)), Err(expected));
        }
    }

    #[test]
    fn rejects_an_epk_off_the_curve_or_changed_party_info() {
        let mut rng = ChaCha20Rng::seed_from_u64(6);
        let key = key(&mut rng);
        let jwe = encrypt(&key, ContentEncryption::A256Gcm, &mut rng);
        let off_curve = with_header(&jwe, |h| {
            if let Some(Value::Object(epk)) = h.get_mut("epk") {
                epk.insert("y".into(), json!(base64url_encode([1u8; 32])));
            }
        });
        assert!(matches!(key.decrypt(&off_curve), Err(JweError::Header { member: "epk", .. })));
        let apv = with_header(&jwe, |h| drop(h.insert("apv".into(), json!(base64url_encode(b"other")))));
        assert_eq!(key.decrypt(&apv), Err(JweError::Decryption));
    }

    #[test]
    fn rejects_oversized_and_non_object_payloads() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let key = key(&mut rng);
        let huge = "a".repeat(MAX_JWE_LEN + 1);
        assert_eq!(key.decrypt(&huge), Err(JweError::TooLarge { len: MAX_JWE_LEN + 1, max: MAX_JWE_LEN }));
        let params = EncryptionParams { kid: "k1", enc: ContentEncryption::A128Gcm, apu: None, apv: None };
        let jwe = encrypt_compact(key.public_key(), &params, b"[1]", &mut rng).unwrap();
        assert_eq!(key.decrypt(&jwe).unwrap(), b"[1]");
        assert!(matches!(key.decrypt_response(&jwe), Err(JweError::Payload(_))));
    }

    #[test]
    fn rejects_private_jwks_that_do_not_fit() {
        let mut rng = ChaCha20Rng::seed_from_u64(8);
        let key = key(&mut rng);
        let mut jwk = key.public_jwk();
        assert!(ResponseDecryptionKey::from_private_jwk(&jwk).is_err());
        jwk["d"] = json!(base64url_encode(key.private_scalar().unwrap().as_slice()));
        assert_eq!(ResponseDecryptionKey::from_private_jwk(&jwk).unwrap().public_key(), key.public_key());
        jwk["x"] = json!(base64url_encode([9u8; 32]));
        assert!(matches!(ResponseDecryptionKey::from_private_jwk(&jwk), Err(JweError::Key(_))));
    }
}
