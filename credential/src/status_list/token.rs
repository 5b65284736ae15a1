//! Signing Status List Tokens as JWT (`typ: statuslist+jwt`) and as CWT (COSE_Sign1 with
//! `typ` 16 = `application/statuslist+cwt`) (draft-ietf-oauth-status-list, "Status List Token in
//! JWT Format" and "Status List Token in CWT Format").

use ciborium::Value as Cbor;
use coset::{Header, HeaderBuilder, TaggedCborSerializable as _};
use serde_json::{Map, Value as Json};

use super::{StatusList, StatusListError};
use crate::clock::UnixTime;
use crate::cose;
use crate::jose::{self, KeyReference};
use crate::keys::Signer;

/// The JWT `typ` of a Status List Token: "The JWT type MUST be `statuslist+jwt`".
pub const JWT_TYP: &str = "statuslist+jwt";
/// The CWT `typ` (RFC 9596) of a Status List Token, as the draft's examples carry it.
pub const CWT_TYP: &str = "application/statuslist+cwt";
/// COSE header label of `typ` (RFC 9596 §2).
pub const COSE_TYP_LABEL: i64 = 16;
/// CWT claim key `iss` (RFC 8392 §3.1.1).
pub const CWT_ISS: i64 = 1;
/// CWT claim key `sub` (RFC 8392 §3.1.2).
pub const CWT_SUB: i64 = 2;
/// CWT claim key `exp` (RFC 8392 §3.1.4).
pub const CWT_EXP: i64 = 4;
/// CWT claim key `nbf` (RFC 8392 §3.1.5).
pub const CWT_NBF: i64 = 5;
/// CWT claim key `iat` (RFC 8392 §3.1.6).
pub const CWT_IAT: i64 = 6;
/// CWT claim key `ttl` of a Status List Token.
pub const CWT_TTL: i64 = 65534;
/// CWT claim key `status_list` of a Status List Token.
pub const CWT_STATUS_LIST: i64 = 65533;

/// The claims of a Status List Token other than the list itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusListTokenClaims {
    /// `sub`: the URI the token is published at; equals the `uri` of every referenced token.
    pub sub: String,
    /// `iss`, optional.
    pub iss: Option<String>,
    /// `iat`: when the token was issued (REQUIRED).
    pub iat: UnixTime,
    /// `exp`: when the token stops being valid (RECOMMENDED).
    pub exp: Option<UnixTime>,
    /// `ttl`: how many seconds a consumer may cache the token before fetching a fresh copy
    /// (RECOMMENDED; "MUST be a positive number").
    pub ttl: Option<u64>,
    /// `aggregation_uri` inside the `status_list` object, optional.
    pub aggregation_uri: Option<String>,
}

impl StatusListTokenClaims {
    /// Claims for the list at `sub`, issued at `iat`, with no `exp`, `ttl` or `iss`.
    pub fn new(sub: impl Into<String>, iat: UnixTime) -> Self {
        StatusListTokenClaims { sub: sub.into(), iss: None, iat, exp: None, ttl: None, aggregation_uri: None }
    }

    fn check(&self) -> Result<(), StatusListError> {
        if self.ttl == Some(0) {
            return Err(StatusListError::Claim { claim: "ttl", reason: "MUST be a positive number".into() });
        }
        Ok(())
    }
}

/// Signs `list` as a compact JWT Status List Token. `key_reference` says how the header names the
/// key: HAIP wants `x5c`; `kid` is also common.
pub fn sign_jwt(
    list: &StatusList,
    claims: &StatusListTokenClaims,
    signer: &dyn Signer,
    key_reference: KeyReference,
) -> Result<String, StatusListError> {
    claims.check()?;
    let header = jose::header(JWT_TYP, signer, key_reference)?;
    let mut payload = Map::new();
    payload.insert("sub".into(), Json::from(claims.sub.as_str()));
    if let Some(iss) = &claims.iss {
        payload.insert("iss".into(), Json::from(iss.as_str()));
    }
    payload.insert("iat".into(), Json::from(claims.iat));
    if let Some(exp) = claims.exp {
        payload.insert("exp".into(), Json::from(exp));
    }
    if let Some(ttl) = claims.ttl {
        payload.insert("ttl".into(), Json::from(ttl));
    }
    payload.insert("status_list".into(), list.to_compressed(claims.aggregation_uri.clone())?.to_json());
    let payload = serde_json::to_vec(&payload)
        .map_err(|e| StatusListError::Claim { claim: "payload", reason: e.to_string() })?;
    Ok(jose::sign_compact(header, &payload, signer)?)
}

/// Signs `list` as a CWT Status List Token: a COSE_Sign1 with tag 18 and no CWT tag 61, protected
/// header `{1: alg, 16: "application/statuslist+cwt"}`. `KeyReference::X5c` puts the chain in
/// an unprotected `x5chain` (33), `Kid` the key id in unprotected `kid` (4); `Jwk` has no CWT
/// form and is refused.
pub fn sign_cwt(
    list: &StatusList,
    claims: &StatusListTokenClaims,
    signer: &dyn Signer,
    key_reference: KeyReference,
) -> Result<Vec<u8>, StatusListError> {
    claims.check()?;
    let protected = HeaderBuilder::new().value(COSE_TYP_LABEL, Cbor::Text(CWT_TYP.into())).build();
    let unprotected = match key_reference {
        KeyReference::X5c => {
            let chain = signer.certificate_chain();
            if chain.is_empty() {
                return Err(StatusListError::KeyReference("the signer has no certificate chain".into()));
            }
            cose::x5chain_header(chain)
        }
        KeyReference::Kid => {
            let kid = signer
                .key_id()
                .ok_or_else(|| StatusListError::KeyReference("the signer has no key id".into()))?;
            HeaderBuilder::new().key_id(kid.as_bytes().to_vec()).build()
        }
        KeyReference::Jwk => {
            return Err(StatusListError::KeyReference("a CWT cannot carry a JWK header".into()));
        }
        KeyReference::None => Header::default(),
    };
    let mut entries = vec![(Cbor::from(CWT_SUB), Cbor::Text(claims.sub.clone()))];
    if let Some(iss) = &claims.iss {
        entries.push((Cbor::from(CWT_ISS), Cbor::Text(iss.clone())));
    }
    entries.push((Cbor::from(CWT_IAT), Cbor::from(claims.iat)));
    if let Some(exp) = claims.exp {
        entries.push((Cbor::from(CWT_EXP), Cbor::from(exp)));
    }
    if let Some(ttl) = claims.ttl {
        entries.push((Cbor::from(CWT_TTL), Cbor::from(ttl)));
    }
    entries
        .push((Cbor::from(CWT_STATUS_LIST), list.to_compressed(claims.aggregation_uri.clone())?.to_cbor()));
    let payload = crate::cbor::encode(&Cbor::Map(entries))?;
    let signed = cose::sign1(protected, unprotected, payload, signer)?;
    signed.to_tagged_vec().map_err(|e| StatusListError::Cose(cose::CoseError::Malformed(e.to_string())))
}
