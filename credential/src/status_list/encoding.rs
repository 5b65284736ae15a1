//! The `StatusList` wire object in JSON (`{"bits", "lst": base64url}`) and CBOR (`{"bits", "lst":
//! bstr}`), and the ZLIB compression of its byte array (draft-ietf-oauth-status-list, "Status
//! List", "Status List in JSON Format", "Status List in CBOR Format").

use std::io::Write as _;

use ciborium::Value as Cbor;
use flate2::{Compression, Decompress, FlushDecompress, Status as ZStatus, write::ZlibEncoder};
use serde_json::Value as Json;

use super::{Bits, StatusList, StatusListError};
use crate::jose::{base64url_decode, base64url_encode};

/// The default cap on the inflated size of one `lst`: 16 MiB, i.e. 2^27 one-bit entries, 128
/// times the 2^20-entry lists the draft's examples use. Deflate expands up to ~1000:1, so without
/// a cap a 1 MiB token could ask for a gigabyte.
pub const DEFAULT_MAX_DECOMPRESSED_BYTES: usize = 16 * 1024 * 1024;

/// A status list as it travels: bits per entry, the ZLIB-compressed byte array, and the optional
/// aggregation URI. Decompress it with [`CompressedStatusList::decompress`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompressedStatusList {
    /// Bits per entry.
    pub bits: Bits,
    /// The ZLIB (RFC 1950) stream of the packed byte array.
    pub lst: Vec<u8>,
    /// `aggregation_uri`: where the Status List Aggregation for this kind of token lives.
    pub aggregation_uri: Option<String>,
}

impl StatusList {
    /// Compresses the byte array with DEFLATE in the ZLIB wrapper at the best level ("Status
    /// List" step 3: "Implementations are RECOMMENDED to use the highest compression level
    /// available").
    pub fn compress(&self) -> Result<Vec<u8>, StatusListError> {
        deflate(self.as_bytes())
    }

    /// The wire object for this list.
    pub fn to_compressed(
        &self,
        aggregation_uri: Option<String>,
    ) -> Result<CompressedStatusList, StatusListError> {
        Ok(CompressedStatusList { bits: self.bits(), lst: self.compress()?, aggregation_uri })
    }
}

/// ZLIB-compresses `bytes` at level 9, streaming into one output buffer.
pub fn deflate(bytes: &[u8]) -> Result<Vec<u8>, StatusListError> {
    let mut encoder = ZlibEncoder::new(Vec::with_capacity(bytes.len() / 8 + 64), Compression::best());
    encoder.write_all(bytes).and_then(|()| encoder.finish()).map_err(|e| StatusListError::Zlib(e.to_string()))
}

/// Inflates a ZLIB stream, refusing more than `max_output` bytes of output, a truncated or corrupt
/// stream, and bytes after the end of the stream. Memory grows only with real output, never with
/// what the input claims.
pub fn inflate(compressed: &[u8], max_output: usize) -> Result<Vec<u8>, StatusListError> {
    let mut inflater = Decompress::new(true);
    let mut out: Vec<u8> =
        Vec::with_capacity(compressed.len().saturating_mul(4).clamp(64, max_output.max(64)));
    loop {
        let consumed = usize::try_from(inflater.total_in()).unwrap_or(usize::MAX);
        let input = compressed.get(consumed..).unwrap_or_default();
        if out.len() == out.capacity() {
            if out.len() > max_output {
                return Err(StatusListError::DecompressedTooLarge { limit: max_output });
            }
            // Grow geometrically but never past one byte beyond the limit, which is how an
            // over-long stream is detected.
            let room = max_output.saturating_add(1).saturating_sub(out.len()).min(out.len().max(64));
            out.reserve_exact(room);
        }
        let before_out = out.len();
        let status = inflater
            .decompress_vec(input, &mut out, FlushDecompress::None)
            .map_err(|e| StatusListError::Zlib(e.to_string()))?;
        if out.len() > max_output {
            return Err(StatusListError::DecompressedTooLarge { limit: max_output });
        }
        match status {
            ZStatus::StreamEnd => break,
            ZStatus::Ok | ZStatus::BufError => {
                let progressed = out.len() > before_out
                    || usize::try_from(inflater.total_in()).unwrap_or(usize::MAX) > consumed;
                if !progressed && out.len() < out.capacity() {
                    return Err(StatusListError::Zlib("truncated stream".into()));
                }
            }
        }
    }
    let consumed = usize::try_from(inflater.total_in()).unwrap_or(usize::MAX);
    if consumed != compressed.len() {
        return Err(StatusListError::Zlib(format!(
            "{} bytes after the end of the stream",
            compressed.len().saturating_sub(consumed)
        )));
    }
    Ok(out)
}

impl CompressedStatusList {
    /// Inflates `lst` (capped at `max_output` bytes) into the list it carries.
    pub fn decompress(&self, max_output: usize) -> Result<StatusList, StatusListError> {
        Ok(StatusList::from_bytes(self.bits, inflate(&self.lst, max_output)?))
    }

    /// The JSON object `{"bits": n, "lst": "<base64url>", "aggregation_uri"?: "..."}`.
    pub fn to_json(&self) -> Json {
        let mut object = serde_json::Map::new();
        object.insert("bits".into(), Json::from(self.bits.count()));
        object.insert("lst".into(), Json::from(base64url_encode(&self.lst)));
        if let Some(uri) = &self.aggregation_uri {
            object.insert("aggregation_uri".into(), Json::from(uri.as_str()));
        }
        Json::Object(object)
    }

    /// Reads the JSON object. `bits` must be 1, 2, 4 or 8; `lst` strict base64url; other members
    /// are ignored ("It MUST contain at least the following claims").
    pub fn from_json(value: &Json) -> Result<Self, StatusListError> {
        let object = value.as_object().ok_or_else(|| member("status_list", "not a JSON object"))?;
        let bits = match object.get("bits") {
            None => return Err(member("bits", "missing")),
            Some(bits) => {
                let bits = bits
                    .as_i64()
                    .map(i128::from)
                    .or_else(|| bits.as_u64().map(i128::from))
                    .ok_or_else(|| member("bits", "not an integer"))?;
                Bits::from_wire(bits)?
            }
        };
        let lst = match object.get("lst") {
            None => return Err(member("lst", "missing")),
            Some(Json::String(text)) => {
                base64url_decode(text).map_err(|e| StatusListError::Base64(e.to_string()))?
            }
            Some(_) => return Err(member("lst", "not a string")),
        };
        let aggregation_uri = match object.get("aggregation_uri") {
            None => None,
            Some(Json::String(uri)) => Some(uri.clone()),
            Some(_) => return Err(member("aggregation_uri", "not a string")),
        };
        Ok(CompressedStatusList { bits, lst, aggregation_uri })
    }

    /// The CBOR map `{"bits": uint, "lst": bstr, "aggregation_uri"?: tstr}`.
    pub fn to_cbor(&self) -> Cbor {
        let mut entries = vec![
            (Cbor::Text("bits".into()), Cbor::Integer(self.bits.count().into())),
            (Cbor::Text("lst".into()), Cbor::Bytes(self.lst.clone())),
        ];
        if let Some(uri) = &self.aggregation_uri {
            entries.push((Cbor::Text("aggregation_uri".into()), Cbor::Text(uri.clone())));
        }
        Cbor::Map(entries)
    }

    /// Reads the CBOR map; the same rules as [`CompressedStatusList::from_json`], with `lst` a
    /// byte string.
    pub fn from_cbor(value: &Cbor) -> Result<Self, StatusListError> {
        let Cbor::Map(entries) = value else { return Err(member("status_list", "not a CBOR map")) };
        let find = |name: &str| {
            entries.iter().find(|(key, _)| matches!(key, Cbor::Text(text) if text == name)).map(|(_, v)| v)
        };
        let bits = match find("bits") {
            None => return Err(member("bits", "missing")),
            Some(Cbor::Integer(bits)) => Bits::from_wire(i128::from(*bits))?,
            Some(_) => return Err(member("bits", "not an unsigned integer")),
        };
        let lst = match find("lst") {
            None => return Err(member("lst", "missing")),
            Some(Cbor::Bytes(bytes)) => bytes.clone(),
            Some(_) => return Err(member("lst", "not a byte string")),
        };
        let aggregation_uri = match find("aggregation_uri") {
            None => None,
            Some(Cbor::Text(uri)) => Some(uri.clone()),
            Some(_) => return Err(member("aggregation_uri", "not a text string")),
        };
        Ok(CompressedStatusList { bits, lst, aggregation_uri })
    }
}

fn member(member: &'static str, reason: &str) -> StatusListError {
    StatusListError::ListMember { member, reason: reason.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest_example() -> StatusList {
        StatusList::from_bytes(Bits::One, vec![0xb9, 0xa3])
    }

    #[test]
    fn inflate_round_trips_and_reads_zlib_reference_output() {
        let list = digest_example();
        assert_eq!(inflate(&list.compress().unwrap(), 1024).unwrap(), [0xb9, 0xa3]);
        // The DIGEST §4 stream, produced by zlib itself.
        let reference = hex::decode("78dadbb918000217015d").unwrap();
        assert_eq!(inflate(&reference, 1024).unwrap(), [0xb9, 0xa3]);
    }

    #[test]
    fn rejects_decompression_bomb() {
        let zeros = deflate(&vec![0u8; 1 << 20]).unwrap();
        assert!(zeros.len() < 2048, "a zero megabyte compresses to {} bytes", zeros.len());
        assert_eq!(inflate(&zeros, 1 << 16), Err(StatusListError::DecompressedTooLarge { limit: 1 << 16 }));
        assert_eq!(inflate(&zeros, 1 << 20).unwrap().len(), 1 << 20);
        assert!(matches!(inflate(&zeros, (1 << 20) - 1), Err(StatusListError::DecompressedTooLarge { .. })));
    }

    #[test]
    fn rejects_truncated_corrupt_and_trailing_streams() {
        let stream = deflate(&[1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        for cut in 0..stream.len() {
            assert!(matches!(inflate(&stream[..cut], 1024), Err(StatusListError::Zlib(_))), "cut at {cut}");
        }
        let mut trailing = stream.clone();
        trailing.push(0);
        assert!(matches!(inflate(&trailing, 1024), Err(StatusListError::Zlib(_))));
        let mut corrupt = stream.clone();
        corrupt[0] ^= 0xff;
        assert!(matches!(inflate(&corrupt, 1024), Err(StatusListError::Zlib(_))));
        // Raw deflate without the ZLIB header and Adler-32 is not accepted.
        assert!(inflate(&stream[2..stream.len() - 4], 1024).is_err());
    }

    #[test]
    fn one_percent_revoked_megalist_compresses_well_under_200_kb() {
        use rand::{Rng as _, SeedableRng as _};
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
        let mut list = StatusList::new(Bits::One, 1 << 20).unwrap();
        let mut revoked = 0;
        while revoked < (1 << 20) / 100 {
            let index = rng.gen_range(0..1 << 20);
            if list.get_value(index).unwrap() == 0 {
                list.set_value(index, 1).unwrap();
                revoked += 1;
            }
        }
        assert_eq!(list.count(crate::status_list::Status::Invalid), revoked);
        let compressed = list.compress().unwrap();
        // About 15 KB with miniz_oxide at level 9 (the entropy bound is about 10.6 KB).
        assert!(compressed.len() < 20_000, "{} bytes", compressed.len());
        assert_eq!(inflate(&compressed, 1 << 17).unwrap(), list.as_bytes());
    }

    proptest::proptest! {
        #[test]
        fn inflate_never_panics_on_arbitrary_input(input in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = inflate(&input, 4096);
        }

        #[test]
        fn deflate_inflate_round_trips(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2000)) {
            let compressed = deflate(&bytes).unwrap();
            proptest::prop_assert_eq!(inflate(&compressed, bytes.len()).unwrap(), bytes);
        }
    }

    #[test]
    fn json_and_cbor_round_trip() {
        let wire = digest_example().to_compressed(Some("https://example.com/agg".into())).unwrap();
        assert_eq!(CompressedStatusList::from_json(&wire.to_json()).unwrap(), wire);
        assert_eq!(CompressedStatusList::from_cbor(&wire.to_cbor()).unwrap(), wire);
        assert_eq!(wire.decompress(16).unwrap(), digest_example());
    }

    #[test]
    fn rejects_bad_members() {
        let bad = [
            (serde_json::json!({"bits": 3, "lst": "eNrbuRgAAhcBXQ"}), "bits"),
            (serde_json::json!({"bits": "1", "lst": "eNrbuRgAAhcBXQ"}), "bits"),
            (serde_json::json!({"lst": "eNrbuRgAAhcBXQ"}), "bits"),
            (serde_json::json!({"bits": 1}), "lst"),
            (serde_json::json!({"bits": 1, "lst": "eNrbuRgAAhcBXQ=="}), "base64"),
            (serde_json::json!({"bits": 1, "lst": "eNrb+RgAAhcBXQ"}), "base64"),
            (serde_json::json!({"bits": 1, "lst": 5}), "lst"),
            (serde_json::json!([1]), "status_list"),
        ];
        for (value, what) in bad {
            let error = CompressedStatusList::from_json(&value).unwrap_err();
            let matches = match &error {
                StatusListError::UnsupportedBits(_) => what == "bits",
                StatusListError::ListMember { member, .. } => *member == what,
                StatusListError::Base64(_) => what == "base64",
                _ => false,
            };
            assert!(matches, "{value}: {error:?}");
        }
        let cbor_bits_3 = Cbor::Map(vec![
            (Cbor::Text("bits".into()), 3.into()),
            (Cbor::Text("lst".into()), Cbor::Bytes(vec![])),
        ]);
        assert_eq!(CompressedStatusList::from_cbor(&cbor_bits_3), Err(StatusListError::UnsupportedBits(3)));
        let cbor_text_lst = Cbor::Map(vec![
            (Cbor::Text("bits".into()), 1.into()),
            (Cbor::Text("lst".into()), Cbor::Text("x".into())),
        ]);
        assert!(matches!(
            CompressedStatusList::from_cbor(&cbor_text_lst),
            Err(StatusListError::ListMember { member: "lst", .. })
        ));
    }
}
