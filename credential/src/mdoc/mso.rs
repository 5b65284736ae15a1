//! The MobileSecurityObject (ISO/IEC 18013-5 §9.1.2.4): the issuer-signed digest table, device
//! key, docType, validity and (2nd edition) status reference, encoded and decoded.

use std::collections::BTreeMap;

use aws_lc_rs::digest;
use ciborium::Value;
use coset::AsCborValue as _;

use super::value::{parse_tdate, tdate};
use super::{MdocError, Validity};
use crate::clock::UnixTime;
use crate::keys::PublicKey;
use crate::status_list::{StatusClaim, StatusReference};

/// The MSO version this module writes and reads.
pub const MSO_VERSION: &str = "1.0";

/// A digest algorithm an MSO may name (ISO 18013-5 §9.1.2.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestAlgorithm {
    /// `"SHA-256"`, the only one EUDI issuers use.
    Sha256,
    /// `"SHA-384"`.
    Sha384,
    /// `"SHA-512"`.
    Sha512,
}

impl DigestAlgorithm {
    /// The MSO `digestAlgorithm` name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [Self::Sha256, Self::Sha384, Self::Sha512].into_iter().find(|alg| alg.name() == name)
    }

    /// Digests `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let alg = match self {
            Self::Sha256 => &digest::SHA256,
            Self::Sha384 => &digest::SHA384,
            Self::Sha512 => &digest::SHA512,
        };
        digest::digest(alg, data).as_ref().to_vec()
    }
}

/// `keyAuthorizations` of `deviceKeyInfo`: which device-signed elements the device key may assert.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyAuthorizations {
    /// Whole namespaces the device may sign.
    pub namespaces: Vec<String>,
    /// Single elements per namespace.
    pub data_elements: BTreeMap<String, Vec<String>>,
}

impl KeyAuthorizations {
    /// True when `element` of `namespace` may be device-signed (ISO 18013-5 §9.1.2.4: "the
    /// mdoc reader shall verify that the device-signed data elements are authorized").
    pub fn allows(&self, namespace: &str, element: &str) -> bool {
        self.namespaces.iter().any(|ns| ns == namespace)
            || self.data_elements.get(namespace).is_some_and(|elements| elements.iter().any(|e| e == element))
    }
}

/// A decoded MSO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MobileSecurityObject {
    /// `digestAlgorithm`.
    pub digest_algorithm: DigestAlgorithm,
    /// `valueDigests`: namespace → digestID → digest.
    pub value_digests: BTreeMap<String, BTreeMap<u64, Vec<u8>>>,
    /// `deviceKeyInfo.deviceKey`.
    pub device_key: PublicKey,
    /// `deviceKeyInfo.keyAuthorizations` (empty when absent).
    pub key_authorizations: KeyAuthorizations,
    /// `docType`.
    pub doc_type: String,
    /// `validityInfo`.
    pub validity: Validity,
    /// `status.status_list`, when present.
    pub status: Option<StatusClaim>,
}

/// Per namespace, the (digestID, digest) pairs of its items in ascending digestID order.
pub(crate) type DigestTable = [(String, Vec<(u64, Vec<u8>)>)];

/// Encodes an MSO as `MobileSecurityObjectBytes` (`#6.24(bstr .cbor MSO)`), the issuerAuth payload.
/// `value_digests` holds per namespace the (digestID, digest) pairs, already in ascending order.
pub(crate) fn encode_mso_bytes(
    doc_type: &str,
    value_digests: &DigestTable,
    device_key: &PublicKey,
    validity: &Validity,
    status: Option<&StatusReference>,
) -> Result<Vec<u8>, MdocError> {
    let text = |s: &str| Value::Text(s.to_owned());
    let device_key = device_key
        .to_cose_key()
        .to_cbor_value()
        .map_err(|e| MdocError::InvalidValue(format!("device key: {e}")))?;
    let digests = value_digests
        .iter()
        .map(|(namespace, entries)| {
            let map =
                entries.iter().map(|(id, digest)| (Value::from(*id), Value::Bytes(digest.clone()))).collect();
            (text(namespace), Value::Map(map))
        })
        .collect();
    let mut validity_info = vec![
        (text("signed"), tdate(validity.signed)?),
        (text("validFrom"), tdate(validity.valid_from)?),
        (text("validUntil"), tdate(validity.valid_until)?),
    ];
    if let Some(expected) = validity.expected_update {
        validity_info.push((text("expectedUpdate"), tdate(expected)?));
    }
    let mut mso = vec![
        (text("version"), text(MSO_VERSION)),
        (text("digestAlgorithm"), text(DigestAlgorithm::Sha256.name())),
        (text("valueDigests"), Value::Map(digests)),
        (text("deviceKeyInfo"), Value::Map(vec![(text("deviceKey"), device_key)])),
        (text("docType"), text(doc_type)),
        (text("validityInfo"), Value::Map(validity_info)),
    ];
    if let Some(status) = status {
        let reference =
            Value::Map(vec![(text("idx"), Value::from(status.idx)), (text("uri"), text(&status.uri))]);
        mso.push((text("status"), Value::Map(vec![(text("status_list"), reference)])));
    }
    let inner = crate::cbor::encode(&Value::Map(mso)).map_err(|e| MdocError::InvalidValue(e.to_string()))?;
    Ok(super::raw::tag24(&inner))
}

fn field<'a>(map: &'a [(Value, Value)], name: &str) -> Option<&'a Value> {
    map.iter().find(|(key, _)| matches!(key, Value::Text(k) if k == name)).map(|(_, value)| value)
}

fn mso_err(reason: impl Into<String>) -> MdocError {
    MdocError::Structure { at: "MobileSecurityObject".into(), reason: reason.into() }
}

fn required<'a>(map: &'a [(Value, Value)], name: &str) -> Result<&'a Value, MdocError> {
    field(map, name).ok_or_else(|| mso_err(format!("`{name}` is missing")))
}

fn required_tdate(map: &[(Value, Value)], name: &str) -> Result<UnixTime, MdocError> {
    parse_tdate(required(map, name)?).ok_or_else(|| mso_err(format!("validityInfo `{name}` is not a tdate")))
}

/// Decodes the issuerAuth payload (`MobileSecurityObjectBytes`). Call only after the signature
/// over it has been verified.
pub(crate) fn decode_mso_bytes(payload: &[u8]) -> Result<MobileSecurityObject, MdocError> {
    let inner = super::raw::untag24(payload).ok_or_else(|| mso_err("the payload is not #6.24(bstr)"))?;
    let value = crate::cbor::decode(inner)
        .map_err(|source| MdocError::Cbor { at: "MobileSecurityObject".into(), source })?;
    let Value::Map(map) = value else { return Err(mso_err("not a map")) };
    match required(&map, "version")? {
        Value::Text(version) if version == MSO_VERSION => {}
        other => return Err(mso_err(format!("unsupported version {other:?}"))),
    }
    let digest_algorithm = match required(&map, "digestAlgorithm")? {
        Value::Text(name) => DigestAlgorithm::from_name(name)
            .ok_or_else(|| mso_err(format!("unsupported digestAlgorithm `{name}`")))?,
        _ => return Err(mso_err("`digestAlgorithm` is not a text string")),
    };
    let value_digests = decode_value_digests(required(&map, "valueDigests")?)?;
    let Value::Map(key_info) = required(&map, "deviceKeyInfo")? else {
        return Err(mso_err("`deviceKeyInfo` is not a map"));
    };
    let cose_key = device_cose_key(required(key_info, "deviceKey")?)?;
    let device_key = PublicKey::from_cose_key(&cose_key).map_err(|e| mso_err(format!("deviceKey: {e}")))?;
    let key_authorizations =
        field(key_info, "keyAuthorizations").map(decode_key_authorizations).transpose()?;
    let doc_type = match required(&map, "docType")? {
        Value::Text(doc_type) => doc_type.clone(),
        _ => return Err(mso_err("`docType` is not a text string")),
    };
    let Value::Map(validity_info) = required(&map, "validityInfo")? else {
        return Err(mso_err("`validityInfo` is not a map"));
    };
    let validity = Validity {
        signed: required_tdate(validity_info, "signed")?,
        valid_from: required_tdate(validity_info, "validFrom")?,
        valid_until: required_tdate(validity_info, "validUntil")?,
        expected_update: match field(validity_info, "expectedUpdate") {
            Some(value) => {
                Some(parse_tdate(value).ok_or_else(|| mso_err("`expectedUpdate` is not a tdate"))?)
            }
            None => None,
        },
    };
    let status = match field(&map, "status") {
        Some(Value::Map(status)) => match field(status, "status_list") {
            Some(reference) => Some(StatusClaim {
                status_list: reference
                    .deserialized()
                    .map_err(|e| mso_err(format!("status.status_list: {e}")))?,
            }),
            None => None,
        },
        Some(_) => return Err(mso_err("`status` is not a map")),
        None => None,
    };
    Ok(MobileSecurityObject {
        digest_algorithm,
        value_digests,
        device_key,
        key_authorizations: key_authorizations.unwrap_or_default(),
        doc_type,
        validity,
        status,
    })
}

/// Reads the deviceKey COSE_Key from the parameters a verifier needs (kty, crv, x, y, and `d` to
/// refuse private keys). Other parameters are dropped before coset sees them: deployed wallets
/// put a text `kid` (label 2) there, which RFC 9052 types as bstr (the Animo/Paradym vector).
fn device_cose_key(value: &Value) -> Result<coset::CoseKey, MdocError> {
    let Value::Map(entries) = value else { return Err(mso_err("deviceKey is not a map")) };
    let wanted = [1, -1, -2, -3, -4];
    let kept = entries
        .iter()
        .filter(|(label, _)| {
            label.as_integer().is_some_and(|l| wanted.iter().any(|w| ciborium::value::Integer::from(*w) == l))
        })
        .cloned()
        .collect();
    coset::CoseKey::from_cbor_value(Value::Map(kept))
        .map_err(|e| mso_err(format!("deviceKey is not a COSE_Key: {e}")))
}

fn decode_value_digests(value: &Value) -> Result<BTreeMap<String, BTreeMap<u64, Vec<u8>>>, MdocError> {
    let Value::Map(namespaces) = value else { return Err(mso_err("`valueDigests` is not a map")) };
    let mut out = BTreeMap::new();
    for (namespace, digests) in namespaces {
        let (Value::Text(namespace), Value::Map(digests)) = (namespace, digests) else {
            return Err(mso_err("`valueDigests` entry is not tstr => map"));
        };
        let mut table = BTreeMap::new();
        for (id, digest) in digests {
            let id = id.as_integer().and_then(|i| u64::try_from(i).ok());
            match (id, digest) {
                (Some(id), Value::Bytes(digest)) => {
                    table.insert(id, digest.clone());
                }
                _ => return Err(mso_err(format!("`valueDigests.{namespace}` entry is not uint => bstr"))),
            }
        }
        out.insert(namespace.clone(), table);
    }
    Ok(out)
}

fn text_list(value: &Value, what: &str) -> Result<Vec<String>, MdocError> {
    let Value::Array(items) = value else { return Err(mso_err(format!("{what} is not an array"))) };
    items
        .iter()
        .map(|item| match item {
            Value::Text(text) => Ok(text.clone()),
            _ => Err(mso_err(format!("{what} holds a non-text entry"))),
        })
        .collect()
}

fn decode_key_authorizations(value: &Value) -> Result<KeyAuthorizations, MdocError> {
    let Value::Map(map) = value else { return Err(mso_err("`keyAuthorizations` is not a map")) };
    let namespaces =
        field(map, "nameSpaces").map(|v| text_list(v, "keyAuthorizations.nameSpaces")).transpose()?;
    let mut data_elements = BTreeMap::new();
    if let Some(elements) = field(map, "dataElements") {
        let Value::Map(elements) = elements else { return Err(mso_err("`dataElements` is not a map")) };
        for (namespace, list) in elements {
            let Value::Text(namespace) = namespace else {
                return Err(mso_err("`dataElements` key is not text"));
            };
            data_elements.insert(namespace.clone(), text_list(list, "keyAuthorizations.dataElements")?);
        }
    }
    Ok(KeyAuthorizations { namespaces: namespaces.unwrap_or_default(), data_elements })
}
