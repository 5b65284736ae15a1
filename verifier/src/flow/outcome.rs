//! What a finished transaction came to, and its JSON summary for the relying party.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::response::{Reason, RejectedResponse, VerifiedResponse};

/// The result of checking the wallet's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The presentations verified and satisfy the query.
    Verified(VerifiedResponse),
    /// The answer was refused; every reason is listed.
    Rejected(RejectedResponse),
    /// The wallet answered with an OAuth error (e.g. the user declined: `access_denied`).
    WalletError {
        /// The `error` code.
        error: String,
        /// The `error_description`, if any.
        description: Option<String>,
    },
}

/// `verified` or `rejected`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    /// The presentations verified.
    Verified,
    /// The answer was refused, or the wallet answered with an error.
    Rejected,
}

/// A JSON-able summary of an [`Outcome`], for the relying party's backend (what a status
/// endpoint returns): `status`, the claims per credential query id, and the reasons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeSummary {
    /// `verified` or `rejected`.
    pub status: OutcomeStatus,
    /// Per credential query id, the verified credentials (empty unless verified).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub claims: BTreeMap<String, Vec<CredentialSummary>>,
    /// Why the answer was refused (or presentations dropped from a verified answer).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<ReasonSummary>,
}

/// One verified credential in an [`OutcomeSummary`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialSummary {
    /// `dc+sd-jwt` or `mso_mdoc`.
    pub format: String,
    /// The `vct` or docType presented.
    pub credential_type: String,
    /// The disclosed claims (SD-JWT VC: processed claims; mdoc: `{namespace: {element: value}}`).
    pub claims: Map<String, Value>,
}

/// One reason in an [`OutcomeSummary`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonSummary {
    /// The stable snake_case [`Reason`] code (`wallet_error` for a wallet's OAuth error).
    pub code: String,
    /// The credential query id, when the reason concerns one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_id: Option<String>,
    /// A human detail (for the wallet error: `<error>: <error_description>`).
    pub detail: String,
}

impl Outcome {
    /// Whether the presentations verified.
    pub fn is_verified(&self) -> bool {
        matches!(self, Outcome::Verified(_))
    }

    /// The verified response, if any.
    pub fn verified(&self) -> Option<&VerifiedResponse> {
        match self {
            Outcome::Verified(verified) => Some(verified),
            _ => None,
        }
    }

    /// The reason codes of a refusal (`wallet_error` for a wallet's error; empty when verified).
    pub fn codes(&self) -> Vec<&'static str> {
        match self {
            Outcome::Verified(_) => Vec::new(),
            Outcome::Rejected(rejected) => rejected.codes(),
            Outcome::WalletError { .. } => vec![Reason::WalletError.code()],
        }
    }

    /// Whether the holder is at least `age` years old according to the verified credentials
    /// (ISO 18013-5 `age_over_NN`, SD-JWT VC `age_equal_or_over`): `Some(true)` when one says
    /// so, `Some(false)` when one says not and none says so, `None` when unverified or silent.
    pub fn age_over(&self, age: u8) -> Option<bool> {
        let verified = self.verified()?;
        let answers: Vec<bool> = verified
            .credentials
            .values()
            .flatten()
            .filter_map(|credential| credential.age_over(age))
            .collect();
        if answers.contains(&true) {
            Some(true)
        } else if answers.is_empty() {
            None
        } else {
            Some(false)
        }
    }

    /// Shorthand for [`Self::age_over`]`(18)`.
    pub fn age_over_18(&self) -> Option<bool> {
        self.age_over(18)
    }

    /// The JSON-able summary.
    pub fn summary(&self) -> OutcomeSummary {
        match self {
            Outcome::Verified(verified) => OutcomeSummary {
                status: OutcomeStatus::Verified,
                claims: verified
                    .credentials
                    .iter()
                    .map(|(id, credentials)| {
                        let credentials = credentials
                            .iter()
                            .map(|credential| CredentialSummary {
                                format: credential.format.as_str().to_owned(),
                                credential_type: credential.credential_type.clone(),
                                claims: credential.claims.clone(),
                            })
                            .collect();
                        (id.clone(), credentials)
                    })
                    .collect(),
                reasons: verified.dropped.iter().map(reason_summary).collect(),
            },
            Outcome::Rejected(rejected) => OutcomeSummary {
                status: OutcomeStatus::Rejected,
                claims: BTreeMap::new(),
                reasons: rejected.reasons.iter().map(reason_summary).collect(),
            },
            Outcome::WalletError { error, description } => OutcomeSummary {
                status: OutcomeStatus::Rejected,
                claims: BTreeMap::new(),
                reasons: vec![ReasonSummary {
                    code: Reason::WalletError.code().to_owned(),
                    query_id: None,
                    detail: match description {
                        Some(description) => format!("{error}: {description}"),
                        None => error.clone(),
                    },
                }],
            },
        }
    }
}

fn reason_summary(rejection: &crate::response::Rejection) -> ReasonSummary {
    ReasonSummary {
        code: rejection.reason.code().to_owned(),
        query_id: rejection.query_id.clone(),
        detail: rejection.detail.clone(),
    }
}
