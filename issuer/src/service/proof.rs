//! Key proofs of type `jwt` (OpenID4VCI 1.0 §8.2.1.1, Appendix F.1): the wallet proves possession
//! of the key a credential will be bound to, over the issuer's `c_nonce`.

use segl_credential::clock::UnixTime;
use segl_credential::jose::{CompactJws, JoseError};
use segl_credential::keys::{Algorithm, KeyError, PublicKey};
use serde_json::Value;

use super::key_attestation::{
    AttestedKeys, KeyAttestationError, KeyAttestationRules, KeyAttestationUse, check_key_attestation,
};

/// The `typ` a key proof must carry (OpenID4VCI 1.0 §8.2.1.1).
pub const PROOF_TYP: &str = "openid4vci-proof+jwt";

/// What a proof must satisfy, from the issuer's metadata and the request context.
#[derive(Debug, Clone)]
pub struct ProofRules<'a> {
    /// The Credential Issuer Identifier: the proof's `aud`.
    pub issuer_id: &'a str,
    /// `proof_signing_alg_values_supported` of the configuration.
    pub algorithms: &'a [Algorithm],
    /// The time of the request.
    pub now: UnixTime,
    /// How old `iat` may be, in seconds.
    pub max_age: i64,
    /// How far in the future `iat` may be (clock skew), in seconds.
    pub max_skew: i64,
    /// How a `key_attestation` header is checked; `None` when the tenant trusts no wallet
    /// provider, and the header is then ignored.
    pub key_attestation: Option<KeyAttestationRules<'a>>,
}

/// A proof whose signature, type, audience and time checked out. The nonce still has to be
/// consumed in the store (exactly once) by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidProof {
    /// The key the credential will be bound to.
    pub key: PublicKey,
    /// The proof's `nonce` claim.
    pub nonce: String,
    /// The checked `key_attestation` of its header, if any (and if the tenant checks them).
    pub attested: Option<AttestedKeys>,
}

/// Why a proof was refused. [`ProofError::MissingNonce`] maps to `invalid_nonce` (the wallet
/// fetches a new one); everything else to `invalid_proof`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
    /// Not a compact JWS, or its header or payload is malformed.
    #[error("proof is not a valid JWT: {0}")]
    Malformed(JoseError),
    /// `typ` is not `openid4vci-proof+jwt`.
    #[error("proof typ must be `{PROOF_TYP}`, found {0:?}")]
    WrongTyp(Option<String>),
    /// `alg` is not one the configuration accepts.
    #[error("proof alg {0} is not supported for this credential configuration")]
    UnsupportedAlgorithm(String),
    /// The header names its key by `kid` or `x5c`, which this issuer cannot resolve; only `jwk`.
    #[error("proof key must be given as `jwk` in the header; `{0}` cannot be resolved here")]
    UnresolvableKey(&'static str),
    /// The header has more than one of `jwk`, `kid`, `x5c` (exactly one is allowed).
    #[error("proof header must carry exactly one of jwk, kid, x5c")]
    AmbiguousKey,
    /// The `jwk` is not a usable public key (or carries a private key).
    #[error("proof jwk: {0}")]
    BadKey(KeyError),
    /// The signature does not verify under the header's key.
    #[error("proof signature does not verify")]
    BadSignature,
    /// `aud` is missing or is not this issuer.
    #[error("proof aud must be the credential issuer identifier {expected}")]
    WrongAudience {
        /// The issuer identifier expected.
        expected: String,
    },
    /// `iat` is missing, too old or in the future.
    #[error("proof iat {iat:?} is outside the accepted window (now {now})")]
    StaleOrFutureIat {
        /// The proof's `iat`, if any.
        iat: Option<i64>,
        /// The issuer's time.
        now: UnixTime,
    },
    /// The proof carries no `nonce` although the issuer has a nonce endpoint.
    #[error("proof has no nonce; fetch one from the nonce endpoint")]
    MissingNonce,
    /// The `key_attestation` header was refused.
    #[error(transparent)]
    KeyAttestation(KeyAttestationError),
}

/// Checks one `jwt` key proof against `rules`.
pub fn check_jwt_proof(proof: &str, rules: &ProofRules<'_>) -> Result<ValidProof, ProofError> {
    let jws = CompactJws::parse(proof).map_err(ProofError::Malformed)?;
    let typ = jws.typ().map_err(ProofError::Malformed)?;
    if typ != Some(PROOF_TYP) {
        return Err(ProofError::WrongTyp(typ.map(str::to_owned)));
    }
    let algorithm = jws.algorithm().map_err(|error| match error {
        JoseError::Key(KeyError::UnsupportedAlgorithm(name)) => ProofError::UnsupportedAlgorithm(name),
        other => ProofError::Malformed(other),
    })?;
    if !rules.algorithms.contains(&algorithm) {
        return Err(ProofError::UnsupportedAlgorithm(algorithm.jose_name().to_owned()));
    }
    let attested = attested_keys(&jws, rules)?;
    let key = proof_key(&jws, attested.as_ref())?;
    jws.verify(&key).map_err(|_| ProofError::BadSignature)?;

    let claims = jws.payload_json().map_err(ProofError::Malformed)?;
    // §8.2.1.1: `aud` "MUST be the Credential Issuer Identifier".
    let audience_matches = match claims.get("aud") {
        Some(Value::String(aud)) => aud == rules.issuer_id,
        Some(Value::Array(auds)) => auds.iter().any(|aud| aud.as_str() == Some(rules.issuer_id)),
        _ => false,
    };
    if !audience_matches {
        return Err(ProofError::WrongAudience { expected: rules.issuer_id.to_owned() });
    }
    let iat = claims.get("iat").and_then(Value::as_i64);
    let fresh = iat.is_some_and(|iat| {
        iat <= rules.now.saturating_add(rules.max_skew) && iat >= rules.now.saturating_sub(rules.max_age)
    });
    if !fresh {
        return Err(ProofError::StaleOrFutureIat { iat, now: rules.now });
    }
    let nonce = claims.get("nonce").and_then(Value::as_str).ok_or(ProofError::MissingNonce)?;
    if let Some(attested) = &attested
        && attested.nonce.as_deref().is_some_and(|attested_nonce| attested_nonce != nonce)
    {
        return Err(ProofError::KeyAttestation(KeyAttestationError::NonceMismatch));
    }
    Ok(ValidProof { key, nonce: nonce.to_owned(), attested })
}

/// The header's `key_attestation`, checked, when the tenant checks them (Appendix F.1).
fn attested_keys(jws: &CompactJws<'_>, rules: &ProofRules<'_>) -> Result<Option<AttestedKeys>, ProofError> {
    let (Some(header), Some(attestation_rules)) =
        (jws.header().get("key_attestation"), &rules.key_attestation)
    else {
        return Ok(None);
    };
    let jwt = header.as_str().ok_or(ProofError::KeyAttestation(KeyAttestationError::Malformed(
        "the key_attestation header is not a string".into(),
    )))?;
    check_key_attestation(jwt, KeyAttestationUse::JwtProofHeader, attestation_rules)
        .map(Some)
        .map_err(ProofError::KeyAttestation)
}

/// The key the proof is signed with. Appendix F.1: the header contains exactly one of `kid`,
/// `jwk`, `x5c`; only `jwk` is resolvable here. With a key attestation the `jwk` must be one of
/// its `attested_keys`, and may be left out: the signing key is then the attested key the
/// signature verifies with.
fn proof_key(jws: &CompactJws<'_>, attested: Option<&AttestedKeys>) -> Result<PublicKey, ProofError> {
    let header = jws.header();
    let present: Vec<&'static str> =
        ["jwk", "kid", "x5c"].into_iter().filter(|member| header.contains_key(*member)).collect();
    match (present.as_slice(), attested) {
        (["jwk"], _) => {}
        ([], Some(attested)) => {
            return attested
                .keys
                .iter()
                .find(|key| jws.verify(key).is_ok())
                .cloned()
                .ok_or(ProofError::KeyAttestation(KeyAttestationError::SignerNotAttested));
        }
        ([single], _) => return Err(ProofError::UnresolvableKey(single)),
        _ => return Err(ProofError::AmbiguousKey),
    }
    let key = match jws.jwk() {
        Ok(Some(key)) => key,
        Ok(None) => return Err(ProofError::AmbiguousKey),
        Err(JoseError::Key(error)) => return Err(ProofError::BadKey(error)),
        Err(other) => return Err(ProofError::Malformed(other)),
    };
    if let Some(attested) = attested
        && !attested.keys.iter().any(|attested_key| attested_key.jwk_thumbprint() == key.jwk_thumbprint())
    {
        return Err(ProofError::KeyAttestation(KeyAttestationError::SignerNotAttested));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng as _;
    use segl_credential::jose::{self, KeyReference};
    use segl_credential::keys::{Signer as _, SoftwareSigner};
    use serde_json::json;

    const ISSUER: &str = "https://issuer.example/dk";
    const NOW: i64 = 1_800_000_000;

    fn holder() -> SoftwareSigner {
        SoftwareSigner::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(42)).unwrap().with_key_id("k")
    }

    fn rules() -> ProofRules<'static> {
        ProofRules {
            issuer_id: ISSUER,
            algorithms: &[Algorithm::Es256],
            now: NOW,
            max_age: 300,
            max_skew: 60,
            key_attestation: None,
        }
    }

    fn proof(signer: &SoftwareSigner, typ: &str, key: KeyReference, claims: Value) -> String {
        let header = jose::header(typ, signer, key).unwrap();
        jose::sign_compact(header, claims.to_string().as_bytes(), signer).unwrap()
    }

    fn good_claims() -> Value {
        json!({"aud": ISSUER, "iat": NOW - 5, "nonce": "n-1"})
    }

    #[test]
    fn accepts_a_good_proof_and_returns_key_and_nonce() {
        let signer = holder();
        let valid =
            check_jwt_proof(&proof(&signer, PROOF_TYP, KeyReference::Jwk, good_claims()), &rules()).unwrap();
        assert_eq!(&valid.key, signer.public_key());
        assert_eq!(valid.nonce, "n-1");
    }

    #[test]
    fn rejects_wrong_typ() {
        let signer = holder();
        for typ in ["kb+jwt", "JWT", "dpop+jwt"] {
            let result = check_jwt_proof(&proof(&signer, typ, KeyReference::Jwk, good_claims()), &rules());
            assert_eq!(result, Err(ProofError::WrongTyp(Some(typ.into()))));
        }
    }

    #[test]
    fn rejects_kid_and_x5c_key_references() {
        let signer = holder();
        let result = check_jwt_proof(&proof(&signer, PROOF_TYP, KeyReference::Kid, good_claims()), &rules());
        assert_eq!(result, Err(ProofError::UnresolvableKey("kid")));
        let chained = holder().with_certificate_chain(vec![vec![0x30, 0x00]]);
        let result = check_jwt_proof(&proof(&chained, PROOF_TYP, KeyReference::X5c, good_claims()), &rules());
        assert_eq!(result, Err(ProofError::UnresolvableKey("x5c")));
        let result = check_jwt_proof(&proof(&signer, PROOF_TYP, KeyReference::None, good_claims()), &rules());
        assert_eq!(result, Err(ProofError::AmbiguousKey));
    }

    #[test]
    fn rejects_wrong_audience_stale_iat_and_missing_nonce() {
        let signer = holder();
        let check =
            |claims: Value| check_jwt_proof(&proof(&signer, PROOF_TYP, KeyReference::Jwk, claims), &rules());
        assert!(matches!(
            check(json!({"aud": "https://other.example", "iat": NOW, "nonce": "n"})),
            Err(ProofError::WrongAudience { .. })
        ));
        assert!(matches!(check(json!({"iat": NOW, "nonce": "n"})), Err(ProofError::WrongAudience { .. })));
        assert!(matches!(
            check(json!({"aud": ISSUER, "iat": NOW - 301, "nonce": "n"})),
            Err(ProofError::StaleOrFutureIat { .. })
        ));
        assert!(matches!(
            check(json!({"aud": ISSUER, "iat": NOW + 61, "nonce": "n"})),
            Err(ProofError::StaleOrFutureIat { .. })
        ));
        assert!(matches!(
            check(json!({"aud": ISSUER, "nonce": "n"})),
            Err(ProofError::StaleOrFutureIat { .. })
        ));
        assert_eq!(check(json!({"aud": ISSUER, "iat": NOW})), Err(ProofError::MissingNonce));
        assert!(check(json!({"aud": [ISSUER, "x"], "iat": NOW, "nonce": "n"})).is_ok());
    }

    #[test]
    fn rejects_a_signature_by_another_key() {
        let signer = holder();
        let other = SoftwareSigner::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(7)).unwrap();
        // Header names `signer`'s key, but `other` signs.
        let header = jose::header(PROOF_TYP, &signer, KeyReference::Jwk).unwrap();
        let forged = jose::sign_compact(header, good_claims().to_string().as_bytes(), &other).unwrap();
        assert_eq!(check_jwt_proof(&forged, &rules()), Err(ProofError::BadSignature));
    }

    #[test]
    fn rejects_embedded_private_key_and_alg_none() {
        let signer = holder();
        let mut header = jose::header(PROOF_TYP, &signer, KeyReference::Jwk).unwrap();
        header.get_mut("jwk").unwrap()["d"] = json!("AAAA");
        let with_d = jose::sign_compact(header, good_claims().to_string().as_bytes(), &signer).unwrap();
        assert_eq!(check_jwt_proof(&with_d, &rules()), Err(ProofError::BadKey(KeyError::PrivateKeyMaterial)));

        let valid = proof(&signer, PROOF_TYP, KeyReference::Jwk, good_claims());
        let (_, rest) = valid.split_once('.').unwrap();
        let none_header = jose::base64url_encode(format!(r#"{{"alg":"none","typ":"{PROOF_TYP}"}}"#));
        let result = check_jwt_proof(&format!("{none_header}.{rest}"), &rules());
        assert_eq!(result, Err(ProofError::UnsupportedAlgorithm("none".into())));
    }
}
