//! The age-check page's backend over the service: the `age_over_18` preset, the check id being
//! the transaction's secret id (the page learns only "over 18: yes/no", never claims).

use std::sync::Arc;

use crate::page::{AgeCheckBackend, AgeCheckStart, AgeCheckStatus, DcApiStart, PageError};
use crate::service::{ServiceError, VerifierService};

/// [`AgeCheckBackend`] over a [`VerifierService`].
#[derive(Debug, Clone)]
pub struct PageBackend {
    service: Arc<VerifierService>,
}

impl PageBackend {
    /// The backend for `service`.
    pub fn new(service: Arc<VerifierService>) -> Self {
        Self { service }
    }
}

fn page_error(error: ServiceError) -> PageError {
    match error {
        ServiceError::NotFound => PageError::UnknownCheck,
        ServiceError::Internal(detail) => {
            tracing::error!("age check: {detail}");
            PageError::Internal(detail)
        }
        other => PageError::InvalidRequest(other.to_string()),
    }
}

fn status(answer: Option<Option<bool>>) -> AgeCheckStatus {
    match answer {
        None => AgeCheckStatus::Pending,
        Some(Some(over_18)) => AgeCheckStatus::Verified { over_18 },
        Some(None) => AgeCheckStatus::Rejected,
    }
}

impl AgeCheckBackend for PageBackend {
    async fn start_redirect(&self) -> Result<AgeCheckStart, PageError> {
        let created = self.service.start_age_check().await.map_err(page_error)?;
        Ok(AgeCheckStart {
            check_id: created.transaction_id,
            authorization_request: created.authorization_request,
        })
    }

    async fn start_dc_api(&self, origin: &str) -> Result<DcApiStart, PageError> {
        let (check_id, request) = self.service.start_age_check_dc_api(origin).await.map_err(page_error)?;
        Ok(DcApiStart { check_id, request })
    }

    async fn finish_dc_api(
        &self,
        check_id: &str,
        data: serde_json::Value,
        origin: &str,
    ) -> Result<AgeCheckStatus, PageError> {
        let over_18 =
            self.service.finish_age_check_dc_api(check_id, data, origin).await.map_err(page_error)?;
        Ok(status(Some(over_18)))
    }

    async fn poll(&self, check_id: &str) -> Result<AgeCheckStatus, PageError> {
        self.service.age_check_status(check_id).await.map(status).map_err(page_error)
    }
}
