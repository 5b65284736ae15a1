//! Compact JWE (RFC 7516 §7.1) with `alg` `ECDH-ES` (direct key agreement, RFC 7518 §4.6) on
//! P-256 and `enc` `A128GCM` or `A256GCM`: the one encryption both roles need. The verifier
//! decrypts `direct_post.jwt` responses (OpenID4VP 1.0 §8.3, DIGEST §7.4); the issuer decrypts
//! encrypted Credential Requests and encrypts Credential Responses (OpenID4VCI 1.0 §10,
//! DIGEST §1.8).
//!
//! [`DecryptionKey`] is a recipient's P-256 key: its public JWK, its RFC 7638 thumbprint, and
//! decryption under a [`DecryptPolicy`]. [`encrypt_compact`] is the sender's side. Everything
//! else is refused with a typed [`JweError`]: other `alg`/`enc`, a foreign `kid`, an `epk` off
//! P-256 or off the curve, `apu`/`apv` that are not base64url, `zip` unless the policy allows
//! it, `crit`, a non-empty encrypted key, a bad tag.
//!
//! Why not a JOSE crate: the maintained ones (josekit on OpenSSL, biscuit on ring, jose-jwe
//! unfinished) bring their own key types and crypto backends; HAIP needs exactly one algorithm
//! pair on P-256, the compact framing is five base64url parts, and aws-lc-rs (already our
//! crypto) has ECDH P-256 and AES-GCM. Concat KDF (RFC 7518 §4.6.2, NIST SP 800-56A) is one
//! SHA-256 block for key lengths up to 256 bits.

use std::io::{Read as _, Write as _};

use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::agreement::{self, ECDH_P256, UnparsedPublicKey};
use aws_lc_rs::digest::{SHA256, digest};
use rand_core::CryptoRngCore;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::jose::{base64url_decode, base64url_encode};
use crate::keys::{Curve, PublicKey};

/// The largest compact JWE accepted, and the largest plaintext `zip` may inflate to: a
/// `vp_token` with a few presentations, base64url-expanded once more.
pub const MAX_JWE_LEN: usize = 8 << 20;

/// The JWE `alg` HAIP mandates for encrypted messages (DIGEST §2).
pub const ECDH_ES: &str = "ECDH-ES";

/// The JWE `zip` value of RFC 7516 §4.1.3: raw DEFLATE (RFC 1951).
pub const DEFLATE: &str = "DEF";

/// The longest `apu` / `apv` accepted, decoded (they are nonces or identifiers, never bulk).
const MAX_PARTY_INFO_LEN: usize = 1024;

const IV_LEN: usize = 12;
const TAG_LEN: usize = 16;
const P256_SCALAR_LEN: usize = 32;

/// The JWE `enc` values supported (HAIP: both, DIGEST §2).
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

/// Why a JWE was refused or a key could not be made.
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
    /// The protected header names an `enc` the recipient does not accept.
    #[error("JWE enc `{0}` is not supported")]
    UnsupportedEncryption(String),
    /// A header member is missing, mistyped or refused (`zip`, `crit`, a bad `epk`).
    #[error("JWE header `{member}`: {reason}")]
    Header {
        /// The header member at fault.
        member: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The `kid` names a key other than the recipient's.
    #[error("JWE kid `{found}` is not the recipient's encryption key `{expected}`")]
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
    /// The plaintext could not be inflated, or is not the JSON object expected.
    #[error("JWE plaintext: {0}")]
    Payload(String),
    /// A key could not be generated, read or used.
    #[error("encryption key: {0}")]
    Key(String),
}

/// What a recipient accepts besides `alg` `ECDH-ES` and its own `kid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecryptPolicy<'a> {
    /// The accepted `enc` values.
    pub encodings: &'a [ContentEncryption],
    /// Whether `zip: "DEF"` is accepted (advertised in `zip_values_supported`); refused otherwise.
    pub allow_deflate: bool,
}

impl DecryptPolicy<'static> {
    /// Both GCM encodings, no compression: what HAIP asks of a verifier.
    pub const DEFAULT: DecryptPolicy<'static> =
        DecryptPolicy { encodings: &ContentEncryption::ALL, allow_deflate: false };
}

/// A recipient's P-256 ECDH-ES key: the verifier's ephemeral key per request (HAIP, DIGEST §2),
/// or an issuer's published `credential_request_encryption` key.
pub struct DecryptionKey {
    kid: String,
    private: agreement::PrivateKey,
    public: PublicKey,
}

impl std::fmt::Debug for DecryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecryptionKey")
            .field("kid", &self.kid)
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl DecryptionKey {
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

    /// The private scalar, big-endian, for storing the key.
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

    /// The public JWK to publish: `kty`, `crv`, `x`, `y`, plus `kid`, `use: enc` and
    /// `alg: ECDH-ES` (OpenID4VP 1.0 §8.3 and OpenID4VCI 1.0 §12.2.4: each key has `kid`; the
    /// JWE `alg` must equal the JWK's `alg`).
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

    /// The RFC 7638 SHA-256 thumbprint of the public key (the `jwkThumbprint` of the mdoc
    /// `OpenID4VPHandoverInfo`, OpenID4VP 1.0 B.2.6.1, DIGEST §5.3).
    pub fn jwk_thumbprint(&self) -> [u8; 32] {
        self.public.jwk_thumbprint()
    }

    /// Decrypts a compact JWE encrypted to this key under [`DecryptPolicy::DEFAULT`].
    pub fn decrypt(&self, compact: &str) -> Result<Vec<u8>, JweError> {
        self.decrypt_with(compact, &DecryptPolicy::DEFAULT)
    }

    /// Decrypts a compact JWE encrypted to this key and returns the plaintext bytes, inflated
    /// when the header has `zip: "DEF"` and `policy` allows it.
    pub fn decrypt_with(&self, compact: &str, policy: &DecryptPolicy<'_>) -> Result<Vec<u8>, JweError> {
        if compact.len() > MAX_JWE_LEN {
            return Err(JweError::TooLarge { len: compact.len(), max: MAX_JWE_LEN });
        }
        let parts: Vec<&str> = compact.split('.').collect();
        let [header_b64, encrypted_key, iv, ciphertext, tag] = parts.as_slice() else {
            return Err(JweError::PartCount(parts.len()));
        };
        let header = parse_header(header_b64)?;
        let (enc, deflated) = self.check_header(&header, policy)?;
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
        // RFC 7516 §5.2 step 17: with `zip`, decompress the decrypted plaintext.
        if deflated { inflate(&in_out) } else { Ok(in_out) }
    }

    /// Decrypts a JWE whose plaintext is a JSON object (a `direct_post.jwt` response, an
    /// encrypted Credential Request) under [`DecryptPolicy::DEFAULT`].
    pub fn decrypt_json(&self, compact: &str) -> Result<Map<String, Value>, JweError> {
        self.decrypt_json_with(compact, &DecryptPolicy::DEFAULT)
    }

    /// [`Self::decrypt_json`] under `policy`.
    pub fn decrypt_json_with(
        &self,
        compact: &str,
        policy: &DecryptPolicy<'_>,
    ) -> Result<Map<String, Value>, JweError> {
        let plaintext = self.decrypt_with(compact, policy)?;
        match serde_json::from_slice(&plaintext) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(JweError::Payload("not a JSON object".into())),
            Err(e) => Err(JweError::Payload(format!("not a JSON object: {e}"))),
        }
    }

    /// The `enc` to use and whether the plaintext is deflated, after checking every header
    /// member this implementation acts on.
    fn check_header(
        &self,
        header: &Map<String, Value>,
        policy: &DecryptPolicy<'_>,
    ) -> Result<(ContentEncryption, bool), JweError> {
        let alg = header_str(header, "alg")?;
        if alg != ECDH_ES {
            return Err(JweError::UnsupportedAlgorithm(alg.to_owned()));
        }
        let enc_name = header_str(header, "enc")?;
        let enc = ContentEncryption::from_name(enc_name)?;
        if !policy.encodings.contains(&enc) {
            return Err(JweError::UnsupportedEncryption(enc_name.to_owned()));
        }
        // OpenID4VP 1.0 §8.3 and OpenID4VCI 1.0 §10: the recipient key has a `kid`, and the JWE
        // header names it in `kid`. Ours always has one, so a missing or other kid is refused.
        let kid = header_str(header, "kid")?;
        if kid != self.kid {
            return Err(JweError::KidMismatch { expected: self.kid.clone(), found: kid.to_owned() });
        }
        let deflated = match header.get("zip") {
            None => false,
            Some(Value::String(zip)) if zip == DEFLATE && policy.allow_deflate => true,
            Some(_) if !policy.allow_deflate => {
                return Err(JweError::Header { member: "zip", reason: "compression is not accepted".into() });
            }
            Some(other) => {
                return Err(JweError::Header { member: "zip", reason: format!("{other} is not DEF") });
            }
        };
        if header.contains_key("crit") {
            return Err(JweError::Header { member: "crit", reason: "no extension is understood".into() });
        }
        Ok((enc, deflated))
    }
}

/// What the sender puts in a JWE besides the plaintext: the recipient key's `kid` (copied when
/// the recipient's JWK has one), the `enc`, optional `apu`/`apv` (raw bytes, base64url-encoded
/// into the header), and whether to deflate first (`zip: "DEF"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptionParams<'a> {
    /// The recipient key's `kid`, if it has one.
    pub kid: Option<&'a str>,
    /// The content encryption.
    pub enc: ContentEncryption,
    /// Agreement PartyUInfo, if any.
    pub apu: Option<&'a [u8]>,
    /// Agreement PartyVInfo, if any.
    pub apv: Option<&'a [u8]>,
    /// Compress with DEFLATE before encrypting (RFC 7516 §5.1 step 13).
    pub deflate: bool,
}

/// The sender's side (RFC 7516 §5.1 with RFC 7518 §4.6): encrypts `plaintext` to `recipient`
/// (a P-256 key) under a fresh ephemeral key from `rng`.
pub fn encrypt_compact(
    recipient: &PublicKey,
    params: &EncryptionParams<'_>,
    plaintext: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<String, JweError> {
    if recipient.curve() != Curve::P256 {
        return Err(JweError::Key("the recipient key is not on P-256".into()));
    }
    let ephemeral = DecryptionKey::generate("epk", rng)?;
    let mut header = Map::new();
    header.insert("alg".into(), Value::from(ECDH_ES));
    header.insert("enc".into(), Value::from(params.enc.name()));
    if let Some(kid) = params.kid {
        header.insert("kid".into(), Value::from(kid));
    }
    header.insert("epk".into(), ephemeral.public.to_jwk());
    if let Some(apu) = params.apu {
        header.insert("apu".into(), Value::from(base64url_encode(apu)));
    }
    if let Some(apv) = params.apv {
        header.insert("apv".into(), Value::from(base64url_encode(apv)));
    }
    let mut in_out = if params.deflate {
        header.insert("zip".into(), Value::from(DEFLATE));
        deflate(plaintext)?
    } else {
        plaintext.to_vec()
    };
    let header_json = serde_json::to_vec(&header).map_err(|e| JweError::Payload(e.to_string()))?;
    let header_b64 = base64url_encode(header_json);
    let cek = derive_cek(&ephemeral.private, recipient, params.enc, &header)?;
    let mut iv = [0u8; IV_LEN];
    rng.fill_bytes(&mut iv);
    let key = LessSafeKey::new(UnboundKey::new(params.enc.aead(), &cek).map_err(|_| JweError::Decryption)?);
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

/// The protected header of a compact JWE, decoded but not checked (for callers that pick a key
/// or report `kid`/`enc` before decrypting).
pub fn protected_header(compact: &str) -> Result<Map<String, Value>, JweError> {
    let header_b64 = compact.split('.').next().unwrap_or_default();
    parse_header(header_b64)
}

fn deflate(plaintext: &[u8]) -> Result<Vec<u8>, JweError> {
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(plaintext).map_err(|e| JweError::Payload(format!("deflate: {e}")))?;
    encoder.finish().map_err(|e| JweError::Payload(format!("deflate: {e}")))
}

/// Raw DEFLATE, refusing output beyond [`MAX_JWE_LEN`] (a small JWE must not inflate to
/// gigabytes).
fn inflate(compressed: &[u8]) -> Result<Vec<u8>, JweError> {
    let limit = u64::try_from(MAX_JWE_LEN).unwrap_or(u64::MAX);
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(compressed)
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| JweError::Payload(format!("zip DEF does not inflate: {e}")))?;
    if out.len() > MAX_JWE_LEN {
        return Err(JweError::Payload(format!("inflates beyond {MAX_JWE_LEN} bytes")));
    }
    Ok(out)
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

/// The sender's ephemeral public key, which must be an EC P-256 public JWK whose point is on
/// the curve (HAIP: ECDH-ES on P-256, DIGEST §2; [`PublicKey::from_jwk`] checks the point).
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
            let bytes =
                base64url_decode(text).map_err(|e| JweError::Header { member, reason: e.to_string() })?;
            if bytes.len() > MAX_PARTY_INFO_LEN {
                return Err(JweError::Header {
                    member,
                    reason: format!("longer than {MAX_PARTY_INFO_LEN} bytes"),
                });
            }
            Ok(bytes)
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
mod tests;
