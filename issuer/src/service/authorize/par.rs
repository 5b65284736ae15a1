//! Pushed authorization requests (RFC 9126), the authorization endpoint (by `request_uri`
//! only) and the upstream login's callback that issues the authorization code.

use rand_core::CryptoRngCore;
use segl_credential::clock::UnixTime;
use segl_credential::jose::{base64url_decode, base64url_encode};
use serde_json::{Map, Value};
use url::Url;

use super::upstream::{LoginStart, UpstreamError};
use super::{
    CODE_LIFETIME_SECS, LOGIN_LIFETIME_SECS, LoginInProgress, PendingAuthorization,
    REQUEST_URI_LIFETIME_SECS, SubjectClaims, WalletEvidence, authenticate_wallet, callback_url,
    claims_for_subject,
};
use crate::protocol::{
    AuthorizationRequest, CredentialAuthorizationDetail, ErrorCode, PushedAuthorizationRequest,
    PushedAuthorizationResponse, REQUEST_URI_PREFIX,
};
use crate::service::ApiError;
use crate::service::tenant::Tenant;
use crate::service::token::new_secret;
use crate::store::{AuthorizationStep, NewAuthorizationCode, NewOffer, SecretHash, Store};

/// The prefix of an authorization code whose request named `authorization_details`.
pub(super) const DETAILS_CODE_PREFIX: &str = "d.";

fn invalid_request(description: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidRequest, description)
}

/// The pushed authorization request endpoint (RFC 9126 §2): checks the request (wallet,
/// redirect URI, PKCE S256, what is asked for, `issuer_state`) and stores it under a fresh
/// single-use `request_uri`.
pub async fn push_authorization_request<S: Store>(
    store: &S,
    tenant: &Tenant,
    request: &PushedAuthorizationRequest,
    evidence: &WalletEvidence<'_>,
    now: UnixTime,
    rng: &mut impl CryptoRngCore,
) -> Result<PushedAuthorizationResponse, ApiError> {
    if !tenant.authorization.enabled() {
        return Err(invalid_request("this credential issuer offers no authorization code flow"));
    }
    let wallet = authenticate_wallet(store, tenant, evidence, now).await?;
    if request.request_uri.is_some() {
        return Err(invalid_request("request_uri must not be sent in a pushed authorization request"));
    }
    let redirect_uri =
        request.redirect_uri.as_deref().ok_or_else(|| invalid_request("redirect_uri is missing"))?;
    if !wallet.redirect_uris.iter().any(|allowed| allowed == redirect_uri) {
        return Err(invalid_request("redirect_uri is not registered for this client"));
    }
    match request.response_type.as_deref() {
        Some("code") => {}
        None => return Err(invalid_request("response_type is missing")),
        Some(_) => {
            return Err(ApiError::new(ErrorCode::UnsupportedResponseType, "response_type must be code"));
        }
    }
    if request.resource.as_ref().is_some_and(|resource| *resource != tenant.issuer_id) {
        return Err(ApiError::new(ErrorCode::InvalidTarget, "resource is not this credential issuer"));
    }
    let code_challenge = check_pkce(request)?;
    let (configuration_ids, by_details) = requested_configurations(tenant, request)?;
    if let Some(issuer_state) = &request.issuer_state {
        check_issuer_state(tenant, issuer_state, &configuration_ids, now)?;
    }
    let pending = PendingAuthorization {
        client_id: wallet.client_id,
        redirect_uri: redirect_uri.to_owned(),
        code_challenge,
        state: request.state.clone(),
        configuration_ids,
        by_details,
    };
    let request_uri = format!("{REQUEST_URI_PREFIX}{}", new_secret(rng));
    let payload = serde_json::to_value(&pending).map_err(ApiError::server)?;
    let expires_at = now.saturating_add_unsigned(REQUEST_URI_LIFETIME_SECS);
    store
        .put_authorization_step(
            &tenant.id,
            AuthorizationStep::PushedRequest,
            &SecretHash::of(&request_uri),
            &payload,
            expires_at,
        )
        .await?;
    Ok(PushedAuthorizationResponse { request_uri, expires_in: REQUEST_URI_LIFETIME_SECS })
}

/// PKCE: `code_challenge_method` must be `S256` (plain is refused, HAIP 1.0) and the challenge a
/// base64url SHA-256 digest.
fn check_pkce(request: &PushedAuthorizationRequest) -> Result<String, ApiError> {
    let challenge =
        request.code_challenge.as_deref().ok_or_else(|| invalid_request("code_challenge is missing"))?;
    match request.code_challenge_method.as_deref() {
        Some("S256") => {}
        None => return Err(invalid_request("code_challenge_method is missing; it must be S256")),
        Some(_) => return Err(invalid_request("code_challenge_method must be S256")),
    }
    if challenge.len() != 43 || base64url_decode(challenge).map(|bytes| bytes.len()) != Ok(32) {
        return Err(invalid_request("code_challenge is not a base64url SHA-256 digest"));
    }
    Ok(challenge.to_owned())
}

/// The configurations asked for by `scope` and/or `authorization_details` (OpenID4VCI 1.0
/// §5.1.1, §5.1.2), and whether details were used.
fn requested_configurations(
    tenant: &Tenant,
    request: &PushedAuthorizationRequest,
) -> Result<(Vec<String>, bool), ApiError> {
    let mut ids: Vec<String> = Vec::new();
    let add = |id: String, ids: &mut Vec<String>| {
        if !ids.contains(&id) {
            ids.push(id);
        }
    };
    if let Some(scope) = &request.scope {
        for token in scope.split(' ').filter(|token| !token.is_empty() && *token != "openid") {
            let id = tenant
                .authorization
                .scopes
                .iter()
                .find(|(scope, _)| scope == token)
                .map(|(_, id)| id.clone());
            let id =
                id.ok_or_else(|| ApiError::new(ErrorCode::InvalidScope, format!("unknown scope `{token}`")))?;
            add(id, &mut ids);
        }
    }
    let by_details = request.authorization_details.is_some();
    if let Some(details) = &request.authorization_details {
        let invalid = |d: &str| ApiError::new(ErrorCode::InvalidAuthorizationDetails, d.to_owned());
        let details: Vec<CredentialAuthorizationDetail> = serde_json::from_str(details)
            .map_err(|_| invalid("authorization_details is not a JSON array of openid_credential objects"))?;
        for detail in details {
            if detail.detail_type != "openid_credential" {
                return Err(invalid("authorization_details type must be openid_credential"));
            }
            if tenant.catalog.get(&detail.credential_configuration_id).is_none() {
                return Err(invalid(
                    "authorization_details names a credential configuration not offered here",
                ));
            }
            if let Some(locations) = &detail.locations
                && !locations.iter().all(|location| *location == tenant.issuer_id)
            {
                return Err(invalid("authorization_details locations name another credential issuer"));
            }
            add(detail.credential_configuration_id, &mut ids);
        }
    }
    if ids.is_empty() {
        return Err(ApiError::new(
            ErrorCode::InvalidScope,
            "scope or authorization_details must name a credential configuration",
        ));
    }
    Ok((ids, by_details))
}

/// The `issuer_state` of an authorization-code offer for `configuration_ids`, valid until
/// `expires_at`: stateless, `base64url(JSON) "." base64url(HMAC)` under the tenant's offer key,
/// so any node can check it.
pub fn issuer_state(tenant: &Tenant, configuration_ids: &[String], expires_at: UnixTime) -> String {
    let body =
        base64url_encode(serde_json::json!({ "ids": configuration_ids, "exp": expires_at }).to_string());
    let tag = tenant.offer_key.mac(format!("segl issuer_state {body}").as_bytes());
    format!("{body}.{}", base64url_encode(tag))
}

fn check_issuer_state(
    tenant: &Tenant,
    state: &str,
    requested: &[String],
    now: UnixTime,
) -> Result<(), ApiError> {
    let offered = offered_configurations(tenant, state, now)?;
    if !requested.iter().all(|id| offered.contains(id)) {
        return Err(invalid_request(
            "the request asks for a credential configuration the offer does not name",
        ));
    }
    Ok(())
}

/// The configurations an `issuer_state` of this tenant offers, while it is unexpired
/// (`invalid_request` for anything else, forged or not).
pub(crate) fn offered_configurations(
    tenant: &Tenant,
    state: &str,
    now: UnixTime,
) -> Result<Vec<String>, ApiError> {
    let refused = || invalid_request("issuer_state is unknown or expired");
    let (body, tag) = state.split_once('.').ok_or_else(refused)?;
    let expected = tenant.offer_key.mac(format!("segl issuer_state {body}").as_bytes());
    let tag = base64url_decode(tag).map_err(|_| refused())?;
    if !SecretHash::of(&base64url_encode(expected)).matches(&SecretHash::of(&base64url_encode(&tag))) {
        return Err(refused());
    }
    let content: Value = base64url_decode(body)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(refused)?;
    if content.get("exp").and_then(Value::as_i64).is_none_or(|exp| now >= exp) {
        return Err(refused());
    }
    Ok(content
        .get("ids")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|id| id.as_str().map(str::to_owned))
        .collect())
}

/// The authorization endpoint (RFC 9126 §4): takes the pushed request (single use) and starts
/// the upstream login; the URL to send the browser to. Failures before the pushed request is
/// known are JSON errors; an upstream failure redirects to the wallet with an error.
pub async fn authorize<S: Store>(
    store: &S,
    tenant: &Tenant,
    request: &AuthorizationRequest,
    now: UnixTime,
    rng: &mut impl CryptoRngCore,
) -> Result<String, ApiError> {
    let Some(login) = &tenant.authorization.login else {
        return Err(invalid_request("this credential issuer offers no authorization code flow"));
    };
    let request_uri = request.request_uri.as_deref().ok_or_else(|| {
        invalid_request("request_uri is missing: this issuer requires pushed authorization requests")
    })?;
    let client_id = request.client_id.as_deref().ok_or_else(|| invalid_request("client_id is missing"))?;
    let payload = store
        .take_authorization_step(
            &tenant.id,
            AuthorizationStep::PushedRequest,
            &SecretHash::of(request_uri),
            now,
        )
        .await?
        .ok_or_else(|| invalid_request("request_uri is unknown, expired or already used"))?;
    let pending: PendingAuthorization = serde_json::from_value(payload).map_err(ApiError::server)?;
    if pending.client_id != client_id {
        return Err(invalid_request("client_id is not the one of the pushed request"));
    }
    let correlation = new_secret(rng);
    let secret = new_secret(rng);
    let callback = callback_url(tenant);
    let start = LoginStart { correlation: &correlation, callback_url: &callback, secret: &secret };
    let redirect = match login.start(start).await {
        Ok(redirect) => redirect,
        Err(error) => {
            tracing::warn!(tenant = %tenant.id, %error, "upstream login could not start");
            return Ok(wallet_error(
                tenant,
                &pending,
                ErrorCode::ServerError,
                "the login service is unavailable",
            ));
        }
    };
    let in_progress = LoginInProgress { request: pending, upstream: redirect.state };
    let payload = serde_json::to_value(&in_progress).map_err(ApiError::server)?;
    let expires_at = now.saturating_add_unsigned(LOGIN_LIFETIME_SECS);
    store
        .put_authorization_step(
            &tenant.id,
            AuthorizationStep::Login,
            &SecretHash::of(&correlation),
            &payload,
            expires_at,
        )
        .await?;
    Ok(redirect.url)
}

/// The upstream login's callback: finishes the login, checks the level of assurance, decides the
/// claims, stores an authorization code and answers the URL to send the browser to (the
/// wallet's `redirect_uri` with `code`, `state` and `iss`, or with an error). A callback with no
/// login in progress is a JSON error.
pub async fn callback<S: Store>(
    store: &S,
    tenant: &Tenant,
    params: &Map<String, Value>,
    now: UnixTime,
    rng: &mut impl CryptoRngCore,
) -> Result<String, ApiError> {
    let Some(login) = &tenant.authorization.login else {
        return Err(invalid_request("this credential issuer offers no authorization code flow"));
    };
    let correlation =
        login.correlation(params).ok_or_else(|| invalid_request("the callback carries no state"))?;
    let payload = store
        .take_authorization_step(&tenant.id, AuthorizationStep::Login, &SecretHash::of(correlation), now)
        .await?
        .ok_or_else(|| invalid_request("the callback's state is unknown, expired or already used"))?;
    let in_progress: LoginInProgress = serde_json::from_value(payload).map_err(ApiError::server)?;
    let pending = &in_progress.request;
    let subject = match login.finish(params, &in_progress.upstream, &callback_url(tenant), now).await {
        Ok(subject) => subject,
        Err(error) => {
            let (code, text) = match &error {
                UpstreamError::Unavailable(_) => {
                    (ErrorCode::ServerError, "the login service is unavailable".to_owned())
                }
                other => (ErrorCode::AccessDenied, other.to_string()),
            };
            tracing::info!(tenant = %tenant.id, error = %super::claims::mask_identifiers(&error.to_string()), "upstream login failed");
            return Ok(wallet_error(tenant, pending, code, &text));
        }
    };
    if tenant.authorization.min_loa.is_some_and(|min| subject.level_of_assurance < min) {
        let text = format!(
            "the login's level of assurance ({}) is below what this issuer requires",
            subject.level_of_assurance.name()
        );
        return Ok(wallet_error(tenant, pending, ErrorCode::AccessDenied, &text));
    }
    let (claims, person) = match claims_for_subject(store, tenant, &subject).await? {
        SubjectClaims::Mapped(claims) => (Some(claims), None),
        SubjectClaims::Person { key, label, ready } => (ready, Some((key, label))),
        SubjectClaims::Refused(text) => {
            return Ok(wallet_error(tenant, pending, ErrorCode::AccessDenied, &text));
        }
    };
    // Refused now rather than at the credential endpoint: claims that cannot make a credential
    // authorized (a source's data are checked again when they arrive, if deferred).
    if let Some(claims) = &claims {
        for id in &pending.configuration_ids {
            if let Some(configuration) = tenant.catalog.get(id)
                && let Err(error) = crate::service::offer::dry_run(configuration, claims, now)
            {
                tracing::info!(tenant = %tenant.id, configuration = %id, error = %super::claims::mask_identifiers(&error.description), "login claims do not make the credential");
                let text = match person {
                    None => format!("the login did not provide what credential configuration `{id}` needs"),
                    Some(_) => {
                        format!("the authentic source's data do not make credential configuration `{id}`")
                    }
                };
                return Ok(wallet_error(tenant, pending, ErrorCode::AccessDenied, &text));
            }
        }
    }
    // The code says whether the wallet used authorization_details (the token response then lists
    // them); only its digest is stored, so the mark cannot be changed.
    let code = if pending.by_details {
        format!("{DETAILS_CODE_PREFIX}{}", new_secret(rng))
    } else {
        new_secret(rng)
    };
    let expires_at = now.saturating_add_unsigned(CODE_LIFETIME_SECS);
    let offer = NewOffer {
        id: new_secret(rng),
        tenant: tenant.id.clone(),
        credential_configuration_ids: pending.configuration_ids.clone(),
        // A person's data stay in the source until the wallet asks; nothing is copied here.
        claims: Value::Object(if person.is_some() { Map::new() } else { claims.unwrap_or_default() }),
        pre_authorized_code: SecretHash::of(&new_secret(rng)),
        tx_code: None,
        created_at: now,
        expires_at,
        subject: (subject.subject.chars().count() <= 256 && !subject.subject.is_empty())
            .then(|| subject.subject.clone()),
    };
    let record = NewAuthorizationCode {
        offer: &offer,
        code: SecretHash::of(&code),
        client_id: &pending.client_id,
        redirect_uri: &pending.redirect_uri,
        code_challenge: &pending.code_challenge,
        expires_at,
    };
    if let Some((key, label)) = &person {
        // Linked first, as for admin offers: a failure to store the code leaves a link to an
        // offer that never exists.
        store.link_offer_to_person(&tenant.id, &offer.id, key, now).await?;
        tracing::info!(tenant = %tenant.id, person = %label, "authorization for a person of the authentic source");
    }
    store.issue_authorization_code(&record).await?;
    Ok(wallet_redirect(tenant, pending, &[("code", &code)]))
}

/// The wallet's redirect URI with `params`, `state` and `iss` (RFC 9207) added.
fn wallet_redirect(tenant: &Tenant, pending: &PendingAuthorization, params: &[(&str, &str)]) -> String {
    let Ok(mut url) = Url::parse(&pending.redirect_uri) else {
        return pending.redirect_uri.clone();
    };
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in params {
            query.append_pair(name, value);
        }
        if let Some(state) = &pending.state {
            query.append_pair("state", state);
        }
        query.append_pair("iss", &tenant.issuer_id);
    }
    url.into()
}

/// The wallet's redirect URI with an error (RFC 6749 §4.1.2.1).
fn wallet_error(
    tenant: &Tenant,
    pending: &PendingAuthorization,
    code: ErrorCode,
    description: &str,
) -> String {
    wallet_redirect(tenant, pending, &[("error", code.as_str()), ("error_description", description)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::test_support::{NOW, tenant};

    #[test]
    fn issuer_states_bind_configurations_and_expiry() {
        let (tenant, _) = tenant(1);
        let (other, _) = tenant_other();
        let ids = vec!["proof_of_age".to_owned()];
        let state = issuer_state(&tenant, &ids, NOW + 60);
        assert!(check_issuer_state(&tenant, &state, &ids, NOW).is_ok());
        let cases = [
            (check_issuer_state(&tenant, &state, &ids, NOW + 60), "issuer_state is unknown or expired"),
            (check_issuer_state(&other, &state, &ids, NOW), "issuer_state is unknown or expired"),
            (
                check_issuer_state(&tenant, &state.replace('.', ".x"), &ids, NOW),
                "issuer_state is unknown or expired",
            ),
            (
                check_issuer_state(&tenant, &state, &["eu.europa.ec.eudi.pid_vc_sd_jwt".to_owned()], NOW),
                "the request asks for a credential configuration the offer does not name",
            ),
        ];
        for (result, description) in cases {
            let error = result.unwrap_err();
            assert_eq!((error.code, error.description.as_str()), (ErrorCode::InvalidRequest, description));
        }
    }

    fn tenant_other() -> (Tenant, segl_credential::x509::TrustAnchors) {
        tenant(2)
    }
}
