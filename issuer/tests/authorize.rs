//! The authorization code flow over HTTP against the real router, with the upstream login at a
//! minimal OpenID Connect provider on a loopback port: PAR, the authorization endpoint, the
//! login callback, the code grant at the token endpoint and issuance of the login's claims, and
//! every refusal with its exact error code and description, leaving the flow usable.

// Helpers outside `#[test]` functions panic on a broken run, which is what a test wants.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[path = "authorize/provider.rs"]
mod provider;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{NOW, TOKEN, TestIssuer, get};
use provider::{CLIENT_ID, LOW, Provider, SUBSTANTIAL};
use rand::SeedableRng as _;
use segl_credential::clock::FixedClock;
use segl_credential::clock::{Clock, UnixTime};
use segl_credential::jose::{self, KeyReference, base64url_decode, base64url_encode};
use segl_credential::keys::SoftwareSigner;
use segl_issuer::config::{
    ClaimMapping, ClaimTransform, ClientAuthentication, Config, LevelOfAssurance, LoginConfig, WalletConfig,
};
use segl_issuer::source::{IdentifierKind, SourceSettings, import};
use serde_json::{Map, Value, json};

const PUBLIC: &str = "http://127.0.0.1:8080";
const WALLET: &str = "wallet-1";
const REDIRECT: &str = "https://wallet.example/cb";
const PID: &str = "eu.europa.ec.eudi.pid_vc_sd_jwt";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk_and_more";

/// A clock the test moves forward.
struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now(&self) -> UnixTime {
        self.0.load(Ordering::SeqCst)
    }
}

struct Flow {
    issuer: TestIssuer,
    provider: Provider,
    clock: Arc<TestClock>,
    browser: reqwest::Client,
}

fn mapping(from: &str, to: &str, transform: ClaimTransform) -> ClaimMapping {
    ClaimMapping { from: from.into(), to: to.into(), transform, required: false }
}

fn login_config(issuer: &str) -> LoginConfig {
    LoginConfig {
        issuer: issuer.into(),
        client_id: CLIENT_ID.into(),
        client_secret_env: None,
        client_auth: ClientAuthentication::None,
        scopes: vec!["openid".into(), "profile".into()],
        userinfo: true,
        extra_parameters: BTreeMap::new(),
        claims: vec![
            mapping("given_name", "given_name", ClaimTransform::Copy),
            mapping("family_name", "family_name", ClaimTransform::Copy),
            mapping("birthdate", "birth_date", ClaimTransform::DdMmYyyy),
            mapping("place_of_birth", "birth_place", ClaimTransform::Copy),
            mapping("nationality", "nationality", ClaimTransform::UppercaseArray),
        ],
        identifier_claim: None,
        loa_claim: "loa".into(),
        loa_values: [
            (SUBSTANTIAL.to_owned(), LevelOfAssurance::Substantial),
            (LOW.to_owned(), LevelOfAssurance::Low),
        ]
        .into(),
        min_loa: LevelOfAssurance::Substantial,
        timeout_secs: 5,
    }
}

impl Flow {
    async fn start(name: &str) -> Flow {
        Flow::start_with(name, |_| {}).await
    }

    /// A flow whose claims come from the authentic source, by the login's CPR claim.
    async fn start_from_source(name: &str) -> Flow {
        Flow::start_with(name, |config| {
            source_settings_of(config);
            config.tenants[0].login.as_mut().unwrap().identifier_claim = Some("dk.cpr".into());
        })
        .await
    }

    async fn start_with(name: &str, more: impl FnOnce(&mut Config) + Send + 'static) -> Flow {
        let provider = Provider::start().await;
        let clock = Arc::new(TestClock(AtomicI64::new(NOW)));
        let login = login_config(&provider.issuer);
        let adjust = move |config: &mut Config| {
            let tenant = &mut config.tenants[0];
            tenant.wallets = vec![
                WalletConfig { client_id: WALLET.into(), redirect_uris: vec![REDIRECT.into()] },
                WalletConfig { client_id: "wallet-2".into(), redirect_uris: vec![REDIRECT.into()] },
            ];
            tenant.scopes = [(PID.to_owned(), "pid".to_owned())].into();
            tenant.login = Some(login);
            more(config);
        };
        let issuer = common::start_with_clock(name, 21, clock.clone(), adjust).await;
        let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Flow { issuer, provider, clock, browser }
    }

    async fn form(&self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, Value) {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        self.issuer.json(request).await
    }

    async fn par(&self, fields: &[(&str, &str)]) -> (StatusCode, Value) {
        self.form("/default/par", fields).await
    }

    /// A good PAR request, with `change` applied (a `""` value removes the field).
    async fn par_with(&self, change: &[(&str, &str)]) -> (StatusCode, Value) {
        let challenge = s256(VERIFIER);
        let mut fields: Vec<(&str, &str)> = vec![
            ("client_id", WALLET),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("state", "wallet-state"),
            ("scope", "pid"),
        ];
        for (name, value) in change {
            fields.retain(|(field, _)| field != name);
            if !value.is_empty() {
                fields.push((name, value));
            }
        }
        self.par(&fields).await
    }

    async fn request_uri(&self) -> String {
        let (status, body) = self.par_with(&[]).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["request_uri"].as_str().unwrap().to_owned()
    }

    /// `GET /authorize`: status, and the Location or the JSON error.
    async fn authorize(&self, query: &str) -> (StatusCode, Value) {
        let (status, body, headers) = self.issuer.call(get(&format!("/default/authorize?{query}"))).await;
        match headers.get(header::LOCATION) {
            Some(location) => (status, Value::String(location.to_str().unwrap().to_owned())),
            None => (status, serde_json::from_slice(&body).unwrap()),
        }
    }

    /// Through the provider: its redirect back to the issuer's callback (path and query).
    async fn provider_login(&self, provider_url: &str) -> String {
        let answer = self.browser.get(provider_url).send().await.unwrap();
        assert_eq!(answer.status(), reqwest::StatusCode::SEE_OTHER);
        let location = answer.headers()[reqwest::header::LOCATION].to_str().unwrap().to_owned();
        location.strip_prefix(PUBLIC).unwrap().to_owned()
    }

    /// The callback: status, and the wallet redirect's query or the JSON error.
    async fn callback(&self, path: &str) -> (StatusCode, Value) {
        let (status, body, headers) = self.issuer.call(get(path)).await;
        match headers.get(header::LOCATION) {
            Some(location) => (status, query_of(location.to_str().unwrap())),
            None => (status, serde_json::from_slice(&body).unwrap()),
        }
    }

    /// PAR, authorize, login, callback: the wallet redirect's query parameters.
    async fn login(&self) -> Value {
        let request_uri = self.request_uri().await;
        let (status, location) = self.authorize(&authorize_query(WALLET, &request_uri)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{location}");
        let callback = self.provider_login(location.as_str().unwrap()).await;
        let (status, answer) = self.callback(&callback).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{answer}");
        answer
    }

    async fn code(&self) -> String {
        let answer = self.login().await;
        answer["code"].as_str().unwrap_or_else(|| panic!("no code: {answer}")).to_owned()
    }

    async fn token(&self, code: &str, change: &[(&str, &str)]) -> (StatusCode, Value) {
        let mut fields: Vec<(&str, &str)> = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("code_verifier", VERIFIER),
            ("redirect_uri", REDIRECT),
            ("client_id", WALLET),
        ];
        for (name, value) in change {
            fields.retain(|(field, _)| field != name);
            if !value.is_empty() {
                fields.push((name, value));
            }
        }
        self.form("/default/token", &fields).await
    }

    /// A credential request of `configuration` with `token`.
    async fn credential(&self, token: &str, configuration: &str) -> (StatusCode, Value) {
        self.credential_by(token, "credential_configuration_id", configuration).await
    }

    /// A credential request naming the credential by `member` (configuration id or identifier).
    async fn credential_by(&self, token: &str, member: &str, value: &str) -> (StatusCode, Value) {
        let (_, nonce) = self.issuer.json(Request::post("/default/nonce").body(Body::empty()).unwrap()).await;
        let holder = SoftwareSigner::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(5)).unwrap();
        let header = jose::header("openid4vci-proof+jwt", &holder, KeyReference::Jwk).unwrap();
        let claims = json!({"aud": format!("{PUBLIC}/default"), "iat": NOW, "nonce": nonce["c_nonce"]});
        let proof = jose::sign_compact(header, claims.to_string().as_bytes(), &holder).unwrap();
        let body = json!({member: value, "proofs": {"jwt": [proof]}});
        let request = Request::post("/default/credential")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::from(body.to_string()))
            .unwrap();
        self.issuer.json(request).await
    }
}

fn s256(verifier: &str) -> String {
    base64url_encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()).as_ref())
}

fn authorize_query(client_id: &str, request_uri: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", client_id)
        .append_pair("request_uri", request_uri)
        .finish()
}

fn query_of(location: &str) -> Value {
    let url = url::Url::parse(location).unwrap();
    let mut out = Map::new();
    out.insert(
        "location".into(),
        Value::String(format!("{}{}", url.origin().ascii_serialization(), url.path())),
    );
    for (name, value) in url.query_pairs() {
        out.insert(name.into_owned(), Value::String(value.into_owned()));
    }
    Value::Object(out)
}

/// The disclosed claims of an SD-JWT, by name.
fn disclosed(sd_jwt: &str) -> Map<String, Value> {
    sd_jwt
        .split('~')
        .skip(1)
        .filter(|part| !part.is_empty())
        .filter_map(|part| serde_json::from_slice::<Value>(&base64url_decode(part).unwrap()).ok())
        .filter_map(|disclosure| {
            let array = disclosure.as_array()?.clone();
            Some((array.get(1)?.as_str()?.to_owned(), array.get(2)?.clone()))
        })
        .collect()
}

/// Fields to change, and the expected status, error code and description.
type Refusal<'a> = (Vec<(&'a str, &'a str)>, StatusCode, &'a str, &'a str);

/// A change of the provider's behaviour.
type Misbehaviour = Box<dyn Fn(&mut provider::Behaviour)>;

fn assert_error(answer: &(StatusCode, Value), status: StatusCode, code: &str, description: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["error"], code, "{}", answer.1);
    assert_eq!(answer.1["error_description"], description, "{}", answer.1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_code_flow_issues_the_login_claims() {
    let flow = Flow::start("authcode-happy").await;
    let answer = flow.login().await;
    assert_eq!(answer["location"], REDIRECT);
    assert_eq!(answer["state"], "wallet-state");
    assert_eq!(answer["iss"], format!("{PUBLIC}/default"));
    let code = answer["code"].as_str().unwrap();
    let (status, token) = flow.token(code, &[]).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert_eq!(token["token_type"], "Bearer");
    let access_token = token["access_token"].as_str().unwrap();

    let (status, issued) = flow.credential(access_token, PID).await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    let claims = disclosed(issued["credentials"][0]["credential"].as_str().unwrap());
    assert_eq!(claims["given_name"], "Karen");
    assert_eq!(claims["family_name"], "Jensen");
    assert_eq!(claims["birthdate"], "1990-03-15");
    assert_eq!(claims["nationalities"].as_array().unwrap().len(), 1);

    // Only what was authorized.
    let other = flow.credential(access_token, "proof_of_age").await;
    assert_error(
        &other,
        StatusCode::BAD_REQUEST,
        "unknown_credential_configuration",
        "credential configuration `proof_of_age` was not offered with this access token",
    );
}

#[tokio::test]
async fn metadata_advertises_par_pkce_and_scopes() {
    let flow = Flow::start("authcode-metadata").await;
    let (_, server) = flow.issuer.json(get("/.well-known/oauth-authorization-server/default")).await;
    assert_eq!(server["pushed_authorization_request_endpoint"], format!("{PUBLIC}/default/par"));
    assert_eq!(server["authorization_endpoint"], format!("{PUBLIC}/default/authorize"));
    assert_eq!(server["require_pushed_authorization_requests"], true);
    assert_eq!(server["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        server["grant_types_supported"],
        json!(["authorization_code", "urn:ietf:params:oauth:grant-type:pre-authorized_code"])
    );
    assert_eq!(server["authorization_response_iss_parameter_supported"], true);
    let (_, issuer) = flow.issuer.json(get("/.well-known/openid-credential-issuer/default")).await;
    let configurations = &issuer["credential_configurations_supported"];
    assert_eq!(configurations[PID]["scope"], "pid");
    assert_eq!(configurations["proof_of_age"]["scope"], "proof_of_age");
}

#[tokio::test]
async fn tenants_without_a_login_keep_the_pre_authorized_metadata() {
    let issuer = common::start("authcode-none", 22, |_| {}).await;
    let (_, server) = issuer.json(get("/.well-known/oauth-authorization-server/default")).await;
    assert!(server.get("pushed_authorization_request_endpoint").is_none());
    assert_eq!(
        server["grant_types_supported"],
        json!(["urn:ietf:params:oauth:grant-type:pre-authorized_code"])
    );
    let refused = issuer.json(get("/default/authorize?client_id=x&request_uri=y")).await;
    assert_error(
        &refused,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "this credential issuer offers no authorization code flow",
    );
}

/// PAR requests from an unknown client, with an unregistered redirect_uri, plain or missing PKCE, another response_type, unknown scopes or authorization_details, a request_uri, a forged issuer_state or a foreign resource.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejects_bad_pushed_authorization_requests() {
    let flow = Flow::start("authcode-par").await;
    let bad = StatusCode::BAD_REQUEST;
    let cases: Vec<Refusal> = vec![
        (vec![("client_id", "stranger")], StatusCode::UNAUTHORIZED, "invalid_client", "unknown client_id"),
        (vec![("client_id", "")], bad, "invalid_request", "client_id is missing"),
        (
            vec![("redirect_uri", "https://evil.example/cb")],
            bad,
            "invalid_request",
            "redirect_uri is not registered for this client",
        ),
        (
            vec![("redirect_uri", "https://wallet.example/cb/")],
            bad,
            "invalid_request",
            "redirect_uri is not registered for this client",
        ),
        (
            vec![("code_challenge_method", "plain")],
            bad,
            "invalid_request",
            "code_challenge_method must be S256",
        ),
        (
            vec![("code_challenge_method", "")],
            bad,
            "invalid_request",
            "code_challenge_method is missing; it must be S256",
        ),
        (vec![("code_challenge", "")], bad, "invalid_request", "code_challenge is missing"),
        (
            vec![("code_challenge", "short")],
            bad,
            "invalid_request",
            "code_challenge is not a base64url SHA-256 digest",
        ),
        (vec![("response_type", "token")], bad, "unsupported_response_type", "response_type must be code"),
        (vec![("scope", "pid unknown")], bad, "invalid_scope", "unknown scope `unknown`"),
        (
            vec![("scope", "")],
            bad,
            "invalid_scope",
            "scope or authorization_details must name a credential configuration",
        ),
        (
            vec![("authorization_details", "{}")],
            bad,
            "invalid_authorization_details",
            "authorization_details is not a JSON array of openid_credential objects",
        ),
        (
            vec![(
                "authorization_details",
                r#"[{"type":"openid_credential","credential_configuration_id":"nope"}]"#,
            )],
            bad,
            "invalid_authorization_details",
            "authorization_details names a credential configuration not offered here",
        ),
        (
            vec![("request_uri", "urn:x")],
            bad,
            "invalid_request",
            "request_uri must not be sent in a pushed authorization request",
        ),
        (
            vec![("issuer_state", "forged.state")],
            bad,
            "invalid_request",
            "issuer_state is unknown or expired",
        ),
    ];
    for (change, status, code, description) in cases {
        assert_error(&flow.par_with(&change).await, status, code, description);
    }
    // authorization_details alone work too.
    let details = json!([{"type": "openid_credential", "credential_configuration_id": PID}]).to_string();
    let resource = format!("{PUBLIC}/default");
    let (status, body) =
        flow.par_with(&[("scope", ""), ("authorization_details", &details), ("resource", &resource)]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body["request_uri"].as_str().unwrap().starts_with("urn:ietf:params:oauth:request_uri:"));
    assert_eq!(body["expires_in"], 60);
}

/// Authorization requests without PAR, with an unknown, reused or expired request_uri, or from another client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejects_authorization_requests_without_a_good_request_uri() {
    let flow = Flow::start("authcode-authorize").await;
    let missing = "request_uri is missing: this issuer requires pushed authorization requests";
    let without_par = flow
        .authorize(
            "client_id=wallet-1&response_type=code&redirect_uri=https%3A%2F%2Fwallet.example%2Fcb&scope=pid",
        )
        .await;
    assert_error(&without_par, StatusCode::BAD_REQUEST, "invalid_request", missing);
    let gone = "request_uri is unknown, expired or already used";
    let unknown = flow.authorize(&authorize_query(WALLET, "urn:ietf:params:oauth:request_uri:nope")).await;
    assert_error(&unknown, StatusCode::BAD_REQUEST, "invalid_request", gone);

    let request_uri = flow.request_uri().await;
    let (status, _) = flow.authorize(&authorize_query(WALLET, &request_uri)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let reused = flow.authorize(&authorize_query(WALLET, &request_uri)).await;
    assert_error(&reused, StatusCode::BAD_REQUEST, "invalid_request", gone);

    let other_client = flow.request_uri().await;
    let wrong = flow.authorize(&authorize_query("wallet-2", &other_client)).await;
    assert_error(
        &wrong,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "client_id is not the one of the pushed request",
    );

    let expiring = flow.request_uri().await;
    flow.clock.0.fetch_add(60, Ordering::SeqCst);
    let expired = flow.authorize(&authorize_query(WALLET, &expiring)).await;
    assert_error(&expired, StatusCode::BAD_REQUEST, "invalid_request", gone);
}

/// Login callbacks with a forged, reused or missing state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejects_callbacks_with_an_unknown_state() {
    let flow = Flow::start("authcode-state").await;
    let request_uri = flow.request_uri().await;
    let (_, location) = flow.authorize(&authorize_query(WALLET, &request_uri)).await;
    let callback = flow.provider_login(location.as_str().unwrap()).await;
    let (path, query) = callback.split_once('?').unwrap();
    let forged: String = query
        .split('&')
        .map(|pair| if pair.starts_with("state=") { "state=forged".to_owned() } else { pair.to_owned() })
        .collect::<Vec<_>>()
        .join("&");
    let answer = flow.callback(&format!("{path}?{forged}")).await;
    let gone = "the callback's state is unknown, expired or already used";
    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_request", gone);
    // The real callback still works once, and only once.
    let (status, first) = flow.callback(&callback).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(first["code"].is_string(), "{first}");
    assert_error(&flow.callback(&callback).await, StatusCode::BAD_REQUEST, "invalid_request", gone);
    let no_state = flow.callback("/default/login/callback?code=x").await;
    assert_error(&no_state, StatusCode::BAD_REQUEST, "invalid_request", "the callback carries no state");
}

/// Upstream ID tokens with a wrong aud, iss or nonce, expired or signed by a foreign key, a level of assurance too low or unknown, and a refused login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejects_bad_logins_by_sending_the_wallet_access_denied() {
    let flow = Flow::start("authcode-idtoken").await;
    let invalid = "the login answer is invalid: ";
    let cases: Vec<(Misbehaviour, String)> = vec![
        (
            Box::new(|b| b.aud = "someone-else".into()),
            format!("{invalid}the ID token's aud does not name this client"),
        ),
        (
            Box::new(|b| b.iss = Some("https://evil.example".into())),
            format!("{invalid}the ID token's iss is not the provider's issuer"),
        ),
        (
            Box::new(|b| b.nonce = Some("replayed".into())),
            format!("{invalid}the ID token's nonce is not the one sent"),
        ),
        (Box::new(|b| b.exp = NOW - 61), format!("{invalid}the ID token has expired")),
        (Box::new(|b| b.foreign_key = true), format!("{invalid}the ID token signature does not verify")),
        (
            Box::new(|b| b.loa = LOW.into()),
            "the login's level of assurance (low) is below what this issuer requires".to_owned(),
        ),
        (
            Box::new(|b| b.loa = "https://example.com/loa/unknown".into()),
            "the level of assurance `https://example.com/loa/unknown` is not one this issuer knows"
                .to_owned(),
        ),
        (
            Box::new(|b| b.refuse = Some("access_denied".into())),
            "the login was refused: access_denied: the user cancelled".to_owned(),
        ),
    ];
    for (misbehave, description) in cases {
        flow.provider.behave(|b| *b = provider::Behaviour::default());
        flow.provider.behave(misbehave);
        let answer = flow.login().await;
        assert_eq!(answer["location"], REDIRECT, "{answer}");
        assert_eq!(answer["error"], "access_denied", "{answer}");
        assert_eq!(answer["error_description"], description.as_str(), "{answer}");
        assert_eq!(answer["state"], "wallet-state");
        assert_eq!(answer["iss"], format!("{PUBLIC}/default"));
        assert!(answer.get("code").is_none());
    }
    // The provider behaving again, the flow works.
    flow.provider.behave(|b| *b = provider::Behaviour::default());
    assert!(flow.login().await["code"].is_string());
}

/// Code grant token requests with a missing, short or wrong PKCE verifier, another redirect_uri or client, an unknown client or code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejects_bad_token_requests_leaving_the_code_redeemable() {
    let flow = Flow::start("authcode-token").await;
    let code = flow.code().await;
    let bad = StatusCode::BAD_REQUEST;
    let wrong_verifier = "A".repeat(43);
    let cases: Vec<Refusal> = vec![
        (vec![("code_verifier", "")], bad, "invalid_request", "code_verifier is missing"),
        (
            vec![("code_verifier", "short")],
            bad,
            "invalid_request",
            "code_verifier must be 43 to 128 unreserved characters",
        ),
        (
            vec![("code_verifier", &wrong_verifier)],
            bad,
            "invalid_grant",
            "code_verifier does not match the code_challenge",
        ),
        (
            vec![("redirect_uri", "https://wallet.example/other")],
            bad,
            "invalid_grant",
            "redirect_uri does not match the authorization request",
        ),
        (vec![("redirect_uri", "")], bad, "invalid_request", "redirect_uri is missing"),
        (
            vec![("client_id", "wallet-2")],
            bad,
            "invalid_grant",
            "authorization code was issued to another client",
        ),
        (vec![("client_id", "stranger")], StatusCode::UNAUTHORIZED, "invalid_client", "unknown client_id"),
        (vec![("code", "unknown")], bad, "invalid_grant", "unknown authorization code"),
        (vec![("code", "")], bad, "invalid_request", "code is missing"),
    ];
    for (change, status, error, description) in cases {
        assert_error(&flow.token(&code, &change).await, status, error, description);
    }
    let (status, body) = flow.token(&code, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// An authorization code redeemed twice: the second is invalid_grant and the first token stops working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejects_a_reused_code_and_revokes_its_token() {
    let flow = Flow::start("authcode-reuse").await;
    let code = flow.code().await;
    let (status, first) = flow.token(&code, &[]).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let reused = flow.token(&code, &[]).await;
    let description = "authorization code already used; the tokens issued from it are revoked";
    assert_error(&reused, StatusCode::BAD_REQUEST, "invalid_grant", description);
    let revoked = flow.credential(first["access_token"].as_str().unwrap(), PID).await;
    assert_eq!(revoked.0, StatusCode::UNAUTHORIZED, "{}", revoked.1);
    assert_eq!(revoked.1["error"], "invalid_token");
}

/// An authorization code redeemed after its 60 seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejects_an_expired_code() {
    let flow = Flow::start("authcode-expired").await;
    let code = flow.code().await;
    flow.clock.0.fetch_add(60, Ordering::SeqCst);
    let expired = flow.token(&code, &[]).await;
    assert_error(&expired, StatusCode::BAD_REQUEST, "invalid_grant", "authorization code expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_details_come_back_with_credential_identifiers() {
    let flow = Flow::start("authcode-details").await;
    let details = json!([{"type": "openid_credential", "credential_configuration_id": PID}]).to_string();
    let (status, body) = flow.par_with(&[("scope", ""), ("authorization_details", &details)]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let request_uri = body["request_uri"].as_str().unwrap();
    let (_, location) = flow.authorize(&authorize_query(WALLET, request_uri)).await;
    let callback = flow.provider_login(location.as_str().unwrap()).await;
    let (_, answer) = flow.callback(&callback).await;
    let (status, token) = flow.token(answer["code"].as_str().unwrap(), &[]).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert_eq!(
        token["authorization_details"],
        json!([{"type": "openid_credential", "credential_configuration_id": PID, "credential_identifiers": [PID]}])
    );
    let access_token = token["access_token"].as_str().unwrap();
    let (status, issued) = flow.credential_by(access_token, "credential_identifier", PID).await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    let unknown = flow.credential_by(access_token, "credential_identifier", "ds-9").await;
    let description = "unknown credential_identifier; use one of the token response's authorization_details, or credential_configuration_id";
    assert_error(&unknown, StatusCode::BAD_REQUEST, "unknown_credential_identifier", description);
    // A scope request gets none.
    let (_, plain) = flow.token(&flow.code().await, &[]).await;
    assert!(plain.get("authorization_details").is_none(), "{plain}");
}

/// The authentic source of the source-backed flows: CPR identifiers, in the data directory's
/// SQLite database (shared with the import).
fn source_settings_of(config: &mut Config) {
    config.database_url = None;
    config.tenants[0].authentic_source =
        SourceSettings { identifier: IdentifierKind::Cpr, ..SourceSettings::default() };
}

/// Imports `rows` (after the header) the way `segl authentic-source import` does: the
/// deployment opened again on the same data directory and database.
async fn import_rows(issuer: &TestIssuer, rows: &str) {
    let mut config = Config { data_dir: issuer.data_dir.clone(), ..Config::default() };
    source_settings_of(&mut config);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
    let (state, _) = segl_issuer::deployment::open(&config, Some(TOKEN), Arc::new(FixedClock(NOW)), &mut rng)
        .await
        .unwrap();
    let tenant = state.tenants["default"].clone();
    let csv = format!(
        "identifier,status,family_name,given_name,birth_date,birth_place.country,nationality\n{rows}"
    );
    import::import_csv(&state.store, &tenant, csv.as_bytes(), NOW, &mut rng).await.unwrap();
}

/// The person the test provider logs in (its `dk.cpr` claim).
const CPR: &str = "150390-1234";

#[tokio::test]
async fn authorization_code_flow_issues_the_authentic_sources_data() {
    let flow = Flow::start_from_source("authcode-source").await;
    import_rows(&flow.issuer, &format!("{CPR},ready,Sørensen,Karen,1990-03-15,DK,DK\n")).await;
    let code = flow.code().await;
    let (status, token) = flow.token(&code, &[]).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let (status, issued) = flow.credential(token["access_token"].as_str().unwrap(), PID).await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    let credential = issued["credentials"][0]["credential"].as_str().unwrap();
    let claims = disclosed(credential);
    // The source's family name, not the login's ("Jensen").
    assert_eq!(claims["family_name"], "Sørensen");
    assert_eq!(claims["birthdate"], "1990-03-15");
    // The CPR number is off by default: neither a claim nor anywhere in the credential.
    assert!(!claims.contains_key("personal_administrative_number"), "{claims:?}");
    let text: String = credential
        .split(['~', '.'])
        .filter_map(|part| base64url_decode(part).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect();
    assert!(!text.contains("1503901234"), "{text}");
}

#[tokio::test]
async fn authorization_code_flow_defers_until_the_source_has_the_data() {
    let flow = Flow::start_from_source("authcode-deferred").await;
    import_rows(&flow.issuer, &format!("{CPR},pending,,,,,\n")).await;
    let code = flow.code().await;
    let (_, token) = flow.token(&code, &[]).await;
    let access_token = token["access_token"].as_str().unwrap();
    let (status, pending) = flow.credential(access_token, PID).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{pending}");
    let transaction_id = pending["transaction_id"].as_str().unwrap().to_owned();

    let pick_up = || async {
        let request = Request::post("/default/deferred_credential")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {access_token}"))
            .body(Body::from(json!({"transaction_id": transaction_id}).to_string()))
            .unwrap();
        flow.issuer.json(request).await
    };
    let (status, still) = pick_up().await;
    assert_eq!(status, StatusCode::ACCEPTED, "{still}");
    import_rows(&flow.issuer, &format!("{CPR},ready,Sørensen,Karen,1990-03-15,DK,DK\n")).await;
    let (status, issued) = pick_up().await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    let claims = disclosed(issued["credentials"][0]["credential"].as_str().unwrap());
    assert_eq!(claims["family_name"], "Sørensen");
}

#[tokio::test]
async fn rejects_a_login_whose_person_the_authentic_source_does_not_know() {
    let flow = Flow::start_from_source("authcode-unknown-person").await;
    let answer = flow.login().await;
    assert_eq!(answer["error"], "access_denied", "{answer}");
    assert_eq!(answer["error_description"], "the authentic source has no record of the person who logged in");
    assert!(answer.get("code").is_none(), "{answer}");
}

/// `POST /admin/v1/offers` on the flow's issuer.
async fn create_offer(issuer: &TestIssuer, body: &Value) -> (StatusCode, Value) {
    issuer.json(common::post_json("/admin/v1/offers", Some(TOKEN), body)).await
}

#[tokio::test]
async fn authorization_code_offers_carry_an_issuer_state_the_flow_accepts() {
    let flow = Flow::start("authcode-offer").await;
    let (status, created) = create_offer(
        &flow.issuer,
        &json!({"credential_configuration_ids": [PID], "grant": "authorization_code"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(created.get("tx_code").is_none(), "{created}");
    // By reference, as the wallet fetches it: only the authorization code grant.
    let path = created["credential_offer_uri"].as_str().unwrap().strip_prefix(PUBLIC).unwrap().to_owned();
    let (status, offer) = flow.issuer.json(get(&path)).await;
    assert_eq!(status, StatusCode::OK, "{offer}");
    assert_eq!(offer, created["credential_offer"]);
    let grants = offer["grants"].as_object().unwrap();
    assert_eq!(grants.keys().collect::<Vec<_>>(), ["authorization_code"]);
    let issuer_state = grants["authorization_code"]["issuer_state"].as_str().unwrap();
    // Its page, like a pre-authorized offer's: the QR code and the same-device link.
    let page = created["page_url"].as_str().unwrap().strip_prefix(PUBLIC).unwrap().to_owned();
    let (status, html, _) = flow.issuer.call(get(&page)).await;
    assert_eq!(status, StatusCode::OK);
    let link = created["offer_uri"].as_str().unwrap().replace('&', "&amp;");
    assert!(String::from_utf8(html).unwrap().contains(&format!("href=\"{link}\"")), "{page}");

    let (status, pushed) = flow.par_with(&[("issuer_state", issuer_state)]).await;
    assert_eq!(status, StatusCode::CREATED, "{pushed}");
    let request_uri = pushed["request_uri"].as_str().unwrap();
    let (status, location) = flow.authorize(&authorize_query(WALLET, request_uri)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{location}");
    let callback = flow.provider_login(location.as_str().unwrap()).await;
    let (_, answer) = flow.callback(&callback).await;
    let (status, token) = flow.token(answer["code"].as_str().unwrap(), &[]).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let (status, issued) = flow.credential(token["access_token"].as_str().unwrap(), PID).await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    assert_eq!(disclosed(issued["credentials"][0]["credential"].as_str().unwrap())["given_name"], "Karen");

    // The offer names the PID only: a request for more under its issuer_state is refused.
    let refused = flow.par_with(&[("issuer_state", issuer_state), ("scope", "pid proof_of_age")]).await;
    assert_error(
        &refused,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "the request asks for a credential configuration the offer does not name",
    );
}

#[tokio::test]
async fn rejects_authorization_code_offers_with_claims_or_without_a_login() {
    let description = "an authorization_code offer takes no claims, authentic_source, tx_code or subject: the login decides them";
    let flow = Flow::start("authcode-offer-bad").await;
    for extra in [
        json!({"claims": {"given_name": "Karen"}}),
        json!({"authentic_source": {"identifier": "p-1"}}),
        json!({"tx_code": true}),
        json!({"subject": "case-1"}),
    ] {
        let mut body = json!({"credential_configuration_ids": [PID], "grant": "authorization_code"});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let answer = create_offer(&flow.issuer, &body).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_request", description);
    }
    // A forged or altered issuer_state is no offer.
    let (status, _) = flow.issuer.json(get("/default/offers/e30.AAAA")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let plain = common::start("authcode-offer-nologin", 3, |_| {}).await;
    let answer =
        create_offer(&plain, &json!({"credential_configuration_ids": [PID], "grant": "authorization_code"}))
            .await;
    assert_error(
        &answer,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "grant authorization_code needs the tenant's upstream login ([tenants.login])",
    );
}
