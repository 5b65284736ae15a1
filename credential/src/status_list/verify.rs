//! Verifying Status List Tokens (JWT and CWT) and reading a referenced token's status from them
//! (draft-ietf-oauth-status-list, "Validation Rules").

use ciborium::Value as Cbor;
use coset::{CoseSign1, Label, TaggedCborSerializable as _};
use serde_json::{Map, Value as Json};

use super::token::{
    COSE_TYP_LABEL, CWT_EXP, CWT_IAT, CWT_ISS, CWT_NBF, CWT_STATUS_LIST, CWT_SUB, CWT_TTL, CWT_TYP, JWT_TYP,
};
use super::{
    CompressedStatusList, DEFAULT_MAX_DECOMPRESSED_BYTES, Status, StatusList, StatusListError,
    StatusReference,
};
use crate::clock::{Clock, UnixTime};
use crate::cose;
use crate::jose::{CompactJws, MAX_COMPACT_LEN};
use crate::keys::PublicKey;
use crate::x509::IssuerKeySource;

/// The largest CWT Status List Token accepted, the same bound as a compact JWS.
pub const MAX_CWT_LEN: usize = MAX_COMPACT_LEN;

/// A Status List Token whose signature, type, subject and lifetime were checked, with its list
/// inflated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedStatusList {
    /// `sub`: the list's URI (equal to the URI it was verified against).
    pub sub: String,
    /// `iss`, if the token had one.
    pub iss: Option<String>,
    /// `iat`.
    pub iat: UnixTime,
    /// `exp`, if present.
    pub exp: Option<UnixTime>,
    /// `ttl` in seconds, if present.
    pub ttl: Option<u64>,
    /// `aggregation_uri` of the status list, if present.
    pub aggregation_uri: Option<String>,
    /// The inflated list.
    pub list: StatusList,
}

impl VerifiedStatusList {
    /// The status at `index` (out of range is an error, never VALID).
    pub fn status(&self, index: u64) -> Result<Status, StatusListError> {
        self.list.get(index)
    }

    /// The status a referenced token points to, after checking that its `uri` is this list's
    /// `sub` ("The subject claim ... MUST be equal to the `uri` claim").
    pub fn status_of(&self, reference: &StatusReference) -> Result<Status, StatusListError> {
        if reference.uri != self.sub {
            return Err(StatusListError::SubjectMismatch {
                expected: reference.uri.clone(),
                found: self.sub.clone(),
            });
        }
        self.list.get(reference.idx)
    }
}

/// Checks Status List Tokens against a key source and a clock.
#[derive(Clone, Copy)]
pub struct StatusListVerifier<'a> {
    key_source: IssuerKeySource<'a>,
    clock: &'a dyn Clock,
    max_decompressed_bytes: usize,
    leeway: i64,
}

impl<'a> StatusListVerifier<'a> {
    /// A verifier taking keys from `key_source`, with the default inflate cap
    /// ([`DEFAULT_MAX_DECOMPRESSED_BYTES`]) and no clock leeway.
    pub fn new(key_source: IssuerKeySource<'a>, clock: &'a dyn Clock) -> Self {
        StatusListVerifier {
            key_source,
            clock,
            max_decompressed_bytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
            leeway: 0,
        }
    }

    /// Sets the cap on the inflated size of `lst`, in bytes.
    pub fn with_max_decompressed_bytes(mut self, max: usize) -> Self {
        self.max_decompressed_bytes = max;
        self
    }

    /// Allows `seconds` of clock skew on `exp` and `nbf`.
    pub fn with_leeway(mut self, seconds: u32) -> Self {
        self.leeway = i64::from(seconds);
        self
    }

    /// Verifies a compact JWT Status List Token published at `expected_uri`.
    pub fn verify_jwt(&self, token: &str, expected_uri: &str) -> Result<VerifiedStatusList, StatusListError> {
        let jws = CompactJws::parse(token)?;
        // "The JWT type MUST be `statuslist+jwt`". RFC 7515 §4.1.9 lets `application/` be
        // omitted and compares media types case-insensitively, so both spellings are the same type.
        let typ = jws.typ()?;
        let typ_ok = typ.is_some_and(|typ| {
            let typ = typ.to_ascii_lowercase();
            typ == JWT_TYP || typ.strip_prefix("application/") == Some(JWT_TYP)
        });
        if !typ_ok {
            return Err(StatusListError::WrongType { expected: JWT_TYP, found: typ.map(str::to_owned) });
        }
        let now = self.clock.now();
        let key = match self.key_source {
            IssuerKeySource::Key(key) => key.clone(),
            IssuerKeySource::Anchors(anchors) => {
                let chain = jws.x5c()?.ok_or(StatusListError::MissingCertificateChain("x5c"))?;
                anchors.validate(&chain, now)?.leaf_key
            }
        };
        // "Relying Parties MUST reject JWTs with an invalid signature."
        jws.verify(&key)?;
        let claims = jws.payload_json()?;
        let sub = json_string(&claims, "sub")?.ok_or_else(|| missing("sub"))?;
        let iss = json_string(&claims, "iss")?;
        let iat = json_time(&claims, "iat")?.ok_or_else(|| missing("iat"))?;
        let exp = json_time(&claims, "exp")?;
        let nbf = json_time(&claims, "nbf")?;
        let ttl = match claims.get("ttl") {
            None => None,
            Some(value) => Some(positive_ttl(value.as_u64())?),
        };
        let wire = claims.get("status_list").ok_or_else(|| missing("status_list"))?;
        let wire = CompressedStatusList::from_json(wire)?;
        self.finish(Unverified { sub, iss, iat, exp, nbf, ttl, wire }, expected_uri, now)
    }

    /// Verifies a CWT Status List Token (a tagged COSE_Sign1) published at `expected_uri`.
    pub fn verify_cwt(
        &self,
        token: &[u8],
        expected_uri: &str,
    ) -> Result<VerifiedStatusList, StatusListError> {
        if token.len() > MAX_CWT_LEN {
            return Err(cose::CoseError::Malformed(format!("longer than {MAX_CWT_LEN} bytes")).into());
        }
        let sign1 =
            CoseSign1::from_tagged_slice(token).map_err(|e| cose::CoseError::Malformed(e.to_string()))?;
        // "The type of the CWT MUST be `statuslist+cwt`" (protected header 16, RFC 9596).
        let typ = sign1
            .protected
            .header
            .rest
            .iter()
            .find(|(label, _)| *label == Label::Int(COSE_TYP_LABEL))
            .map(|(_, value)| value);
        match typ {
            Some(Cbor::Text(text)) if text.eq_ignore_ascii_case(CWT_TYP) => {}
            other => {
                return Err(StatusListError::WrongType {
                    expected: CWT_TYP,
                    found: other.map(|value| match value {
                        Cbor::Text(text) => text.clone(),
                        value => format!("{value:?}"),
                    }),
                });
            }
        }
        let now = self.clock.now();
        let key: PublicKey = match self.key_source {
            IssuerKeySource::Key(key) => key.clone(),
            IssuerKeySource::Anchors(anchors) => {
                let chain =
                    cose::x5chain(&sign1).map_err(|_| StatusListError::MissingCertificateChain("x5chain"))?;
                anchors.validate(&chain, now)?.leaf_key
            }
        };
        // "Relying Parties MUST reject CWTs with an invalid signature."
        cose::verify_sign1(&sign1, &key, None)?;
        let payload = sign1.payload.as_deref().unwrap_or_default();
        let Cbor::Map(claims) = crate::cbor::decode(payload)? else {
            return Err(StatusListError::Claim { claim: "payload", reason: "not a CBOR map".into() });
        };
        let claim = |key: i64| {
            claims.iter().find(|(label, _)| cbor_int(label) == Some(i128::from(key))).map(|(_, v)| v)
        };
        let text = |key: i64, name: &'static str| match claim(key) {
            None => Ok(None),
            Some(Cbor::Text(text)) => Ok(Some(text.clone())),
            Some(_) => Err(StatusListError::Claim { claim: name, reason: "not a text string".into() }),
        };
        let time = |key: i64, name: &'static str| claim(key).map(|value| cbor_time(value, name)).transpose();
        let sub = text(CWT_SUB, "sub")?.ok_or_else(|| missing("sub"))?;
        let iss = text(CWT_ISS, "iss")?;
        let iat = time(CWT_IAT, "iat")?.ok_or_else(|| missing("iat"))?;
        let exp = time(CWT_EXP, "exp")?;
        let nbf = time(CWT_NBF, "nbf")?;
        let ttl = match claim(CWT_TTL) {
            None => None,
            Some(value) => Some(positive_ttl(cbor_int(value).and_then(|v| u64::try_from(v).ok()))?),
        };
        let wire =
            CompressedStatusList::from_cbor(claim(CWT_STATUS_LIST).ok_or_else(|| missing("status_list"))?)?;
        self.finish(Unverified { sub, iss, iat, exp, nbf, ttl, wire }, expected_uri, now)
    }

    /// The checks common to both formats, once the signature holds.
    fn finish(
        &self,
        token: Unverified,
        expected_uri: &str,
        now: UnixTime,
    ) -> Result<VerifiedStatusList, StatusListError> {
        // "The subject claim (`sub` or `2`) of the Status List Token MUST be equal to the `uri`
        // claim in the `status_list` object of the Referenced Token."
        if token.sub != expected_uri {
            return Err(StatusListError::SubjectMismatch { expected: expected_uri.into(), found: token.sub });
        }
        // "If expiration time is defined (`exp` or `4`), it MUST be checked if the Status List
        // Token is expired" (RFC 7519 §4.1.4: now MUST be before exp).
        if let Some(exp) = token.exp
            && now >= exp.saturating_add(self.leeway)
        {
            return Err(StatusListError::Expired { exp, now });
        }
        // RFC 7519 §4.1.5: the token MUST NOT be accepted before `nbf`.
        if let Some(nbf) = token.nbf
            && now < nbf.saturating_sub(self.leeway)
        {
            return Err(StatusListError::NotYetValid { nbf, now });
        }
        let list = token.wire.decompress(self.max_decompressed_bytes)?;
        Ok(VerifiedStatusList {
            sub: token.sub,
            iss: token.iss,
            iat: token.iat,
            exp: token.exp,
            ttl: token.ttl,
            aggregation_uri: token.wire.aggregation_uri,
            list,
        })
    }
}

/// Claims read from a token whose signature has been checked but whose content has not.
struct Unverified {
    sub: String,
    iss: Option<String>,
    iat: UnixTime,
    exp: Option<UnixTime>,
    nbf: Option<UnixTime>,
    ttl: Option<u64>,
    wire: CompressedStatusList,
}

fn missing(claim: &'static str) -> StatusListError {
    StatusListError::Claim { claim, reason: "missing".into() }
}

fn positive_ttl(value: Option<u64>) -> Result<u64, StatusListError> {
    // "The value of the claim MUST be a positive number."
    match value {
        Some(ttl) if ttl > 0 => Ok(ttl),
        _ => Err(StatusListError::Claim { claim: "ttl", reason: "not a positive integer".into() }),
    }
}

fn json_string(claims: &Map<String, Json>, claim: &'static str) -> Result<Option<String>, StatusListError> {
    match claims.get(claim) {
        None => Ok(None),
        Some(Json::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(StatusListError::Claim { claim, reason: "not a string".into() }),
    }
}

/// A NumericDate (RFC 7519 §2): an integer, or a finite number whose fraction is dropped.
fn json_time(claims: &Map<String, Json>, claim: &'static str) -> Result<Option<UnixTime>, StatusListError> {
    let Some(value) = claims.get(claim) else { return Ok(None) };
    if let Some(seconds) = value.as_i64() {
        return Ok(Some(seconds));
    }
    match value.as_f64() {
        Some(seconds) if seconds.is_finite() && seconds.abs() < 9.0e15 => Ok(Some(seconds.floor() as i64)),
        _ => Err(StatusListError::Claim { claim, reason: "not a NumericDate".into() }),
    }
}

fn cbor_int(value: &Cbor) -> Option<i128> {
    match value {
        Cbor::Integer(int) => Some(i128::from(*int)),
        _ => None,
    }
}

/// A CWT NumericDate (RFC 8392 §2): an integer or a float, without tag 1.
fn cbor_time(value: &Cbor, claim: &'static str) -> Result<UnixTime, StatusListError> {
    let bad = || StatusListError::Claim { claim, reason: "not a NumericDate".into() };
    match value {
        Cbor::Integer(int) => i64::try_from(i128::from(*int)).map_err(|_| bad()),
        Cbor::Float(seconds) if seconds.is_finite() && seconds.abs() < 9.0e15 => Ok(seconds.floor() as i64),
        _ => Err(bad()),
    }
}
