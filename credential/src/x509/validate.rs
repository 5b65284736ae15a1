//! Certification path validation (RFC 5280 §6.1) for credential chains: leaf first, ending at a
//! trust anchor that is either in the chain (pinned) or issued its last certificate.

use x509_cert::ext::pkix::KeyUsages;

use super::parse::ParsedCert;
use super::verify::{IssuerKey, ec_key, verify_certificate};
use super::{MAX_CHAIN_LEN, ValidatedChain, X509Error};
use crate::clock::UnixTime;

/// Validates `chain` at `now` against `anchors`; see [`super::TrustAnchors::validate`].
pub(crate) fn validate(
    anchors: &[ParsedCert],
    chain: &[Vec<u8>],
    now: UnixTime,
) -> Result<ValidatedChain, X509Error> {
    if chain.is_empty() {
        return Err(X509Error::EmptyChain);
    }
    if chain.len() > MAX_CHAIN_LEN {
        return Err(X509Error::ChainTooLong { len: chain.len(), max: MAX_CHAIN_LEN });
    }
    let mut path = chain
        .iter()
        .enumerate()
        .map(|(index, der)| ParsedCert::from_der(der, index))
        .collect::<Result<Vec<_>, _>>()?;

    // The path ends at the first certificate that is itself trusted (a pinned DS certificate,
    // or an IACA root the sender included against HAIP's advice); what follows is ignored.
    let pinned = path.iter().position(|cert| anchors.iter().any(|anchor| anchor.der == cert.der));
    if let Some(end) = pinned {
        path.truncate(end + 1);
    }

    for (index, cert) in path.iter().enumerate() {
        check_certificate(cert, index, now)?;
    }
    let leaf = path.first().ok_or(X509Error::EmptyChain)?;
    // RFC 5280 §4.2.1.3: the digitalSignature bit is asserted "when the subject public key is
    // used for verifying digital signatures, other than signatures on certificates";
    // nonRepudiation (contentCommitment) likewise marks a key "used to verify digital
    // signatures", and is what ETSI TS 119 612 trust-list signers and the AAMVA VICAL signer
    // carry instead. Either one is enough for a key that signs credentials or lists.
    if !leaf.allows(KeyUsages::DigitalSignature) && !leaf.allows(KeyUsages::NonRepudiation) {
        return Err(X509Error::MissingDigitalSignature { index: 0 });
    }
    if leaf.is_ca() && pinned != Some(0) {
        return Err(X509Error::LeafIsCa { index: 0 });
    }
    let leaf_key = ec_key(leaf, 0)?;

    for (index, pair) in path.windows(2).enumerate() {
        if let [subject, issuer] = pair {
            check_link(&path, subject, index, issuer, index + 1)?;
        }
    }

    let last_index = path.len() - 1;
    let last = path.last().ok_or(X509Error::EmptyChain)?;
    let external_anchor = if pinned.is_some() {
        None
    } else {
        Some(find_issuing_anchor(anchors, &path, last, last_index, now)?)
    };
    let anchor = external_anchor.unwrap_or(last);

    let mut authority_key_ids: Vec<String> =
        path.iter().filter_map(|cert| cert.ext.authority_key_id.clone()).collect();
    if let Some(id) = external_anchor.and_then(|anchor| anchor.ext.authority_key_id.clone()) {
        authority_key_ids.push(id);
    }
    Ok(ValidatedChain {
        leaf_key,
        subject_der: leaf.subject_der.clone(),
        issuer_der: leaf.issuer_der.clone(),
        dns_names: leaf.ext.dns_names.clone(),
        uris: leaf.ext.uris.clone(),
        anchor_subject_der: anchor.subject_der.clone(),
        extended_key_usages: leaf.ext.extended_key_usages.clone(),
        authority_key_ids,
        subject_key_id: leaf.ext.subject_key_id.clone(),
        not_before: leaf.not_before,
        not_after: leaf.not_after,
    })
}

/// The anchor that issued `last` (at `last_index`): same name as its issuer, itself valid, a
/// CA allowed to sign it, and its key verifies the signature. Several anchors may share a name
/// (key rollover); the first that passes wins, otherwise the first failure is reported.
fn find_issuing_anchor<'a>(
    anchors: &'a [ParsedCert],
    path: &[ParsedCert],
    last: &ParsedCert,
    last_index: usize,
    now: UnixTime,
) -> Result<&'a ParsedCert, X509Error> {
    let anchor_index = last_index + 1;
    let mut first_error = None;
    for anchor in anchors.iter().filter(|anchor| anchor.subject_der == last.issuer_der) {
        let checked = check_certificate(anchor, anchor_index, now)
            .and_then(|()| check_link(path, last, last_index, anchor, anchor_index));
        match checked {
            Ok(()) => return Ok(anchor),
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| X509Error::NoTrustAnchor { issuer: last.issuer() }))
}

/// The checks on one certificate alone: critical extensions and validity period.
fn check_certificate(cert: &ParsedCert, index: usize, now: UnixTime) -> Result<(), X509Error> {
    // RFC 5280 §4.2: "A certificate-using system MUST reject the certificate if it encounters a
    // critical extension it does not recognize".
    if let Some(oid) = cert.ext.unknown_critical.first() {
        return Err(X509Error::UnknownCriticalExtension { index, oid: oid.to_string() });
    }
    // RFC 5280 §6.1.3 (a)(2): "The certificate validity period includes the current time."
    if now < cert.not_before {
        return Err(X509Error::NotYetValid { index, not_before: cert.not_before, now });
    }
    if now > cert.not_after {
        return Err(X509Error::Expired { index, not_after: cert.not_after, now });
    }
    Ok(())
}

/// The checks between a certificate and the one that issued it.
fn check_link(
    path: &[ParsedCert],
    subject: &ParsedCert,
    subject_index: usize,
    issuer: &ParsedCert,
    issuer_index: usize,
) -> Result<(), X509Error> {
    // RFC 5280 §6.1.3 (a)(4): "The certificate issuer name is the working_issuer_name."
    if subject.issuer_der != issuer.subject_der {
        return Err(X509Error::IssuerMismatch {
            index: subject_index,
            issuer: subject.issuer(),
            next_subject: issuer.subject(),
        });
    }
    // RFC 5280 §6.1.4 (k): "verify that the certificate is a CA certificate (as specified in a
    // basicConstraints extension with the cA field set to TRUE)".
    if !issuer.is_ca() {
        return Err(X509Error::NotCa { index: issuer_index });
    }
    // RFC 5280 §6.1.4 (n): "If a key usage extension is present, verify that the keyCertSign
    // bit is set."
    if !issuer.allows(KeyUsages::KeyCertSign) {
        return Err(X509Error::MissingKeyCertSign { index: issuer_index });
    }
    // RFC 5280 §4.2.1.9: pathLenConstraint "gives the maximum number of non-self-issued
    // intermediate certificates that may follow this certificate in a valid certification
    // path". The intermediates below the issuer are the path entries 1..issuer_index.
    if let Some(path_len) = issuer.ext.basic_constraints.as_ref().and_then(|bc| bc.path_len_constraint) {
        let found = path
            .iter()
            .take(issuer_index)
            .skip(1)
            .filter(|intermediate| !intermediate.is_self_issued())
            .count();
        if found > usize::from(path_len) {
            return Err(X509Error::PathLenExceeded { index: issuer_index, path_len, found });
        }
    }
    // RFC 5280 §6.1.3 (a)(1): "The signature on the certificate can be verified using
    // working_public_key_algorithm, the working_public_key, and the
    // working_public_key_parameters."
    verify_certificate(subject, subject_index, &IssuerKey::of(issuer, issuer_index)?)
}
