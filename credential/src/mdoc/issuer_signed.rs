//! Issuing `IssuerSigned` (ISO/IEC 18013-5 §8.3.2.1.2.2, DIGEST §5.1) for any docType: items with
//! fresh randoms and shuffled digestIDs, the MSO, and issuerAuth (COSE_Sign1, ES256, x5chain).

use ciborium::Value;
use coset::CborSerializable as _;
use rand_core::CryptoRngCore;

use super::item::encode_item;
use super::mso::{DigestAlgorithm, encode_mso_bytes};
use super::{MdocError, Validity, raw};
use crate::cose;
use crate::keys::{PublicKey, Signer};
use crate::status_list::StatusReference;

/// Length of each item's `random` salt. ISO 18013-5 §9.1.2.5 asks for at least 16 bytes; 16 keeps
/// 128 bits of unguessability at the smallest size (age proofs are minted in batches).
pub const RANDOM_LEN: usize = 16;

/// The claims and validity of one kind of mdoc, reusable for a batch: every [`Self::issue`] call
/// draws new randoms and a new digestID permutation, so credentials of a batch are unlinkable.
#[derive(Debug, Clone)]
pub struct IssuerSignedBuilder {
    doc_type: String,
    validity: Validity,
    status: Option<StatusReference>,
    namespaces: Vec<(String, Vec<(String, Value)>)>,
}

impl IssuerSignedBuilder {
    /// A builder for `doc_type` (e.g. `eu.europa.ec.av.1`) with the given `validityInfo`.
    pub fn new(doc_type: impl Into<String>, validity: Validity) -> Self {
        Self { doc_type: doc_type.into(), validity, status: None, namespaces: Vec::new() }
    }

    /// Adds `element` = `value` to `namespace` (value helpers: [`super::full_date`],
    /// [`super::tdate`], `Value::from` for bool, uint, text, bytes, arrays and maps).
    pub fn element(mut self, namespace: &str, element: impl Into<String>, value: Value) -> Self {
        self.add_element(namespace, element, value);
        self
    }

    /// Adds an element in place (see [`Self::element`]).
    pub fn add_element(&mut self, namespace: &str, element: impl Into<String>, value: Value) -> &mut Self {
        let entry = (element.into(), value);
        match self.namespaces.iter_mut().find(|(ns, _)| ns == namespace) {
            Some((_, elements)) => elements.push(entry),
            None => self.namespaces.push((namespace.to_owned(), vec![entry])),
        }
        self
    }

    /// Sets the MSO `status` to a Token Status List reference (`{"status_list": {idx, uri}}`).
    pub fn status(mut self, reference: StatusReference) -> Self {
        self.status = Some(reference);
        self
    }

    fn check(&self, signer: &dyn Signer) -> Result<(), MdocError> {
        let invalid = |reason: String| Err(MdocError::InvalidValue(reason));
        if self.namespaces.is_empty() {
            return invalid("an mdoc needs at least one element".into());
        }
        let v = &self.validity;
        if v.valid_from > v.valid_until || v.signed > v.valid_until {
            return invalid("validityInfo: validFrom and signed must not be after validUntil".into());
        }
        if signer.certificate_chain().is_empty() {
            // ISO 18013-5 §9.1.2.4: the issuerAuth unprotected header "shall contain x5chain".
            return invalid("the issuer signer has no certificate chain for x5chain".into());
        }
        for (namespace, elements) in &self.namespaces {
            for (index, (element, _)) in elements.iter().enumerate() {
                // ISO 18013-5 §8.3.2.1.2.2: elementIdentifiers are unique within a namespace.
                if elements[..index].iter().any(|(earlier, _)| earlier == element) {
                    return Err(MdocError::DuplicateElement {
                        namespace: namespace.clone(),
                        element: element.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Issues one `IssuerSigned` bound to `device_key` and returns its CBOR encoding (canonical:
    /// definite lengths, shortest heads), ready to be base64url-encoded into a credential response.
    pub fn issue(
        &self,
        device_key: &PublicKey,
        signer: &dyn Signer,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Vec<u8>, MdocError> {
        self.check(signer)?;
        let mut encoded_namespaces = Vec::with_capacity(self.namespaces.len());
        let mut value_digests = Vec::with_capacity(self.namespaces.len());
        for (namespace, elements) in &self.namespaces {
            let ids = shuffled_ids(elements.len(), rng);
            let mut items = Vec::with_capacity(elements.len());
            let mut digests = Vec::with_capacity(elements.len());
            for ((element, value), id) in elements.iter().zip(ids) {
                let mut random = [0u8; RANDOM_LEN];
                rng.fill_bytes(&mut random);
                let bytes = encode_item(id, &random, element, value)?;
                // The digest covers the whole IssuerSignedItemBytes, tag 24 included (§9.1.2.5).
                digests.push((id, DigestAlgorithm::Sha256.digest(&bytes)));
                items.push(bytes);
            }
            digests.sort_unstable_by_key(|(id, _)| *id);
            encoded_namespaces.push((namespace, items));
            value_digests.push((namespace.clone(), digests));
        }
        let payload = encode_mso_bytes(
            &self.doc_type,
            &value_digests,
            device_key,
            &self.validity,
            self.status.as_ref(),
        )?;
        let unprotected = cose::x5chain_header(signer.certificate_chain());
        let issuer_auth = cose::sign1(coset::Header::default(), unprotected, payload, signer)
            .map_err(MdocError::Signing)?
            .to_vec()
            .map_err(|e| MdocError::Signing(cose::CoseError::Malformed(e.to_string())))?;

        let size: usize = encoded_namespaces.iter().flat_map(|(_, items)| items.iter().map(Vec::len)).sum();
        let mut out = Vec::with_capacity(size + issuer_auth.len() + 64);
        raw::write_map(&mut out, 2);
        raw::write_text(&mut out, "nameSpaces");
        raw::write_map(&mut out, encoded_namespaces.len());
        for (namespace, items) in &encoded_namespaces {
            raw::write_text(&mut out, namespace);
            raw::write_array(&mut out, items.len());
            items.iter().for_each(|item| out.extend_from_slice(item));
        }
        raw::write_text(&mut out, "issuerAuth");
        out.extend_from_slice(&issuer_auth);
        Ok(out)
    }
}

/// A uniformly shuffled permutation of `0..n` (Fisher–Yates), so digestIDs reveal nothing about
/// element order or count beyond `n`.
fn shuffled_ids(n: usize, rng: &mut impl CryptoRngCore) -> Vec<u64> {
    let mut ids: Vec<u64> = (0..n as u64).collect();
    for i in (1..n).rev() {
        // Rejection sampling keeps the shuffle unbiased.
        let bound = i as u64 + 1;
        let zone = u64::MAX - (u64::MAX % bound);
        let j = loop {
            let candidate = rng.next_u64();
            if candidate < zone {
                break (candidate % bound) as usize;
            }
        };
        ids.swap(i, j);
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng as _;

    #[test]
    fn shuffle_is_a_permutation_and_varies() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let a = shuffled_ids(20, &mut rng);
        let b = shuffled_ids(20, &mut rng);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..20).collect::<Vec<_>>());
        assert_ne!(a, b);
        assert_ne!(a, sorted);
    }
}
