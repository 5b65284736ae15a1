//! Credential lifecycle through the real router: issue, read the published status list token
//! (verified with segl-credential's `StatusListVerifier` through the tenant's CA), revoke,
//! suspend and reinstate through the admin API, and the HTTP caching rules of the list.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{NOW, TOKEN, TestIssuer, post_json};
use rand::SeedableRng as _;
use segl_credential::clock::FixedClock;
use segl_credential::jose::{self, KeyReference};
use segl_credential::keys::SoftwareSigner;
use segl_credential::sd_jwt::{self, ExpectedTyp, KeyBindingPolicy};
use segl_credential::status_list::{Status, StatusClaim, StatusListVerifier, VerifiedStatusList};
use segl_credential::x509::IssuerKeySource;
use serde_json::{Value, json};

const ISSUER: &str = "http://127.0.0.1:8080/default";

async fn issuer(name: &str) -> TestIssuer {
    common::start(name, 21, |config| config.status_list_ttl_secs = 120).await
}

/// The lifecycle steps these tests take, on the shared test server.
trait StatusSteps {
    async fn issue(&self, subject: &str, seed: u64) -> (String, String);
    fn reference(&self, credential: &str) -> StatusClaim;
    async fn list(&self, uri: &str) -> (VerifiedStatusList, axum::http::HeaderMap, Vec<u8>);
    async fn set_status(&self, credential_id: &str, body: Value) -> (StatusCode, Value);
    async fn credential_ids(&self, offer_id: &str) -> Vec<Value>;
}

impl StatusSteps for TestIssuer {
    /// Admin offer (with `subject`) → token → nonce → one SD-JWT VC PID; returns the credential
    /// and the offer id.
    async fn issue(&self, subject: &str, seed: u64) -> (String, String) {
        let offer = json!({
            "credential_configuration_ids": ["eu.europa.ec.eudi.pid_vc_sd_jwt"],
            "claims": {"family_name": "Nielsen", "given_name": "Freja", "birth_date": "1990-04-12",
                "birth_place": {"locality": "Aarhus", "country": "DK"}, "nationality": ["DK"],
                "issuing_authority": "Segl test", "issuing_country": "DK"},
            "subject": subject,
        });
        let (status, created) = self.json(post_json("/admin/v1/offers", Some(TOKEN), &offer)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let code = created["credential_offer"]["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
            ["pre-authorized_code"]
            .as_str()
            .unwrap()
            .to_owned();
        let form = format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code={code}"
        );
        let request = Request::post("/default/token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap();
        let (status, token) = self.json(request).await;
        assert_eq!(status, StatusCode::OK, "{token}");
        let (_, nonce) = self.json(Request::post("/default/nonce").body(Body::empty()).unwrap()).await;
        let holder = SoftwareSigner::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(seed)).unwrap();
        let header = jose::header("openid4vci-proof+jwt", &holder, KeyReference::Jwk).unwrap();
        let claims = json!({"aud": ISSUER, "iat": NOW, "nonce": nonce["c_nonce"]});
        let proof = jose::sign_compact(header, claims.to_string().as_bytes(), &holder).unwrap();
        let request = json!({"credential_configuration_id": "eu.europa.ec.eudi.pid_vc_sd_jwt",
            "proofs": {"jwt": [proof]}});
        let (status, response) =
            self.json(post_json("/default/credential", token["access_token"].as_str(), &request)).await;
        assert_eq!(status, StatusCode::OK, "{response}");
        let credential = response["credentials"][0]["credential"].as_str().unwrap().to_owned();
        (credential, created["offer_id"].as_str().unwrap().to_owned())
    }

    /// The status reference inside an issued SD-JWT VC (verified to the tenant CA).
    fn reference(&self, credential: &str) -> StatusClaim {
        let anchors = self.anchors();
        let clock = FixedClock(NOW);
        let options = sd_jwt::VerifyOptions {
            issuer_key: IssuerKeySource::Anchors(&anchors),
            clock: &clock,
            skew: 0,
            typ: ExpectedTyp::SdJwtVc { accept_legacy_vc_sd_jwt: false },
            key_binding: KeyBindingPolicy::Forbidden,
        };
        let verified = sd_jwt::verify(credential, &options).unwrap();
        serde_json::from_value(verified.claims["status"].clone()).unwrap()
    }

    /// Fetches and verifies the list at `uri` in the JWT form.
    async fn list(&self, uri: &str) -> (VerifiedStatusList, axum::http::HeaderMap, Vec<u8>) {
        let path = uri.strip_prefix("http://127.0.0.1:8080").unwrap();
        let (status, body, headers) = self.call(get_as(path, None)).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        assert_eq!(headers[header::CONTENT_TYPE], "application/statuslist+jwt");
        let anchors = self.anchors();
        let clock = FixedClock(NOW);
        let verifier = StatusListVerifier::new(IssuerKeySource::Anchors(&anchors), &clock);
        let verified = verifier.verify_jwt(std::str::from_utf8(&body).unwrap(), uri).unwrap();
        (verified, headers, body)
    }

    async fn set_status(&self, credential_id: &str, body: Value) -> (StatusCode, Value) {
        self.json(post_json(&format!("/admin/v1/credentials/{credential_id}/status"), Some(TOKEN), &body))
            .await
    }

    async fn credential_ids(&self, offer_id: &str) -> Vec<Value> {
        let (status, listing) =
            self.json(get_as(&format!("/admin/v1/offers/{offer_id}/credentials"), Some(TOKEN))).await;
        assert_eq!(status, StatusCode::OK, "{listing}");
        listing["credentials"].as_array().unwrap().clone()
    }
}

/// A GET, with a bearer token when given.
fn get_as(uri: &str, bearer: Option<&str>) -> Request<Body> {
    let mut builder = Request::get(uri);
    if let Some(token) = bearer {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    builder.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn revoke_suspend_and_reinstate_show_in_fresh_tokens() {
    let issuer = issuer("lifecycle").await;
    let (credential, offer_id) = issuer.issue("person-1", 1).await;
    let reference = issuer.reference(&credential).status_list;
    assert_eq!(reference.uri, format!("{ISSUER}/status-lists/1"));

    let listed = issuer.credential_ids(&offer_id).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["status_list"], json!({"idx": reference.idx, "uri": reference.uri}));
    assert_eq!(listed[0]["status"], "valid");
    assert_eq!(listed[0]["subject"], "person-1");
    let id = listed[0]["credential_id"].as_str().unwrap().to_owned();

    let (list, headers, _) = issuer.list(&reference.uri).await;
    assert_eq!(list.status_of(&reference).unwrap(), Status::Valid);
    assert_eq!(
        (list.sub.as_str(), list.iat, list.ttl, list.exp),
        (reference.uri.as_str(), NOW, Some(120), Some(NOW + 420))
    );
    assert_eq!(list.list.len(), 1 << 20);
    assert_eq!(list.list.bits().count(), 2);
    assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=120");

    let (status, out) =
        issuer.set_status(&id, json!({"status": "suspended", "reason": "lost phone", "by": "clerk-7"})).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["changed"], json!([id]));
    let (list, _, _) = issuer.list(&reference.uri).await;
    assert_eq!(list.status_of(&reference).unwrap(), Status::Suspended);

    let (status, _) = issuer.set_status(&id, json!({"status": "valid", "reason": "phone found"})).await;
    assert_eq!(status, StatusCode::OK);
    let (list, _, _) = issuer.list(&reference.uri).await;
    assert_eq!(list.status_of(&reference).unwrap(), Status::Valid);

    let (status, _) = issuer.set_status(&id, json!({"status": "invalid", "reason": "deceased"})).await;
    assert_eq!(status, StatusCode::OK);
    let (list, _, revoked) = issuer.list(&reference.uri).await;
    assert_eq!(list.status_of(&reference).unwrap(), Status::Invalid);

    // Revocation is final: refused, and neither the store nor the published list changes.
    let (status, error) = issuer.set_status(&id, json!({"status": "valid", "reason": "oops"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"], "invalid_request");
    assert!(error["error_description"].as_str().unwrap().contains("final"), "{error}");
    let (list, _, same) = issuer.list(&reference.uri).await;
    assert_eq!(list.status_of(&reference).unwrap(), Status::Invalid);
    assert_eq!(same, revoked, "an unchanged list is served from cache, byte for byte");
    assert_eq!(issuer.credential_ids(&offer_id).await[0]["status"], "invalid");
}

#[tokio::test]
async fn bad_admin_requests_change_nothing() {
    let issuer = issuer("bad-admin").await;
    let (credential, offer_id) = issuer.issue("person-2", 2).await;
    let reference = issuer.reference(&credential).status_list;
    let (status, _) =
        issuer.set_status("no-such-credential", json!({"status": "invalid", "reason": "x"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let id = issuer.credential_ids(&offer_id).await[0]["credential_id"].as_str().unwrap().to_owned();
    for body in [
        json!({"status": "revoked", "reason": "x"}),
        json!({"status": "invalid"}),
        json!({"status": "invalid", "reason": "  "}),
        json!({"status": "invalid", "reason": "x", "extra": 1}),
    ] {
        let (status, error) = issuer.set_status(&id, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {error}");
    }
    let unauthorized = issuer
        .call(post_json(
            &format!("/admin/v1/credentials/{id}/status"),
            Some("wrong"),
            &json!({"status": "invalid", "reason": "x"}),
        ))
        .await;
    assert_eq!(unauthorized.0, StatusCode::UNAUTHORIZED);
    let (status, _) = issuer
        .json(post_json(
            "/admin/v1/credentials/status",
            Some(TOKEN),
            &json!({"offer_id": offer_id, "subject": "person-2", "status": "invalid", "reason": "x"}),
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (list, _, _) = issuer.list(&reference.uri).await;
    assert_eq!(list.status_of(&reference).unwrap(), Status::Valid);
    assert_eq!(list.list.count_non_valid(), 0);
    // Unknown lists and tenants are 404; history is not kept (501).
    assert_eq!(issuer.call(get_as("/default/status-lists/2", None)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(issuer.call(get_as("/default/status-lists/x", None)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(issuer.call(get_as("/nobody/status-lists/1", None)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        issuer.call(get_as("/default/status-lists/1?time=1700000000", None)).await.0,
        StatusCode::NOT_IMPLEMENTED
    );
}

#[tokio::test]
async fn revoke_everything_of_a_subject_or_an_offer() {
    let issuer = issuer("group").await;
    let (first, offer_1) = issuer.issue("person-3", 3).await;
    let (second, _) = issuer.issue("person-3", 4).await;
    let (other, offer_3) = issuer.issue("person-4", 5).await;
    let refs: Vec<_> = [&first, &second, &other].iter().map(|c| issuer.reference(c).status_list).collect();
    let (status, out) = issuer
        .json(post_json(
            "/admin/v1/credentials/status",
            Some(TOKEN),
            &json!({"subject": "person-3", "status": "invalid", "reason": "court order"}),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["changed"].as_array().unwrap().len(), 2);
    let (list, _, _) = issuer.list(&refs[0].uri).await;
    let statuses: Vec<Status> = refs.iter().map(|r| list.status_of(r).unwrap()).collect();
    assert_eq!(statuses, vec![Status::Invalid, Status::Invalid, Status::Valid]);
    assert_eq!(issuer.credential_ids(&offer_1).await[0]["status"], "invalid");

    let (status, _) = issuer
        .json(post_json(
            "/admin/v1/credentials/status",
            Some(TOKEN),
            &json!({"offer_id": offer_3, "status": "suspended", "reason": "review"}),
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (list, _, _) = issuer.list(&refs[2].uri).await;
    assert_eq!(list.status_of(&refs[2]).unwrap(), Status::Suspended);
    let (status, _) = issuer
        .json(post_json(
            "/admin/v1/credentials/status",
            Some(TOKEN),
            &json!({"subject": "nobody", "status": "invalid", "reason": "x"}),
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn etag_revalidation_and_the_cwt_form() {
    let issuer = issuer("http").await;
    let (credential, offer_id) = issuer.issue("person-5", 6).await;
    let reference = issuer.reference(&credential).status_list;
    let path = reference.uri.strip_prefix("http://127.0.0.1:8080").unwrap().to_owned();
    let (_, headers, body) = issuer.list(&reference.uri).await;
    let etag = headers[header::ETAG].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'));
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");

    let conditional = Request::get(&path).header(header::IF_NONE_MATCH, &etag).body(Body::empty()).unwrap();
    let (status, empty, headers) = issuer.call(conditional).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(empty.is_empty());
    assert_eq!(headers[header::ETAG], etag.as_str());
    assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=120");

    // A change publishes at once, under a new tag.
    let id = issuer.credential_ids(&offer_id).await[0]["credential_id"].as_str().unwrap().to_owned();
    issuer.set_status(&id, json!({"status": "invalid", "reason": "x"})).await;
    let conditional = Request::get(&path).header(header::IF_NONE_MATCH, &etag).body(Body::empty()).unwrap();
    let (status, fresh, headers) = issuer.call(conditional).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(fresh, body);
    assert_ne!(headers[header::ETAG], etag.as_str());

    let cwt =
        Request::get(&path).header(header::ACCEPT, "application/statuslist+cwt").body(Body::empty()).unwrap();
    let (status, body, headers) = issuer.call(cwt).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/statuslist+cwt");
    assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=120");
    let anchors = issuer.anchors();
    let clock = FixedClock(NOW);
    let verified = StatusListVerifier::new(IssuerKeySource::Anchors(&anchors), &clock)
        .verify_cwt(&body, &reference.uri)
        .unwrap();
    assert_eq!(verified.status_of(&reference).unwrap(), Status::Invalid);
    assert_eq!(verified.ttl, Some(120));
    // A malformed or foreign token is refused by the checker with a clear error.
    let mut tampered = body.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert!(
        StatusListVerifier::new(IssuerKeySource::Anchors(&anchors), &clock)
            .verify_cwt(&tampered, &reference.uri)
            .is_err()
    );
    assert!(
        StatusListVerifier::new(IssuerKeySource::Anchors(&anchors), &clock)
            .verify_cwt(&body, &format!("{ISSUER}/status-lists/2"))
            .is_err()
    );
}

#[tokio::test]
async fn tenant_scoped_admin_paths() {
    let issuer = issuer("scoped").await;
    let (credential, offer_id) = issuer.issue("person-6", 7).await;
    let reference = issuer.reference(&credential).status_list;
    let (status, listing) = issuer
        .json(get_as(&format!("/admin/v1/tenants/default/offers/{offer_id}/credentials"), Some(TOKEN)))
        .await;
    assert_eq!(status, StatusCode::OK, "{listing}");
    let id = listing["credentials"][0]["credential_id"].as_str().unwrap().to_owned();
    let body = json!({"status": "suspended", "reason": "scoped"});
    let (status, _) = issuer
        .json(post_json(&format!("/admin/v1/tenants/nobody/credentials/{id}/status"), Some(TOKEN), &body))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, out) = issuer
        .json(post_json(&format!("/admin/v1/tenants/default/credentials/{id}/status"), Some(TOKEN), &body))
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let (list, _, _) = issuer.list(&reference.uri).await;
    assert_eq!(list.status_of(&reference).unwrap(), Status::Suspended);
    let group = json!({"offer_id": offer_id, "status": "invalid", "reason": "scoped"});
    let (status, out) =
        issuer.json(post_json("/admin/v1/tenants/default/credentials/status", Some(TOKEN), &group)).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["changed"], json!([id]));
    let (list, _, _) = issuer.list(&reference.uri).await;
    assert_eq!(list.status_of(&reference).unwrap(), Status::Invalid);
}
