//! The admin API's credential lifecycle messages: an authority revokes, suspends or reinstates
//! credentials (Token Status List values, DIGEST §4) and lists what an offer issued.

use serde::{Deserialize, Serialize};

/// A credential status an authority can set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatusValue {
    /// VALID (0x00): reinstate a suspended credential.
    Valid,
    /// INVALID (0x01): revoked; final, the credential can never become valid again.
    Invalid,
    /// SUSPENDED (0x02): temporarily not valid.
    Suspended,
}

/// `POST /admin/v1/credentials/{credential}/status`: one credential's new status.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusUpdate {
    /// The new status.
    pub status: StatusValue,
    /// Why (recorded in the audit trail; 1 to 1000 characters).
    pub reason: String,
    /// Who asks (recorded in the audit trail); default `admin-api`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub by: Option<String>,
}

/// `POST /admin/v1/credentials/status`: the new status of every credential issued under one
/// offer, or to one subject (exactly one of `offer_id` and `subject`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupStatusUpdate {
    /// Every credential issued under this offer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub offer_id: Option<String>,
    /// Every credential issued under offers created with this `subject`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub subject: Option<String>,
    /// The new status.
    pub status: StatusValue,
    /// Why (audit trail).
    pub reason: String,
    /// Who asks (audit trail); default `admin-api`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub by: Option<String>,
}

/// What a status change did.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
pub struct StatusUpdated {
    /// Credentials whose status changed (each audited).
    pub changed: Vec<String>,
    /// Credentials that already had the status.
    pub unchanged: Vec<String>,
    /// Credentials of a group left alone because they are revoked (final).
    pub skipped_final: Vec<String>,
}

/// A credential's entry in a status list, as its `status.status_list` claim names it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
pub struct StatusListEntry {
    /// The index.
    pub idx: u64,
    /// The status list token's URI.
    pub uri: String,
}

/// One issued credential, for the authority.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
pub struct IssuedCredentialInfo {
    /// The id the status endpoints take.
    pub credential_id: String,
    /// The configuration issued.
    pub credential_configuration_id: String,
    /// Its current status.
    pub status: StatusValue,
    /// Its status list entry.
    pub status_list: StatusListEntry,
    /// The offer's subject, if one was named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub subject: Option<String>,
    /// When it was issued (Unix seconds).
    pub issued_at: i64,
}

/// `GET /admin/v1/offers/{offer}/credentials`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
pub struct OfferCredentials {
    /// The offer.
    pub offer_id: String,
    /// What it issued, oldest first.
    pub credentials: Vec<IssuedCredentialInfo>,
}
