//! `IssuerSignedItem` and `IssuerSignedItemBytes` (ISO/IEC 18013-5 §8.3.2.1.2.2): one element with
//! its digestID and random salt, wrapped in `#6.24(bstr)`.

use ciborium::Value;

use super::MdocError;
use super::raw;

/// One decoded item, together with the exact `#6.24(bstr)` bytes it was received as.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReceivedItem<'a> {
    /// The full `IssuerSignedItemBytes` encoding (tag included): what the digest covers.
    pub bytes: &'a [u8],
    /// `digestID`.
    pub digest_id: u64,
    /// `elementIdentifier`.
    pub element: String,
    /// `elementValue`.
    pub value: Value,
}

/// The smallest `random` ISO 18013-5 §9.1.2.5 allows: "at least 16 bytes".
pub(crate) const MIN_RANDOM_LEN: usize = 16;

/// Encodes `#6.24(bstr .cbor {digestID, random, elementIdentifier, elementValue})` directly, so
/// the element value is written once without being cloned into a map.
pub(crate) fn encode_item(
    digest_id: u64,
    random: &[u8],
    element: &str,
    value: &Value,
) -> Result<Vec<u8>, MdocError> {
    let mut inner = Vec::with_capacity(64 + element.len());
    raw::write_map(&mut inner, 4);
    raw::write_text(&mut inner, "digestID");
    raw::write_uint(&mut inner, digest_id);
    raw::write_text(&mut inner, "random");
    raw::write_head(&mut inner, 2, random.len() as u64);
    inner.extend_from_slice(random);
    raw::write_text(&mut inner, "elementIdentifier");
    raw::write_text(&mut inner, element);
    raw::write_text(&mut inner, "elementValue");
    ciborium::ser::into_writer(value, &mut inner)
        .map_err(|e| MdocError::InvalidValue(format!("element {element}: {e}")))?;
    Ok(raw::tag24(&inner))
}

/// Decodes one received `IssuerSignedItemBytes`; `at` names it for errors.
pub(crate) fn decode_item<'a>(bytes: &'a [u8], at: &str) -> Result<ReceivedItem<'a>, MdocError> {
    let structure = |reason: &str| MdocError::Structure { at: at.to_owned(), reason: reason.to_owned() };
    let inner = raw::untag24(bytes).ok_or_else(|| structure("not #6.24(bstr)"))?;
    let value = crate::cbor::decode(inner).map_err(|source| MdocError::Cbor { at: at.to_owned(), source })?;
    let Value::Map(entries) = value else { return Err(structure("IssuerSignedItem is not a map")) };
    let (mut digest_id, mut random, mut element, mut element_value) = (None, None, None, None);
    for (key, value) in entries {
        match (key.as_text(), value) {
            (Some("digestID"), Value::Integer(id)) => {
                digest_id = Some(u64::try_from(id).map_err(|_| structure("digestID is not a uint"))?);
            }
            (Some("random"), Value::Bytes(bytes)) => random = Some(bytes),
            (Some("elementIdentifier"), Value::Text(text)) => element = Some(text),
            (Some("elementValue"), value) => element_value = Some(value),
            (Some(name @ ("digestID" | "random" | "elementIdentifier")), _) => {
                return Err(structure(&format!("`{name}` has the wrong type")));
            }
            _ => {}
        }
    }
    let digest_id = digest_id.ok_or_else(|| structure("`digestID` is missing"))?;
    let random = random.ok_or_else(|| structure("`random` is missing"))?;
    // ISO 18013-5 §9.1.2.5: "The value of random shall be ... at least 16 bytes".
    if random.len() < MIN_RANDOM_LEN {
        return Err(structure(&format!("`random` has {} bytes, fewer than {MIN_RANDOM_LEN}", random.len())));
    }
    let element = element.ok_or_else(|| structure("`elementIdentifier` is missing"))?;
    let value = element_value.ok_or_else(|| structure("`elementValue` is missing"))?;
    Ok(ReceivedItem { bytes, digest_id, element, value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_item_decodes_to_the_same_fields() {
        let bytes = encode_item(7, &[9; 16], "age_over_18", &Value::Bool(true)).unwrap();
        assert_eq!(&bytes[..2], &[0xd8, 0x18]);
        let item = decode_item(&bytes, "item").unwrap();
        assert_eq!(
            (item.digest_id, item.element.as_str(), item.value),
            (7, "age_over_18", Value::Bool(true))
        );
        // Same bytes as encoding the map through ciborium.
        let map = Value::Map(vec![
            (Value::Text("digestID".into()), Value::from(7)),
            (Value::Text("random".into()), Value::Bytes(vec![9; 16])),
            (Value::Text("elementIdentifier".into()), Value::Text("age_over_18".into())),
            (Value::Text("elementValue".into()), Value::Bool(true)),
        ]);
        assert_eq!(bytes, raw::tag24(&crate::cbor::encode(&map).unwrap()));
    }

    #[test]
    fn rejects_short_random_and_missing_fields() {
        let short = encode_item(1, &[0; 8], "x", &Value::Null).unwrap();
        assert!(matches!(decode_item(&short, "i"), Err(MdocError::Structure { .. })));
        let no_id = raw::tag24(&crate::cbor::encode(&Value::Map(vec![])).unwrap());
        assert!(
            matches!(decode_item(&no_id, "i"), Err(MdocError::Structure { reason, .. }) if reason.contains("digestID"))
        );
    }
}
