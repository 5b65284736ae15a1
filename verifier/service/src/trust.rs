//! What the service trusts: issuer certificates from PEM files (`--trust-anchor`), or anchors a
//! trust list names (PID providers apart from attestation providers), swapped in atomically when
//! the list is refreshed.

use std::sync::{Arc, PoisonError, RwLock};

use segl_credential::x509::TrustAnchors;

use crate::status::StatusAnchors;

/// The anchors in force at one moment.
#[derive(Debug, Clone, Default)]
pub struct TrustSnapshot {
    /// Issuers of every credential (or, when [`Self::pid`] is set, of every non-PID one).
    pub issuers: Arc<TrustAnchors>,
    /// PID providers, when a trust list tells them apart.
    pub pid: Option<Arc<TrustAnchors>>,
    /// Every anchor (status list tokens are signed by either kind of issuer).
    pub all: Arc<TrustAnchors>,
}

impl TrustSnapshot {
    /// One set of anchors for every credential type.
    pub fn single(anchors: TrustAnchors) -> Self {
        let anchors = Arc::new(anchors);
        Self { issuers: anchors.clone(), pid: None, all: anchors }
    }
}

/// The trust in force, shared between requests and replaced on refresh.
#[derive(Debug, Default)]
pub struct Trust {
    current: RwLock<TrustSnapshot>,
}

impl Trust {
    /// Trust starting from `snapshot`.
    pub fn new(snapshot: TrustSnapshot) -> Self {
        Self { current: RwLock::new(snapshot) }
    }

    /// The anchors in force now.
    pub fn snapshot(&self) -> TrustSnapshot {
        self.current.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Replaces the anchors (after a trust list refresh).
    pub fn replace(&self, snapshot: TrustSnapshot) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = snapshot;
    }
}

impl StatusAnchors for Trust {
    fn anchors(&self) -> Arc<TrustAnchors> {
        self.snapshot().all
    }
}
