//! SessionTranscript (ISO/IEC 18013-5 §9.1.5.1) for remote presentation: the OpenID4VP 1.0
//! handovers (Appendix B.2.6, DIGEST §5.3), the pre-1.0 forms deployed wallets still send, and the
//! ISO 18013-7 Annex C DC API handover. Each is `[null, null, Handover]`.

use aws_lc_rs::digest;
use ciborium::Value;

use super::{MdocError, raw};

const NULL: u8 = 0xf6;

/// One member of a handover-info array.
enum Part<'a> {
    Text(&'a str),
    Bytes(&'a [u8]),
    Null,
}

fn write_part(out: &mut Vec<u8>, part: &Part<'_>) {
    match part {
        Part::Text(text) => raw::write_text(out, text),
        Part::Bytes(bytes) => {
            raw::write_head(out, 2, bytes.len() as u64);
            out.extend_from_slice(bytes);
        }
        Part::Null => out.push(NULL),
    }
}

/// SHA-256 over the CBOR array of `parts`.
fn hash_array(parts: &[Part<'_>]) -> [u8; 32] {
    let mut encoded = Vec::new();
    raw::write_array(&mut encoded, parts.len());
    parts.iter().for_each(|part| write_part(&mut encoded, part));
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, &encoded).as_ref());
    out
}

fn thumbprint_part(thumbprint: Option<&[u8; 32]>) -> Part<'_> {
    thumbprint.map_or(Part::Null, |t| Part::Bytes(t))
}

/// The CBOR encoding of a SessionTranscript, which the verifier passes to device authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionTranscript {
    bytes: Vec<u8>,
}

impl SessionTranscript {
    /// Takes an encoded SessionTranscript as given (kept byte-exact). It must be a strictly
    /// well-formed CBOR array of three members (ISO 18013-5 §9.1.5.1).
    pub fn from_cbor(bytes: &[u8]) -> Result<Self, MdocError> {
        let at = || "SessionTranscript".to_owned();
        match crate::cbor::decode(bytes).map_err(|source| MdocError::Cbor { at: at(), source })? {
            Value::Array(items) if items.len() == 3 => Ok(Self { bytes: bytes.to_vec() }),
            _ => Err(MdocError::Structure { at: at(), reason: "not an array of three members".into() }),
        }
    }

    /// Encodes a SessionTranscript given as a value (e.g. the Danish Signed QR
    /// `[null, null, [m, f, t]]`).
    pub fn from_value(value: &Value) -> Result<Self, MdocError> {
        let bytes = crate::cbor::encode(value)
            .map_err(|source| MdocError::Cbor { at: "SessionTranscript".into(), source })?;
        Self::from_cbor(&bytes)
    }

    /// The CBOR encoding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// `[null, null, [name, bstr hash]]`.
    fn named(name: &str, hash: &[u8; 32]) -> Self {
        let mut bytes = vec![0x83, NULL, NULL];
        raw::write_array(&mut bytes, 2);
        raw::write_text(&mut bytes, name);
        write_part(&mut bytes, &Part::Bytes(hash));
        Self { bytes }
    }

    /// OpenID4VP 1.0 Appendix B.2.6.1 (redirect / `direct_post*`):
    /// `["OpenID4VPHandover", sha256(cbor([client_id, nonce, jwkThumbprint / null, response_uri]))]`.
    /// `client_id` is the full value with its prefix; `jwk_thumbprint` is the RFC 7638 thumbprint of
    /// the verifier's encryption key when the response is encrypted, else `None`; `response_uri` is
    /// the response_uri (or redirect_uri).
    pub fn openid4vp(
        client_id: &str,
        nonce: &str,
        jwk_thumbprint: Option<&[u8; 32]>,
        response_uri: &str,
    ) -> Self {
        let hash = hash_array(&[
            Part::Text(client_id),
            Part::Text(nonce),
            thumbprint_part(jwk_thumbprint),
            Part::Text(response_uri),
        ]);
        Self::named("OpenID4VPHandover", &hash)
    }

    /// OpenID4VP 1.0 Appendix B.2.6.2 (DC API):
    /// `["OpenID4VPDCAPIHandover", sha256(cbor([origin, nonce, jwkThumbprint / null]))]`; `origin`
    /// without the `origin:` prefix, thumbprint only for `dc_api.jwt`.
    pub fn openid4vp_dc_api(origin: &str, nonce: &str, jwk_thumbprint: Option<&[u8; 32]>) -> Self {
        let hash = hash_array(&[Part::Text(origin), Part::Text(nonce), thumbprint_part(jwk_thumbprint)]);
        Self::named("OpenID4VPDCAPIHandover", &hash)
    }

    /// Pre-1.0 DC API form (OpenID4VP draft 24, sent by deployed wallets such as Google's):
    /// `["OpenID4VPDCAPIHandover", sha256(cbor([origin, client_id, nonce]))]`.
    pub fn openid4vp_dc_api_draft24(origin: &str, client_id: &str, nonce: &str) -> Self {
        let hash = hash_array(&[Part::Text(origin), Part::Text(client_id), Part::Text(nonce)]);
        Self::named("OpenID4VPDCAPIHandover", &hash)
    }

    /// Pre-1.0 redirect form (ISO 18013-7 first edition Annex B / OpenID4VP draft 18):
    /// `[sha256(cbor([client_id, mdocGeneratedNonce])), sha256(cbor([response_uri,
    /// mdocGeneratedNonce])), nonce]`, the mdocGeneratedNonce taken from the JWE `apu` as text.
    pub fn openid4vp_draft18(
        client_id: &str,
        response_uri: &str,
        nonce: &str,
        mdoc_generated_nonce: &str,
    ) -> Self {
        let client_id_hash = hash_array(&[Part::Text(client_id), Part::Text(mdoc_generated_nonce)]);
        let response_uri_hash = hash_array(&[Part::Text(response_uri), Part::Text(mdoc_generated_nonce)]);
        let mut bytes = vec![0x83, NULL, NULL];
        raw::write_array(&mut bytes, 3);
        write_part(&mut bytes, &Part::Bytes(&client_id_hash));
        write_part(&mut bytes, &Part::Bytes(&response_uri_hash));
        write_part(&mut bytes, &Part::Text(nonce));
        Self { bytes }
    }

    /// ISO 18013-7 Annex C (DC API, protocol `org-iso-mdoc`, used by EU age verification):
    /// `["dcapi", sha256(cbor([base64url(EncryptionInfo), origin]))]`.
    pub fn iso_dc_api(encryption_info_b64: &str, origin: &str) -> Self {
        let hash = hash_array(&[Part::Text(encryption_info_b64), Part::Text(origin)]);
        Self::named("dcapi", &hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_produce_three_member_arrays_that_decode() {
        let thumbprint = [7u8; 32];
        for transcript in [
            SessionTranscript::openid4vp("x509_hash:abc", "n", Some(&thumbprint), "https://v/r"),
            SessionTranscript::openid4vp("x509_hash:abc", "n", None, "https://v/r"),
            SessionTranscript::openid4vp_dc_api("https://v", "n", None),
            SessionTranscript::openid4vp_dc_api_draft24("https://v", "web-origin:https://v", "n"),
            SessionTranscript::openid4vp_draft18("c", "https://v/r", "n", "m"),
            SessionTranscript::iso_dc_api("abc", "https://v"),
        ] {
            assert_eq!(SessionTranscript::from_cbor(transcript.as_bytes()).unwrap(), transcript);
        }
        assert_ne!(
            SessionTranscript::openid4vp("c", "n", None, "u"),
            SessionTranscript::openid4vp("c", "n", Some(&thumbprint), "u")
        );
    }

    #[test]
    fn rejects_non_transcripts() {
        assert!(SessionTranscript::from_cbor(&[0x82, 0xf6, 0xf6]).is_err());
        assert!(SessionTranscript::from_cbor(&[0x83, 0xf6, 0xf6]).is_err());
        assert!(SessionTranscript::from_value(&Value::Null).is_err());
    }
}
