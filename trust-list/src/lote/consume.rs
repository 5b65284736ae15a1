//! Consuming a signed LoTE: verify the JAdES compact JWS against the pinned operator
//! certificate, refuse stale or rolled-back lists, and hand out trust anchors per service type.
//!
//! This is the offline check: the caller passes the JWS text and the sequence number of the
//! list it accepted before, and keeps the returned [`AcceptedLote`] until
//! [`AcceptedLote::next_update`]. [`crate::watch::TrustListWatcher`] does that from a URL:
//! fetching, caching, background refresh and failing closed.

use aws_lc_rs::digest;
use segl_credential::clock::UnixTime;
use segl_credential::jose::{self, CompactJws};
use segl_credential::x509::{TrustAnchors, X509Error};
use serde_json::Value;

use super::{LoteDocument, UNDERSTOOD_CRITICAL};
use crate::TrustListError;
use crate::model::TrustedEntity;
use crate::timefmt;

/// Service type identifiers of the EU LoTE profiles (TS 119 602 Annexes D–G).
pub mod service_types {
    /// PID provider: the anchors of PID signing certificates (Annex D).
    pub const PID_ISSUANCE: &str = "http://uri.etsi.org/19602/SvcType/PID/Issuance";
    /// PID provider: the anchors of its status-list signing certificates.
    pub const PID_REVOCATION: &str = "http://uri.etsi.org/19602/SvcType/PID/Revocation";
    /// Public-body EAA provider: attestation signing anchors.
    pub const PUB_EAA_ISSUANCE: &str = "http://uri.etsi.org/19602/SvcType/PubEAA/Issuance";
    /// Wallet provider: wallet unit / key attestation signing anchors (Annex E).
    pub const WALLET_ISSUANCE: &str = "http://uri.etsi.org/19602/SvcType/WalletSolution/Issuance";
    /// Relying-party access CA (WRPAC, Annex F).
    pub const WRPAC_ISSUANCE: &str = "http://uri.etsi.org/19602/SvcType/WRPAC/Issuance";
}

/// The last path segments of a ServiceStatus URI under which a service's certificates are
/// trusted. A service with no status (allowed by TS 119 602) is trusted; any other status
/// (withdrawn, deprecated, revoked, unknown) is not: fail closed.
pub const TRUSTED_STATUSES: &[&str] = &["granted", "recognisedatnationallevel", "notified", "accredited"];

/// Verifies signed LoTEs of one scheme operator.
#[derive(Debug, Clone)]
pub struct LoteVerifier {
    operator: TrustAnchors,
    clock_skew: i64,
}

impl LoteVerifier {
    /// A verifier that trusts lists signed under `operator`: the pinned operator signing
    /// certificate itself, or the CA that issues it.
    pub fn new(operator: TrustAnchors) -> Self {
        Self { operator, clock_skew: 60 }
    }

    /// Tolerated clock difference, in seconds, for ListIssueDateTime in the future (default 60).
    /// NextUpdate gets no tolerance.
    pub fn with_clock_skew(mut self, seconds: i64) -> Self {
        self.clock_skew = seconds;
        self
    }

    /// Verifies a compact JWS LoTE at time `now`. `previous_sequence` is the sequence number of
    /// the list of this operator accepted before, if any: a lower one is a rollback.
    pub fn verify(
        &self,
        jws: &str,
        now: UnixTime,
        previous_sequence: Option<u64>,
    ) -> Result<AcceptedLote, TrustListError> {
        let parsed = CompactJws::parse(jws.trim())?;
        check_critical(&parsed)?;
        let chain = parsed.x5c()?.ok_or_else(|| TrustListError::Header {
            member: "x5c".into(),
            reason: "missing: the operator's certificate is required".into(),
        })?;
        check_thumbprint(&parsed, &chain)?;
        let validated = self.operator.validate(&chain, now).map_err(TrustListError::UntrustedSigner)?;
        parsed.verify(&validated.leaf_key)?;

        let document: LoteDocument = serde_json::from_slice(parsed.payload())
            .map_err(|e| TrustListError::malformed("LoTE", e.to_string()))?;
        let info = &document.lote.list_and_scheme_information;
        let issued = timefmt::parse(&info.list_issue_date_time)?;
        let next_update = timefmt::parse(&info.next_update)?;
        // TS 119 612 §5.3.15 / TS 119 602: a list past its NextUpdate is not to be relied on;
        // without a fresh list a relying party fails closed.
        if now > next_update {
            return Err(TrustListError::PastNextUpdate { next_update, now });
        }
        if issued > now.saturating_add(self.clock_skew) {
            return Err(TrustListError::IssuedInFuture { issued, now });
        }
        if let Some(previous) = previous_sequence
            && info.sequence_number < previous
        {
            return Err(TrustListError::SequenceRollback { previous, received: info.sequence_number });
        }
        let entities = super::entities(&document)?;
        Ok(AcceptedLote {
            sequence_number: info.sequence_number,
            issued,
            next_update,
            lote_type: info.lote_type.clone(),
            entities,
            document,
        })
    }
}

/// RFC 7515 §4.1.11: "If any of the listed extension Header Parameters are not understood and
/// supported by the recipient, then the JWS is invalid."
fn check_critical(jws: &CompactJws<'_>) -> Result<(), TrustListError> {
    let header = jws.header();
    let bad = |member: &str, reason: String| TrustListError::Header { member: member.into(), reason };
    if let Some(crit) = header.get("crit") {
        let names = crit
            .as_array()
            .filter(|names| !names.is_empty())
            .ok_or_else(|| bad("crit", "must be a non-empty array".into()))?;
        for name in names {
            let name = name.as_str().ok_or_else(|| bad("crit", "entry is not a string".into()))?;
            if !UNDERSTOOD_CRITICAL.contains(&name) {
                return Err(bad("crit", format!("`{name}` is not understood")));
            }
            if !header.contains_key(name) {
                return Err(bad("crit", format!("`{name}` is listed but absent")));
            }
        }
    }
    if let Some(sig_t) = header.get("sigT") {
        let text = sig_t.as_str().ok_or_else(|| bad("sigT", "not a string".into()))?;
        timefmt::parse(text)?;
    }
    Ok(())
}

/// `x5t#S256`, when present, must be the SHA-256 of the first `x5c` certificate.
fn check_thumbprint(jws: &CompactJws<'_>, chain: &[Vec<u8>]) -> Result<(), TrustListError> {
    let Some(value) = jws.header().get("x5t#S256") else { return Ok(()) };
    let bad = |reason: &str| TrustListError::Header { member: "x5t#S256".into(), reason: reason.into() };
    let Value::String(text) = value else { return Err(bad("not a string")) };
    let expected = jose::base64url_decode(text).map_err(|_| bad("not base64url"))?;
    let leaf = chain.first().ok_or(TrustListError::UntrustedSigner(X509Error::EmptyChain))?;
    if digest::digest(&digest::SHA256, leaf).as_ref() != expected.as_slice() {
        return Err(bad("does not match the x5c signing certificate"));
    }
    Ok(())
}

/// A LoTE whose signature, freshness and sequence were checked.
#[derive(Debug, Clone)]
pub struct AcceptedLote {
    /// LoTESequenceNumber: keep it and pass it to the next [`LoteVerifier::verify`].
    pub sequence_number: u64,
    /// ListIssueDateTime, Unix seconds.
    pub issued: UnixTime,
    /// NextUpdate, Unix seconds: fetch a new list before then.
    pub next_update: UnixTime,
    /// LoTEType.
    pub lote_type: Option<String>,
    /// The listed entities.
    pub entities: Vec<TrustedEntity>,
    /// The whole verified document.
    pub document: LoteDocument,
}

impl AcceptedLote {
    /// The trust anchors of every service of type `service_type` whose status is trusted (see
    /// [`TRUSTED_STATUSES`]): a verifier validates PIDs against
    /// [`service_types::PID_ISSUANCE`] anchors only, attestations against the attestation
    /// providers' anchors, and so on (ARF Annex 2, Topic 27).
    pub fn anchors_for(&self, service_type: &str) -> Result<TrustAnchors, TrustListError> {
        let mut anchors = TrustAnchors::new();
        for (e, entity) in self.entities.iter().enumerate() {
            for (s, service) in entity.services.iter().enumerate() {
                if service.type_uri != service_type || !status_is_trusted(service.status.as_deref()) {
                    continue;
                }
                for (c, der) in service.certificates.iter().enumerate() {
                    anchors.add_der(der).map_err(|err| {
                        TrustListError::malformed(
                            format!(
                                "TrustedEntitiesList[{e}].TrustedEntityServices[{s}].X509Certificates[{c}]"
                            ),
                            err.to_string(),
                        )
                    })?;
                }
            }
        }
        Ok(anchors)
    }
}

fn status_is_trusted(status: Option<&str>) -> bool {
    match status {
        None => true,
        Some(uri) => uri.rsplit('/').next().is_some_and(|last| TRUSTED_STATUSES.contains(&last)),
    }
}
