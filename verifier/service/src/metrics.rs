//! The verifier's own Prometheus metrics, next to the HTTP ones of [`segl_ops::HttpMetrics`]:
//! transactions started, their outcomes with the rejection reason codes, and status list
//! fetches. Every label value is a `&'static str` from a closed set (query presets, response
//! modes, the library's reason codes), never anything a wallet or a caller sends.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use segl_verifier::flow::Outcome;

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
