//! The verifier's own Prometheus metrics, next to the HTTP ones of [`segl_ops::HttpMetrics`]:
//! transactions started, their outcomes with the rejection reason codes, and status list
//! fetches. Every label value is a `&'static str` from a closed set (query presets, response
//! modes, the library's reason codes), never anything a wallet or a caller sends.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric as _};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use segl_verifier::flow::Outcome;

use crate::trust::Trust;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StartedLabels {
    query: &'static str,
    response_mode: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

/// Counters of the verification flow (cheap to clone: the families are shared).
#[derive(Debug, Clone, Default)]
pub struct VerifierMetrics {
    started: Family<StartedLabels, Counter>,
    outcomes: Family<OutcomeLabels, Counter>,
    rejections: Family<ReasonLabels, Counter>,
    status_list_fetches: Family<ResultLabels, Counter>,
}

impl VerifierMetrics {
    /// Counts a transaction started for `query` (`age_over_18`, `pid_core` or `custom`) answered
    /// in `response_mode` (`direct_post`, `direct_post.jwt`, `dc_api`, `dc_api.jwt`).
    pub fn started(&self, query: &'static str, response_mode: &'static str) {
        self.started.get_or_create(&StartedLabels { query, response_mode }).inc();
    }

    /// Counts a finished transaction: `verified`, `rejected` or `wallet_error`, and for a
    /// refusal each of its reason codes once.
    pub fn finished(&self, outcome: &Outcome) {
        let label = match outcome {
            Outcome::Verified(_) => "verified",
            Outcome::Rejected(_) => "rejected",
            Outcome::WalletError { .. } => "wallet_error",
        };
        self.outcomes.get_or_create(&OutcomeLabels { outcome: label }).inc();
        let mut codes = outcome.codes();
        codes.sort_unstable();
        codes.dedup();
        for reason in codes {
            self.rejected_for(reason);
        }
    }

    /// Counts a transaction that expired without an answer (outcome `expired`, reason
    /// `transaction_expired`).
    pub fn expired(&self, reason: &'static str) {
        self.outcomes.get_or_create(&OutcomeLabels { outcome: "expired" }).inc();
        self.rejected_for(reason);
    }

    fn rejected_for(&self, reason: &'static str) {
        self.rejections.get_or_create(&ReasonLabels { reason }).inc();
    }

    /// Counts one status list fetch (`ok`: fetched and verified; `error`: unreachable or invalid).
    pub fn status_list_fetch(&self, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.status_list_fetches.get_or_create(&ResultLabels { result }).inc();
    }

    /// Registers `segl_verifier_transactions_started_total{query, response_mode}`,
    /// `segl_verifier_transactions_finished_total{outcome}`,
    /// `segl_verifier_rejections_total{reason}` and
    /// `segl_verifier_status_list_fetches_total{result}`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "segl_verifier_transactions_started",
            "Transactions started, by query (preset name or custom) and response mode",
            self.started.clone(),
        );
        registry.register(
            "segl_verifier_transactions_finished",
            "Transactions finished, by outcome (verified, rejected, wallet_error, expired)",
            self.outcomes.clone(),
        );
        registry.register(
            "segl_verifier_rejections",
            "Reason codes of transactions not verified (each code once per transaction)",
            self.rejections.clone(),
        );
        registry.register(
            "segl_verifier_status_list_fetches",
            "Status list fetches (ok: fetched and signature verified; error: unreachable or invalid)",
            self.status_list_fetches.clone(),
        );
    }
}

/// The trust list's state as gauges, read from its watcher at each scrape (nothing when the
/// deployment has no `--trust-list`). The refresh itself runs in segl-trust-list's watcher; these
/// say whether it keeps succeeding.
#[derive(Debug)]
pub struct TrustListCollector {
    trust: Arc<Trust>,
}

impl TrustListCollector {
    /// Registers `segl_verifier_trust_list_usable`, `segl_verifier_trust_list_last_refresh_ok`,
    /// `segl_verifier_trust_list_last_refresh_timestamp_seconds`,
    /// `segl_verifier_trust_list_next_update_timestamp_seconds` and
    /// `segl_verifier_trust_list_sequence_number` for `trust`.
    pub fn register(trust: Arc<Trust>, registry: &mut Registry) {
        registry.register_collector(Box::new(TrustListCollector { trust }));
    }
}

fn gauge(encoder: &mut DescriptorEncoder<'_>, name: &str, help: &str, value: i64) -> std::fmt::Result {
    let metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    ConstGauge::new(value).encode(metric)
}

impl Collector for TrustListCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> std::fmt::Result {
        let Some(status) = self.trust.list_status() else { return Ok(()) };
        gauge(
            &mut encoder,
            "segl_verifier_trust_list_usable",
            "1 when a trust list is held and within its NextUpdate (issuer anchors come from it), else 0",
            i64::from(status.usable),
        )?;
        let refreshed_ok = status.last_attempt.is_some() && status.last_error.is_none();
        gauge(
            &mut encoder,
            "segl_verifier_trust_list_last_refresh_ok",
            "1 when the last trust list refresh succeeded, else 0",
            i64::from(refreshed_ok),
        )?;
        if let Some(at) = status.last_attempt {
            gauge(
                &mut encoder,
                "segl_verifier_trust_list_last_refresh_timestamp_seconds",
                "When the last trust list refresh (successful or not) finished, Unix seconds",
                at,
            )?;
        }
        if let Some(next) = status.next_update {
            gauge(
                &mut encoder,
                "segl_verifier_trust_list_next_update_timestamp_seconds",
                "The held trust list's NextUpdate, Unix seconds",
                next,
            )?;
        }
        if let Some(sequence) = status.sequence_number {
            gauge(
                &mut encoder,
                "segl_verifier_trust_list_sequence_number",
                "The held trust list's sequence number",
                i64::try_from(sequence).unwrap_or(i64::MAX),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn counts_under_bounded_labels() {
        let metrics = VerifierMetrics::default();
        let mut registry = Registry::default();
        metrics.register(&mut registry);
        metrics.started("custom", "direct_post");
        metrics.expired("transaction_expired");
        metrics.status_list_fetch(false);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(
            text.contains(
                r#"segl_verifier_transactions_started_total{query="custom",response_mode="direct_post"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"segl_verifier_transactions_finished_total{outcome="expired"} 1"#));
        assert!(text.contains(r#"segl_verifier_rejections_total{reason="transaction_expired"} 1"#));
        assert!(text.contains(r#"segl_verifier_status_list_fetches_total{result="error"} 1"#));
    }
}
