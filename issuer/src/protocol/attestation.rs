//! The challenge endpoint's answer (OAuth 2.0 Attestation-Based Client Authentication).

use serde::{Deserialize, Serialize};

/// `POST /{tenant}/challenge`: a challenge for the `challenge` claim of a client attestation PoP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChallengeResponse {
    /// A fresh challenge, valid for 5 to 10 minutes on every node.
    pub attestation_challenge: String,
}
