//! Verification of an SD-JWT or SD-JWT VC presentation (RFC 9901 §7.1, §7.3; SD-JWT VC §3).

use serde_json::{Map, Value};

use super::key_binding::{KbCheck, verify_kb_jwt};
use super::vc::NEVER_DISCLOSABLE;
use super::{ClaimPath, PathElement, SdJwt, SdJwtError, TYP_DC_SD_JWT, TYP_LEGACY_VC_SD_JWT};
use crate::clock::{Clock, UnixTime};
use crate::jose::CompactJws;
use crate::keys::PublicKey;
use crate::status_list::StatusReference;
use crate::x509::{IssuerKeySource, ValidatedChain};

/// Which header `typ` the verifier accepts, and so which rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedTyp {
    /// SD-JWT VC: `typ` MUST be `dc+sd-jwt` (SD-JWT VC §3.2.1). `accept_legacy_vc_sd_jwt` also
    /// admits `vc+sd-jwt`, which wallets built on drafts up to -05 still send.
    SdJwtVc {
        /// Also accept the legacy `vc+sd-jwt`.
        accept_legacy_vc_sd_jwt: bool,
    },
    /// Any `typ` (RFC 9901 leaves it to the application). A `dc+sd-jwt` credential is still
    /// checked by the SD-JWT VC rules; any other is checked by the RFC 9901 rules alone.
    Any,
}

/// What the verifier requires of key binding (RFC 9901 §7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyBindingPolicy<'a> {
    /// A KB-JWT MUST be present, bound to this audience and nonce, and at most `max_age`
    /// seconds old.
    Required {
        /// The expected `aud`.
        audience: &'a str,
        /// The expected `nonce`.
        nonce: &'a str,
        /// The oldest acceptable `iat`, in seconds before now.
        max_age: i64,
    },
    /// A KB-JWT is checked (signature, `typ`, `sd_hash`, `iat`) when present, and its `aud` and
    /// `nonce` against these when given; a presentation without one is accepted.
    IfPresent {
        /// The expected `aud`, if known.
        audience: Option<&'a str>,
        /// The expected `nonce`, if known.
        nonce: Option<&'a str>,
        /// The oldest acceptable `iat`, in seconds before now.
        max_age: i64,
    },
    /// A plain SD-JWT: the component after the last `~` MUST be empty (RFC 9901 §7.1).
    Forbidden,
}

/// Verification inputs.
#[derive(Clone, Copy)]
pub struct VerifyOptions<'a> {
    /// The issuer key, or the anchors the `x5c` chain must validate to.
    pub issuer_key: IssuerKeySource<'a>,
    /// The verification time.
    pub clock: &'a dyn Clock,
    /// Allowed clock skew in seconds for `exp`, `nbf`, `iat` and the KB-JWT `iat`.
    pub skew: i64,
    /// The accepted `typ`.
    pub typ: ExpectedTyp,
    /// The key binding requirement.
    pub key_binding: KeyBindingPolicy<'a>,
}

/// Which rule set the credential was checked by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// SD-JWT VC (`typ` `dc+sd-jwt`, or the legacy `vc+sd-jwt` when accepted).
    SdJwtVc,
    /// A plain RFC 9901 SD-JWT.
    SdJwt,
}

impl Format {
    /// `"dc+sd-jwt"` or `"sd-jwt"`, as `segl credential verify` prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::SdJwtVc => "dc+sd-jwt",
            Format::SdJwt => "sd-jwt",
        }
    }
}

/// A presented disclosure and where its claim landed in [`VerifiedSdJwt::claims`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LandedDisclosure {
    /// The claim's path in the processed claims (array indices after undisclosed elements are
    /// removed).
    pub path: ClaimPath,
    /// The disclosure as presented.
    pub encoded: String,
    /// Its digest.
    pub digest: String,
}

/// The verified KB-JWT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyBindingInfo {
    /// `aud`.
    pub audience: String,
    /// `nonce`.
    pub nonce: String,
    /// `iat`.
    pub issued_at: UnixTime,
    /// The holder key from `cnf.jwk` that signed it.
    pub holder_key: PublicKey,
}

/// A verified SD-JWT: the processed claims with `_sd`, `_sd_alg` and undisclosed digests
/// removed (RFC 9901 §7.1 step 6).
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedSdJwt {
    /// The rules it was checked by.
    pub format: Format,
    /// The issuer-signed JWT's protected header.
    pub header: Map<String, Value>,
    /// The processed claims.
    pub claims: Map<String, Value>,
    /// The presented disclosures, in presentation order, with where each landed.
    pub disclosures: Vec<LandedDisclosure>,
    /// The verified KB-JWT, if one was presented.
    pub key_binding: Option<KeyBindingInfo>,
    /// The validated issuer chain, when the key came from trust anchors.
    pub issuer_chain: Option<ValidatedChain>,
}

/// Verifies a compact SD-JWT (with or without KB-JWT) per RFC 9901 §7.1 and §7.3, and for SD-JWT
/// VC per SD-JWT VC §3: issuer signature and `typ`, `_sd_alg`, every disclosure, validity times,
/// `vct`, and key binding as `options` require.
pub fn verify(presentation: &str, options: &VerifyOptions<'_>) -> Result<VerifiedSdJwt, SdJwtError> {
    let now = options.clock.now();
    let sd_jwt = SdJwt::parse(presentation)?;
    let jws = CompactJws::parse(sd_jwt.issuer_jwt()).map_err(SdJwtError::IssuerJwt)?;
    // RFC 9901 §7.1 step 2.2: "the none algorithm MUST NOT be accepted"; the allow-list also
    // refuses HMAC.
    jws.algorithm().map_err(SdJwtError::IssuerJwt)?;
    let format = check_typ(&jws, options.typ)?;

    let issuer_chain = match options.issuer_key {
        IssuerKeySource::Key(key) => {
            jws.verify(key).map_err(SdJwtError::IssuerJwt)?;
            None
        }
        IssuerKeySource::Anchors(anchors) => {
            // SD-JWT VC §3.5 / HAIP: the leaf of `x5c` signs the credential and its chain must
            // lead to a trusted anchor.
            let chain = jws.x5c().map_err(SdJwtError::IssuerJwt)?.ok_or_else(|| {
                SdJwtError::IssuerJwt(crate::jose::JoseError::Header {
                    member: "x5c",
                    reason: "missing".into(),
                })
            })?;
            let validated = anchors.validate(&chain, now).map_err(SdJwtError::IssuerKey)?;
            jws.verify(&validated.leaf_key).map_err(SdJwtError::IssuerJwt)?;
            Some(validated)
        }
    };

    let payload = jws.payload_json().map_err(SdJwtError::IssuerJwt)?;
    let (processed, disclosures) = sd_jwt.process_payload(payload)?;
    let claims = processed.claims;
    check_times(&claims, now, options.skew)?;
    if format == Format::SdJwtVc {
        check_vc_claims(&claims, &processed.landed)?;
    }

    let key_binding = match (options.key_binding, sd_jwt.key_binding_jwt()) {
        (KeyBindingPolicy::Forbidden, Some(_)) => return Err(SdJwtError::KeyBindingUnexpected),
        (KeyBindingPolicy::Required { .. }, None) => return Err(SdJwtError::KeyBindingMissing),
        (KeyBindingPolicy::Forbidden | KeyBindingPolicy::IfPresent { .. }, None) => None,
        (KeyBindingPolicy::Required { audience, nonce, max_age }, Some(kb_jwt)) => {
            let check =
                KbCheck { audience: Some(audience), nonce: Some(nonce), max_age, now, skew: options.skew };
            Some(verify_kb_jwt(kb_jwt, sd_jwt.sd_hash_input(), &claims, &check)?)
        }
        (KeyBindingPolicy::IfPresent { audience, nonce, max_age }, Some(kb_jwt)) => {
            let check = KbCheck { audience, nonce, max_age, now, skew: options.skew };
            Some(verify_kb_jwt(kb_jwt, sd_jwt.sd_hash_input(), &claims, &check)?)
        }
    };

    let disclosures = disclosures
        .into_iter()
        .zip(processed.landed)
        .map(|(disclosure, path)| LandedDisclosure {
            path,
            encoded: disclosure.encoded().to_owned(),
            digest: disclosure.digest().to_owned(),
        })
        .collect();
    Ok(VerifiedSdJwt { format, header: jws.header().clone(), claims, disclosures, key_binding, issuer_chain })
}

fn check_typ(jws: &CompactJws<'_>, expected: ExpectedTyp) -> Result<Format, SdJwtError> {
    let typ = jws.typ().map_err(SdJwtError::IssuerJwt)?;
    match (expected, typ) {
        (_, Some(TYP_DC_SD_JWT)) => Ok(Format::SdJwtVc),
        (ExpectedTyp::SdJwtVc { accept_legacy_vc_sd_jwt: true }, Some(TYP_LEGACY_VC_SD_JWT)) => {
            Ok(Format::SdJwtVc)
        }
        // SD-JWT VC §3.2.1: "SD-JWT VCs MUST use the media type application/dc+sd-jwt" in `typ`.
        (ExpectedTyp::SdJwtVc { .. }, other) => {
            Err(SdJwtError::UnexpectedTyp { found: other.map(str::to_owned), expected: TYP_DC_SD_JWT })
        }
        (ExpectedTyp::Any, _) => Ok(Format::SdJwt),
    }
}

/// A NumericDate claim (RFC 7519 §2), if present: an integer, or a number truncated to seconds.
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, SdJwtError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(number)) => number
            .as_i64()
            .or_else(|| number.as_f64().filter(|f| f.is_finite()).map(|f| f.floor() as i64))
            .map(Some)
            .ok_or_else(|| SdJwtError::InvalidClaim {
                claim: name.into(),
                reason: "not a NumericDate".into(),
            }),
        Some(_) => Err(SdJwtError::InvalidClaim { claim: name.into(), reason: "not a number".into() }),
    }
}

/// RFC 7519 §4.1.4/§4.1.5 and SD-JWT VC §3.2.2.2: the current time MUST be before `exp` and
/// not before `nbf`; an `iat` in the future is refused.
fn check_times(claims: &Map<String, Value>, now: UnixTime, skew: i64) -> Result<(), SdJwtError> {
    if let Some(exp) = numeric_date(claims, "exp")?
        && now.saturating_sub(skew) >= exp
    {
        return Err(SdJwtError::Expired { exp, now });
    }
    if let Some(nbf) = numeric_date(claims, "nbf")?
        && now.saturating_add(skew) < nbf
    {
        return Err(SdJwtError::NotYetValid { nbf, now });
    }
    if let Some(iat) = numeric_date(claims, "iat")?
        && iat > now.saturating_add(skew)
    {
        return Err(SdJwtError::IssuedInFuture { iat, now });
    }
    Ok(())
}

/// SD-JWT VC §3.2.2: `vct` is REQUIRED and a string; `iss`, `nbf`, `exp`, `cnf`, `vct`,
/// `vct#integrity` and `status` MUST NOT be selectively disclosed; `status.status_list` has the
/// Token Status List shape.
fn check_vc_claims(claims: &Map<String, Value>, landed: &[ClaimPath]) -> Result<(), SdJwtError> {
    match claims.get("vct") {
        Some(Value::String(_)) => {}
        Some(_) => {
            return Err(SdJwtError::InvalidClaim { claim: "vct".into(), reason: "not a string".into() });
        }
        None => return Err(SdJwtError::InvalidClaim { claim: "vct".into(), reason: "missing".into() }),
    }
    for path in landed {
        if let Some(PathElement::Key(name)) = path.elements().first()
            && NEVER_DISCLOSABLE.contains(&name.as_str())
        {
            return Err(SdJwtError::InvalidClaim {
                claim: name.clone(),
                reason: "MUST NOT be selectively disclosable in an SD-JWT VC".into(),
            });
        }
    }
    if let Some(iss) = claims.get("iss")
        && !iss.is_string()
    {
        return Err(SdJwtError::InvalidClaim { claim: "iss".into(), reason: "not a string".into() });
    }
    if let Some(status) = claims.get("status") {
        let Some(status) = status.as_object() else {
            return Err(SdJwtError::InvalidClaim { claim: "status".into(), reason: "not an object".into() });
        };
        if let Some(reference) = status.get("status_list") {
            serde_json::from_value::<StatusReference>(reference.clone()).map_err(|e| {
                SdJwtError::InvalidClaim { claim: "status".into(), reason: format!("status_list: {e}") }
            })?;
        }
    }
    Ok(())
}
