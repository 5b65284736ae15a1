//! The offer by reference (`credential_offer_uri`) and the offer page a person scans.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::AppState;
use super::extract::{WithStatus, tenant};
use super::token::no_store;
use crate::protocol::{CredentialOffer, ErrorResponse};
use crate::service::offer;
use crate::store::Store;

/// `GET /{tenant}/offers/{offer}`: the Credential Offer as JSON (OpenID4VCI 1.0 §4.1.3); 404
/// once it is used, expired or unknown.
#[utoipa::path(
    get,
    path = "/{tenant}/offers/{offer}",
    tag = "oid4vci",
    operation_id = "offer_by_reference",
    params(("tenant" = String, Path, description = "The tenant (credential issuer) id, the last segment of its Credential Issuer Identifier"), ("offer" = String, Path, description = "The offer id, `offer_id` of the admin API's answer")),
    responses(
        (status = 200, description = "The Credential Offer (OpenID4VCI 1.0 §4.1.1), fetched through its \
            `credential_offer_uri`; `Cache-Control: no-store`", body = CredentialOffer,
            content_type = "application/json"),
        (status = 404, description = "No such tenant, or the offer is unknown, used or expired", body = ErrorResponse, content_type = "application/json"),
    ),
)]
pub async fn by_reference<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path((id, offer_id)): Path<(String, String)>,
) -> Result<Response, WithStatus> {
    let tenant = tenant(&state, &id)?;
    let offer = offer::offer_by_reference(&state.store, &tenant, &offer_id, state.clock.now())
        .await
        .map_err(|error| WithStatus(StatusCode::NOT_FOUND, error))?;
    Ok(no_store(Json(offer)))
}

/// `GET /{tenant}/offers/{offer}/page`: an HTML page with the offer as a QR code (cross-device)
/// and as a link (same device).
#[utoipa::path(
    get,
    path = "/{tenant}/offers/{offer}/page",
    tag = "oid4vci",
    operation_id = "offer_page",
    params(("tenant" = String, Path, description = "The tenant (credential issuer) id, the last segment of its Credential Issuer Identifier"), ("offer" = String, Path, description = "The offer id, `offer_id` of the admin API's answer")),
    responses(
        (status = 200, description = "An HTML page with the `openid-credential-offer://` link as a QR code \
            and as a button", body = String, content_type = "text/html"),
        (status = 404, description = "No such tenant, or the offer is unknown, used or expired", body = ErrorResponse, content_type = "application/json"),
    ),
)]
pub async fn page<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    Path((id, offer_id)): Path<(String, String)>,
) -> Result<Response, WithStatus> {
    let tenant = tenant(&state, &id)?;
    offer::offer_by_reference(&state.store, &tenant, &offer_id, state.clock.now())
        .await
        .map_err(|error| WithStatus(StatusCode::NOT_FOUND, error))?;
    let reference = format!("{}/offers/{offer_id}", tenant.issuer_id);
    let link = offer::offer_uri(&reference);
    let qr = qrcode::QrCode::new(link.as_bytes())
        .map(|code| code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(280, 280).build())
        .unwrap_or_default();
    let issuer = html_escape(&tenant.catalog.name().get("en").cloned().unwrap_or_else(|| tenant.id.clone()));
    let body = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Credential offer – {issuer}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;text-align:center}}
a.button{{display:inline-block;padding:.8rem 1.4rem;border-radius:.5rem;background:#0b3d91;color:#fff;text-decoration:none}}</style>
</head><body>
<h1>{issuer}</h1>
<p>Scan with your EU Digital Identity Wallet / Scan med din digitale identitetstegnebog:</p>
<div id="qr" role="img" aria-label="QR code with the credential offer">{qr}</div>
<p><a class="button" id="same-device" href="{href}">Open in the wallet on this device</a></p>
</body></html>"#,
        href = html_escape(&link),
    );
    let mut response = Html(body).into_response();
    response
        .headers_mut()
        .insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(response)
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
