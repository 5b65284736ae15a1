//! The SD-JWT side of `segl credential verify` and `inspect`.

use segl_credential::clock::{FixedClock, UnixTime};
use segl_credential::jose::CompactJws;
use segl_credential::sd_jwt::{self, Disclosure, ExpectedTyp, KeyBindingPolicy, SdJwt, VerifyOptions};
use segl_credential::x509::IssuerKeySource;
use serde_json::{Map, Value as Json, json};

use crate::credential::VerifyArgs;
use crate::render;
use crate::verify::Report;

/// Clock skew allowed for `iat`, `nbf`, `exp` and the KB-JWT `iat`.
const SKEW_SECONDS: i64 = 60;
/// How old a KB-JWT may be: it proves possession for one presentation, not for a day.
const KB_MAX_AGE_SECONDS: i64 = 300;

/// Verifies a compact SD-JWT: by the SD-JWT VC rules when `typ` is `dc+sd-jwt`, by RFC 9901 alone
/// otherwise; a KB-JWT is checked whenever present, against `--aud` and `--nonce` when given.
pub fn verify(text: &str, key_source: &IssuerKeySource<'_>, args: &VerifyArgs, now: UnixTime) -> Report {
    let format = match typ(text).as_deref() {
        Some(sd_jwt::TYP_DC_SD_JWT) => "dc+sd-jwt",
        _ => "sd-jwt",
    };
    let fail = |error: String| Report {
        valid: false,
        format,
        claims: Json::Object(Map::new()),
        errors: vec![error],
    };
    let has_kb = SdJwt::parse(text).map(|parsed| parsed.key_binding_jwt().is_some()).unwrap_or(false);
    if !has_kb && (args.aud.is_some() || args.nonce.is_some()) {
        return fail("--aud/--nonce given but the SD-JWT has no KB-JWT".into());
    }
    let clock = FixedClock(now);
    let options = VerifyOptions {
        issuer_key: *key_source,
        clock: &clock,
        skew: SKEW_SECONDS,
        typ: ExpectedTyp::Any,
        key_binding: KeyBindingPolicy::IfPresent {
            audience: args.aud.as_deref(),
            nonce: args.nonce.as_deref(),
            max_age: KB_MAX_AGE_SECONDS,
        },
    };
    match sd_jwt::verify(text, &options) {
        Ok(verified) => Report {
            valid: true,
            format: verified.format.as_str(),
            claims: Json::Object(verified.claims),
            errors: Vec::new(),
        },
        Err(error) => fail(error.to_string()),
    }
}

fn typ(text: &str) -> Option<String> {
    let jwt = text.split('~').next()?;
    CompactJws::parse(jwt).ok()?.typ().ok()?.map(str::to_owned)
}

/// A decoded view of an SD-JWT, nothing verified: the issuer JWT's header and payload, each
/// disclosure with where its digest is referenced, the KB-JWT, and the `x5c` leaf certificate.
pub fn inspect(text: &str) -> Result<Json, String> {
    let parsed = SdJwt::parse(text).map_err(|e| e.to_string())?;
    let jws = CompactJws::parse(parsed.issuer_jwt()).map_err(|e| e.to_string())?;
    let payload = Json::Object(jws.payload_json().map_err(|e| e.to_string())?);
    let disclosures: Vec<Disclosure> = parsed
        .disclosures()
        .iter()
        .enumerate()
        .map(|(index, encoded)| Disclosure::parse(index, encoded).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let shown: Vec<Json> = disclosures
        .iter()
        .enumerate()
        .map(|(index, disclosure)| {
            json!({
                "index": index,
                "salt": disclosure.salt(),
                "claim": disclosure.name(),
                "value": disclosure.value(),
                "digest": disclosure.digest(),
                "lands_at": lands_at(disclosure.digest(), &payload, &disclosures),
            })
        })
        .collect();
    let key_binding = match parsed.key_binding_jwt() {
        Some(kb) => {
            let kb = CompactJws::parse(kb).map_err(|e| format!("KB-JWT: {e}"))?;
            json!({ "header": kb.header(), "payload": kb.payload_json().map_err(|e| format!("KB-JWT: {e}"))? })
        }
        None => Json::Null,
    };
    let certificate = match jws.x5c() {
        Ok(Some(chain)) => chain.first().map(|leaf| render::certificate(leaf)).unwrap_or(Json::Null),
        Ok(None) => Json::Null,
        Err(error) => json!({ "error": error.to_string() }),
    };
    Ok(json!({
        "format": if jws.typ().ok().flatten() == Some(sd_jwt::TYP_DC_SD_JWT) { "dc+sd-jwt" } else { "sd-jwt" },
        "header": jws.header(),
        "payload": payload,
        "disclosures": shown,
        "key_binding_jwt": key_binding,
        "certificate": certificate,
        "note": "decoded only; run `segl credential verify` to check signatures and digests",
    }))
}

/// Where a digest is referenced: a JSON-pointer-like path in the payload, or inside another
/// disclosure's value (recursive disclosures), or nowhere.
fn lands_at(digest: &str, payload: &Json, disclosures: &[Disclosure]) -> Json {
    if let Some(path) = find_digest(payload, digest, String::new()) {
        return Json::from(if path.is_empty() { "/".to_owned() } else { path });
    }
    for (index, other) in disclosures.iter().enumerate() {
        if let Some(path) = find_digest(other.value(), digest, String::new()) {
            return Json::from(format!("disclosure {index}{path}"));
        }
    }
    Json::from("not referenced")
}

fn find_digest(value: &Json, digest: &str, at: String) -> Option<String> {
    match value {
        Json::Object(members) => {
            let in_sd = members
                .get("_sd")
                .and_then(Json::as_array)
                .is_some_and(|digests| digests.iter().any(|d| d.as_str() == Some(digest)));
            if in_sd {
                return Some(at);
            }
            members.iter().find_map(|(name, child)| find_digest(child, digest, format!("{at}/{name}")))
        }
        Json::Array(items) => items.iter().enumerate().find_map(|(index, item)| {
            let placeholder = item.as_object().and_then(|o| o.get("...")).and_then(Json::as_str);
            if placeholder == Some(digest) {
                Some(format!("{at}/{index}"))
            } else {
                find_digest(item, digest, format!("{at}/{index}"))
            }
        }),
        _ => None,
    }
}
