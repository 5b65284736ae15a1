//! The issuer's own Prometheus metrics, next to the HTTP ones of [`segl_ops::HttpMetrics`]:
//! credentials issued and status list regenerations (whose counters live in the
//! [`Publisher`](crate::service::status::Publisher), which does the work).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::catalog::Format;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct IssuedLabels {
    tenant: String,
    configuration: String,
    format: &'static str,
}

/// Counters of the issuance flow. Labels are bounded by the deployment's configuration (tenant
/// ids and credential configuration ids), never by anything a client sends.
#[derive(Debug, Clone, Default)]
pub struct IssuerMetrics {
    issued: Family<IssuedLabels, Counter>,
}

impl IssuerMetrics {
    /// Counts `count` credentials of configuration `configuration` (format `format`) issued by
    /// `tenant`.
    pub fn issued(&self, tenant: &str, configuration: &str, format: Format, count: usize) {
        let labels = IssuedLabels {
            tenant: tenant.to_owned(),
            configuration: configuration.to_owned(),
            format: format.as_str(),
        };
        self.issued.get_or_create(&labels).inc_by(u64::try_from(count).unwrap_or(u64::MAX));
    }

    /// Registers `segl_issuer_credentials_issued_total{tenant, configuration, format}`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "segl_issuer_credentials_issued",
            "Credentials issued, by tenant, credential configuration id and format",
            self.issued.clone(),
        );
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RegenerationLabels {
    tenant: String,
    format: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct FormatLabel {
    format: &'static str,
}

/// Buckets for signing a status list, in seconds: a million entries compress and sign in tens
/// of milliseconds.
const REGENERATION_BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

fn regeneration_histogram() -> Histogram {
    Histogram::new(REGENERATION_BUCKETS)
}

/// Status list token regenerations: how many and how long each took (reading the entries,
/// building, compressing and signing the list).
#[derive(Debug, Clone)]
pub struct RegenerationMetrics {
    count: Family<RegenerationLabels, Counter>,
    duration: Family<FormatLabel, Histogram, fn() -> Histogram>,
}

impl Default for RegenerationMetrics {
    fn default() -> Self {
        RegenerationMetrics {
            count: Family::default(),
            duration: Family::new_with_constructor(regeneration_histogram as fn() -> Histogram),
        }
    }
}

impl RegenerationMetrics {
    /// Records one regeneration of a `tenant`'s list token in `format` (`jwt`, `cwt`).
    pub fn record(&self, tenant: &str, format: &'static str, seconds: f64) {
        self.count.get_or_create(&RegenerationLabels { tenant: tenant.to_owned(), format }).inc();
        self.duration.get_or_create(&FormatLabel { format }).observe(seconds);
    }

    /// Registers `segl_issuer_status_list_regenerations_total{tenant, format}` and
    /// `segl_issuer_status_list_regeneration_duration_seconds{format}`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "segl_issuer_status_list_regenerations",
            "Status list tokens signed anew (the list changed or its token aged), by tenant and format",
            self.count.clone(),
        );
        registry.register_with_unit(
            "segl_issuer_status_list_regeneration_duration",
            "Time to read, build, compress and sign a status list token, by format",
            Unit::Seconds,
            self.duration.clone(),
        );
    }
}
