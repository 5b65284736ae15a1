//! The referenced token's `status` claim in its JOSE form (`"status": {"status_list": {"idx",
//! "uri"}}`) and its CBOR form (CWT claim 65535, and the mdoc MSO `status` map, which has the
//! same shape) (draft-ietf-oauth-status-list, "Referenced Token in JOSE" / "in COSE").

use ciborium::Value as Cbor;
use serde_json::{Map, Value as Json};

use super::{StatusClaim, StatusListError, StatusReference};

/// CWT claim key of `status` in a referenced CWT.
pub const CWT_STATUS: i64 = 65535;

impl StatusClaim {
    /// A claim pointing at entry `idx` of the list published at `uri`.
    pub fn new(idx: u64, uri: impl Into<String>) -> Self {
        StatusClaim { status_list: StatusReference { idx, uri: uri.into() } }
    }

    /// The CBOR `Status` map `{"status_list": {"idx": uint, "uri": tstr}}`, for CWT claim 65535
    /// or the MSO `status` member.
    pub fn to_cbor(&self) -> Cbor {
        Cbor::Map(vec![(
            Cbor::Text("status_list".into()),
            Cbor::Map(vec![
                (Cbor::Text("idx".into()), Cbor::from(self.status_list.idx)),
                (Cbor::Text("uri".into()), Cbor::Text(self.status_list.uri.clone())),
            ]),
        )])
    }

    /// Reads the CBOR `Status` map. Other status mechanisms may sit beside `status_list` and are
    /// ignored; `status_list` itself must be present with `idx` (uint) and `uri` (tstr).
    pub fn from_cbor(value: &Cbor) -> Result<Self, StatusListError> {
        let Cbor::Map(entries) = value else { return Err(claim("status", "not a CBOR map")) };
        let info = text_key(entries, "status_list").ok_or_else(|| claim("status_list", "missing"))?;
        let Cbor::Map(info) = info else { return Err(claim("status_list", "not a CBOR map")) };
        let idx = match text_key(info, "idx") {
            Some(Cbor::Integer(idx)) => {
                // "The value of `idx` MUST be a non-negative number."
                u64::try_from(*idx).map_err(|_| claim("idx", "not an unsigned integer"))?
            }
            Some(_) => return Err(claim("idx", "not an unsigned integer")),
            None => return Err(claim("idx", "missing")),
        };
        let uri = match text_key(info, "uri") {
            Some(Cbor::Text(uri)) => uri.clone(),
            Some(_) => return Err(claim("uri", "not a text string")),
            None => return Err(claim("uri", "missing")),
        };
        Ok(StatusClaim::new(idx, uri))
    }

    /// Reads claim 65535 from a CWT claims map: `Ok(None)` when the token has no `status`.
    pub fn from_cwt_claims(claims: &Cbor) -> Result<Option<Self>, StatusListError> {
        let Cbor::Map(entries) = claims else { return Err(claim("claims", "not a CBOR map")) };
        entries
            .iter()
            .find(|(key, _)| matches!(key, Cbor::Integer(label) if i128::from(*label) == i128::from(CWT_STATUS)))
            .map(|(_, value)| Self::from_cbor(value))
            .transpose()
    }

    /// Adds (or replaces) claim 65535 in a CWT claims map.
    pub fn insert_into_cwt_claims(&self, claims: &mut Vec<(Cbor, Cbor)>) {
        claims.retain(
            |(key, _)| !matches!(key, Cbor::Integer(label) if i128::from(*label) == i128::from(CWT_STATUS)),
        );
        claims.push((Cbor::from(CWT_STATUS), self.to_cbor()));
    }

    /// The JSON value of the `status` claim.
    pub fn to_json(&self) -> Json {
        serde_json::json!({"status_list": {"idx": self.status_list.idx, "uri": self.status_list.uri}})
    }

    /// Reads the `status` claim of a JWT claims set: `Ok(None)` when there is no `status` claim.
    pub fn from_jwt_claims(claims: &Map<String, Json>) -> Result<Option<Self>, StatusListError> {
        let Some(status) = claims.get("status") else { return Ok(None) };
        let status = status.as_object().ok_or_else(|| claim("status", "not a JSON object"))?;
        let info = status.get("status_list").ok_or_else(|| claim("status_list", "missing"))?;
        let info = info.as_object().ok_or_else(|| claim("status_list", "not a JSON object"))?;
        let idx = match info.get("idx") {
            // "The value of `idx` MUST be a non-negative number."
            Some(idx) => idx.as_u64().ok_or_else(|| claim("idx", "not a non-negative integer"))?,
            None => return Err(claim("idx", "missing")),
        };
        let uri = match info.get("uri") {
            Some(Json::String(uri)) => uri.clone(),
            Some(_) => return Err(claim("uri", "not a string")),
            None => return Err(claim("uri", "missing")),
        };
        Ok(Some(StatusClaim::new(idx, uri)))
    }
}

fn text_key<'v>(entries: &'v [(Cbor, Cbor)], name: &str) -> Option<&'v Cbor> {
    entries.iter().find(|(key, _)| matches!(key, Cbor::Text(text) if text == name)).map(|(_, value)| value)
}

fn claim(claim: &'static str, reason: &str) -> StatusListError {
    StatusListError::Claim { claim, reason: reason.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cbor_and_json_forms_round_trip() {
        let status = StatusClaim::new(412, "https://example.com/statuslists/1");
        assert_eq!(StatusClaim::from_cbor(&status.to_cbor()).unwrap(), status);
        let mut claims = vec![(Cbor::from(1), Cbor::Text("https://example.com".into()))];
        status.insert_into_cwt_claims(&mut claims);
        status.insert_into_cwt_claims(&mut claims);
        assert_eq!(claims.len(), 2);
        assert_eq!(StatusClaim::from_cwt_claims(&Cbor::Map(claims)).unwrap(), Some(status.clone()));
        let jwt = serde_json::json!({"iss": "x", "status": status.to_json()});
        assert_eq!(StatusClaim::from_jwt_claims(jwt.as_object().unwrap()).unwrap(), Some(status.clone()));
        // The serde form of the shared type is the same JSON.
        assert_eq!(serde_json::to_value(&status).unwrap(), status.to_json());
        assert_eq!(StatusClaim::from_jwt_claims(&Map::new()).unwrap(), None);
    }

    #[test]
    fn rejects_negative_or_missing_idx_and_non_text_uri() {
        for bad in [
            serde_json::json!({"status": {"status_list": {"idx": -1, "uri": "u"}}}),
            serde_json::json!({"status": {"status_list": {"idx": 1.5, "uri": "u"}}}),
            serde_json::json!({"status": {"status_list": {"uri": "u"}}}),
            serde_json::json!({"status": {"status_list": {"idx": 0, "uri": 7}}}),
            serde_json::json!({"status": {"identifier_list": {}}}),
            serde_json::json!({"status": "revoked"}),
        ] {
            assert!(StatusClaim::from_jwt_claims(bad.as_object().unwrap()).is_err(), "{bad}");
        }
        let negative = Cbor::Map(vec![(
            Cbor::Text("status_list".into()),
            Cbor::Map(vec![
                (Cbor::Text("idx".into()), Cbor::from(-1)),
                (Cbor::Text("uri".into()), Cbor::Text("u".into())),
            ]),
        )]);
        assert!(matches!(
            StatusClaim::from_cbor(&negative),
            Err(StatusListError::Claim { claim: "idx", .. })
        ));
    }
}
