//! Drives the real router in process through the whole pre-authorized code flow for every
//! built-in configuration: admin offer, offer by reference, token, nonce, credential with key
//! proofs, notification; then checks each credential with segl-credential against the tenant's
//! CA. Also the HTTP-level failures: unknown tenant, admin auth, malformed and oversized bodies.

// Helpers outside `#[test]` functions panic on a broken run, which is what a test wants.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{NOW, TOKEN, TestIssuer, get, post_json};
use rand::SeedableRng as _;
use segl_credential::clock::FixedClock;
use segl_credential::jose::{self, KeyReference};
use segl_credential::keys::{Signer as _, SoftwareSigner};
use segl_credential::mdoc;
use segl_credential::sd_jwt::{self, ExpectedTyp, KeyBindingPolicy};
use segl_credential::x509::IssuerKeySource;
use segl_issuer::config::Config;
use serde_json::{Value, json};

async fn issuer(name: &str) -> TestIssuer {
    common::start(name, 9, |_| {}).await
}

fn pid_claims() -> Value {
    json!({
        "family_name": "Nielsen", "given_name": "Freja", "birth_date": "1990-04-12",
        "birth_place": {"locality": "Aarhus", "country": "DK"}, "nationality": ["DK"],
        "resident_city": "Aarhus C", "resident_country": "DK", "resident_postal_code": "8000",
        "issuing_authority": "Segl test", "issuing_country": "DK"
    })
}

fn proof(holder: &SoftwareSigner, nonce: &str) -> String {
    let header = jose::header("openid4vci-proof+jwt", holder, KeyReference::Jwk).unwrap();
    let claims = json!({"aud": "http://127.0.0.1:8080/default", "iat": NOW, "nonce": nonce});
    jose::sign_compact(header, claims.to_string().as_bytes(), holder).unwrap()
}

/// Runs offer → token → nonce → credential for one configuration with `batch` holder keys and
/// returns the credentials with their keys.
async fn obtain(
    issuer: &TestIssuer,
    configuration: &str,
    batch: usize,
    seed: u64,
) -> (Vec<String>, Vec<SoftwareSigner>, String) {
    obtain_with(issuer, configuration, pid_claims(), batch, seed).await
}

/// [`obtain`] with the offer's claims given.
async fn obtain_with(
    issuer: &TestIssuer,
    configuration: &str,
    claims: Value,
    batch: usize,
    seed: u64,
) -> (Vec<String>, Vec<SoftwareSigner>, String) {
    let (status, created) = issuer
        .json(post_json(
            "/admin/v1/offers",
            Some(TOKEN),
            &json!({"credential_configuration_ids": [configuration], "claims": claims, "tx_code": true}),
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let offer_path = created["credential_offer_uri"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://127.0.0.1:8080")
        .to_owned();
    assert!(
        created["offer_uri"]
            .as_str()
            .unwrap()
            .starts_with("openid-credential-offer://?credential_offer_uri=")
    );
    let (status, offer) = issuer.json(get(&offer_path)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(offer["credential_issuer"], "http://127.0.0.1:8080/default");
    assert_eq!(offer["credential_configuration_ids"], json!([configuration]));
    let grant = &offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"];
    let code = grant["pre-authorized_code"].as_str().unwrap();
    assert_eq!(grant["tx_code"]["length"], 6);

    let form = format!(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code={code}&tx_code={}",
        created["tx_code"].as_str().unwrap()
    );
    let request = Request::post("/default/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .unwrap();
    let (status, body, headers) = issuer.call(request).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    let token: Value = serde_json::from_slice(&body).unwrap();
    let access_token = token["access_token"].as_str().unwrap().to_owned();

    let (status, nonce) = issuer.json(Request::post("/default/nonce").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let nonce = nonce["c_nonce"].as_str().unwrap();

    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    let holders: Vec<SoftwareSigner> =
        (0..batch).map(|_| SoftwareSigner::generate(&mut rng).unwrap()).collect();
    let proofs: Vec<String> = holders.iter().map(|holder| proof(holder, nonce)).collect();
    let (status, response) = issuer
        .json(post_json(
            "/default/credential",
            Some(&access_token),
            &json!({"credential_configuration_id": configuration, "proofs": {"jwt": proofs}}),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{response}");
    let credentials: Vec<String> = response["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["credential"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(credentials.len(), batch);
    (credentials, holders, access_token)
}

#[tokio::test]
async fn metadata_lists_every_configuration_under_the_tenant_path() {
    let issuer = issuer("metadata").await;
    let (status, metadata) = issuer.json(get("/.well-known/openid-credential-issuer/default")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(metadata["credential_issuer"], "http://127.0.0.1:8080/default");
    assert_eq!(metadata["nonce_endpoint"], "http://127.0.0.1:8080/default/nonce");
    for id in [
        "eu.europa.ec.eudi.pid_vc_sd_jwt",
        "eu.europa.ec.eudi.pid_mso_mdoc",
        "proof_of_age",
        "proof_of_age_vc_sd_jwt",
    ] {
        assert!(metadata["credential_configurations_supported"][id].is_object(), "{id} missing");
    }
    let (status, oauth) = issuer.json(get("/.well-known/oauth-authorization-server/default")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(oauth["token_endpoint"], "http://127.0.0.1:8080/default/token");
    let (status, jwks) = issuer.json(get("/.well-known/jwt-vc-issuer/default")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(jwks["jwks"]["keys"][0]["crv"], "P-256");
    let (status, type_metadata) =
        issuer.json(get("/default/type-metadata/eu.europa.ec.eudi.pid_vc_sd_jwt")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(type_metadata["vct"], "urn:eudi:pid:1");
}

#[tokio::test]
async fn pid_sd_jwt_vc_end_to_end_verifies_against_the_tenant_ca() {
    let issuer = issuer("pid-sd-jwt").await;
    let (credentials, holders, access_token) = obtain(&issuer, "eu.europa.ec.eudi.pid_vc_sd_jwt", 2, 1).await;
    let anchors = issuer.anchors();
    let clock = FixedClock(NOW);
    for (credential, holder) in credentials.iter().zip(&holders) {
        let options = sd_jwt::VerifyOptions {
            issuer_key: IssuerKeySource::Anchors(&anchors),
            clock: &clock,
            skew: 60,
            typ: ExpectedTyp::SdJwtVc { accept_legacy_vc_sd_jwt: false },
            key_binding: KeyBindingPolicy::Forbidden,
        };
        let verified = sd_jwt::verify(credential, &options).unwrap();
        assert_eq!(verified.claims["given_name"], "Freja");
        assert_eq!(verified.claims["birthdate"], "1990-04-12");
        assert_eq!(verified.claims["iss"], "http://127.0.0.1:8080/default");
        assert_eq!(verified.claims["cnf"]["jwk"], holder.public_key().to_jwk());
    }
    // The notification endpoint accepts the id from the credential response... (the id is
    // checked in the service tests); an unknown one is refused.
    let (status, error) = issuer
        .json(post_json(
            "/default/notification",
            Some(&access_token),
            &json!({"notification_id": "nope", "event": "credential_accepted"}),
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"], "invalid_notification_id");
}

#[tokio::test]
async fn pid_mdoc_and_age_proof_end_to_end() {
    let issuer = issuer("mdoc").await;
    let anchors = issuer.anchors();
    let (credentials, holders, _) = obtain(&issuer, "eu.europa.ec.eudi.pid_mso_mdoc", 1, 2).await;
    let bytes = jose::base64url_decode(&credentials[0]).unwrap();
    let document = mdoc::verify_issuer_signed(
        &bytes,
        IssuerKeySource::Anchors(&anchors),
        &mdoc::VerifyOptions::default(),
        NOW,
    )
    .unwrap();
    assert_eq!(document.doc_type, "eu.europa.ec.eudi.pid.1");
    assert_eq!(&document.device_key, holders[0].public_key());
    assert_eq!(document.namespaces_json()["eu.europa.ec.eudi.pid.1"]["birth_date"], "1990-04-12");

    let (credentials, holders, _) = obtain(&issuer, "proof_of_age", 5, 3).await;
    for (credential, holder) in credentials.iter().zip(&holders) {
        let bytes = jose::base64url_decode(credential).unwrap();
        let document = mdoc::verify_issuer_signed(
            &bytes,
            IssuerKeySource::Anchors(&anchors),
            &mdoc::VerifyOptions::default(),
            NOW,
        )
        .unwrap();
        assert_eq!(document.doc_type, "eu.europa.ec.av.1");
        assert_eq!(&document.device_key, holder.public_key());
        let elements = &document.namespaces["eu.europa.ec.av.1"];
        assert_eq!(elements["age_over_18"], ciborium::Value::Bool(true));
        assert!(elements.keys().all(|name| name.starts_with("age_over_")), "{elements:?}");
    }

    let (credentials, _, _) = obtain(&issuer, "proof_of_age_vc_sd_jwt", 1, 4).await;
    let clock = FixedClock(NOW);
    let options = sd_jwt::VerifyOptions {
        issuer_key: IssuerKeySource::Anchors(&anchors),
        clock: &clock,
        skew: 60,
        typ: ExpectedTyp::SdJwtVc { accept_legacy_vc_sd_jwt: false },
        key_binding: KeyBindingPolicy::Forbidden,
    };
    let verified = sd_jwt::verify(&credentials[0], &options).unwrap();
    assert_eq!(verified.claims["age_equal_or_over"]["18"], true);
    assert!(verified.claims.get("birthdate").is_none());
}

/// The attestation type the default tenant defines purely in configuration (digital fuldmagt).
#[tokio::test]
async fn configured_attestation_end_to_end_in_both_formats() {
    let issuer = issuer("fuldmagt").await;
    let anchors = issuer.anchors();
    let claims = json!({
        "principal": {"name": "Jens Hansen"}, "representative": {"name": "Freja Nielsen"},
        "scope": ["skat", "bank"], "valid_from": "2026-12-01", "source": "Digital Fuldmagt"
    });
    let (credentials, holders, _) = obtain_with(&issuer, "dk.fuldmagt_vc_sd_jwt", claims.clone(), 1, 5).await;
    let clock = FixedClock(NOW);
    let options = sd_jwt::VerifyOptions {
        issuer_key: IssuerKeySource::Anchors(&anchors),
        clock: &clock,
        skew: 60,
        typ: ExpectedTyp::SdJwtVc { accept_legacy_vc_sd_jwt: false },
        key_binding: KeyBindingPolicy::Forbidden,
    };
    let verified = sd_jwt::verify(&credentials[0], &options).unwrap();
    assert_eq!(verified.claims["vct"], "urn:dk:attestation:fuldmagt:1");
    assert_eq!(verified.claims["representative"]["name"], "Freja Nielsen");
    assert_eq!(verified.claims["scope"], json!(["skat", "bank"]));
    assert_eq!(verified.claims["cnf"]["jwk"], holders[0].public_key().to_jwk());

    let (credentials, _, _) = obtain_with(&issuer, "dk.fuldmagt_mso_mdoc", claims, 1, 6).await;
    let bytes = jose::base64url_decode(&credentials[0]).unwrap();
    let document = mdoc::verify_issuer_signed(
        &bytes,
        IssuerKeySource::Anchors(&anchors),
        &mdoc::VerifyOptions::default(),
        NOW,
    )
    .unwrap();
    assert_eq!(document.doc_type, "dk.fuldmagt.1");
    assert_eq!(document.namespaces_json()["dk.fuldmagt.1"]["valid_from"], "2026-12-01");
}

#[tokio::test]
async fn offer_page_shows_a_qr_code_and_a_same_device_link() {
    let issuer = issuer("page").await;
    let (_, created) = issuer.json(post_json("/admin/v1/offers", Some(TOKEN), &json!({"credential_configuration_ids": ["proof_of_age"], "claims": {"birth_date": "1990-01-01"}})),
    )
    .await;
    let page = created["page_url"].as_str().unwrap().trim_start_matches("http://127.0.0.1:8080").to_owned();
    let (status, body, headers) = issuer.call(get(&page)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("<svg"));
    assert!(html.contains("href=\"openid-credential-offer://?credential_offer_uri="));
}

#[tokio::test]
async fn rejects_http_level_mistakes_with_error_json() {
    let issuer = issuer("errors").await;
    let offer =
        json!({"credential_configuration_ids": ["proof_of_age"], "claims": {"birth_date": "1990-01-01"}});
    let (status, error) = issuer.json(post_json("/admin/v1/offers", Some("wrong"), &offer)).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_token")));
    let (status, _) = issuer.json(post_json("/admin/v1/offers", None, &offer)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, error) = issuer.json(get("/.well-known/openid-credential-issuer/nobody")).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::NOT_FOUND, Some("invalid_request")));

    let (status, error) = issuer.json(get("/default/offers/unknown")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(error["error_description"].is_string());

    let request = Request::post("/default/credential")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, "Bearer whatever")
        .body(Body::from("{not json"))
        .unwrap();
    let (status, error) = issuer.json(request).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_credential_request"))
    );

    let (status, error) = issuer.json(post_json("/default/credential", None, &json!({}))).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_token")));

    let huge =
        json!({"credential_configuration_id": "proof_of_age", "proofs": {"jwt": ["x".repeat(300_000)]}});
    let (status, error) = issuer.json(post_json("/default/credential", Some("t"), &huge)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error["error"], "invalid_credential_request");

    let request = Request::post("/default/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("grant_type=password&username=x"))
        .unwrap();
    let (status, error) = issuer.json(request).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unsupported_grant_type")));
}

/// Two tenants on one deployment (a PID provider and a municipality): each has its own issuer
/// identifier, keys and catalogue, and nothing of one is reachable through the other.
#[tokio::test]
async fn tenants_are_isolated() {
    let file = r#"
        [[tenants]]
        id = "pid"
        name = { en = "PID provider" }
        [tenants.proof_of_age]

        [[tenants]]
        id = "kommune"
        name = { da = "Kommunen", en = "The municipality" }
        [tenants.proof_of_age_vc_sd_jwt]
    "#;
    let issuer = common::start("tenants", 10, |config| {
        *config = Config::from_sources(Some(file), &Default::default(), &Default::default()).unwrap();
        config.database_url = Some("sqlite::memory:".into());
    })
    .await;
    // Each tenant signs with its own key.
    let (_, pid_jwks) = issuer.json(get("/.well-known/jwt-vc-issuer/pid")).await;
    let (_, kommune_jwks) = issuer.json(get("/.well-known/jwt-vc-issuer/kommune")).await;
    assert_eq!(pid_jwks["issuer"], "http://127.0.0.1:8080/pid");
    assert_ne!(pid_jwks["jwks"]["keys"][0]["x"], kommune_jwks["jwks"]["keys"][0]["x"]);

    // Each catalogue is its own.
    let (_, pid) = issuer.json(get("/.well-known/openid-credential-issuer/pid")).await;
    let (_, kommune) = issuer.json(get("/.well-known/openid-credential-issuer/kommune")).await;
    assert_eq!(pid["credential_issuer"], "http://127.0.0.1:8080/pid");
    assert!(pid["credential_configurations_supported"]["proof_of_age"].is_object());
    assert!(pid["credential_configurations_supported"]["proof_of_age_vc_sd_jwt"].is_null());
    assert!(kommune["credential_configurations_supported"]["proof_of_age"].is_null());

    // With several tenants the unscoped admin form refuses; the scoped one works.
    let offer =
        json!({"credential_configuration_ids": ["proof_of_age"], "claims": {"birth_date": "1990-01-01"}});
    let (status, _) = issuer.json(post_json("/admin/v1/offers", Some(TOKEN), &offer)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, error) =
        issuer.json(post_json("/admin/v1/tenants/kommune/offers", Some(TOKEN), &offer)).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    let (status, created) = issuer.json(post_json("/admin/v1/tenants/pid/offers", Some(TOKEN), &offer)).await;
    assert_eq!(status, StatusCode::CREATED);
    let offer_id = created["offer_id"].as_str().unwrap();
    let code = created["credential_offer"]["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
        ["pre-authorized_code"]
        .as_str()
        .unwrap();

    // The offer, its code and the token it yields are invisible through the other tenant.
    let (status, _) = issuer.json(get(&format!("/kommune/offers/{offer_id}"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let form = |tenant: &str| {
        Request::post(format!("/{tenant}/token"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code={code}"
            )))
            .unwrap()
    };
    let (status, error) = issuer.json(form("kommune")).await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    let (status, token) = issuer.json(form("pid")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, error) = issuer
        .json(post_json(
            "/kommune/credential",
            token["access_token"].as_str(),
            &json!({"credential_configuration_id": "proof_of_age_vc_sd_jwt", "proofs": {"jwt": ["x"]}}),
        ))
        .await;
    assert_eq!((status, error["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_token")));
}

#[tokio::test]
async fn offer_is_available_by_value_too() {
    let issuer = issuer("by-value").await;
    let (status, created) = issuer.json(post_json("/admin/v1/offers", Some(TOKEN), &json!({"credential_configuration_ids": ["proof_of_age"], "claims": {"birth_date": "1990-01-01"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let by_value = created["offer_uri_by_value"].as_str().unwrap();
    let query = by_value.strip_prefix("openid-credential-offer://?credential_offer=").unwrap();
    let decoded: String =
        url::form_urlencoded::parse(format!("v={query}").as_bytes()).next().unwrap().1.into_owned();
    let offer: Value = serde_json::from_str(&decoded).unwrap();
    assert_eq!(offer, created["credential_offer"]);
}
