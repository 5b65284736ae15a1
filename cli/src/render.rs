//! Turns decoded structures into the JSON the CLI prints: CBOR with its tag-24 wrappers opened,
//! and certificate summaries.

use segl_credential::mdoc;
use segl_credential::x509;
use serde_json::{Value as Json, json};

/// Renders CBOR for people: `#6.24(bstr .cbor X)` is decoded and shown as `{"#6.24": X}`, dates
/// (tags 0 and 1004) as `{"#6.N": "text"}`, byte strings as hex, everything else as
/// [`mdoc::to_json`] does.
pub fn cbor(value: &ciborium::Value) -> Json {
    use ciborium::Value;
    match value {
        Value::Tag(24, inner) => match inner.as_ref() {
            Value::Bytes(bytes) => match segl_credential::cbor::decode(bytes) {
                Ok(decoded) => json!({ "#6.24": cbor(&decoded) }),
                Err(error) => json!({ "#6.24": format!("undecodable: {error}") }),
            },
            other => json!({ "#6.24": cbor(other) }),
        },
        Value::Tag(tag, inner) => json!({ format!("#6.{tag}"): cbor(inner) }),
        Value::Bytes(bytes) => Json::from(format!("h'{}'", hex::encode(bytes))),
        Value::Array(items) => Json::Array(items.iter().map(cbor).collect()),
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(key, child)| {
                    let key = match key {
                        Value::Text(text) => text.clone(),
                        other => mdoc::to_json(other).to_string(),
                    };
                    (key, cbor(child))
                })
                .collect(),
        ),
        other => mdoc::to_json(other),
    }
}

/// A certificate's summary, or the reason it cannot be read.
pub fn certificate(der: &[u8]) -> Json {
    match x509::describe(der) {
        Ok(info) => json!({
            "subject": info.subject,
            "issuer": info.issuer,
            "serial": info.serial_hex,
            "not_before": info.not_before,
            "not_after": info.not_after,
            "dns_names": info.dns_names,
            "uris": info.uris,
            "extended_key_usages": info.extended_key_usages,
            "is_ca": info.is_ca,
            "self_signed": info.self_signed,
            "key": info.key_algorithm,
            "sha256_fingerprint": info.sha256_fingerprint,
        }),
        Err(error) => json!({ "error": error.to_string() }),
    }
}
