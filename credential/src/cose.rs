//! COSE_Sign1 (RFC 9052 §4.2) over the [`Signer`] trait, with the `x5chain` header (RFC 9360,
//! label 33), on top of coset. Used by mdoc `issuerAuth` and `deviceSignature` and by CWT
//! status list tokens.

use coset::{CoseSign1, CoseSign1Builder, Header, HeaderBuilder, Label, RegisteredLabelWithPrivate, iana};

use crate::keys::{Algorithm, KeyError, PublicKey, Signer};

/// The `x5chain` header label (RFC 9360 §2).
pub const X5CHAIN: i64 = 33;

/// Why a COSE structure could not be signed or verified.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CoseError {
    /// The structure is not a COSE_Sign1 coset can read.
    #[error("malformed COSE_Sign1: {0}")]
    Malformed(String),
    /// The protected header names no algorithm, or one Segl refuses.
    #[error("COSE algorithm: {0}")]
    Algorithm(String),
    /// `x5chain` is missing or not a bstr / array of bstr.
    #[error("x5chain: {0}")]
    X5Chain(String),
    /// Key or signature failure.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Signs a COSE_Sign1 with an attached payload. The algorithm goes into `protected` (set from the
/// signer); everything else the caller put in the headers is kept.
pub fn sign1(
    protected: Header,
    unprotected: Header,
    payload: Vec<u8>,
    signer: &dyn Signer,
) -> Result<CoseSign1, CoseError> {
    builder(protected, unprotected, signer)
        .payload(payload)
        .try_create_signature(&[], |to_be_signed| signer.sign(to_be_signed))
        .map(CoseSign1Builder::build)
        .map_err(CoseError::Key)
}

/// Signs a COSE_Sign1 whose payload is detached (the `payload` field is nil), as mdoc
/// `deviceSignature` does over DeviceAuthenticationBytes.
pub fn sign1_detached(
    protected: Header,
    unprotected: Header,
    detached_payload: &[u8],
    signer: &dyn Signer,
) -> Result<CoseSign1, CoseError> {
    builder(protected, unprotected, signer)
        .try_create_detached_signature(detached_payload, &[], |to_be_signed| signer.sign(to_be_signed))
        .map(CoseSign1Builder::build)
        .map_err(CoseError::Key)
}

fn builder(mut protected: Header, unprotected: Header, signer: &dyn Signer) -> CoseSign1Builder {
    protected.alg = Some(RegisteredLabelWithPrivate::Assigned(match signer.algorithm() {
        Algorithm::Es256 => iana::Algorithm::ES256,
        Algorithm::Es384 => iana::Algorithm::ES384,
        Algorithm::Es512 => iana::Algorithm::ES512,
    }));
    CoseSign1Builder::new().protected(protected).unprotected(unprotected)
}

/// An unprotected header carrying `chain` as `x5chain`: a single bstr for one certificate, an
/// array otherwise (RFC 9360 §2).
pub fn x5chain_header(chain: &[Vec<u8>]) -> Header {
    let value = match chain {
        [single] => ciborium::Value::Bytes(single.clone()),
        many => ciborium::Value::Array(many.iter().cloned().map(ciborium::Value::Bytes).collect()),
    };
    HeaderBuilder::new().value(X5CHAIN, value).build()
}

/// The algorithm named in the *protected* header (an unprotected `alg` is not trusted).
pub fn algorithm(sign1: &CoseSign1) -> Result<Algorithm, CoseError> {
    match &sign1.protected.header.alg {
        Some(RegisteredLabelWithPrivate::Assigned(alg)) => {
            Algorithm::from_cose_id(*alg as i64).map_err(|e| CoseError::Algorithm(e.to_string()))
        }
        Some(RegisteredLabelWithPrivate::PrivateUse(id)) => {
            Algorithm::from_cose_id(*id).map_err(|e| CoseError::Algorithm(e.to_string()))
        }
        Some(other) => Err(CoseError::Algorithm(format!("unsupported algorithm {other:?}"))),
        None => Err(CoseError::Algorithm("no alg in the protected header".into())),
    }
}

/// The certificate chain from `x5chain` (DER, leaf first), looked up in the protected header and
/// then the unprotected one.
pub fn x5chain(sign1: &CoseSign1) -> Result<Vec<Vec<u8>>, CoseError> {
    let find = |header: &Header| {
        header.rest.iter().find(|(label, _)| *label == Label::Int(X5CHAIN)).map(|(_, value)| value.clone())
    };
    let value = find(&sign1.protected.header)
        .or_else(|| find(&sign1.unprotected))
        .ok_or_else(|| CoseError::X5Chain("missing".into()))?;
    match value {
        ciborium::Value::Bytes(der) => Ok(vec![der]),
        ciborium::Value::Array(items) if !items.is_empty() => items
            .into_iter()
            .map(|item| match item {
                ciborium::Value::Bytes(der) => Ok(der),
                _ => Err(CoseError::X5Chain("array entry is not a bstr".into())),
            })
            .collect(),
        _ => Err(CoseError::X5Chain("neither a bstr nor a non-empty array of bstr".into())),
    }
}

/// Verifies a COSE_Sign1 with `key`; pass `detached_payload` when the payload field is nil.
pub fn verify_sign1(
    sign1: &CoseSign1,
    key: &PublicKey,
    detached_payload: Option<&[u8]>,
) -> Result<(), CoseError> {
    let alg = algorithm(sign1)?;
    let verify = |signature: &[u8], data: &[u8]| key.verify(alg, data, signature);
    match (detached_payload, &sign1.payload) {
        (Some(payload), None) => sign1.verify_detached_signature(payload, &[], verify)?,
        (None, Some(_)) => sign1.verify_signature(&[], verify)?,
        (Some(_), Some(_)) => {
            return Err(CoseError::Malformed("payload is attached but a detached one was given".into()));
        }
        (None, None) => return Err(CoseError::Malformed("payload is detached but none was given".into())),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SoftwareSigner;
    use coset::{CborSerializable as _, TaggedCborSerializable as _};
    use rand::SeedableRng as _;

    fn signer() -> SoftwareSigner {
        SoftwareSigner::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(3))
            .unwrap()
            .with_certificate_chain(vec![vec![1, 2, 3]])
    }

    #[test]
    fn attached_round_trip_through_bytes() {
        let signer = signer();
        let signed = sign1(
            Header::default(),
            x5chain_header(signer.certificate_chain()),
            b"payload".to_vec(),
            &signer,
        )
        .unwrap();
        let bytes = signed.clone().to_tagged_vec().unwrap();
        let again = CoseSign1::from_tagged_slice(&bytes).unwrap();
        verify_sign1(&again, signer.public_key(), None).unwrap();
        assert_eq!(algorithm(&again).unwrap(), Algorithm::Es256);
        assert_eq!(x5chain(&again).unwrap(), vec![vec![1, 2, 3]]);
        let mut tampered = again.clone();
        tampered.payload = Some(b"Payload".to_vec());
        assert!(verify_sign1(&tampered, signer.public_key(), None).is_err());
    }

    #[test]
    fn detached_round_trip() {
        let signer = signer();
        let signed = sign1_detached(Header::default(), Header::default(), b"detached", &signer).unwrap();
        let again = CoseSign1::from_slice(&signed.to_vec().unwrap()).unwrap();
        verify_sign1(&again, signer.public_key(), Some(b"detached")).unwrap();
        assert!(verify_sign1(&again, signer.public_key(), Some(b"other")).is_err());
        assert!(verify_sign1(&again, signer.public_key(), None).is_err());
    }
}
