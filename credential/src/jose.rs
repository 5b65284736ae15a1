//! JWS compact serialisation (RFC 7515 §7.1) over the [`Signer`] trait: the one JOSE routine
//! every JWT Segl signs or checks goes through (SD-JWT, KB-JWT, status list tokens, later
//! proofs, request objects and signed metadata).
//!
//! Why not a JOSE crate: SD-JWT needs the exact signing-input bytes (for `sd_hash`) and the raw
//! header members (`typ`, `x5c`, `jwk`) with an algorithm allow-list that never admits `none`
//! or HMAC; the maintained JWT crates decode into fixed claim structs and sign through their own
//! key types, which would hide both and bypass the HSM-ready [`Signer`]. The routine itself is
//! base64url framing around one aws-lc-rs call.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value};

use crate::keys::{Algorithm, KeyError, PublicKey, Signer};

/// The largest compact JWS Segl will parse (a PID with a portrait is far below this).
pub const MAX_COMPACT_LEN: usize = 1 << 20;

/// Why a JWS could not be parsed, signed or verified.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JoseError {
    /// The compact form is not three base64url parts of acceptable size.
    #[error("malformed JWS: {0}")]
    Malformed(String),
    /// A header member is missing, mistyped or has a value Segl refuses.
    #[error("JWS header `{member}`: {reason}")]
    Header {
        /// The header member at fault.
        member: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The payload is not the JSON object a JWT must carry.
    #[error("JWS payload is not a JSON object: {0}")]
    Payload(String),
    /// Key or signature failure (including an algorithm off the allow-list).
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Decodes unpadded base64url strictly: no padding, no whitespace, no stray trailing bits, so
/// that every change to an encoded string changes (or invalidates) the bytes it stands for.
pub fn base64url_decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    URL_SAFE_NO_PAD.decode(text)
}

/// Encodes bytes as unpadded base64url.
pub fn base64url_encode(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// How a JWS header tells the verifier which key to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyReference {
    /// The signer's certificate chain in `x5c` (HAIP's and the ARF's choice for issuers).
    X5c,
    /// The signer's key id in `kid`.
    Kid,
    /// The public key itself in `jwk` (holder proofs).
    Jwk,
    /// Nothing: the verifier knows the key from context (KB-JWT uses `cnf`).
    None,
}

/// Builds a protected header `{alg, typ, x5c|kid|jwk}` for `signer`.
pub fn header(
    typ: &str,
    signer: &dyn Signer,
    key_reference: KeyReference,
) -> Result<Map<String, Value>, JoseError> {
    let mut header = Map::new();
    header.insert("alg".into(), Value::from(signer.algorithm().jose_name()));
    header.insert("typ".into(), Value::from(typ));
    match key_reference {
        KeyReference::X5c => {
            let chain = signer.certificate_chain();
            if chain.is_empty() {
                return Err(JoseError::Header {
                    member: "x5c",
                    reason: "the signer has no certificate chain".into(),
                });
            }
            let encoded = chain.iter().map(|der| Value::from(STANDARD.encode(der))).collect();
            header.insert("x5c".into(), Value::Array(encoded));
        }
        KeyReference::Kid => {
            let kid = signer.key_id().ok_or_else(|| JoseError::Header {
                member: "kid",
                reason: "the signer has no key id".into(),
            })?;
            header.insert("kid".into(), Value::from(kid));
        }
        KeyReference::Jwk => {
            header.insert("jwk".into(), signer.public_key().to_jwk());
        }
        KeyReference::None => {}
    }
    Ok(header)
}

/// Signs `payload` under `header` and returns the compact JWS. The header's `alg` is set from
/// the signer, whatever the caller put there.
pub fn sign_compact(
    mut header: Map<String, Value>,
    payload: &[u8],
    signer: &dyn Signer,
) -> Result<String, JoseError> {
    header.insert("alg".into(), Value::from(signer.algorithm().jose_name()));
    let header_json = serde_json::to_vec(&header).map_err(|e| JoseError::Malformed(e.to_string()))?;
    let mut out = String::with_capacity((header_json.len() + payload.len()) * 4 / 3 + 100);
    URL_SAFE_NO_PAD.encode_string(&header_json, &mut out);
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut out);
    let signature = signer.sign(out.as_bytes())?;
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut out);
    Ok(out)
}

/// A parsed, not yet verified, compact JWS.
#[derive(Debug, Clone)]
pub struct CompactJws<'a> {
    signing_input: &'a str,
    header: Map<String, Value>,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

impl<'a> CompactJws<'a> {
    /// Splits and decodes a compact JWS. Nothing is trusted yet.
    pub fn parse(compact: &'a str) -> Result<Self, JoseError> {
        if compact.len() > MAX_COMPACT_LEN {
            return Err(JoseError::Malformed(format!("longer than {MAX_COMPACT_LEN} bytes")));
        }
        let mut parts = compact.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JoseError::Malformed("a compact JWS has exactly three `.`-separated parts".into()));
        };
        let decode = |part: &str, name: &str| {
            base64url_decode(part).map_err(|e| JoseError::Malformed(format!("{name} is not base64url: {e}")))
        };
        let header_bytes = decode(header_b64, "header")?;
        let header: Map<String, Value> = serde_json::from_slice(&header_bytes)
            .map_err(|e| JoseError::Malformed(format!("header is not a JSON object: {e}")))?;
        let payload = decode(payload_b64, "payload")?;
        let signature = decode(signature_b64, "signature")?;
        let signing_input = &compact[..header_b64.len() + 1 + payload_b64.len()];
        Ok(CompactJws { signing_input, header, payload, signature })
    }

    /// The protected header.
    pub fn header(&self) -> &Map<String, Value> {
        &self.header
    }

    /// The decoded payload bytes.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The payload as a JSON object (a JWT claims set).
    pub fn payload_json(&self) -> Result<Map<String, Value>, JoseError> {
        serde_json::from_slice(&self.payload).map_err(|e| JoseError::Payload(e.to_string()))
    }

    /// `ASCII(BASE64URL(header) || '.' || BASE64URL(payload))`, the bytes the signature covers.
    pub fn signing_input(&self) -> &'a str {
        self.signing_input
    }

    /// The header's `alg`, refused unless on the allow-list (never `none`, never HMAC).
    pub fn algorithm(&self) -> Result<Algorithm, JoseError> {
        let name = self
            .string_member("alg")?
            .ok_or(JoseError::Header { member: "alg", reason: "missing".into() })?;
        Ok(Algorithm::from_jose_name(name)?)
    }

    /// The header's `typ`, if present.
    pub fn typ(&self) -> Result<Option<&str>, JoseError> {
        self.string_member("typ")
    }

    /// The header's `kid`, if present.
    pub fn kid(&self) -> Result<Option<&str>, JoseError> {
        self.string_member("kid")
    }

    /// The `x5c` chain (DER certificates, leaf first), if present. RFC 7515 §4.1.6: each entry is
    /// standard (padded) base64, not base64url.
    pub fn x5c(&self) -> Result<Option<Vec<Vec<u8>>>, JoseError> {
        let Some(value) = self.header.get("x5c") else { return Ok(None) };
        let bad = |reason: &str| JoseError::Header { member: "x5c", reason: reason.into() };
        let entries = value.as_array().ok_or_else(|| bad("not an array"))?;
        if entries.is_empty() {
            return Err(bad("empty array"));
        }
        entries
            .iter()
            .map(|entry| {
                let text = entry.as_str().ok_or_else(|| bad("entry is not a string"))?;
                STANDARD.decode(text).map_err(|_| bad("entry is not base64"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// The `jwk` header member as a public key, if present (private material is refused).
    pub fn jwk(&self) -> Result<Option<PublicKey>, JoseError> {
        self.header.get("jwk").map(PublicKey::from_jwk).transpose().map_err(JoseError::from)
    }

    /// Checks the signature with `key` under the header's algorithm.
    pub fn verify(&self, key: &PublicKey) -> Result<(), JoseError> {
        let algorithm = self.algorithm()?;
        key.verify(algorithm, self.signing_input.as_bytes(), &self.signature)?;
        Ok(())
    }

    fn string_member(&self, member: &'static str) -> Result<Option<&str>, JoseError> {
        match self.header.get(member) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(_) => Err(JoseError::Header { member, reason: "not a string".into() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SoftwareSigner;
    use rand::SeedableRng as _;

    fn signer() -> SoftwareSigner {
        SoftwareSigner::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(1)).unwrap().with_key_id("k1")
    }

    #[test]
    fn signs_and_verifies_round_trip() {
        let signer = signer();
        let header = header("example+jwt", &signer, KeyReference::Kid).unwrap();
        let jws = sign_compact(header, br#"{"a":1}"#, &signer).unwrap();
        let parsed = CompactJws::parse(&jws).unwrap();
        parsed.verify(signer.public_key()).unwrap();
        assert_eq!(parsed.typ().unwrap(), Some("example+jwt"));
        assert_eq!(parsed.kid().unwrap(), Some("k1"));
        assert_eq!(parsed.payload_json().unwrap()["a"], 1);
    }

    #[test]
    fn rejects_alg_none_and_hs256() {
        let signer = signer();
        let jws = sign_compact(Map::new(), b"{}", &signer).unwrap();
        let (_, rest) = jws.split_once('.').unwrap();
        for alg in ["none", "HS256"] {
            let forged = format!("{}.{rest}", base64url_encode(format!(r#"{{"alg":"{alg}"}}"#)));
            let parsed = CompactJws::parse(&forged).unwrap();
            assert_eq!(
                parsed.verify(signer.public_key()),
                Err(JoseError::Key(KeyError::UnsupportedAlgorithm(alg.into())))
            );
        }
    }

    #[test]
    fn rejects_every_single_character_change() {
        let signer = signer();
        let jws = sign_compact(Map::new(), br#"{"sub":"x"}"#, &signer).unwrap();
        for index in 0..jws.len() {
            let mut bytes = jws.clone().into_bytes();
            bytes[index] = if bytes[index] == b'A' { b'B' } else { b'A' };
            let Ok(tampered) = String::from_utf8(bytes) else { continue };
            let verified = CompactJws::parse(&tampered).and_then(|jws| jws.verify(signer.public_key()));
            assert!(verified.is_err(), "change at {index} was accepted");
        }
    }

    #[test]
    fn rejects_malformed_framing() {
        for text in ["", "a.b", "a.b.c.d", "!!.e30.AA", "e30.e30.A"] {
            assert!(CompactJws::parse(text).is_err(), "{text}");
        }
    }
}
