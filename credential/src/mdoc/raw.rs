//! Byte-exact CBOR walking and writing (RFC 8949 §3). mdoc digests and device signatures cover
//! the *received* encodings of tag-24 items, so the verifier slices them out of the input instead
//! of decoding and re-encoding; the issuer and the holder splice pre-encoded items the same way.
//!
//! The walker is only ever run on bytes that [`crate::cbor::decode`] has already accepted (well
//! formed, bounded depth), but it still checks every length against the input so that it can
//! never index out of bounds.

/// Major types (RFC 8949 §3.1).
const MAJOR_UINT: u8 = 0;
const MAJOR_NINT: u8 = 1;
const MAJOR_BYTES: u8 = 2;
const MAJOR_TEXT: u8 = 3;
const MAJOR_ARRAY: u8 = 4;
const MAJOR_MAP: u8 = 5;
const MAJOR_TAG: u8 = 6;
const MAJOR_SIMPLE: u8 = 7;
const BREAK: u8 = 0xff;
const MAX_DEPTH: usize = crate::cbor::MAX_DEPTH;

/// The initial byte and argument of one data item.
struct Head {
    major: u8,
    /// `None` for an indefinite length.
    argument: Option<u64>,
    /// Bytes taken by the head itself.
    len: usize,
}

fn head(bytes: &[u8]) -> Result<Head, String> {
    let initial = *bytes.first().ok_or("unexpected end of CBOR input")?;
    let major = initial >> 5;
    let info = initial & 0x1f;
    let extra = match info {
        0..=23 => return Ok(Head { major, argument: Some(u64::from(info)), len: 1 }),
        24 => 1,
        25 => 2,
        26 => 4,
        27 => 8,
        31 => return Ok(Head { major, argument: None, len: 1 }),
        _ => return Err(format!("reserved additional information {info}")),
    };
    let argument_bytes = bytes.get(1..=extra).ok_or("truncated CBOR head")?;
    let argument = argument_bytes.iter().fold(0u64, |acc, byte| (acc << 8) | u64::from(*byte));
    Ok(Head { major, argument: Some(argument), len: 1 + extra })
}

/// The length in bytes of the first complete data item of `bytes`.
fn item_len(bytes: &[u8], depth: usize) -> Result<usize, String> {
    if depth > MAX_DEPTH {
        return Err("CBOR nesting too deep".into());
    }
    let head = head(bytes)?;
    let rest = |offset: usize| bytes.get(offset..).ok_or_else(|| String::from("truncated CBOR item"));
    let total = match (head.major, head.argument) {
        (MAJOR_UINT | MAJOR_NINT, Some(_)) | (MAJOR_SIMPLE, Some(_)) => head.len,
        (MAJOR_BYTES | MAJOR_TEXT, Some(n)) => {
            let n = usize::try_from(n).map_err(|_| "string length overflows")?;
            head.len.checked_add(n).ok_or("string length overflows")?
        }
        (MAJOR_ARRAY | MAJOR_MAP, Some(n)) => {
            let count = if head.major == MAJOR_MAP { n.checked_mul(2).ok_or("map too large")? } else { n };
            let mut offset = head.len;
            for _ in 0..count {
                offset += item_len(rest(offset)?, depth + 1)?;
            }
            offset
        }
        (MAJOR_TAG, Some(_)) => head.len + item_len(rest(head.len)?, depth + 1)?,
        (MAJOR_BYTES | MAJOR_TEXT | MAJOR_ARRAY | MAJOR_MAP, None) => {
            let mut offset = head.len;
            while rest(offset)?.first() != Some(&BREAK) {
                offset += item_len(rest(offset)?, depth + 1)?;
            }
            offset + 1
        }
        _ => return Err("unexpected break or indefinite length".into()),
    };
    if total > bytes.len() {
        return Err("truncated CBOR item".into());
    }
    Ok(total)
}

/// Splits `bytes` into its first item and what follows.
fn split_item(bytes: &[u8], depth: usize) -> Result<(&[u8], &[u8]), String> {
    let len = item_len(bytes, depth)?;
    Ok(bytes.split_at(len))
}

fn container<'a>(item: &'a [u8], major: u8, what: &str) -> Result<(Option<u64>, &'a [u8]), String> {
    let head = head(item)?;
    if head.major != major {
        return Err(format!("expected a {what}"));
    }
    Ok((head.argument, item.get(head.len..).ok_or("truncated CBOR item")?))
}

/// The raw items of the array that `item` encodes.
pub(crate) fn array_items(item: &[u8]) -> Result<Vec<&[u8]>, String> {
    let (count, mut body) = container(item, MAJOR_ARRAY, "array")?;
    let mut items = Vec::new();
    loop {
        match count {
            Some(n) if items.len() as u64 >= n => break,
            None if body.first() == Some(&BREAK) => break,
            _ => {}
        }
        let (element, rest) = split_item(body, 1)?;
        items.push(element);
        body = rest;
    }
    Ok(items)
}

/// A raw (key, value) pair of a map.
pub(crate) type Entry<'a> = (&'a [u8], &'a [u8]);

/// The raw (key, value) pairs of the map that `item` encodes, in the order received.
pub(crate) fn map_entries(item: &[u8]) -> Result<Vec<Entry<'_>>, String> {
    let (count, mut body) = container(item, MAJOR_MAP, "map")?;
    let mut entries = Vec::new();
    loop {
        match count {
            Some(n) if entries.len() as u64 >= n => break,
            None if body.first() == Some(&BREAK) => break,
            _ => {}
        }
        let (key, rest) = split_item(body, 1)?;
        let (value, rest) = split_item(rest, 1)?;
        entries.push((key, value));
        body = rest;
    }
    Ok(entries)
}

/// The text of a raw definite-length text string (map keys are always definite in practice;
/// an indefinite one is decoded through ciborium).
pub(crate) fn text(item: &[u8]) -> Option<String> {
    match crate::cbor::decode(item).ok()? {
        ciborium::Value::Text(text) => Some(text),
        _ => None,
    }
}

/// Appends a head with the shortest argument encoding (RFC 8949 §4.2.1).
pub(crate) fn write_head(out: &mut Vec<u8>, major: u8, argument: u64) {
    let major = major << 5;
    if argument < 24 {
        out.push(major | argument as u8);
    } else if argument <= u64::from(u8::MAX) {
        out.extend_from_slice(&[major | 24, argument as u8]);
    } else if argument <= u64::from(u16::MAX) {
        out.push(major | 25);
        out.extend_from_slice(&(argument as u16).to_be_bytes());
    } else if argument <= u64::from(u32::MAX) {
        out.push(major | 26);
        out.extend_from_slice(&(argument as u32).to_be_bytes());
    } else {
        out.push(major | 27);
        out.extend_from_slice(&argument.to_be_bytes());
    }
}

/// Appends a definite-length array head.
pub(crate) fn write_array(out: &mut Vec<u8>, len: usize) {
    write_head(out, MAJOR_ARRAY, len as u64);
}

/// Appends a definite-length map head.
pub(crate) fn write_map(out: &mut Vec<u8>, len: usize) {
    write_head(out, MAJOR_MAP, len as u64);
}

/// Appends a text string.
pub(crate) fn write_text(out: &mut Vec<u8>, text: &str) {
    write_head(out, MAJOR_TEXT, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

/// Appends an unsigned integer.
pub(crate) fn write_uint(out: &mut Vec<u8>, value: u64) {
    write_head(out, MAJOR_UINT, value);
}

/// `#6.24(bstr .cbor inner)`: the encoded-CBOR wrapper of ISO 18013-5 (`...Bytes` types).
pub(crate) fn tag24(inner: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(inner.len() + 11);
    write_head(&mut out, MAJOR_TAG, 24);
    write_head(&mut out, MAJOR_BYTES, inner.len() as u64);
    out.extend_from_slice(inner);
    out
}

/// The content of a `#6.24(bstr)` item, borrowed from `item` (`None` when `item` is not exactly
/// one such item). Read from the heads alone: no decoding and no copy on the verification path.
pub(crate) fn untag24(item: &[u8]) -> Option<&[u8]> {
    let tag = head(item).ok()?;
    if tag.major != MAJOR_TAG || tag.argument != Some(24) {
        return None;
    }
    let rest = item.get(tag.len..)?;
    let bytes = head(rest).ok()?;
    if bytes.major != MAJOR_BYTES {
        return None;
    }
    let len = usize::try_from(bytes.argument?).ok()?;
    let end = bytes.len.checked_add(len)?;
    // Exactly one item: nothing may follow the byte string.
    if end != rest.len() {
        return None;
    }
    rest.get(bytes.len..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_definite_and_indefinite_containers() {
        // {"a": [1, 2], "b": h'0102'} with an indefinite array.
        let bytes = [0xa2, 0x61, b'a', 0x9f, 0x01, 0x02, 0xff, 0x61, b'b', 0x42, 0x01, 0x02];
        let entries = map_entries(&bytes).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(text(entries[0].0).as_deref(), Some("a"));
        assert_eq!(array_items(entries[0].1).unwrap(), vec![&[0x01][..], &[0x02][..]]);
        assert_eq!(entries[1].1, &[0x42, 0x01, 0x02]);
    }

    #[test]
    fn refuses_truncation_without_panicking() {
        assert!(map_entries(&[0xa1, 0x61]).is_err());
        assert!(array_items(&[0x82, 0x01]).is_err());
        assert!(array_items(&[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(array_items(&[0xa0]).is_err());
    }

    #[test]
    fn writes_shortest_heads_and_tag24() {
        let mut out = Vec::new();
        for n in [0u64, 23, 24, 255, 256, 65_536, 1 << 32] {
            write_uint(&mut out, n);
            let encoded = crate::cbor::encode(&n).unwrap();
            assert_eq!(out, encoded, "{n}");
            out.clear();
        }
        assert_eq!(tag24(&[0xa0]), vec![0xd8, 0x18, 0x41, 0xa0]);
        assert_eq!(untag24(&tag24(&[0xa0])), Some(&[0xa0][..]));
        // Not tag 24, not a bstr, indefinite, trailing bytes, truncated: refused.
        assert_eq!(untag24(&[0xd8, 0x19, 0x41, 0xa0]), None);
        assert_eq!(untag24(&[0xd8, 0x18, 0x61, 0xa0]), None);
        assert_eq!(untag24(&[0xd8, 0x18, 0x5f, 0x41, 0xa0, 0xff]), None);
        assert_eq!(untag24(&[0xd8, 0x18, 0x41, 0xa0, 0x00]), None);
        assert_eq!(untag24(&[0xd8, 0x18, 0x42, 0xa0]), None);
    }
}
