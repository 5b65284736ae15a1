//! A verifier's view of one operator's list: fetched, verified against the pinned operator
//! certificate, cached, refreshed in the background, and failing closed.
//!
//! [`TrustListWatcher`] holds the last accepted list as an `Arc` snapshot. Each refresh fetches
//! (conditionally, with the held `ETag`), verifies the signature against the pinned operator
//! anchors, refuses a list past NextUpdate and a sequence number below the held one
//! (rollback), and only then replaces the snapshot. A failed refresh keeps the held list and
//! records the reason; once the held list passes its NextUpdate without a fresh one verifying,
//! [`TrustListWatcher::anchors_for`] returns [`TrustListError::NoUsableList`] naming why, so a
//! verifier rejects credentials instead of trusting a stale list.
//!
//! ```text
//! let watcher = TrustListWatcher::new(ListSource::parse(url)?, operator_anchors, Arc::new(SystemClock))?;
//! watcher.refresh().await?;                 // the first list, or a clear error at start-up
//! let _refresh = watcher.spawn_refresh()?;  // background refresh until the watcher is dropped
//! let pid_anchors = watcher.pid_provider_anchors()?;
//! ```

use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::Duration;

use rand_core::{OsRng, RngCore as _};
use segl_credential::clock::{Clock, UnixTime};
use segl_credential::x509::TrustAnchors;
use tokio::sync::watch;

use crate::TrustListError;
use crate::fetch::{FetchOptions, Fetched, ListFetcher, ListSource};
use crate::lote::{AcceptedLote, LoteVerifier, service_types};

/// The default refresh interval: one hour, the `max-age` [`crate::serve`] advertises.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(3600);
/// The default delay before retrying after a failed refresh.
pub const DEFAULT_RETRY_INTERVAL: Duration = Duration::from_secs(60);
/// The default shortest delay between refreshes when NextUpdate is near.
pub const DEFAULT_MIN_INTERVAL: Duration = Duration::from_secs(10);
/// The default jitter: each delay is shortened by a random 0–10 % so that many verifiers do not
/// refresh in step.
pub const DEFAULT_JITTER_PERCENT: u32 = 10;

/// How a [`TrustListWatcher`] fetches and schedules refreshes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchOptions {
    /// Limits of each fetch.
    pub fetch: FetchOptions,
    /// Delay between refreshes while all is well ([`DEFAULT_REFRESH_INTERVAL`]).
    pub refresh_interval: Duration,
    /// Delay before retrying after a failed refresh ([`DEFAULT_RETRY_INTERVAL`]); also the
    /// ceiling once the held list is past NextUpdate.
    pub retry_interval: Duration,
    /// When NextUpdate is near the delay is half the time left, but not below this
    /// ([`DEFAULT_MIN_INTERVAL`]).
    pub min_interval: Duration,
    /// Each delay is shortened by a random 0 to this many percent (at most 50).
    pub jitter_percent: u32,
    /// Tolerated clock skew for ListIssueDateTime, seconds (see [`LoteVerifier::with_clock_skew`]).
    pub clock_skew: i64,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            fetch: FetchOptions::default(),
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            retry_interval: DEFAULT_RETRY_INTERVAL,
            min_interval: DEFAULT_MIN_INTERVAL,
            jitter_percent: DEFAULT_JITTER_PERCENT,
            clock_skew: 60,
        }
    }
}

/// What a successful [`TrustListWatcher::refresh`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// A list was fetched, verified and is now held.
    Accepted {
        /// Its LoTESequenceNumber.
        sequence_number: u64,
    },
    /// The server answered 304 (or the file is unchanged): the held list stays, and it is
    /// still before its NextUpdate.
    NotModified {
        /// The held list's LoTESequenceNumber.
        sequence_number: u64,
    },
}

/// A snapshot of the watcher's state, for health endpoints and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchStatus {
    /// The source watched.
    pub source: String,
    /// The held list's sequence number, if any list was accepted.
    pub sequence_number: Option<u64>,
    /// The held list's NextUpdate.
    pub next_update: Option<UnixTime>,
    /// When the last refresh (successful or not) finished, by the watcher's clock.
    pub last_attempt: Option<UnixTime>,
    /// Why the last refresh failed; `None` when it succeeded.
    pub last_error: Option<String>,
    /// Whether [`TrustListWatcher::current`] would hand out the held list now.
    pub usable: bool,
}

#[derive(Default)]
struct State {
    held: Option<Arc<AcceptedLote>>,
    etag: Option<String>,
    last_attempt: Option<UnixTime>,
    last_error: Option<String>,
}

struct Inner {
    fetcher: ListFetcher,
    verifier: LoteVerifier,
    clock: Arc<dyn Clock>,
    options: WatchOptions,
    state: RwLock<State>,
    /// One refresh at a time, so the held ETag and sequence number stay consistent.
    refreshing: tokio::sync::Mutex<()>,
    accepted: watch::Sender<Option<u64>>,
    task: std::sync::Mutex<Option<tokio::task::AbortHandle>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = self.task.get_mut().unwrap_or_else(PoisonError::into_inner).take() {
            task.abort();
        }
    }
}

/// The trust list of one operator, as a verifier uses it. Cheap to clone: clones share the
/// held list and the background refresh.
#[derive(Clone)]
pub struct TrustListWatcher {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TrustListWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustListWatcher").field("status", &self.status()).finish()
    }
}

/// Stops the background refresh started by [`TrustListWatcher::spawn_refresh`]. Dropping the
/// handle does not stop it; dropping the last clone of the watcher does.
#[derive(Debug)]
pub struct RefreshHandle {
    task: tokio::task::AbortHandle,
}

impl RefreshHandle {
    /// Stops the background refresh; the held list stays usable until its NextUpdate.
    pub fn stop(self) {
        self.task.abort();
    }

    /// True while the background task runs.
    pub fn is_running(&self) -> bool {
        !self.task.is_finished()
    }
}

impl TrustListWatcher {
    /// A watcher of `source` that accepts lists signed under `operator` (the pinned operator
    /// certificate or its CA), with default options. Holds nothing until [`Self::refresh`].
    pub fn new(
        source: ListSource,
        operator: TrustAnchors,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, TrustListError> {
        Self::with_options(source, operator, clock, WatchOptions::default())
    }

    /// [`Self::new`] with explicit limits and schedule.
    pub fn with_options(
        source: ListSource,
        operator: TrustAnchors,
        clock: Arc<dyn Clock>,
        options: WatchOptions,
    ) -> Result<Self, TrustListError> {
        if operator.is_empty() {
            return Err(TrustListError::Operator("no pinned operator certificate".into()));
        }
        let fetcher = ListFetcher::new(source, options.fetch)?;
        let verifier = LoteVerifier::new(operator).with_clock_skew(options.clock_skew);
        let (accepted, _) = watch::channel(None);
        Ok(Self {
            inner: Arc::new(Inner {
                fetcher,
                verifier,
                clock,
                options,
                state: RwLock::new(State::default()),
                refreshing: tokio::sync::Mutex::new(()),
                accepted,
                task: std::sync::Mutex::new(None),
            }),
        })
    }

    /// Fetches and verifies the list now. On success the new list is held (or, on 304, the held
    /// one is confirmed); on failure the held list stays (until its NextUpdate), the reason is
    /// recorded for [`Self::status`] and returned.
    pub async fn refresh(&self) -> Result<RefreshOutcome, TrustListError> {
        self.inner.refresh().await
    }

    /// The held list, if it is still before its NextUpdate. Otherwise
    /// [`TrustListError::NoUsableList`] with the reason (none fetched yet, or expired plus the
    /// last refresh failure): fail closed.
    pub fn current(&self) -> Result<Arc<AcceptedLote>, TrustListError> {
        self.inner.current()
    }

    /// The trust anchors of services of type `service_type` in the current list (see
    /// [`AcceptedLote::anchors_for`]); fails closed like [`Self::current`].
    pub fn anchors_for(&self, service_type: &str) -> Result<TrustAnchors, TrustListError> {
        self.current()?.anchors_for(service_type)
    }

    /// Anchors for PIDs: the `PID/Issuance` services (DIGEST §8.1: a PID chain must end at a
    /// PID provider's anchor, not at any listed entity's).
    pub fn pid_provider_anchors(&self) -> Result<TrustAnchors, TrustListError> {
        self.anchors_for(service_types::PID_ISSUANCE)
    }

    /// Anchors for (public-body) attestations: the `PubEAA/Issuance` services.
    pub fn attestation_provider_anchors(&self) -> Result<TrustAnchors, TrustListError> {
        self.anchors_for(service_types::PUB_EAA_ISSUANCE)
    }

    /// The watcher's state now.
    pub fn status(&self) -> WatchStatus {
        self.inner.status()
    }

    /// A receiver that sees the sequence number of each list the watcher accepts (`None`
    /// before the first), to react to changes without polling.
    pub fn subscribe(&self) -> watch::Receiver<Option<u64>> {
        self.inner.accepted.subscribe()
    }

    /// Starts refreshing in the background on the current tokio runtime: at once when no list
    /// is held, then every [`WatchOptions::refresh_interval`] (jittered), sooner as NextUpdate
    /// approaches, every [`WatchOptions::retry_interval`] after a failure. Failures are logged
    /// (tracing, warn) and keep the held list. The task ends when the last clone of the watcher
    /// is dropped or the handle is stopped. A second call replaces the first task.
    pub fn spawn_refresh(&self) -> Result<RefreshHandle, TrustListError> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|e| TrustListError::NoRuntime(e.to_string()))?;
        let weak = Arc::downgrade(&self.inner);
        let task = runtime.spawn(refresh_loop(weak)).abort_handle();
        let previous = self.inner.task.lock().unwrap_or_else(PoisonError::into_inner).replace(task.clone());
        if let Some(previous) = previous {
            previous.abort();
        }
        Ok(RefreshHandle { task })
    }
}

async fn refresh_loop(weak: Weak<Inner>) {
    let mut first = true;
    loop {
        let delay = {
            let Some(inner) = weak.upgrade() else { return };
            let held = inner.read().held.is_some();
            if !(first && held) {
                match inner.refresh().await {
                    Ok(outcome) => {
                        tracing::debug!(source = %inner.fetcher.source(), ?outcome, "trust list refreshed")
                    }
                    Err(error) => tracing::warn!(
                        source = %inner.fetcher.source(),
                        %error,
                        "trust list refresh failed; keeping the held list until its NextUpdate"
                    ),
                }
            }
            first = false;
            inner.next_delay(OsRng.next_u32())
        };
        tokio::time::sleep(delay).await;
    }
}

impl Inner {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    async fn refresh(&self) -> Result<RefreshOutcome, TrustListError> {
        let _one_at_a_time = self.refreshing.lock().await;
        let result = self.fetch_and_verify().await;
        let mut state = self.write();
        state.last_attempt = Some(self.clock.now());
        match result {
            Ok((outcome, accepted, etag)) => {
                if let Some(accepted) = accepted {
                    state.held = Some(Arc::new(accepted));
                    state.etag = etag;
                }
                state.last_error = None;
                drop(state);
                if let RefreshOutcome::Accepted { sequence_number } = outcome {
                    self.accepted.send_replace(Some(sequence_number));
                }
                Ok(outcome)
            }
            Err(error) => {
                state.last_error = Some(error.to_string());
                Err(error)
            }
        }
    }

    #[allow(clippy::type_complexity)]
    async fn fetch_and_verify(
        &self,
    ) -> Result<(RefreshOutcome, Option<AcceptedLote>, Option<String>), TrustListError> {
        let (held, etag) = {
            let state = self.read();
            (state.held.clone(), state.etag.clone())
        };
        // Without a held list there is nothing a 304 could confirm.
        let etag = held.as_ref().and(etag);
        let fetched = self.fetcher.fetch(etag.as_deref()).await?;
        let now = self.clock.now();
        match (fetched, held) {
            (Fetched::NotModified, Some(held)) => {
                if now > held.next_update {
                    return Err(TrustListError::PastNextUpdate { next_update: held.next_update, now });
                }
                Ok((RefreshOutcome::NotModified { sequence_number: held.sequence_number }, None, None))
            }
            (Fetched::NotModified, None) => {
                Err(TrustListError::malformed("HTTP response", "304 Not Modified without a held list"))
            }
            (Fetched::Body { text, etag }, held) => {
                let accepted =
                    self.verifier.verify(&text, now, held.as_ref().map(|held| held.sequence_number))?;
                let outcome = RefreshOutcome::Accepted { sequence_number: accepted.sequence_number };
                Ok((outcome, Some(accepted), etag))
            }
        }
    }

    fn current(&self) -> Result<Arc<AcceptedLote>, TrustListError> {
        let now = self.clock.now();
        let state = self.read();
        let unusable =
            |reason: String| TrustListError::NoUsableList { url: self.fetcher.source().to_string(), reason };
        let last = state.last_error.as_deref().map(|e| format!("; last refresh: {e}")).unwrap_or_default();
        match &state.held {
            None => Err(unusable(format!("no list accepted yet{last}"))),
            Some(held) if now > held.next_update => Err(unusable(format!(
                "held list (sequence {}) is past its NextUpdate {} (now {now}), no fresh list{last}",
                held.sequence_number, held.next_update
            ))),
            Some(held) => Ok(Arc::clone(held)),
        }
    }

    fn status(&self) -> WatchStatus {
        let usable = self.current().is_ok();
        let state = self.read();
        WatchStatus {
            source: self.fetcher.source().to_string(),
            sequence_number: state.held.as_ref().map(|held| held.sequence_number),
            next_update: state.held.as_ref().map(|held| held.next_update),
            last_attempt: state.last_attempt,
            last_error: state.last_error.clone(),
            usable,
        }
    }

    fn next_delay(&self, random: u32) -> Duration {
        let state = self.read();
        next_delay(
            &self.options,
            state.held.as_ref().map(|held| held.next_update),
            self.clock.now(),
            state.last_error.is_none(),
            random,
        )
    }
}

/// The delay before the next refresh: the interval (or the retry interval after a failure),
/// no later than half the time left before NextUpdate (floored at `min_interval`), the retry
/// interval at most once NextUpdate has passed, then shortened by the jitter.
fn next_delay(
    options: &WatchOptions,
    next_update: Option<UnixTime>,
    now: UnixTime,
    last_ok: bool,
    random: u32,
) -> Duration {
    let mut delay = if last_ok { options.refresh_interval } else { options.retry_interval };
    if let Some(next_update) = next_update {
        let left = next_update.saturating_sub(now);
        let bound = if left > 0 {
            Duration::from_secs(u64::try_from(left / 2).unwrap_or(0)).max(options.min_interval)
        } else {
            options.retry_interval
        };
        delay = delay.min(bound);
    }
    let percent = u128::from(options.jitter_percent.min(50));
    let millis = delay.as_millis();
    let cut =
        millis.saturating_mul(percent).saturating_mul(u128::from(random)) / (100 * u128::from(u32::MAX));
    Duration::from_millis(u64::try_from(millis.saturating_sub(cut)).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> WatchOptions {
        WatchOptions { jitter_percent: 0, ..WatchOptions::default() }
    }

    #[test]
    fn delay_is_the_interval_when_next_update_is_far() {
        assert_eq!(next_delay(&options(), Some(1_000_000), 0, true, 0), DEFAULT_REFRESH_INTERVAL);
        assert_eq!(next_delay(&options(), None, 0, true, 0), DEFAULT_REFRESH_INTERVAL);
    }

    #[test]
    fn delay_shrinks_as_next_update_approaches() {
        assert_eq!(next_delay(&options(), Some(1_000), 0, true, 0), Duration::from_secs(500));
        assert_eq!(next_delay(&options(), Some(4), 0, true, 0), DEFAULT_MIN_INTERVAL);
        // Past NextUpdate: retry at the retry interval, not the hourly one.
        assert_eq!(next_delay(&options(), Some(0), 10, true, 0), DEFAULT_RETRY_INTERVAL);
    }

    #[test]
    fn delay_after_failure_is_the_retry_interval() {
        assert_eq!(next_delay(&options(), Some(1_000_000), 0, false, 0), DEFAULT_RETRY_INTERVAL);
    }

    #[test]
    fn jitter_only_shortens_and_by_at_most_the_percentage() {
        let jittered = WatchOptions { jitter_percent: 10, ..WatchOptions::default() };
        assert_eq!(next_delay(&jittered, None, 0, true, 0), DEFAULT_REFRESH_INTERVAL);
        assert_eq!(next_delay(&jittered, None, 0, true, u32::MAX), Duration::from_secs(3240));
        let middle = next_delay(&jittered, None, 0, true, u32::MAX / 2);
        assert!(middle > Duration::from_secs(3240) && middle < DEFAULT_REFRESH_INTERVAL);
    }
}
