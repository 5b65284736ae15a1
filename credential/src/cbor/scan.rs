//! A strict well-formedness pre-scan of CBOR heads (RFC 8949 §3) run before any value is built:
//! definite lengths only, declared lengths within the input, bounded depth and item count.
//!
//! ciborium reads indefinite-length items and allocates one `Value` per item; the scan refuses
//! what Segl never needs (indefinite lengths: RFC 8949 §4.2.1 deterministic encoding, which
//! ISO 18013-5 asks of mdoc structures) and what would cost memory, in one pass over the bytes
//! without allocating per item.

use super::{CborError, MAX_DEPTH, MAX_ITEMS};

/// Major types (RFC 8949 §3.1).
const MAJOR_BYTES: u8 = 2;
const MAJOR_TEXT: u8 = 3;
const MAJOR_ARRAY: u8 = 4;
const MAJOR_MAP: u8 = 5;
const MAJOR_TAG: u8 = 6;
const MAJOR_SIMPLE: u8 = 7;
/// Additional information 31: indefinite length (or the "break" stop code in major type 7).
const INDEFINITE: u8 = 31;

/// Checks that `bytes` hold one well-formed, definite-length CBOR item (trailing bytes are left
/// to the decoder), with every declared length inside the input, at most [`MAX_DEPTH`] levels and
/// at most [`MAX_ITEMS`] data items.
pub(super) fn prescan(bytes: &[u8]) -> Result<(), CborError> {
    let mut offset = 0usize;
    let mut items = 0usize;
    // Items still expected at each open level (arrays, maps, tags).
    let mut pending: Vec<u64> = vec![1];
    while let Some(remaining) = pending.last_mut() {
        if *remaining == 0 {
            pending.pop();
            continue;
        }
        *remaining -= 1;
        items += 1;
        if items > MAX_ITEMS {
            return Err(CborError::TooManyItems(MAX_ITEMS));
        }
        let (major, argument, head_len) = head(bytes, offset)?;
        offset += head_len;
        let available = bytes.len() - offset;
        let children = match major {
            MAJOR_BYTES | MAJOR_TEXT => {
                offset += within(argument, available)?;
                0
            }
            MAJOR_ARRAY => within_count(argument, 1, available)?,
            MAJOR_MAP => within_count(argument, 2, available)?.saturating_mul(2),
            MAJOR_TAG => 1,
            _ => 0,
        };
        if children > 0 {
            if pending.len() > MAX_DEPTH {
                return Err(CborError::Malformed(format!("nesting deeper than {MAX_DEPTH} levels")));
            }
            pending.push(children);
        }
    }
    Ok(())
}

/// Reads the head at `offset`: major type, argument and the head's length in bytes.
fn head(bytes: &[u8], offset: usize) -> Result<(u8, u64, usize), CborError> {
    let truncated = || CborError::Malformed(format!("input ends inside the item at byte {offset}"));
    let initial = *bytes.get(offset).ok_or_else(truncated)?;
    let (major, info) = (initial >> 5, initial & 0x1f);
    let extra = match info {
        0..=23 => return Ok((major, u64::from(info), 1)),
        24 => 1,
        25 => 2,
        26 => 4,
        27 => 8,
        INDEFINITE if major == MAJOR_SIMPLE => {
            return Err(CborError::Malformed(format!("unexpected break code at byte {offset}")));
        }
        INDEFINITE if (MAJOR_BYTES..=MAJOR_MAP).contains(&major) => {
            return Err(CborError::IndefiniteLength { offset });
        }
        _ => {
            return Err(CborError::Malformed(format!(
                "reserved additional information {info} at byte {offset}"
            )));
        }
    };
    let argument_bytes = bytes.get(offset + 1..offset + 1 + extra).ok_or_else(truncated)?;
    let argument = argument_bytes.iter().fold(0u64, |acc, byte| (acc << 8) | u64::from(*byte));
    Ok((major, argument, 1 + extra))
}

/// A byte or text string's declared length, refused when it runs past the input.
fn within(declared: u64, available: usize) -> Result<usize, CborError> {
    usize::try_from(declared)
        .ok()
        .filter(|len| *len <= available)
        .ok_or(CborError::LengthBeyondInput { declared, available })
}

/// An array's or map's declared count, refused when its items (each at least `per_entry` bytes)
/// could not fit in the input.
fn within_count(declared: u64, per_entry: u64, available: usize) -> Result<u64, CborError> {
    let needed = declared.saturating_mul(per_entry);
    if needed > available as u64 {
        return Err(CborError::LengthBeyondInput { declared, available });
    }
    Ok(declared)
}

#[cfg(test)]
mod tests {
    use super::super::decode;
    use super::*;

    /// An indefinite-length byte string (`5f 41 01 ff`), which deterministic CBOR forbids.
    #[test]
    fn rejects_cbor_indefinite_length_byte_string() {
        assert_eq!(decode(&[0x5f, 0x41, 0x01, 0xff]), Err(CborError::IndefiniteLength { offset: 0 }));
    }

    /// An indefinite-length text string nested in an array.
    #[test]
    fn rejects_cbor_indefinite_length_text_string() {
        assert_eq!(decode(&[0x81, 0x7f, 0x61, 0x61, 0xff]), Err(CborError::IndefiniteLength { offset: 1 }));
    }

    /// An indefinite-length array (`9f 01 ff`).
    #[test]
    fn rejects_cbor_indefinite_length_array() {
        assert_eq!(decode(&[0x9f, 0x01, 0xff]), Err(CborError::IndefiniteLength { offset: 0 }));
    }

    /// An indefinite-length map inside a definite map.
    #[test]
    fn rejects_cbor_indefinite_length_map() {
        assert_eq!(
            decode(&[0xa1, 0x01, 0xbf, 0x01, 0x02, 0xff]),
            Err(CborError::IndefiniteLength { offset: 2 })
        );
    }

    /// A byte string declaring 2^64-1 bytes in a 9-byte input.
    #[test]
    fn rejects_cbor_huge_declared_byte_string_length() {
        let input = [0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(decode(&input), Err(CborError::LengthBeyondInput { declared: u64::MAX, available: 0 }));
    }

    /// A text string declaring 4 GiB with three bytes behind it.
    #[test]
    fn rejects_cbor_huge_declared_text_length() {
        let input = [0x7a, 0xff, 0xff, 0xff, 0xff, 0x61, 0x62, 0x63];
        assert_eq!(decode(&input), Err(CborError::LengthBeyondInput { declared: 0xffff_ffff, available: 3 }));
    }

    /// An array declaring 2^32 elements: refused before anything is allocated for them.
    #[test]
    fn rejects_cbor_huge_declared_array_count() {
        let input = [0x9b, 0, 0, 0, 1, 0, 0, 0, 0, 0x01];
        assert_eq!(decode(&input), Err(CborError::LengthBeyondInput { declared: 1 << 32, available: 1 }));
    }

    /// A map declaring more entries than the remaining bytes could hold (two bytes per entry).
    #[test]
    fn rejects_cbor_map_count_beyond_input() {
        assert_eq!(
            decode(&[0xa2, 0x01, 0x02]),
            Err(CborError::LengthBeyondInput { declared: 2, available: 2 })
        );
    }

    /// More data items than [`MAX_ITEMS`], each a single byte.
    #[test]
    fn rejects_cbor_with_too_many_items() {
        let count = MAX_ITEMS as u32 + 1;
        let mut input = vec![0x9a];
        input.extend_from_slice(&count.to_be_bytes());
        input.extend(std::iter::repeat_n(0x00, count as usize));
        assert_eq!(decode(&input), Err(CborError::TooManyItems(MAX_ITEMS)));
    }

    /// Additional information 28 (reserved by RFC 8949 §3).
    #[test]
    fn rejects_cbor_reserved_additional_information() {
        assert_eq!(
            decode(&[0x1c]),
            Err(CborError::Malformed("reserved additional information 28 at byte 0".into()))
        );
    }

    /// A "break" stop code with no indefinite-length item open.
    #[test]
    fn rejects_cbor_stray_break() {
        assert_eq!(
            decode(&[0x81, 0xff]),
            Err(CborError::Malformed("unexpected break code at byte 1".into()))
        );
    }

    /// A head whose argument bytes are cut off.
    #[test]
    fn rejects_cbor_truncated_head() {
        assert_eq!(
            decode(&[0x19, 0x01]),
            Err(CborError::Malformed("input ends inside the item at byte 0".into()))
        );
    }

    /// Tags nested 200 deep (each tag is a level).
    #[test]
    fn rejects_cbor_deeply_nested_tags() {
        let input: Vec<u8> = std::iter::repeat_n(0xd8, 200).flat_map(|t| [t, 24]).chain([0x01]).collect();
        assert_eq!(
            decode(&input),
            Err(CborError::Malformed(format!("nesting deeper than {MAX_DEPTH} levels")))
        );
    }

    #[test]
    fn accepts_definite_items_at_the_limits() {
        let mut input = vec![0x82, 0x5a, 0, 0, 0, 2, 0xaa, 0xbb, 0xa1, 0x01, 0x02];
        assert!(prescan(&input).is_ok());
        input.truncate(7);
        assert!(prescan(&input).is_err());
    }
}
