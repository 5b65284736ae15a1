//! The discovery documents of a tenant: Credential Issuer Metadata (OpenID4VCI 1.0 §12.2,
//! DIGEST §1.2), OAuth Authorization Server Metadata (RFC 8414, for the pre-authorized code
//! flow), JWT VC Issuer Metadata (SD-JWT VC §4) and SD-JWT VC Type Metadata (DIGEST §3.2), plus
//! the mapping from a well-known URL path to the document and tenant it asks for.
//!
//! Every tenant is its own credential issuer and authorization server, with identifier
//! `{public_url}/{tenant}` and endpoints below it (`/credential`, `/nonce`, `/notification`,
//! `/token`).

use serde_json::{Map, Value, json};

use segl_credential::keys::PublicKey;

use super::{Catalog, ClaimDescription, CredentialConfiguration, CredentialDisplay, Format};
use crate::config::Localized;

/// The pre-authorized code grant type (OpenID4VCI 1.0 §4.1.1, DIGEST §1.12).
pub const PRE_AUTHORIZED_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

/// A discovery document served under `/.well-known/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// `openid-credential-issuer` (OpenID4VCI 1.0 §12.2.2).
    CredentialIssuer,
    /// `oauth-authorization-server` (RFC 8414 §3).
    AuthorizationServer,
    /// `jwt-vc-issuer` (SD-JWT VC §4.1).
    JwtVcIssuer,
}

impl Document {
    /// Every document, for routing tables.
    pub const ALL: [Document; 3] =
        [Document::CredentialIssuer, Document::AuthorizationServer, Document::JwtVcIssuer];

    /// The well-known URI suffix.
    pub fn well_known_suffix(self) -> &'static str {
        match self {
            Document::CredentialIssuer => "openid-credential-issuer",
            Document::AuthorizationServer => "oauth-authorization-server",
            Document::JwtVcIssuer => "jwt-vc-issuer",
        }
    }

    /// The document's URL for an issuer identifier: the well-known segment inserted between
    /// host and path (DIGEST §1.1: `https://h/tenant` → `https://h/.well-known/openid-credential-issuer/tenant`).
    pub fn url(self, issuer_id: &str) -> Option<String> {
        let scheme_end = issuer_id.find("://")? + 3;
        let (origin, path) = match issuer_id.get(scheme_end..)?.find('/') {
            Some(slash) => issuer_id.split_at(scheme_end + slash),
            None => (issuer_id, ""),
        };
        Some(format!("{origin}/.well-known/{}{}", self.well_known_suffix(), path.trim_end_matches('/')))
    }
}

/// Maps a request path to the document and tenant id it asks for, given the deployment's
/// `public_url` (whose own path, if any, follows the well-known segment): with public URL
/// `https://h`, `/.well-known/openid-credential-issuer/dk` gives `(CredentialIssuer, "dk")`.
/// `None` for any other path. The tenant id is not checked against the configuration.
pub fn resolve_well_known<'p>(request_path: &'p str, public_url: &str) -> Option<(Document, &'p str)> {
    let base = url::Url::parse(public_url).ok()?;
    let base_path = base.path().trim_end_matches('/');
    let rest = request_path.strip_prefix("/.well-known/")?;
    let document = Document::ALL.into_iter().find(|document| {
        rest.strip_prefix(document.well_known_suffix()).is_some_and(|after| after.starts_with('/'))
    })?;
    let tenant =
        rest.strip_prefix(document.well_known_suffix())?.strip_prefix(base_path)?.strip_prefix('/')?;
    (!tenant.is_empty() && !tenant.contains('/')).then_some((document, tenant))
}

/// The endpoints of a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// `{issuer}/credential`.
    pub credential: String,
    /// `{issuer}/nonce`.
    pub nonce: String,
    /// `{issuer}/notification`.
    pub notification: String,
    /// `{issuer}/deferred_credential`.
    pub deferred_credential: String,
    /// `{issuer}/token`.
    pub token: String,
}

impl Endpoints {
    /// The endpoints below an issuer identifier.
    pub fn for_issuer(issuer_id: &str) -> Endpoints {
        Endpoints {
            credential: format!("{issuer_id}/credential"),
            nonce: format!("{issuer_id}/nonce"),
            notification: format!("{issuer_id}/notification"),
            deferred_credential: format!("{issuer_id}/deferred_credential"),
            token: format!("{issuer_id}/token"),
        }
    }
}

/// `[{name, locale}]` entries of a localized text (in locale order).
fn names(texts: &Localized, member: &str) -> Vec<Value> {
    texts.iter().map(|(locale, text)| json!({ member: text, "locale": locale })).collect()
}

/// Credential Issuer Metadata (OpenID4VCI 1.0 §12.2.4). `credential_issuer` is `issuer_id`
/// exactly: a wallet MUST discard metadata whose `credential_issuer` differs from the id it
/// fetched it for (§12.2.2). No `authorization_servers`: the issuer is its own AS.
pub fn credential_issuer_metadata(issuer_id: &str, catalog: &Catalog) -> Value {
    let endpoints = Endpoints::for_issuer(issuer_id);
    let mut metadata = Map::new();
    metadata.insert("credential_issuer".into(), issuer_id.into());
    metadata.insert("credential_endpoint".into(), endpoints.credential.into());
    metadata.insert("nonce_endpoint".into(), endpoints.nonce.into());
    metadata.insert("notification_endpoint".into(), endpoints.notification.into());
    metadata.insert("deferred_credential_endpoint".into(), endpoints.deferred_credential.into());
    // DIGEST §1.2: batch_size "≥ 2"; its presence signals batch support.
    let batch_size = catalog.batch_size();
    if batch_size >= 2 {
        metadata.insert("batch_credential_issuance".into(), json!({ "batch_size": batch_size }));
    }
    metadata.insert("display".into(), Value::Array(names(catalog.name(), "name")));
    let configurations: Map<String, Value> = catalog
        .configurations()
        .iter()
        .map(|configuration| (configuration.id().to_owned(), configuration_metadata(configuration)))
        .collect();
    metadata.insert("credential_configurations_supported".into(), Value::Object(configurations));
    Value::Object(metadata)
}

/// One entry of `credential_configurations_supported`. Every configuration requires key
/// binding, so binding methods and proof types are always present (DIGEST §1.2: they "appear
/// together").
fn configuration_metadata(configuration: &CredentialConfiguration) -> Value {
    let mut entry = Map::new();
    entry.insert("format".into(), configuration.format().as_str().into());
    entry.insert("scope".into(), configuration.scope().into());
    match configuration.format() {
        Format::SdJwtVc => {
            entry.insert("vct".into(), configuration.vct().unwrap_or_default().into());
            entry.insert("cryptographic_binding_methods_supported".into(), json!(["jwk"]));
            entry.insert("credential_signing_alg_values_supported".into(), json!(["ES256"]));
        }
        Format::MsoMdoc => {
            entry.insert("doctype".into(), configuration.doctype().unwrap_or_default().into());
            entry.insert("cryptographic_binding_methods_supported".into(), json!(["cose_key"]));
            // DIGEST §1.2: numeric COSE ids for mdoc; ES256 with P-256 matches -7 and -9.
            entry.insert("credential_signing_alg_values_supported".into(), json!([-7, -9]));
        }
    }
    entry.insert(
        "proof_types_supported".into(),
        json!({ "jwt": { "proof_signing_alg_values_supported": ["ES256"] } }),
    );
    let claims: Vec<Value> = configuration
        .claims()
        .iter()
        .map(|claim| json!({ "path": claim.path, "mandatory": claim.mandatory, "display": names(&claim.display, "name") }))
        .collect();
    entry.insert(
        "credential_metadata".into(),
        json!({ "display": credential_display(configuration.display()), "claims": claims }),
    );
    Value::Object(entry)
}

/// `credential_metadata.display`: one entry per locale of the name.
fn credential_display(display: &CredentialDisplay) -> Vec<Value> {
    display
        .name
        .iter()
        .map(|(locale, name)| {
            let mut entry = Map::new();
            entry.insert("name".into(), name.as_str().into());
            entry.insert("locale".into(), locale.as_str().into());
            if let Some(description) = display.description.get(locale) {
                entry.insert("description".into(), description.as_str().into());
            }
            if let Some(colour) = &display.background_color {
                entry.insert("background_color".into(), colour.as_str().into());
            }
            if let Some(colour) = &display.text_color {
                entry.insert("text_color".into(), colour.as_str().into());
            }
            Value::Object(entry)
        })
        .collect()
}

/// OAuth 2.0 Authorization Server Metadata (RFC 8414 §2) for the pre-authorized code flow:
/// the issuer is its own AS, wallets redeem codes anonymously (OpenID4VCI 1.0 §12.3,
/// `pre-authorized_grant_anonymous_access_supported`), and a pre-authorized-only AS may omit
/// `response_types_supported`.
pub fn authorization_server_metadata(issuer_id: &str) -> Value {
    json!({
        "issuer": issuer_id,
        "token_endpoint": Endpoints::for_issuer(issuer_id).token,
        "grant_types_supported": [PRE_AUTHORIZED_GRANT],
        "pre-authorized_grant_anonymous_access_supported": true,
        "token_endpoint_auth_methods_supported": ["none"],
        // RFC 9449 §5.1 (HAIP 1.0: DPoP with ES256).
        "dpop_signing_alg_values_supported": ["ES256"],
    })
}

/// JWT VC Issuer Metadata (SD-JWT VC §4.2): `{issuer, jwks: {keys}}`, `issuer` equal to the
/// credentials' `iss`. Each key is given with its `kid`, if it has one.
pub fn jwt_vc_issuer_metadata(issuer_id: &str, keys: &[(&PublicKey, Option<&str>)]) -> Value {
    let keys: Vec<Value> = keys
        .iter()
        .map(|(key, kid)| {
            let mut jwk = key.to_jwk();
            if let (Some(kid), Value::Object(members)) = (kid, &mut jwk) {
                members.insert("kid".into(), (*kid).into());
            }
            jwk
        })
        .collect();
    json!({ "issuer": issuer_id, "jwks": { "keys": keys } })
}

/// SD-JWT VC Type Metadata (DIGEST §3.2) for an SD-JWT VC configuration: `vct`, name,
/// description, `display` per locale with simple rendering colours, and `claims` with their
/// labels, `sd` (`always` / `never`) and `mandatory`. `None` for an mdoc configuration.
pub fn type_metadata(configuration: &CredentialConfiguration) -> Option<Value> {
    let vct = configuration.vct()?;
    let display = configuration.display();
    let english = |texts: &Localized| texts.get("en").or_else(|| texts.values().next()).cloned();
    let mut document = Map::new();
    document.insert("vct".into(), vct.into());
    if let Some(name) = english(&display.name) {
        document.insert("name".into(), name.into());
    }
    if let Some(description) = english(&display.description) {
        document.insert("description".into(), description.into());
    }
    let displays: Vec<Value> = display
        .name
        .iter()
        .map(|(locale, name)| {
            let mut entry = Map::new();
            entry.insert("locale".into(), locale.as_str().into());
            entry.insert("name".into(), name.as_str().into());
            if let Some(description) = display.description.get(locale) {
                entry.insert("description".into(), description.as_str().into());
            }
            let mut simple = Map::new();
            if let Some(colour) = &display.background_color {
                simple.insert("background_color".into(), colour.as_str().into());
            }
            if let Some(colour) = &display.text_color {
                simple.insert("text_color".into(), colour.as_str().into());
            }
            if !simple.is_empty() {
                entry.insert("rendering".into(), json!({ "simple": simple }));
            }
            Value::Object(entry)
        })
        .collect();
    document.insert("display".into(), Value::Array(displays));
    let claims: Vec<Value> = configuration.claims().iter().map(type_metadata_claim).collect();
    document.insert("claims".into(), Value::Array(claims));
    Some(Value::Object(document))
}

fn type_metadata_claim(claim: &ClaimDescription) -> Value {
    let labels: Vec<Value> =
        claim.display.iter().map(|(locale, label)| json!({ "locale": locale, "label": label })).collect();
    json!({
        "path": claim.path,
        "display": labels,
        "sd": if claim.selectively_disclosable { "always" } else { "never" },
        "mandatory": claim.mandatory,
    })
}

#[cfg(test)]
mod tests;
