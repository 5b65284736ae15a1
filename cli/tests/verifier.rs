//! Runs real `segl verifier serve` processes and plays the shop backend and the wallet over
//! HTTP: the wallet checks the signed request object against the verifier's development access
//! CA, presents an SD-JWT VC (KB-JWT) or an mdoc DeviceResponse made with segl-credential's
//! holder code from credentials issued in-process under a development CA (passed as
//! `--trust-anchor`), and encrypts the answer for `direct_post.jwt`. Also: status lists fetched
//! from an HTTP server the test runs, the refusals (wrong nonce, replay, another transaction's
//! state, tokens, unknown ids, malformed answers, an answer after a failed one), and two nodes
//! sharing PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ciborium::Value as Cbor;
use rand::SeedableRng as _;
use rand_chacha::ChaCha20Rng;
use segl_credential::clock::{Clock as _, SystemClock, UnixTime};
use segl_credential::jose::{KeyReference, base64url_encode};
use segl_credential::keys::{PublicKey, Signer as _, SoftwareSigner};
use segl_credential::mdoc::{
    IssuerSignedBuilder, Presentation, SessionTranscript, Validity, build_device_response,
};
use segl_credential::sd_jwt::{self, ClaimPath, DisclosurePolicy, IssueOptions, KeyBindingInput, VcClaims};
use segl_credential::status_list::{Bits, Status, StatusClaim, StatusList, StatusListTokenClaims, sign_jwt};
use segl_credential::x509::{DevPki, DevPkiOptions, TrustAnchors, generate_dev_pki};
use segl_verifier::request::object::SELF_ISSUED_AUDIENCE;
use segl_verifier::request::{
    PID_DOCTYPE, PID_VCT, VerifiedRequestObject, WalletExpectations, verify_request_object,
};
use segl_verifier::response::jwe::{ContentEncryption, EncryptionParams, encrypt_compact};
use serde_json::{Map, Value, json};

const TOKEN: &str = "test-verifier-api-token";

/// A `segl verifier serve` child process, killed when dropped.
struct Node {
    child: Child,
    base: String,
    data_dir: PathBuf,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("segl-verifier-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn start(data_dir: &Path, trust_anchor: &Path, database_url: Option<&str>) -> Node {
    let mut args = vec!["--trust-anchor".to_owned(), trust_anchor.display().to_string()];
    if let Some(url) = database_url {
        args.extend(["--database-url".to_owned(), url.to_owned()]);
    }
    start_with(data_dir, &args).await
}

async fn start_with(data_dir: &Path, args: &[String]) -> Node {
    start_logged(data_dir, args, None).await
}

/// Starts a node; with `log`, its log (debug level, JSON lines) goes to that file.
async fn start_logged(data_dir: &Path, args: &[String], log: Option<&Path>) -> Node {
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_segl"));
    command
        .args(["verifier", "serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--public-url", &format!("http://localhost:{port}")])
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_clear()
        .env("SEGL_VERIFIER_API_TOKEN", TOKEN)
        .env("SEGL_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if let Some(log) = log {
        command
            .env("SEGL_LOG", "debug")
            .env("SEGL_LOG_FORMAT", "json")
            .stderr(std::fs::File::create(log).unwrap());
    }
    let node = Node {
        child: command.spawn().unwrap(),
        base: format!("http://localhost:{port}"),
        data_dir: data_dir.into(),
    };
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client.get(format!("{}/health", node.base)).send().await.is_ok_and(|r| r.status().is_success()) {
            return node;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("segl verifier serve did not come up on {}", node.base);
}

fn now() -> UnixTime {
    SystemClock.now()
}

fn issuer_pki(name: &str, rng: &mut ChaCha20Rng) -> DevPki {
    let options = DevPkiOptions {
        ca_common_name: format!("{name} CA"),
        issuer_common_name: name.to_owned(),
        country: Some("DK".into()),
        dns_names: vec![],
        uris: vec![],
        mdoc_ds_eku: true,
        not_before: now() - 86_400,
        not_after: now() + 86_400,
    };
    generate_dev_pki(&options, rng).unwrap()
}

/// The issuer (development CA in a PEM file for `--trust-anchor`) and the wallet's holder key.
struct World {
    issuer: DevPki,
    ca_file: PathBuf,
    holder: SoftwareSigner,
    rng: ChaCha20Rng,
    dir: PathBuf,
}

impl World {
    fn new(name: &str, seed: u64) -> World {
        let dir = temp_dir(name);
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let issuer = issuer_pki("Test Issuer", &mut rng);
        let ca_file = dir.join("issuer-ca.pem");
        std::fs::write(&ca_file, &issuer.ca_pem).unwrap();
        let holder = SoftwareSigner::generate(&mut rng).unwrap();
        World { issuer, ca_file, holder, rng, dir }
    }

    async fn node(&self, name: &str) -> Node {
        start(&self.dir.join(name), &self.ca_file, None).await
    }

    fn pid_sd_jwt(&mut self, status: Option<&StatusClaim>) -> String {
        let claims = json!({"family_name": "Jensen", "given_name": "Karen", "birthdate": "1990-02-01"});
        let claims: Map<String, Value> = claims.as_object().cloned().unwrap();
        let paths: Vec<ClaimPath> = claims.keys().map(|name| ClaimPath::keys([name.as_str()])).collect();
        let holder_key = self.holder.public_key();
        let vc = VcClaims {
            iss: Some("https://issuer.example"),
            vct: PID_VCT,
            iat: Some(now() - 60),
            exp: Some(now() + 86_400),
            holder_key: Some(holder_key),
            status,
            ..VcClaims::default()
        };
        let policy = DisclosurePolicy::new(paths).unwrap();
        sd_jwt::issue_vc(
            &vc,
            claims,
            &policy,
            &IssueOptions::default(),
            &self.issuer.issuer_signer,
            &mut self.rng,
        )
        .unwrap()
    }

    fn sd_jwt_presentation(
        &mut self,
        request: &VerifiedRequestObject,
        status: Option<&StatusClaim>,
    ) -> String {
        let credential = self.pid_sd_jwt(status);
        let selection = [ClaimPath::keys(["family_name"]), ClaimPath::keys(["given_name"])];
        let audience = request.client_id.to_string();
        let input = KeyBindingInput {
            audience: &audience,
            nonce: &request.nonce,
            issued_at: now() - 5,
            signer: &self.holder,
        };
        sd_jwt::present(&credential, &selection, Some(&input)).unwrap()
    }

    fn mdoc_presentation(&mut self, request: &VerifiedRequestObject) -> String {
        let validity = Validity {
            signed: now() - 60,
            valid_from: now() - 60,
            valid_until: now() + 86_400,
            expected_update: None,
        };
        let issuer_signed = IssuerSignedBuilder::new(PID_DOCTYPE, validity)
            .element(PID_DOCTYPE, "family_name", Cbor::from("Jensen"))
            .element(PID_DOCTYPE, "given_name", Cbor::from("Karen"))
            .element(PID_DOCTYPE, "birth_date", Cbor::from("1990-02-01"))
            .issue(self.holder.public_key(), &self.issuer.issuer_signer, &mut self.rng)
            .unwrap();
        let thumbprint =
            request.encryption_jwk.as_ref().map(|jwk| PublicKey::from_jwk(jwk).unwrap().jwk_thumbprint());
        let transcript = SessionTranscript::openid4vp(
            &request.client_id.to_string(),
            &request.nonce,
            thumbprint.as_ref(),
            &request.response_uri,
        );
        let disclose = [(PID_DOCTYPE, "family_name"), (PID_DOCTYPE, "given_name")];
        let presentation =
            Presentation { issuer_signed: &issuer_signed, disclose: &disclose, device_key: &self.holder };
        base64url_encode(build_device_response(&[presentation], &transcript).unwrap())
    }

    /// An SD-JWT VC of `vct` with every claim disclosable, presented with `selection`.
    fn sd_jwt_of(
        &mut self,
        vct: &str,
        claims: Value,
        selection: &[&[&str]],
        audience: &str,
        nonce: &str,
    ) -> String {
        let claims: Map<String, Value> = claims.as_object().cloned().unwrap();
        let mut paths: Vec<ClaimPath> = claims.keys().map(|name| ClaimPath::keys([name.as_str()])).collect();
        for (name, value) in &claims {
            if let Value::Object(inner) = value {
                paths.extend(inner.keys().map(|key| ClaimPath::keys([name.as_str(), key.as_str()])));
            }
        }
        let vc = VcClaims {
            iss: Some("https://issuer.example"),
            vct,
            iat: Some(now() - 60),
            exp: Some(now() + 86_400),
            holder_key: Some(self.holder.public_key()),
            ..VcClaims::default()
        };
        let policy = DisclosurePolicy::new(paths).unwrap();
        let credential = sd_jwt::issue_vc(
            &vc,
            claims,
            &policy,
            &IssueOptions::default(),
            &self.issuer.issuer_signer,
            &mut self.rng,
        )
        .unwrap();
        let selection: Vec<ClaimPath> =
            selection.iter().map(|path| ClaimPath::keys(path.iter().copied())).collect();
        let input = KeyBindingInput { audience, nonce, issued_at: now() - 5, signer: &self.holder };
        sd_jwt::present(&credential, &selection, Some(&input)).unwrap()
    }

    /// An mdoc of `doctype` with `elements` in the namespace named like the doctype, all disclosed.
    fn mdoc_of(
        &mut self,
        doctype: &str,
        elements: &[(&str, Cbor)],
        request: &VerifiedRequestObject,
    ) -> String {
        let validity = Validity {
            signed: now() - 60,
            valid_from: now() - 60,
            valid_until: now() + 86_400,
            expected_update: None,
        };
        let issuer_signed = elements
            .iter()
            .fold(IssuerSignedBuilder::new(doctype, validity), |builder, (name, value)| {
                builder.element(doctype, *name, value.clone())
            })
            .issue(self.holder.public_key(), &self.issuer.issuer_signer, &mut self.rng)
            .unwrap();
        let thumbprint =
            request.encryption_jwk.as_ref().map(|jwk| PublicKey::from_jwk(jwk).unwrap().jwk_thumbprint());
        let transcript = SessionTranscript::openid4vp(
            &request.client_id.to_string(),
            &request.nonce,
            thumbprint.as_ref(),
            &request.response_uri,
        );
        let disclose: Vec<(&str, &str)> = elements.iter().map(|(name, _)| (doctype, *name)).collect();
        let presentation =
            Presentation { issuer_signed: &issuer_signed, disclose: &disclose, device_key: &self.holder };
        base64url_encode(build_device_response(&[presentation], &transcript).unwrap())
    }

    /// A compact JWE of `payload` to the verifier's ephemeral key.
    fn encrypt(&mut self, jwk: &Value, payload: &Value) -> String {
        let recipient = PublicKey::from_jwk(jwk).unwrap();
        let params = EncryptionParams {
            kid: jwk["kid"].as_str(),
            enc: ContentEncryption::A256Gcm,
            apu: None,
            apv: None,
            deflate: false,
        };
        encrypt_compact(&recipient, &params, payload.to_string().as_bytes(), &mut self.rng).unwrap()
    }

    /// The form the wallet posts: in clear for `direct_post`, a JWE for `direct_post.jwt`.
    fn answer(&mut self, request: &VerifiedRequestObject, vp_token: Value) -> Vec<(String, String)> {
        let state = request.state.clone().unwrap();
        match &request.encryption_jwk {
            None => vec![("vp_token".into(), vp_token.to_string()), ("state".into(), state)],
            Some(jwk) => {
                let payload = json!({"vp_token": vp_token, "state": state});
                vec![("response".into(), self.encrypt(jwk, &payload))]
            }
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn sd_jwt_query() -> Value {
    json!({"credentials": [{"id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": [PID_VCT]},
        "claims": [{"path": ["family_name"]}, {"path": ["given_name"]}]}]})
}

fn mdoc_query() -> Value {
    json!({"credentials": [{"id": "pid", "format": "mso_mdoc", "meta": {"doctype_value": PID_DOCTYPE},
        "claims": [{"path": [PID_DOCTYPE, "family_name"]}, {"path": [PID_DOCTYPE, "given_name"]}]}]})
}

async fn create(node: &Node, body: Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}/verifier/v1/transactions", node.base))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    response.json().await.unwrap()
}

async fn status(url: &str) -> (u16, Value) {
    let response = reqwest::Client::new().get(url).bearer_auth(TOKEN).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// The wallet's side of the invocation URL: fetch the object (POST with `wallet_nonce` when
/// asked) and check it against the node's access CA.
async fn fetch(node: &Node, created: &Value) -> VerifiedRequestObject {
    let invocation = url::Url::parse(created["authorization_request"].as_str().unwrap()).unwrap();
    assert_eq!(invocation.scheme(), "openid4vp");
    let params: Map<String, Value> =
        invocation.query_pairs().map(|(k, v)| (k.into_owned(), Value::from(v.into_owned()))).collect();
    let client_id = params["client_id"].as_str().unwrap().to_owned();
    let request_uri = params["request_uri"].as_str().unwrap();
    assert_eq!(request_uri, created["request_uri"]);
    let post = params.get("request_uri_method").and_then(Value::as_str) == Some("post");
    let wallet_nonce = "wallet-nonce-1234";
    let client = reqwest::Client::new();
    let response = if post {
        client.post(request_uri).form(&[("wallet_nonce", wallet_nonce)]).send().await.unwrap()
    } else {
        client.get(request_uri).send().await.unwrap()
    };
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/oauth-authz-req+jwt");
    let jws = response.text().await.unwrap();
    let mut anchors = TrustAnchors::new();
    anchors.add_pem(&std::fs::read_to_string(node.data_dir.join("access-ca.pem")).unwrap()).unwrap();
    let expect = WalletExpectations {
        anchors: &anchors,
        now: now(),
        invocation_client_id: &client_id,
        audience: SELF_ISSUED_AUDIENCE,
        wallet_nonce: post.then_some(wallet_nonce),
    };
    verify_request_object(&jws, &expect).unwrap()
}

async fn post_answer(request: &VerifiedRequestObject, form: &[(String, String)]) -> (u16, Value) {
    let response = reqwest::Client::new().post(&request.response_uri).form(form).send().await.unwrap();
    let code = response.status().as_u16();
    (code, response.json().await.unwrap_or(Value::Null))
}

fn assert_pid_claims(status: &Value) {
    assert_eq!(status["status"], "verified", "{status}");
    let claims = &status["claims"]["pid"][0];
    let family = claims.get("family_name").or_else(|| claims.pointer(&format!("/{PID_DOCTYPE}/family_name")));
    assert_eq!(family, Some(&json!("Jensen")), "{status}");
    assert_eq!(status["reasons"], json!([]));
}

#[tokio::test]
async fn sd_jwt_presentation_verifies_over_direct_post_jwt() {
    let mut world = World::new("sd-jwt", 1);
    let node = world.node("node").await;
    let created = create(&node, json!({"dcql_query": sd_jwt_query()})).await;
    assert_eq!(
        status(created["status_url"].as_str().unwrap()).await,
        (200, json!({"status": "pending", "claims": {}, "reasons": []}))
    );
    let request = fetch(&node, &created).await;
    assert!(request.encryption_jwk.is_some(), "direct_post.jwt is the default");
    let presentation = world.sd_jwt_presentation(&request, None);
    let form = world.answer(&request, json!({"pid": [presentation]}));
    assert_eq!(post_answer(&request, &form).await, (200, json!({})));
    let (code, body) = status(created["status_url"].as_str().unwrap()).await;
    assert_eq!(code, 200);
    assert_pid_claims(&body);
    assert_eq!(body["claims"]["pid"][0]["given_name"], "Karen");
}

#[tokio::test]
async fn mdoc_presentation_verifies_over_direct_post_with_request_uri_post() {
    let mut world = World::new("mdoc", 2);
    let node = world.node("node").await;
    let created = create(
        &node,
        json!({"dcql_query": mdoc_query(), "response_mode": "direct_post", "request_uri_method": "post"}),
    )
    .await;
    let request = fetch(&node, &created).await;
    assert!(request.encryption_jwk.is_none());
    let presentation = world.mdoc_presentation(&request);
    let form = world.answer(&request, json!({"pid": [presentation]}));
    assert_eq!(post_answer(&request, &form).await, (200, json!({})));
    let (_, body) = status(created["status_url"].as_str().unwrap()).await;
    assert_pid_claims(&body);
}

#[tokio::test]
async fn rejects_wrong_nonce_and_marks_the_transaction_rejected() {
    let mut world = World::new("nonce", 3);
    let node = world.node("node").await;
    let created = create(&node, json!({"dcql_query": sd_jwt_query()})).await;
    let mut request = fetch(&node, &created).await;
    request.nonce = "not-the-nonce".into();
    let presentation = world.sd_jwt_presentation(&request, None);
    let form = world.answer(&request, json!({"pid": [presentation]}));
    let (code, body) = post_answer(&request, &form).await;
    assert_eq!(code, 400);
    assert_eq!(body["error"], "invalid_request");
    let (_, body) = status(created["status_url"].as_str().unwrap()).await;
    assert_eq!(body["status"], "rejected");
    assert_eq!(body["claims"], json!({}));
    assert!(!body["reasons"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn rejects_replayed_response_and_keeps_the_outcome() {
    let mut world = World::new("replay", 4);
    let node = world.node("node").await;
    let created = create(&node, json!({"dcql_query": sd_jwt_query()})).await;
    let request = fetch(&node, &created).await;
    let presentation = world.sd_jwt_presentation(&request, None);
    let form = world.answer(&request, json!({"pid": [presentation]}));
    assert_eq!(post_answer(&request, &form).await.0, 200);
    let (_, before) = status(created["status_url"].as_str().unwrap()).await;
    let (code, body) = post_answer(&request, &form).await;
    assert_eq!(code, 400);
    assert_eq!(body["error"], "invalid_request");
    // The request object is gone too, and the outcome is unchanged.
    let refetch = reqwest::get(created["request_uri"].as_str().unwrap()).await.unwrap();
    assert_eq!(refetch.status(), 400);
    assert_eq!(status(created["status_url"].as_str().unwrap()).await, (200, before));
}

#[tokio::test]
async fn rejects_state_of_another_transaction() {
    let mut world = World::new("state", 5);
    let node = world.node("node").await;
    let created = create(&node, json!({"dcql_query": sd_jwt_query(), "response_mode": "direct_post"})).await;
    let other = create(&node, json!({"dcql_query": sd_jwt_query(), "response_mode": "direct_post"})).await;
    let request = fetch(&node, &created).await;
    let other_request = fetch(&node, &other).await;
    let presentation = world.sd_jwt_presentation(&request, None);
    let mut form = world.answer(&request, json!({"pid": [presentation]}));
    form[1].1 = other_request.state.clone().unwrap();
    assert_eq!(post_answer(&request, &form).await.0, 400);
    assert_eq!(status(created["status_url"].as_str().unwrap()).await.1["status"], "rejected");
    // The other transaction is untouched.
    assert_eq!(status(other["status_url"].as_str().unwrap()).await.1["status"], "pending");
}

#[tokio::test]
async fn rejects_a_second_response_after_a_failed_one() {
    let mut world = World::new("second", 6);
    let node = world.node("node").await;
    let created = create(&node, json!({"dcql_query": sd_jwt_query()})).await;
    let request = fetch(&node, &created).await;
    let mut wrong = request.clone();
    wrong.nonce = "wrong".into();
    let bad = world.sd_jwt_presentation(&wrong, None);
    let form = world.answer(&request, json!({"pid": [bad]}));
    assert_eq!(post_answer(&request, &form).await.0, 400);
    let good = world.sd_jwt_presentation(&request, None);
    let form = world.answer(&request, json!({"pid": [good]}));
    let (code, body) = post_answer(&request, &form).await;
    assert_eq!(code, 400);
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(status(created["status_url"].as_str().unwrap()).await.1["status"], "rejected");
}

#[tokio::test]
async fn rejects_missing_or_wrong_api_token_and_unknown_transactions() {
    let world = World::new("token", 7);
    let node = world.node("node").await;
    let client = reqwest::Client::new();
    let url = format!("{}/verifier/v1/transactions", node.base);
    let body = json!({"preset": "age_over_18"});
    let none = client.post(&url).json(&body).send().await.unwrap();
    assert_eq!(none.status(), 401);
    assert_eq!(none.json::<Value>().await.unwrap()["error"], "invalid_token");
    let wrong = client.post(&url).bearer_auth("nope").json(&body).send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let created = create(&node, body).await;
    let status_url = created["status_url"].as_str().unwrap();
    assert_eq!(client.get(status_url).send().await.unwrap().status(), 401);
    assert_eq!(client.get(status_url).bearer_auth("nope").send().await.unwrap().status(), 401);
    // Unknown ids: a well-formed one and junk; the request id is not a transaction id.
    let request_id = created["request_uri"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    for id in ["A".repeat(43), "junk".to_owned(), request_id.clone()] {
        let (code, body) = status(&format!("{}/verifier/v1/transactions/{id}", node.base)).await;
        assert_eq!((code, body["error"].as_str()), (404, Some("not_found")), "{id}");
    }
    let unknown =
        client.get(format!("{}/verifier/v1/requests/{}", node.base, "B".repeat(43))).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    let form = [("vp_token", "{}"), ("state", "x")];
    let unknown = client
        .post(format!("{}/verifier/v1/responses/{}", node.base, "B".repeat(43)))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    // Bad bodies.
    let bad =
        client.post(&url).bearer_auth(TOKEN).json(&json!({"preset": "everything"})).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    let bad = client
        .post(&url)
        .bearer_auth(TOKEN)
        .json(&json!({"dcql_query": {"credentials": []}}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(bad.json::<Value>().await.unwrap()["error"], "invalid_request");
}

#[tokio::test]
async fn rejects_malformed_forms_and_jwe() {
    let mut world = World::new("malformed", 8);
    let node = world.node("node").await;
    let client = reqwest::Client::new();
    let created = create(&node, json!({"dcql_query": sd_jwt_query()})).await;
    let request = fetch(&node, &created).await;
    // Not a form, no answer at all, two answers: refused without touching the transaction.
    let not_form = client.post(&request.response_uri).json(&json!({"vp_token": {}})).send().await.unwrap();
    assert_eq!(not_form.status(), 415);
    for form in [vec![("foo", "bar")], vec![("vp_token", "{}"), ("response", "x.y.z.a.b")]] {
        let response = client.post(&request.response_uri).form(&form).send().await.unwrap();
        assert_eq!(response.status(), 400);
        assert_eq!(response.json::<Value>().await.unwrap()["error"], "invalid_request");
    }
    assert_eq!(status(created["status_url"].as_str().unwrap()).await.1["status"], "pending");
    // A JWE that does not decrypt is a rejected answer.
    let response =
        client.post(&request.response_uri).form(&[("response", "a.b.c.d.e")]).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(status(created["status_url"].as_str().unwrap()).await.1["status"], "rejected");
    // And nothing after it counts.
    let presentation = world.sd_jwt_presentation(&request, None);
    let form = world.answer(&request, json!({"pid": [presentation]}));
    assert_eq!(post_answer(&request, &form).await.0, 400);
}

/// An HTTP server publishing one status list token, the issuer's side of status.
async fn status_server(world: &World, revoked_index: u64) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://127.0.0.1:{}/status/1", listener.local_addr().unwrap().port());
    let mut list = StatusList::new(Bits::One, 1024).unwrap();
    list.set(revoked_index, Status::Invalid).unwrap();
    let mut claims = StatusListTokenClaims::new(uri.clone(), now() - 10);
    claims.ttl = Some(60);
    let token = sign_jwt(&list, &claims, &world.issuer.issuer_signer, KeyReference::X5c).unwrap();
    let app = axum::Router::new().route(
        "/status/1",
        axum::routing::get(move || {
            let token = token.clone();
            async move { ([("content-type", "application/statuslist+jwt")], token) }
        }),
    );
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (uri, server)
}

#[tokio::test]
async fn status_lists_are_fetched_and_revoked_credentials_rejected() {
    let mut world = World::new("status", 9);
    let node = world.node("node").await;
    let (uri, server) = status_server(&world, 7).await;
    // A list nobody serves: the credential's status cannot be established.
    let nowhere = format!("http://127.0.0.1:{}/status/1", free_port());
    for (index, list, expected, reason) in [
        (3, &uri, "verified", None),
        (7, &uri, "rejected", Some("revoked")),
        (3, &nowhere, "rejected", Some("status_unavailable")),
    ] {
        let created = create(&node, json!({"dcql_query": sd_jwt_query()})).await;
        let request = fetch(&node, &created).await;
        let claim = StatusClaim::new(index, list.clone());
        let presentation = world.sd_jwt_presentation(&request, Some(&claim));
        let form = world.answer(&request, json!({"pid": [presentation]}));
        let (code, _) = post_answer(&request, &form).await;
        let (_, body) = status(created["status_url"].as_str().unwrap()).await;
        assert_eq!(body["status"], expected, "index {index}: {body}");
        assert_eq!(code, if expected == "verified" { 200 } else { 400 });
        if let Some(reason) = reason {
            assert_eq!(body["reasons"][0]["code"], reason, "{body}");
        }
    }
    server.abort();
    // One fetch of the served list (cached for the second presentation), one failed fetch.
    let text = metrics_text(&format!("{}/metrics", node.base)).await;
    assert!(text.contains(r#"segl_verifier_status_list_fetches_total{result="ok"} 1"#), "{text}");
    assert!(text.contains(r#"segl_verifier_status_list_fetches_total{result="error"} 1"#), "{text}");
    assert!(text.contains(r#"segl_verifier_rejections_total{reason="revoked"} 1"#), "{text}");
}

fn postgres_schema() -> (String, String) {
    let base = std::env::var("SEGL_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("segl_verifier_{}_{}", std::process::id(), free_port());
    let status =
        Command::new("psql").arg(&base).args(["-q", "-c", &format!("CREATE SCHEMA {schema}")]).status();
    assert!(
        status.is_ok_and(|s| s.success()),
        "PostgreSQL at {base} is needed (scripts/test starts one; set SEGL_TEST_POSTGRES_URL)"
    );
    let joiner = if base.contains('?') { '&' } else { '?' };
    (format!("{base}{joiner}options=-c%20search_path%3D{schema}"), schema)
}

#[tokio::test]
async fn two_nodes_on_one_postgres_share_transactions() {
    let mut world = World::new("two-nodes", 10);
    let (url, schema) = postgres_schema();
    // Both nodes share the data dir's access certificate, as nodes behind one name do.
    let shared = world.dir.join("shared");
    let a = start(&shared, &world.ca_file, Some(&url)).await;
    let b = start(&shared, &world.ca_file, Some(&url)).await;
    let created = create(&a, json!({"dcql_query": sd_jwt_query()})).await;
    // The wallet reaches node B for the request object and the answer.
    let rebase = |text: &str| text.replace(&a.base, &b.base);
    let on_b = json!({
        "authorization_request": created["authorization_request"].as_str().unwrap().replace(
            &url::form_urlencoded::byte_serialize(a.base.as_bytes()).collect::<String>(),
            &url::form_urlencoded::byte_serialize(b.base.as_bytes()).collect::<String>()),
        "request_uri": rebase(created["request_uri"].as_str().unwrap()),
    });
    let mut request = fetch(&b, &on_b).await;
    let presentation = world.sd_jwt_presentation(&request, None);
    let form = world.answer(&request, json!({"pid": [presentation]}));
    request.response_uri = rebase(&request.response_uri);
    assert_eq!(post_answer(&request, &form).await, (200, json!({})));
    // Read on A; a replay on A is refused.
    let (_, body) = status(created["status_url"].as_str().unwrap()).await;
    assert_pid_claims(&body);
    request.response_uri = request.response_uri.replace(&b.base, &a.base);
    assert_eq!(post_answer(&request, &form).await.0, 400);
    drop((a, b));
    let base = std::env::var("SEGL_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let _ = Command::new("psql")
        .arg(&base)
        .args(["-q", "-c", &format!("DROP SCHEMA {schema} CASCADE")])
        .env("PGOPTIONS", "--client-min-messages=warning")
        .status();
}

/// A scheme operator (the Danish example) whose PID provider and attestation provider CAs are
/// the given ones, publishing a signed LoTE served over loopback HTTP.
async fn trust_list_operator(dir: &Path, pid_ca: &DevPki, attestation_ca: &DevPki) -> (String, PathBuf) {
    use segl_trust_list::{config::TrustListConfig, dev, publish};
    std::fs::create_dir_all(dir.join("certs")).unwrap();
    let config = dir.join("dk.toml");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../trust-list/examples/dk.toml");
    std::fs::copy(example, &config).unwrap();
    std::fs::write(dir.join("certs/pid-provider-ca.pem"), &pid_ca.ca_pem).unwrap();
    std::fs::write(dir.join("certs/attestation-provider-ca.pem"), &attestation_ca.ca_pem).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(99);
    dev::ensure_dev_certificates(&config, now() - 86_400, now() + 86_400, &mut rng).unwrap();
    let loaded = TrustListConfig::load(&config).unwrap();
    let signer = publish::operator_signer(&loaded, dir, now()).unwrap();
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    publish::publish(&config, &out, &signer, &SystemClock).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/{}", listener.local_addr().unwrap(), publish::LOTE_JWS);
    let router = segl_trust_list::serve::router(out);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, dir.join("certs/operator-ca.pem"))
}

#[tokio::test]
async fn trust_list_names_the_pid_providers() {
    let mut world = World::new("trust-list", 11);
    let pid_provider = issuer_pki("PID Provider", &mut world.rng);
    let attestation_provider = issuer_pki("Attestation Provider", &mut world.rng);
    let (url, operator) =
        trust_list_operator(&world.dir.join("operator"), &pid_provider, &attestation_provider).await;
    let args =
        ["--trust-list".to_owned(), url, "--trust-list-operator".to_owned(), operator.display().to_string()];
    let node = start_with(&world.dir.join("node"), &args).await;
    // A PID from the PID provider verifies; the same PID from the attestation provider, or from
    // an issuer the list does not name, is no PID.
    for (issuer, expected) in [(pid_provider, "verified"), (attestation_provider, "rejected")] {
        world.issuer = issuer;
        let created = create(&node, json!({"dcql_query": sd_jwt_query()})).await;
        let request = fetch(&node, &created).await;
        let presentation = world.sd_jwt_presentation(&request, None);
        let form = world.answer(&request, json!({"pid": [presentation]}));
        post_answer(&request, &form).await;
        let (_, body) = status(created["status_url"].as_str().unwrap()).await;
        assert_eq!(body["status"], expected, "{body}");
        if expected == "rejected" {
            assert_eq!(body["reasons"][0]["code"], "untrusted_issuer", "{body}");
        }
    }
    // The list's state is exposed as gauges.
    let text = metrics_text(&format!("{}/metrics", node.base)).await;
    for line in ["segl_verifier_trust_list_usable 1", "segl_verifier_trust_list_last_refresh_ok 1"] {
        assert!(text.lines().any(|l| l == line), "missing {line} in\n{text}");
    }
    for name in [
        "segl_verifier_trust_list_last_refresh_timestamp_seconds ",
        "segl_verifier_trust_list_next_update_timestamp_seconds ",
        "segl_verifier_trust_list_sequence_number ",
    ] {
        assert!(text.lines().any(|l| l.starts_with(name)), "missing {name} in\n{text}");
    }
}

/// The shop page's own endpoints, backed by the service: start a check, let the wallet answer,
/// poll "over 18?" (and nothing else).
async fn page_check(
    node: &Node,
    world: &mut World,
    answer: impl FnOnce(&mut World, &VerifiedRequestObject) -> Value,
) -> Value {
    let client = reqwest::Client::new();
    let started: Value = client
        .post(format!("{}/age-check", node.base))
        .header("origin", &node.base)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let check_id = started["check_id"].as_str().unwrap().to_owned();
    let invocation = url::Url::parse(started["authorization_request"].as_str().unwrap()).unwrap();
    let request_uri = invocation.query_pairs().find(|(k, _)| k == "request_uri").unwrap().1.into_owned();
    let created =
        json!({"authorization_request": started["authorization_request"], "request_uri": request_uri});
    let poll = format!("{}/age-check/{check_id}", node.base);
    let pending: Value = client.get(&poll).send().await.unwrap().json().await.unwrap();
    assert_eq!(pending["status"], "pending");
    let request = fetch(node, &created).await;
    let vp_token = answer(world, &request);
    let form = world.answer(&request, vp_token);
    // A same-device wallet is sent back to the page itself: no check id, request id or code in
    // the URL (the page that started the check holds its check id and keeps polling).
    assert_eq!(post_answer(&request, &form).await, (200, json!({"redirect_uri": format!("{}/", node.base)})));
    client.get(&poll).send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn page_age_check_answers_over_18_from_an_mdoc_alias_or_an_sd_jwt() {
    use segl_verifier::request::AGE_VCT;
    use segl_verifier::response::DK_AGE_DOCTYPE;
    let mut world = World::new("page", 12);
    let node = world.node("node").await;
    // The Danish pilot's docType is accepted for eu.europa.ec.av.1.
    let polled = page_check(&node, &mut world, |world, request| {
        let mdoc = world.mdoc_of(DK_AGE_DOCTYPE, &[("age_over_18", Cbor::Bool(true))], request);
        json!({"age_mdoc": [mdoc]})
    })
    .await;
    assert_eq!(polled, json!({"status": "verified", "over_18": true}));
    let polled = page_check(&node, &mut world, |world, request| {
        let claims = json!({"age_equal_or_over": {"18": false}});
        let audience = request.client_id.to_string();
        let path: &[&str] = &["age_equal_or_over", "18"];
        json!({"age_sd_jwt": [world.sd_jwt_of(AGE_VCT, claims, &[path], &audience, &request.nonce)]})
    })
    .await;
    assert_eq!(polled, json!({"status": "verified", "over_18": false}));
    // The page's check id is the transaction id; without the API token it reveals nothing more.
    let unknown: reqwest::Response =
        reqwest::get(format!("{}/age-check/{}", node.base, "C".repeat(43))).await.unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn page_age_check_over_the_digital_credentials_api() {
    use segl_credential::jose::CompactJws;
    use segl_verifier::request::AGE_VCT;
    let mut world = World::new("dc-api", 13);
    let node = world.node("node").await;
    let client = reqwest::Client::new();
    let started: Value = client
        .post(format!("{}/age-check/dc-api", node.base))
        .header("origin", &node.base)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let check_id = started["check_id"].as_str().unwrap();
    // The browser hands the signed request to the wallet, which checks it against the access CA.
    let entry = &started["request"]["requests"][0];
    assert_eq!(entry["protocol"], "openid4vp-v1-signed");
    let jws = CompactJws::parse(entry["data"]["request"].as_str().unwrap()).unwrap();
    let chain = jws.x5c().unwrap().unwrap();
    let mut anchors = TrustAnchors::new();
    anchors.add_pem(&std::fs::read_to_string(node.data_dir.join("access-ca.pem")).unwrap()).unwrap();
    jws.verify(&anchors.validate(&chain, now()).unwrap().leaf_key).unwrap();
    let parameters = jws.payload_json().unwrap();
    assert_eq!(parameters["expected_origins"], json!([node.base]));
    assert_eq!(parameters["response_mode"], "dc_api.jwt");
    let nonce = parameters["nonce"].as_str().unwrap();
    let path: &[&str] = &["age_equal_or_over", "18"];
    let presentation = world.sd_jwt_of(
        AGE_VCT,
        json!({"age_equal_or_over": {"18": true}}),
        &[path],
        &format!("origin:{}", node.base),
        nonce,
    );
    let jwk = parameters["client_metadata"]["jwks"]["keys"][0].clone();
    let data = json!({"response": world.encrypt(&jwk, &json!({"vp_token": {"age_sd_jwt": [presentation]}}))});
    let finish = format!("{}/age-check/dc-api/{check_id}", node.base);
    let answer =
        client.post(&finish).header("origin", &node.base).json(&json!({"data": data})).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.json::<Value>().await.unwrap(), json!({"status": "verified", "over_18": true}));
    // Once only.
    let again =
        client.post(&finish).header("origin", &node.base).json(&json!({"data": data})).send().await.unwrap();
    assert_eq!(again.status(), 400);
    let polled: Value =
        client.get(format!("{}/age-check/{check_id}", node.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(polled, json!({"status": "verified", "over_18": true}));
}

#[tokio::test]
async fn first_start_prints_the_api_token_once_and_sigterm_stops_the_service() {
    use std::io::BufRead as _;
    let world = World::new("first-start", 14);
    let data_dir = world.dir.join("node");
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_segl"))
        .args(["verifier", "serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(&data_dir)
        .arg("--trust-anchor")
        .arg(&world.ca_file)
        .env_clear()
        .env("SEGL_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The line after the announcement is the token; the log never repeats it.
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut lines = std::io::BufReader::new(stderr).lines().map_while(Result::ok);
        let mut seen = Vec::new();
        let mut token = None;
        while let Some(line) = lines.next() {
            let announces = line.contains("generated the API token");
            seen.push(line);
            if announces {
                token = lines.next();
                seen.extend(token.clone());
            }
        }
        (token, seen)
    });
    let base = format!("http://localhost:{port}");
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if client.get(format!("{base}/health")).send().await.is_ok_and(|r| r.status().is_success()) {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "segl verifier serve did not come up");
    let stored = std::fs::read_to_string(data_dir.join("api-token")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for file in ["api-token", "access-key.pem"] {
            let mode = std::fs::metadata(data_dir.join(file)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
    }
    let created = client
        .post(format!("{base}/verifier/v1/transactions"))
        .bearer_auth(stored.trim())
        .json(&json!({"preset": "age_over_18"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let mut exit = None;
    for _ in 0..100 {
        if let Some(status) = child.try_wait().unwrap() {
            exit = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let exit = exit.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("segl verifier serve did not stop on SIGTERM")
    });
    assert!(exit.success(), "{exit:?}");
    let (token, lines) = reader.join().unwrap();
    assert_eq!(token.as_deref(), Some(stored.trim()));
    assert_eq!(lines.iter().filter(|line| line.contains(stored.trim())).count(), 1, "{lines:?}");
}

async fn metrics_text(url: &str) -> String {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    response.text().await.unwrap()
}

#[tokio::test]
async fn metrics_count_verified_and_rejected_presentations_and_request_ids_are_echoed() {
    let mut world = World::new("metrics", 15);
    let node = world.node("node").await;
    // One verified...
    let created = create(&node, json!({"dcql_query": sd_jwt_query()})).await;
    let request = fetch(&node, &created).await;
    let presentation = world.sd_jwt_presentation(&request, None);
    let form = world.answer(&request, json!({"pid": [presentation]}));
    assert_eq!(post_answer(&request, &form).await.0, 200);
    // ... and one rejected (wrong nonce), over direct_post; one preset left pending.
    create(&node, json!({"preset": "age_over_18"})).await;
    let created = create(&node, json!({"dcql_query": sd_jwt_query(), "response_mode": "direct_post"})).await;
    let mut request = fetch(&node, &created).await;
    request.nonce = "not-the-nonce".into();
    let presentation = world.sd_jwt_presentation(&request, None);
    let form = world.answer(&request, json!({"pid": [presentation]}));
    assert_eq!(post_answer(&request, &form).await.0, 400);

    let text = metrics_text(&format!("{}/metrics", node.base)).await;
    for line in [
        r#"segl_verifier_transactions_started_total{query="custom",response_mode="direct_post.jwt"} 1"#,
        r#"segl_verifier_transactions_started_total{query="custom",response_mode="direct_post"} 1"#,
        r#"segl_verifier_transactions_started_total{query="age_over_18",response_mode="direct_post.jwt"} 1"#,
        r#"segl_verifier_transactions_finished_total{outcome="verified"} 1"#,
        r#"segl_verifier_transactions_finished_total{outcome="rejected"} 1"#,
        r#"segl_verifier_rejections_total{reason="nonce_mismatch"} 1"#,
        r#"segl_http_requests_total{method="POST",route="/verifier/v1/responses/{request_id}",status="200"} 1"#,
        r#"segl_http_errors_total{route="/verifier/v1/responses/{request_id}",error="invalid_request"} 1"#,
        r#"segl_http_requests_total{method="POST",route="/verifier/v1/transactions",status="201"} 3"#,
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
    assert!(!text.contains("segl_verifier_trust_list"), "no list configured: {text}");
    // No secret id of a path ever becomes a label.
    assert!(!text.contains(created["transaction_id"].as_str().unwrap()));
    assert!(text.ends_with("# EOF\n"));

    let client = reqwest::Client::new();
    let echoed = client
        .get(format!("{}/health", node.base))
        .header("x-request-id", "shop-req-42")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "shop-req-42");
    let generated = client.get(format!("{}/health", node.base)).send().await.unwrap();
    assert!(!generated.headers()["x-request-id"].is_empty());
    let unauthorized = client.get(created["status_url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(unauthorized.status(), 401);
    assert!(unauthorized.headers().contains_key("x-request-id"));
}

#[tokio::test]
async fn metrics_listen_moves_metrics_off_the_main_listener() {
    let world = World::new("metrics-listen", 16);
    let metrics_port = free_port();
    let node = start_with(
        &world.dir.join("node"),
        &[
            "--trust-anchor".to_owned(),
            world.ca_file.display().to_string(),
            "--metrics-listen".to_owned(),
            format!("127.0.0.1:{metrics_port}"),
        ],
    )
    .await;
    let main = reqwest::get(format!("{}/metrics", node.base)).await.unwrap();
    assert_eq!(main.status(), 404);
    let text = metrics_text(&format!("http://127.0.0.1:{metrics_port}/metrics")).await;
    assert!(
        text.contains(r#"segl_http_requests_total{method="GET",route="unmatched",status="404"} 1"#),
        "{text}"
    );
}

#[tokio::test]
async fn logs_hold_no_secrets() {
    let mut world = World::new("log-secrets", 17);
    let log = world.dir.join("verifier.log");
    let args = ["--trust-anchor".to_owned(), world.ca_file.display().to_string()];
    let node = start_logged(&world.dir.join("node"), &args, Some(&log)).await;
    let mut secrets: Vec<String> = vec![TOKEN.to_owned()];
    let mut response_codes = 0;
    // A clear direct_post answer and an encrypted one, each verified and then read back; then a
    // rejected one.
    let bodies = [
        json!({"dcql_query": sd_jwt_query(), "response_mode": "direct_post"}),
        json!({"dcql_query": sd_jwt_query(), "redirect_uri": "https://shop.example/back"}),
        json!({"dcql_query": sd_jwt_query(), "response_mode": "direct_post"}),
    ];
    for (index, body) in bodies.into_iter().enumerate() {
        let rejected = index == 2;
        let created = create(&node, body).await;
        let mut request = fetch(&node, &created).await;
        if rejected {
            request.nonce = "wrong-nonce-for-the-log-test".into();
        }
        let presentation = world.sd_jwt_presentation(&request, None);
        let form = world.answer(&request, json!({"pid": [presentation.clone()]}));
        let (code, answered) = post_answer(&request, &form).await;
        assert_eq!(code, if rejected { 400 } else { 200 });
        let mut status_url = url::Url::parse(created["status_url"].as_str().unwrap()).unwrap();
        if let Some(redirect) = answered["redirect_uri"].as_str() {
            let response_code = response_code_of(redirect);
            status_url.query_pairs_mut().append_pair("response_code", &response_code);
            secrets.push(response_code);
            response_codes += 1;
        }
        let (_, status) = status(status_url.as_str()).await;
        assert_eq!(status["status"], if rejected { "rejected" } else { "verified" });
        secrets.push(created["transaction_id"].as_str().unwrap().to_owned());
        secrets.push(request.state.clone().unwrap());
        if !rejected {
            secrets.push(request.nonce.clone());
        }
        // The presentation and each of its parts (issuer JWT, disclosures, KB-JWT).
        secrets.extend(presentation.split('~').filter(|part| part.len() > 16).map(str::to_owned));
        secrets.extend(form.iter().map(|(_, value)| value.clone()).filter(|value| value.len() > 16));
    }
    let access_key = std::fs::read_to_string(node.data_dir.join("access-key.pem")).unwrap();
    secrets.extend(
        access_key.lines().filter(|line| !line.starts_with("-----") && line.len() > 16).map(str::to_owned),
    );
    drop(node);
    assert_eq!(response_codes, 1, "a response_code is among the secrets");
    let text = std::fs::read_to_string(&log).unwrap();
    // The log is real: debug level, JSON lines, one per request at least.
    assert!(text.lines().count() > 10, "{text}");
    assert!(text.lines().all(|line| serde_json::from_str::<Value>(line).is_ok()), "{text}");
    assert!(text.contains("request finished") && text.contains("transaction finished"), "{text}");
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "the log holds a secret ({secret}):\n{text}");
    }
}

/// Creates a transaction with `redirect_uri`, answers it with a valid presentation and returns
/// (the created transaction, the `redirect_uri` answered to the wallet).
async fn same_device_answer(world: &mut World, node: &Node) -> (Value, String) {
    let body = json!({"dcql_query": sd_jwt_query(), "redirect_uri": "https://shop.example/done?order=7"});
    let created = create(node, body).await;
    // Before the wallet answers there is no code yet, and nothing to protect.
    assert_eq!(status(created["status_url"].as_str().unwrap()).await.1["status"], "pending");
    let request = fetch(node, &created).await;
    let presentation = world.sd_jwt_presentation(&request, None);
    let form = world.answer(&request, json!({"pid": [presentation]}));
    let (code, body) = post_answer(&request, &form).await;
    assert_eq!(code, 200, "{body}");
    let redirect = body["redirect_uri"].as_str().unwrap().to_owned();
    (created, redirect)
}

fn response_code_of(redirect: &str) -> String {
    let url = url::Url::parse(redirect).unwrap();
    url.fragment().unwrap().strip_prefix("response_code=").unwrap().to_owned()
}

async fn status_with_code(created: &Value, code: Option<&str>) -> (u16, Value) {
    let mut url = url::Url::parse(created["status_url"].as_str().unwrap()).unwrap();
    if let Some(code) = code {
        url.query_pairs_mut().append_pair("response_code", code);
    }
    status(url.as_str()).await
}

#[tokio::test]
async fn same_device_redirect_carries_a_response_code_that_releases_the_outcome() {
    let mut world = World::new("same-device", 18);
    let node = world.node("node").await;
    let (created, redirect) = same_device_answer(&mut world, &node).await;
    assert!(redirect.starts_with("https://shop.example/done?order=7#response_code="), "{redirect}");
    let code = response_code_of(&redirect);
    assert!(code.len() >= 43, "at least 256 bits: {code}");
    // The wallet-visible URL holds neither the secret transaction id nor the request id.
    assert!(!redirect.contains(created["transaction_id"].as_str().unwrap()));
    let (status_code, body) = status_with_code(&created, Some(&code)).await;
    assert_eq!(status_code, 200);
    assert_pid_claims(&body);
    // Each transaction gets its own code.
    let (_, other) = same_device_answer(&mut world, &node).await;
    assert_ne!(response_code_of(&other), code);
}

#[tokio::test]
async fn rejects_wrong_or_missing_response_code() {
    let mut world = World::new("response-code", 19);
    let node = world.node("node").await;
    let (created, redirect) = same_device_answer(&mut world, &node).await;
    let (_, other_redirect) = same_device_answer(&mut world, &node).await;
    let code = response_code_of(&redirect);
    for wrong in [None, Some(""), Some("x"), Some(&response_code_of(&other_redirect)[..]), Some(&code[1..])] {
        let (status_code, body) = status_with_code(&created, wrong).await;
        assert_eq!(status_code, 400, "{wrong:?}: {body}");
        assert_eq!(body["error"], "invalid_request");
        assert!(body.get("claims").is_none(), "{body}");
    }
    // The right code still works after wrong attempts.
    assert_eq!(status_with_code(&created, Some(&code)).await.0, 200);
}

#[tokio::test]
async fn rejects_redirect_uris_that_are_not_https_or_carry_a_fragment() {
    let world = World::new("redirect-uri", 20);
    let node = world.node("node").await;
    let client = reqwest::Client::new();
    for bad in [
        "http://shop.example/done",
        "https://shop.example/done#x",
        "https://user:pw@shop.example/done",
        "javascript:alert(1)",
        "/relative",
    ] {
        let response = client
            .post(format!("{}/verifier/v1/transactions", node.base))
            .bearer_auth(TOKEN)
            .json(&json!({"preset": "age_over_18", "redirect_uri": bad}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{bad}");
        assert_eq!(response.json::<Value>().await.unwrap()["error"], "invalid_request");
    }
    create(&node, json!({"preset": "age_over_18", "redirect_uri": "http://127.0.0.1:9/back"})).await;
}

#[tokio::test]
async fn a_rejected_same_device_presentation_gets_no_redirect() {
    let mut world = World::new("same-device-rejected", 21);
    let node = world.node("node").await;
    let body = json!({"dcql_query": sd_jwt_query(), "redirect_uri": "https://shop.example/done"});
    let created = create(&node, body).await;
    let mut request = fetch(&node, &created).await;
    request.nonce = "not-the-nonce".into();
    let presentation = world.sd_jwt_presentation(&request, None);
    let form = world.answer(&request, json!({"pid": [presentation]}));
    let (code, body) = post_answer(&request, &form).await;
    assert_eq!(code, 400);
    assert!(body.get("redirect_uri").is_none(), "{body}");
    // No code left the service, so the (claim-free) refusal is readable without one.
    let (status_code, body) = status_with_code(&created, None).await;
    assert_eq!(status_code, 200);
    assert_eq!(body["status"], "rejected");
}
