//! A minimal OpenID Connect provider on a loopback port, for the Rust tests of the upstream login
//! only (the interop test uses the real `oidc-provider` package): discovery, JWKS, an
//! authorization endpoint that logs the test user in at once, a token endpoint with PKCE, and
//! userinfo. `Behaviour` makes it misbehave the ways a test needs (wrong `aud`, `iss`, `nonce`,
//! expired token, foreign signature, low LoA, a refusal).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use segl_credential::jose::base64url_encode;
use serde_json::{Value, json};

use super::common::NOW;

/// The client id Segl has at the provider.
pub const CLIENT_ID: &str = "segl-test";
/// The provider's LoA value for Substantial and for Low.
pub const SUBSTANTIAL: &str = "https://data.gov.dk/concept/core/nsis/Substantial";
/// See [`SUBSTANTIAL`].
pub const LOW: &str = "https://data.gov.dk/concept/core/nsis/Low";

/// How the provider answers the next logins.
#[derive(Debug, Clone)]
pub struct Behaviour {
    /// The ID token's `aud`.
    pub aud: String,
    /// The ID token's `iss` (`None`: the provider's own).
    pub iss: Option<String>,
    /// A different `nonce` than the one asked for.
    pub nonce: Option<String>,
    /// Seconds added to `exp` (NOW + 300 by default).
    pub exp: i64,
    /// Sign with a key that is not in the JWKS.
    pub foreign_key: bool,
    /// The `loa` claim.
    pub loa: String,
    /// Refuse the login with this OAuth error.
    pub refuse: Option<String>,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            aud: CLIENT_ID.into(),
            iss: None,
            nonce: None,
            exp: NOW + 300,
            foreign_key: false,
            loa: SUBSTANTIAL.into(),
            refuse: None,
        }
    }
}

struct Login {
    nonce: String,
    challenge: String,
}

struct ProviderState {
    issuer: String,
    key: EcdsaKeyPair,
    foreign: EcdsaKeyPair,
    behaviour: Mutex<Behaviour>,
    codes: Mutex<HashMap<String, Login>>,
}

/// A running provider.
pub struct Provider {
    /// Its issuer identifier (`http://127.0.0.1:PORT`).
    pub issuer: String,
    state: Arc<ProviderState>,
}

impl Provider {
    /// Starts a provider on a free loopback port.
    pub async fn start() -> Provider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let generate = || EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let state = Arc::new(ProviderState {
            issuer: issuer.clone(),
            key: generate(),
            foreign: generate(),
            behaviour: Mutex::new(Behaviour::default()),
            codes: Mutex::new(HashMap::new()),
        });
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/userinfo", get(userinfo))
            .with_state(Arc::clone(&state));
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Provider { issuer, state }
    }

    /// Changes how the next logins are answered.
    pub fn behave(&self, change: impl FnOnce(&mut Behaviour)) {
        change(&mut self.state.behaviour.lock().unwrap());
    }
}

async fn discovery(State(state): State<Arc<ProviderState>>) -> Json<Value> {
    let issuer = &state.issuer;
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "authorization_response_iss_parameter_supported": true,
    }))
}

fn public_jwk(key: &EcdsaKeyPair) -> Value {
    let point = key.public_key().as_ref();
    json!({"kty": "EC", "crv": "P-256", "x": base64url_encode(&point[1..33]), "y": base64url_encode(&point[33..]),
           "kid": "k1", "alg": "ES256", "use": "sig"})
}

async fn jwks(State(state): State<Arc<ProviderState>>) -> Json<Value> {
    Json(json!({"keys": [public_jwk(&state.key)]}))
}

async fn authorize(
    State(state): State<Arc<ProviderState>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let param = |name: &str| query.get(name).cloned().unwrap_or_default();
    assert_eq!(param("client_id"), CLIENT_ID);
    assert_eq!(param("code_challenge_method"), "S256");
    let mut location = url::Url::parse(&param("redirect_uri")).unwrap();
    let refuse = state.behaviour.lock().unwrap().refuse.clone();
    {
        let mut pairs = location.query_pairs_mut();
        if let Some(error) = refuse {
            pairs.append_pair("error", &error).append_pair("error_description", "the user cancelled");
        } else {
            let code = format!("code-{}", param("state"));
            let login = Login { nonce: param("nonce"), challenge: param("code_challenge") };
            state.codes.lock().unwrap().insert(code.clone(), login);
            pairs.append_pair("code", &code);
        }
        pairs.append_pair("state", &param("state")).append_pair("iss", &state.issuer);
    }
    (StatusCode::SEE_OTHER, [(header::LOCATION, location.to_string())]).into_response()
}

fn sign(key: &EcdsaKeyPair, claims: &Value) -> String {
    let header = base64url_encode(json!({"alg": "ES256", "kid": "k1", "typ": "JWT"}).to_string());
    let input = format!("{header}.{}", base64url_encode(claims.to_string()));
    let signature = key.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
    format!("{input}.{}", base64url_encode(signature.as_ref()))
}

async fn token(
    State(state): State<Arc<ProviderState>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let code = form.get("code").cloned().unwrap_or_default();
    let Some(login) = state.codes.lock().unwrap().remove(&code) else {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "invalid_grant"}))).into_response();
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    if base64url_encode(digest.as_ref()) != login.challenge {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "invalid_grant"}))).into_response();
    }
    let behaviour = state.behaviour.lock().unwrap().clone();
    let claims = json!({
        "iss": behaviour.iss.clone().unwrap_or_else(|| state.issuer.clone()),
        "sub": "user-0101901234",
        "aud": behaviour.aud,
        "exp": behaviour.exp,
        "iat": NOW,
        "nonce": behaviour.nonce.clone().unwrap_or(login.nonce),
        "loa": behaviour.loa,
    });
    let key = if behaviour.foreign_key { &state.foreign } else { &state.key };
    Json(
        json!({"access_token": format!("at-{code}"), "token_type": "Bearer", "id_token": sign(key, &claims)}),
    )
    .into_response()
}

async fn userinfo(headers: HeaderMap) -> Response {
    if !headers
        .get(header::AUTHORIZATION)
        .is_some_and(|v| v.to_str().unwrap_or_default().starts_with("Bearer at-"))
    {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Json(json!({
        "sub": "user-0101901234",
        "given_name": "Karen",
        "family_name": "Jensen",
        "birthdate": "15-03-1990",
        "place_of_birth": {"country": "DK", "locality": "Aarhus"},
        "nationality": "dk",
        "dk.cpr": "1503901234",
    }))
    .into_response()
}
