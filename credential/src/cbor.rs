//! Strict CBOR decoding for untrusted input (RFC 8949): a nesting limit, no trailing bytes and
//! no duplicate map keys, on top of ciborium.

use ciborium::Value;

mod scan;

/// The deepest nesting Segl accepts in a CBOR item from outside; mdoc structures need fewer
/// than 16 levels.
pub const MAX_DEPTH: usize = 64;

/// The most data items Segl accepts in one CBOR input (a PID mdoc has a few hundred); bounds the
/// memory a decoded value takes whatever the input size.
pub const MAX_ITEMS: usize = 100_000;

/// Why CBOR input was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CborError {
    /// The bytes are not well-formed CBOR, or nest deeper than [`MAX_DEPTH`].
    #[error("malformed CBOR: {0}")]
    Malformed(String),
    /// Bytes follow the first complete item.
    #[error("{0} bytes of trailing data after the CBOR item")]
    TrailingBytes(usize),
    /// A map has the same key twice (RFC 8949 §5.6: not valid in a well-formed protocol message).
    #[error("duplicate map key {0}")]
    DuplicateKey(String),
    /// An indefinite-length string, array or map (RFC 8949 §3.2.2): deterministic encoding
    /// (§4.2.1), which ISO 18013-5 asks for, has definite lengths only.
    #[error("indefinite-length item at byte {offset}: only definite lengths are accepted")]
    IndefiniteLength {
        /// Where the item's head is in the input.
        offset: usize,
    },
    /// A string length or element count that the remaining input cannot hold.
    #[error("declared length {declared} exceeds the {available} bytes left in the input")]
    LengthBeyondInput {
        /// The length or count the head declares.
        declared: u64,
        /// The bytes left after the head.
        available: usize,
    },
    /// More data items than [`MAX_ITEMS`].
    #[error("more than {0} CBOR data items")]
    TooManyItems(usize),
    /// Encoding failed (never expected for in-memory values).
    #[error("CBOR encoding failed: {0}")]
    Encode(String),
}

/// Decodes exactly one CBOR item from `bytes`, refusing trailing data, excessive nesting and
/// duplicate map keys anywhere in the item; before building any value, a pre-scan refuses
/// indefinite lengths, lengths beyond the input and more than [`MAX_ITEMS`] items.
pub fn decode(bytes: &[u8]) -> Result<Value, CborError> {
    scan::prescan(bytes)?;
    let mut reader = bytes;
    let value: Value = ciborium::de::from_reader_with_recursion_limit(&mut reader, MAX_DEPTH)
        .map_err(|e| CborError::Malformed(e.to_string()))?;
    if !reader.is_empty() {
        return Err(CborError::TrailingBytes(reader.len()));
    }
    check_unique_keys(&value, 0)?;
    Ok(value)
}

/// Decodes one item into a typed structure with the same strictness as [`decode`].
pub fn decode_as<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, CborError> {
    decode(bytes)?.deserialized().map_err(|e| CborError::Malformed(e.to_string()))
}

/// Encodes a value (ciborium writes definite lengths and shortest integer forms).
pub fn encode<T: serde::Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CborError> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(value, &mut out).map_err(|e| CborError::Encode(e.to_string()))?;
    Ok(out)
}

fn check_unique_keys(value: &Value, depth: usize) -> Result<(), CborError> {
    if depth > MAX_DEPTH {
        return Err(CborError::Malformed("nesting too deep".into()));
    }
    match value {
        Value::Map(entries) => {
            for (index, (key, child)) in entries.iter().enumerate() {
                if entries[..index].iter().any(|(earlier, _)| earlier == key) {
                    return Err(CborError::DuplicateKey(format!("{key:?}")));
                }
                check_unique_keys(child, depth + 1)?;
            }
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(|item| check_unique_keys(item, depth + 1)),
        Value::Tag(_, inner) => check_unique_keys(inner, depth + 1),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_one_item() {
        assert_eq!(decode(&[0x82, 0x01, 0x02]).unwrap(), Value::Array(vec![1.into(), 2.into()]));
    }

    #[test]
    fn rejects_trailing_bytes_duplicates_and_depth() {
        assert_eq!(decode(&[0x01, 0x02]), Err(CborError::TrailingBytes(1)));
        assert!(matches!(decode(&[0xa2, 0x01, 0x02, 0x01, 0x03]), Err(CborError::DuplicateKey(_))));
        let deep: Vec<u8> = std::iter::repeat_n(0x81, 200).chain([0x01]).collect();
        assert!(matches!(decode(&deep), Err(CborError::Malformed(_))));
        assert_eq!(
            decode(&[0x5a, 0xff, 0xff, 0xff, 0xff]),
            Err(CborError::LengthBeyondInput { declared: 0xffff_ffff, available: 0 })
        );
    }
}
