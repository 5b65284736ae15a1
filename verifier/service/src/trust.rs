//! What the service trusts: issuer CA certificates from PEM files (`--trust-anchor`), and/or the
//! anchors a signed LoTE trust list names (`--trust-list`, verified against the pinned operator
//! certificate and refreshed in the background by segl-trust-list's [`TrustListWatcher`]): PID
//! providers' anchors for PIDs, attestation providers' for every other credential.
//!
//! Fail closed: when the watcher has no usable list (none fetched yet, or the held one is past
//! its NextUpdate without a fresh one verifying), the list contributes no anchor, so only the
//! `--trust-anchor` certificates (if any) are trusted.

use std::sync::{Arc, Mutex, PoisonError};

use segl_credential::x509::TrustAnchors;
use segl_trust_list::lote::{AcceptedLote, service_types};
use segl_trust_list::watch::{TrustListWatcher, WatchStatus};

use crate::status::StatusAnchors;

/// The anchors in force at one moment.
#[derive(Debug, Clone, Default)]
pub struct TrustSnapshot {
    /// Issuers of every credential (or, when [`Self::pid`] is set, of every non-PID one).
    pub issuers: Arc<TrustAnchors>,
    /// PID providers, when a trust list tells them apart.
    pub pid: Option<Arc<TrustAnchors>>,
    /// The anchor sets a Status List Token may chain to (tried in order).
    pub status: Vec<Arc<TrustAnchors>>,
}

impl TrustSnapshot {
    /// One set of anchors for every credential type.
    pub fn single(anchors: TrustAnchors) -> Self {
        let anchors = Arc::new(anchors);
        Self { issuers: anchors.clone(), pid: None, status: vec![anchors] }
    }
}

enum Source {
    Static(TrustSnapshot),
    List {
        watcher: TrustListWatcher,
        /// PEM bundles from `--trust-anchor`, trusted in addition to the list.
        extra: Vec<String>,
        /// The snapshot built from the list last seen (rebuilt when the watcher holds another).
        cache: Mutex<Option<(Arc<AcceptedLote>, TrustSnapshot)>>,
    },
}

/// The trust in force, shared between requests.
pub struct Trust {
    source: Source,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            Source::Static(snapshot) => {
                f.debug_tuple("Trust::Static").field(&snapshot.issuers.len()).finish()
            }
            Source::List { watcher, .. } => f.debug_tuple("Trust::List").field(&watcher.status()).finish(),
        }
    }
}

impl Trust {
    /// Fixed anchors.
    pub fn fixed(snapshot: TrustSnapshot) -> Self {
        Self { source: Source::Static(snapshot) }
    }

    /// Anchors from a trust list, plus the PEM bundles of `extra` for every credential type.
    pub fn from_list(watcher: TrustListWatcher, extra: Vec<String>) -> Self {
        Self { source: Source::List { watcher, extra, cache: Mutex::new(None) } }
    }

    /// The trust list watcher's state (`None` with fixed anchors): for the metrics.
    pub fn list_status(&self) -> Option<WatchStatus> {
        match &self.source {
            Source::Static(_) => None,
            Source::List { watcher, .. } => Some(watcher.status()),
        }
    }

    /// The anchors in force now.
    pub fn snapshot(&self) -> TrustSnapshot {
        match &self.source {
            Source::Static(snapshot) => snapshot.clone(),
            Source::List { watcher, extra, cache } => {
                let lote = match watcher.current() {
                    Ok(lote) => lote,
                    Err(error) => {
                        tracing::warn!("trust list not usable, trusting only --trust-anchor: {error}");
                        return from_extra(extra);
                    }
                };
                let mut cache = cache.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some((held, snapshot)) = cache.as_ref()
                    && Arc::ptr_eq(held, &lote)
                {
                    return snapshot.clone();
                }
                let snapshot = from_lote(&lote, extra);
                *cache = Some((lote, snapshot.clone()));
                snapshot
            }
        }
    }
}

fn with_extra(mut anchors: TrustAnchors, extra: &[String]) -> Arc<TrustAnchors> {
    for pem in extra {
        // Checked when the files were read; a failure here only drops that bundle.
        let _ = anchors.add_pem(pem);
    }
    Arc::new(anchors)
}

fn from_extra(extra: &[String]) -> TrustSnapshot {
    let anchors = with_extra(TrustAnchors::new(), extra);
    TrustSnapshot { issuers: anchors.clone(), pid: Some(anchors.clone()), status: vec![anchors] }
}

fn from_lote(lote: &AcceptedLote, extra: &[String]) -> TrustSnapshot {
    let set = |service_type: &str| {
        let anchors = lote.anchors_for(service_type).unwrap_or_else(|error| {
            tracing::warn!(service_type, "trust list anchors: {error}");
            TrustAnchors::new()
        });
        with_extra(anchors, extra)
    };
    let issuers = set(service_types::PUB_EAA_ISSUANCE);
    let pid = set(service_types::PID_ISSUANCE);
    let pid_status = set(service_types::PID_REVOCATION);
    tracing::info!(
        sequence_number = lote.sequence_number,
        pid_anchors = pid.len(),
        attestation_anchors = issuers.len(),
        "trust list anchors in force"
    );
    TrustSnapshot { status: vec![issuers.clone(), pid.clone(), pid_status], issuers, pid: Some(pid) }
}

impl StatusAnchors for Trust {
    fn anchors(&self) -> Vec<Arc<TrustAnchors>> {
        self.snapshot().status
    }
}
