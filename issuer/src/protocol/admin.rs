//! The admin API's messages: an authority asks the issuer to create a Credential Offer
//! (OpenID4VCI 1.0 §4.1) for a person whose claims it vouches for, and gets back everything it
//! needs to hand the offer to the wallet (a QR code, a deep link, a transaction code).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::CredentialOffer;

/// A request to create a Credential Offer.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferRequest {
    /// The configurations to offer (keys of `credential_configurations_supported`), at least
    /// one, no repeats.
    pub credential_configuration_ids: Vec<String>,
    /// The claims to issue, keyed by PID rulebook data identifiers (or by the configured claim
    /// names of an attestation); valid for every requested configuration.
    /// Absent (or empty) when `authentic_source` names the person instead.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub claims: Map<String, Value>,
    /// The person in the tenant's authentic source whose data to issue, instead of `claims`:
    /// resolved when the wallet asks for the credential, so data delivered later is used (and
    /// issuance is deferred until it is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub authentic_source: Option<SourceReference>,
    /// Protect the pre-authorized code with a numeric transaction code (OpenID4VCI 1.0 §4.1.1
    /// `tx_code`) that the authority delivers to the user out of band.
    #[serde(default)]
    pub tx_code: bool,
    /// Who the credentials are for, in the authority's own terms (for example a national
    /// identifier or a case number); optional, never put into a credential. Every credential
    /// issued under the offer records it, so that `POST /admin/v1/credentials/status` can revoke
    /// or suspend everything issued to one subject. 1 to 256 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub subject: Option<String>,
    /// The grant the offer carries: `pre_authorized_code` (default: the authority vouches for
    /// the person, with `claims` or `authentic_source`) or `authorization_code` (the person logs
    /// in at the tenant's upstream login, which decides the claims; no `claims`,
    /// `authentic_source`, `tx_code` or `subject`).
    #[serde(default)]
    pub grant: OfferGrant,
}

/// Which grant an offer carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OfferGrant {
    /// The pre-authorized code flow.
    #[default]
    PreAuthorizedCode,
    /// The authorization code flow with the offer's `issuer_state`.
    AuthorizationCode,
}

/// An offer's person in the tenant's authentic source.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceReference {
    /// The person's identifier, of the tenant's kind (`[tenants.authentic_source] identifier`:
    /// opaque text, or a CPR number `DDMMYYSSSS` / `DDMMYY-SSSS`).
    pub identifier: String,
}

/// The answer to an [`OfferRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OfferCreated {
    /// The offer's opaque id.
    pub offer_id: String,
    /// Where the wallet fetches the offer by reference (`credential_offer_uri`).
    pub credential_offer_uri: String,
    /// `openid-credential-offer://?credential_offer_uri=...`: the deep link or QR code content.
    pub offer_uri: String,
    /// `openid-credential-offer://?credential_offer=...`: the same offer by value, for wallets or
    /// channels that cannot fetch it.
    pub offer_uri_by_value: String,
    /// The transaction code to deliver to the user out of band, when one was requested.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub tx_code: Option<String>,
    /// A web page showing the offer as a QR code and a link.
    pub page_url: String,
    /// The offer itself, by value.
    pub credential_offer: CredentialOffer,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn offer_request_defaults_tx_code_and_refuses_unknown_members() {
        let request: OfferRequest = serde_json::from_value(json!({
            "credential_configuration_ids": ["proof_of_age"],
            "claims": {"birth_date": "2000-01-01"},
        }))
        .unwrap();
        assert!(!request.tx_code);
        assert_eq!(request.claims["birth_date"], "2000-01-01");
        let unknown = serde_json::from_value::<OfferRequest>(json!({
            "credential_configuration_ids": [], "claims": {}, "txcode": true,
        }));
        assert!(unknown.is_err());
        let not_object =
            serde_json::from_value::<OfferRequest>(json!({"credential_configuration_ids": [], "claims": []}));
        assert!(not_object.is_err());
    }

    #[test]
    fn offer_created_omits_an_absent_tx_code() {
        let created = OfferCreated {
            offer_id: "o".into(),
            credential_offer_uri: "https://issuer.example/default/offers/o".into(),
            offer_uri: "openid-credential-offer://?credential_offer_uri=x".into(),
            offer_uri_by_value: "openid-credential-offer://?credential_offer=y".into(),
            tx_code: None,
            page_url: "https://issuer.example/default/offers/o/page".into(),
            credential_offer: CredentialOffer {
                credential_issuer: "https://issuer.example/default".into(),
                credential_configuration_ids: vec!["proof_of_age".into()],
                grants: None,
            },
        };
        let value = serde_json::to_value(&created).unwrap();
        assert!(value.get("tx_code").is_none());
        assert_eq!(serde_json::from_value::<OfferCreated>(value).unwrap(), created);
    }
}
