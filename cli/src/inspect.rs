//! `segl credential inspect`: a readable decoded view of a credential. Nothing is verified here.

use ciborium::Value;
use segl_credential::{cbor, mdoc};
use serde_json::{Map, Value as Json, json};

use crate::input::CredentialInput;
use crate::render;

/// Decodes `input` into the JSON view printed by `inspect`.
pub fn run(input: &CredentialInput) -> Result<Json, String> {
    match input {
        CredentialInput::SdJwt(text) => crate::sd_jwt::inspect(text),
        CredentialInput::IssuerSigned(bytes) => {
            let value = cbor::decode(bytes).map_err(|e| e.to_string())?;
            Ok(json!({
                "format": "mso_mdoc",
                "structure": "IssuerSigned",
                "documents": [issuer_signed(&value)],
                "note": NOTE,
            }))
        }
        CredentialInput::DeviceResponse(bytes) => {
            let value = cbor::decode(bytes).map_err(|e| e.to_string())?;
            let documents: Vec<Json> = member(&value, "documents")
                .and_then(Value::as_array)
                .map(|documents| documents.iter().map(document).collect())
                .unwrap_or_default();
            Ok(json!({
                "format": "mso_mdoc",
                "structure": "DeviceResponse",
                "version": member(&value, "version").map(render::cbor),
                "status": member(&value, "status").map(render::cbor),
                "documents": documents,
                "note": NOTE,
            }))
        }
    }
}

const NOTE: &str = "decoded only; run `segl credential verify` to check signatures, digests and validity";

fn member<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    value.as_map()?.iter().find(|(key, _)| key.as_text() == Some(name)).map(|(_, child)| child)
}

fn document(value: &Value) -> Json {
    let mut shown = match member(value, "issuerSigned") {
        Some(issuer) => issuer_signed(issuer),
        None => json!({ "error": "document without issuerSigned" }),
    };
    if let Json::Object(fields) = &mut shown {
        fields.insert("docType".into(), member(value, "docType").map(render::cbor).unwrap_or(Json::Null));
        fields.insert(
            "deviceSigned".into(),
            member(value, "deviceSigned").map(render::cbor).unwrap_or(Json::Null),
        );
    }
    shown
}

fn issuer_signed(value: &Value) -> Json {
    let mut out = Map::new();
    if let Some(namespaces) = member(value, "nameSpaces").and_then(Value::as_map) {
        let shown: Map<String, Json> = namespaces
            .iter()
            .map(|(namespace, items)| {
                let name = namespace.as_text().unwrap_or("?").to_owned();
                let items =
                    items.as_array().map(|items| items.iter().map(item).collect()).unwrap_or_default();
                (name, Json::Array(items))
            })
            .collect();
        out.insert("nameSpaces".into(), Json::Object(shown));
    }
    if let Some(auth) = member(value, "issuerAuth").and_then(Value::as_array) {
        out.insert("issuerAuth".into(), issuer_auth(auth));
    }
    Json::Object(out)
}

/// One IssuerSignedItem: `#6.24(bstr .cbor {digestID, random, elementIdentifier, elementValue})`.
fn item(value: &Value) -> Json {
    let decoded = match value {
        Value::Tag(24, inner) => inner.as_bytes().and_then(|bytes| cbor::decode(bytes).ok()),
        _ => None,
    };
    match decoded {
        Some(item) => json!({
            "digestID": member(&item, "digestID").map(render::cbor),
            "elementIdentifier": member(&item, "elementIdentifier").map(render::cbor),
            "elementValue": member(&item, "elementValue").map(mdoc::to_json),
            "random": member(&item, "random").map(render::cbor),
        }),
        None => json!({ "error": "not a tag-24 IssuerSignedItem", "raw": render::cbor(value) }),
    }
}

/// issuerAuth = COSE_Sign1 `[protected, unprotected, payload, signature]`: the protected header,
/// the `x5chain` certificates, and the MSO.
fn issuer_auth(parts: &[Value]) -> Json {
    let protected = parts.first().and_then(Value::as_bytes).and_then(|bytes| cbor::decode(bytes).ok());
    let unprotected = parts.get(1);
    let chain: Vec<Json> = unprotected
        .and_then(Value::as_map)
        .and_then(|map| map.iter().find(|(key, _)| key.as_integer() == Some(33.into())))
        .map(|(_, chain)| match chain {
            Value::Bytes(der) => vec![render::certificate(der)],
            Value::Array(certs) => {
                certs.iter().filter_map(Value::as_bytes).map(|der| render::certificate(der)).collect()
            }
            _ => Vec::new(),
        })
        .unwrap_or_default();
    let mso = parts
        .get(2)
        .and_then(Value::as_bytes)
        .and_then(|bytes| cbor::decode(bytes).ok())
        .map(|payload| render::cbor(&payload));
    json!({
        "protected": protected.as_ref().map(render::cbor),
        "unprotected": unprotected.map(|header| {
            let mut shown = render::cbor(header);
            if let Some(x5chain) = shown.get_mut("33") {
                *x5chain = Json::from("(see x5chain)");
            }
            shown
        }),
        "x5chain": chain,
        "mso": mso,
    })
}
