//! Encrypted Credential Requests and Responses (OpenID4VCI 1.0 §8.2, §8.3, §10) and signed
//! Credential Issuer Metadata (§12.2.3), through the real router.
//!
//! Every refusal is checked for its exact code and description and for leaving no trace: the
//! request is refused before its proofs are looked at, so the `c_nonce` stays unspent and the
//! same proof then succeeds in a correct request.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{NOW, TOKEN, TestIssuer, post_json};
use rand::SeedableRng as _;
use rand_chacha::ChaCha20Rng;
use segl_credential::jose::{self, CompactJws, KeyReference, base64url_encode};
use segl_credential::jwe::{
    ContentEncryption, DecryptionKey, EncryptionParams, encrypt_compact, protected_header,
};
use segl_credential::keys::{PublicKey, SoftwareSigner};
use segl_issuer::config::{Config, EncryptionMode};
use serde_json::{Value, json};

const ISSUER: &str = "http://127.0.0.1:8080/default";
const PID: &str = "eu.europa.ec.eudi.pid_vc_sd_jwt";

async fn issuer(name: &str, request: EncryptionMode, response: EncryptionMode, enc: &[&str]) -> TestIssuer {
    common::start(name, 7, |config: &mut Config| {
        let encryption = &mut config.tenants[0].encryption;
        encryption.request = request;
        encryption.response = response;
        encryption.enc = enc.iter().map(|e| (*e).to_owned()).collect();
        config.validate().unwrap();
    })
    .await
}

/// A wallet mid-flow: an access token, one unspent proof, its response key.
struct Wallet {
    token: String,
    proof: String,
    response_key: DecryptionKey,
    rng: ChaCha20Rng,
}

impl Wallet {
    async fn new(issuer: &TestIssuer, seed: u64) -> Wallet {
        let offer = json!({"credential_configuration_ids": [PID],
            "claims": {"family_name": "Nielsen", "given_name": "Freja", "birth_date": "1990-04-12",
                "birth_place": {"locality": "Aarhus", "country": "DK"}, "nationality": ["DK"]}});
        Wallet::with_offer(issuer, seed, &offer).await
    }

    async fn with_offer(issuer: &TestIssuer, seed: u64, offer: &Value) -> Wallet {
        let (status, created) = issuer.json(post_json("/admin/v1/offers", Some(TOKEN), offer)).await;
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
        let (status, token) = issuer.json(request).await;
        assert_eq!(status, StatusCode::OK, "{token}");
        let (_, nonce) = issuer.json(Request::post("/default/nonce").body(Body::empty()).unwrap()).await;
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let holder = SoftwareSigner::generate(&mut rng).unwrap();
        let header = jose::header("openid4vci-proof+jwt", &holder, KeyReference::Jwk).unwrap();
        let claims = json!({"aud": ISSUER, "iat": NOW, "nonce": nonce["c_nonce"]});
        let proof = jose::sign_compact(header, claims.to_string().as_bytes(), &holder).unwrap();
        let response_key = DecryptionKey::generate("wallet-1", &mut rng).unwrap();
        Wallet { token: token["access_token"].as_str().unwrap().to_owned(), proof, response_key, rng }
    }

    /// The plaintext request, with `credential_response_encryption` when `enc` is given.
    fn request(&self, enc: Option<&str>) -> Value {
        let mut request = json!({"credential_configuration_id": PID, "proofs": {"jwt": [self.proof]}});
        if let Some(enc) = enc {
            request["credential_response_encryption"] =
                json!({"jwk": self.response_key.public_jwk(), "enc": enc});
        }
        request
    }

    /// `request` encrypted to the issuer's published key.
    fn encrypt(&mut self, metadata: &Value, request: &Value, enc: ContentEncryption) -> String {
        let jwk = &metadata["credential_request_encryption"]["jwks"]["keys"][0];
        let key = PublicKey::from_jwk(jwk).unwrap();
        let params = EncryptionParams { kid: jwk["kid"].as_str(), enc, apu: None, apv: None, deflate: false };
        encrypt_compact(&key, &params, request.to_string().as_bytes(), &mut self.rng).unwrap()
    }

    fn post_jwt(&self, jwe: &str) -> Request<Body> {
        self.post_jwt_to("/default/credential", jwe)
    }

    fn post_jwt_to(&self, path: &str, jwe: &str) -> Request<Body> {
        Request::post(path)
            .header(header::CONTENT_TYPE, "application/jwt")
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .body(Body::from(jwe.to_owned()))
            .unwrap()
    }

    fn post_json(&self, request: &Value) -> Request<Body> {
        post_json("/default/credential", Some(&self.token), request)
    }
}

async fn metadata(issuer: &TestIssuer) -> Value {
    let (status, metadata) = issuer.json(common::get("/.well-known/openid-credential-issuer/default")).await;
    assert_eq!(status, StatusCode::OK);
    metadata
}

/// Sends `request` and asserts a 400 with `code` and `description`.
async fn assert_refused(issuer: &TestIssuer, request: Request<Body>, code: &str, description: &str) {
    let (status, body) = issuer.json(request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], code, "{body}");
    assert_eq!(body["error_description"], description, "{body}");
}

/// The proof's nonce is still unspent: a correct encrypted request with it is answered 200.
async fn assert_nonce_unspent(issuer: &TestIssuer, wallet: &mut Wallet, metadata: &Value) {
    let request = wallet.request(Some("A256GCM"));
    let jwe = wallet.encrypt(metadata, &request, ContentEncryption::A256Gcm);
    let (status, body, headers) = issuer.call(wallet.post_jwt(&jwe)).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers[header::CONTENT_TYPE], "application/jwt");
}

#[tokio::test]
async fn round_trips_encrypted_requests_and_responses() {
    let issuer =
        issuer("enc-round-trip", EncryptionMode::Required, EncryptionMode::Required, &["A128GCM", "A256GCM"])
            .await;
    let metadata = metadata(&issuer).await;
    let request_encryption = &metadata["credential_request_encryption"];
    assert_eq!(request_encryption["encryption_required"], true);
    assert_eq!(request_encryption["enc_values_supported"], json!(["A128GCM", "A256GCM"]));
    let jwk = &request_encryption["jwks"]["keys"][0];
    assert_eq!((jwk["alg"].as_str(), jwk["use"].as_str()), (Some("ECDH-ES"), Some("enc")));
    assert!(jwk.get("d").is_none());
    let published = PublicKey::from_jwk(jwk).unwrap();
    assert_eq!(jwk["kid"], base64url_encode(published.jwk_thumbprint()));
    assert_eq!(
        metadata["credential_response_encryption"],
        json!({"alg_values_supported": ["ECDH-ES"], "enc_values_supported": ["A128GCM", "A256GCM"],
            "encryption_required": true})
    );

    for (seed, enc) in [(1, ContentEncryption::A128Gcm), (2, ContentEncryption::A256Gcm)] {
        let mut wallet = Wallet::new(&issuer, seed).await;
        let request = wallet.request(Some(enc.name()));
        let jwe = wallet.encrypt(&metadata, &request, enc);
        let (status, body, headers) = issuer.call(wallet.post_jwt(&jwe)).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        assert_eq!(headers[header::CONTENT_TYPE], "application/jwt");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        let text = String::from_utf8(body).unwrap();
        let header = protected_header(&text).unwrap();
        assert_eq!((header["alg"].as_str(), header["enc"].as_str()), (Some("ECDH-ES"), Some(enc.name())));
        assert_eq!(header["kid"], "wallet-1");
        let response = wallet.response_key.decrypt_json(&text).unwrap();
        assert_eq!(response["credentials"].as_array().unwrap().len(), 1);
        assert!(response["credentials"][0]["credential"].as_str().unwrap().contains('~'));
        assert!(response["notification_id"].is_string());
    }
}

#[tokio::test]
async fn encrypted_request_with_a_plaintext_response_and_plaintext_when_optional() {
    let issuer =
        issuer("enc-optional", EncryptionMode::Optional, EncryptionMode::Optional, &["A256GCM"]).await;
    let metadata = metadata(&issuer).await;
    assert_eq!(metadata["credential_request_encryption"]["encryption_required"], false);
    assert_eq!(metadata["credential_response_encryption"]["encryption_required"], false);
    let mut wallet = Wallet::new(&issuer, 3).await;
    let jwe = wallet.encrypt(&metadata, &wallet.request(None), ContentEncryption::A256Gcm);
    let (status, body, headers) = issuer.call(wallet.post_jwt(&jwe)).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    let wallet = Wallet::new(&issuer, 4).await;
    let (status, body) = issuer.json(wallet.post_json(&wallet.request(None))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["credentials"].as_array().unwrap().len(), 1);
}

/// A plaintext request, then an encrypted one without a response key, where both must be encrypted: `invalid_encryption_parameters`, nonce unspent.
#[tokio::test]
async fn rejects_plaintext_and_missing_response_keys_when_required() {
    let issuer =
        issuer("enc-required", EncryptionMode::Required, EncryptionMode::Required, &["A256GCM"]).await;
    let metadata = metadata(&issuer).await;
    let mut wallet = Wallet::new(&issuer, 5).await;
    assert_refused(
        &issuer,
        wallet.post_json(&wallet.request(None)),
        "invalid_encryption_parameters",
        "this issuer requires encrypted credential requests: send a compact JWE as application/jwt to a key \
         of credential_request_encryption.jwks",
    )
    .await;
    let jwe = wallet.encrypt(&metadata, &wallet.request(None), ContentEncryption::A256Gcm);
    assert_refused(
        &issuer,
        wallet.post_jwt(&jwe),
        "invalid_encryption_parameters",
        "this issuer requires encrypted credential responses: send credential_response_encryption with a \
         P-256 jwk (alg ECDH-ES) and an enc of enc_values_supported",
    )
    .await;
    assert_nonce_unspent(&issuer, &mut wallet, &metadata).await;
}

/// A JWE request, or a response key, to a tenant without encryption: `invalid_encryption_parameters`.
#[tokio::test]
async fn rejects_encryption_a_tenant_does_not_offer() {
    // The default tenant offers no encryption: no metadata, encrypted bodies refused.
    let issuer = issuer("enc-off", EncryptionMode::Off, EncryptionMode::Off, &["A128GCM", "A256GCM"]).await;
    let metadata = metadata(&issuer).await;
    assert!(metadata.get("credential_request_encryption").is_none());
    assert!(metadata.get("credential_response_encryption").is_none());
    assert!(!issuer.data_dir.join("tenants/default/request-encryption-key").exists());
    let wallet = Wallet::new(&issuer, 6).await;
    assert_refused(
        &issuer,
        wallet.post_jwt("eyJhbGciOiJFQ0RILUVTIn0..AAAA.AAAA.AAAA"),
        "invalid_encryption_parameters",
        "this issuer does not accept encrypted credential requests (its metadata has no \
         credential_request_encryption); send application/json",
    )
    .await;
    assert_refused(
        &issuer,
        wallet.post_json(&wallet.request(Some("A128GCM"))),
        "invalid_encryption_parameters",
        "this issuer does not encrypt credential responses (its metadata has no credential_response_encryption)",
    )
    .await;
    let (status, body) = issuer.json(wallet.post_json(&wallet.request(None))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// `credential_response_encryption` in a plaintext request (swappable key, §8.2): `invalid_encryption_parameters`, nonce unspent.
#[tokio::test]
async fn rejects_a_response_key_in_a_plaintext_request() {
    let issuer = issuer("enc-swap", EncryptionMode::Optional, EncryptionMode::Optional, &["A256GCM"]).await;
    let metadata = metadata(&issuer).await;
    let mut wallet = Wallet::new(&issuer, 7).await;
    assert_refused(
        &issuer,
        wallet.post_json(&wallet.request(Some("A256GCM"))),
        "invalid_encryption_parameters",
        "credential_response_encryption is only accepted in an encrypted credential request (OpenID4VCI 1.0 \
         section 8.2)",
    )
    .await;
    assert_nonce_unspent(&issuer, &mut wallet, &metadata).await;
}

/// Response keys that are private, P-384, X25519, off the curve, without or with another `alg`, `use: sig`; an unsupported `enc`; `zip`: `invalid_encryption_parameters`.
#[tokio::test]
async fn rejects_unusable_response_encryption_parameters() {
    let issuer = issuer("enc-params", EncryptionMode::Required, EncryptionMode::Optional, &["A256GCM"]).await;
    let metadata = metadata(&issuer).await;
    let mut wallet = Wallet::new(&issuer, 8).await;
    let good_jwk = wallet.response_key.public_jwk();
    let mut private_jwk = good_jwk.clone();
    private_jwk["d"] = json!(base64url_encode(wallet.response_key.private_scalar().unwrap().as_slice()));
    let mut no_alg = good_jwk.clone();
    no_alg.as_object_mut().unwrap().remove("alg");
    let mut wrong_alg = good_jwk.clone();
    wrong_alg["alg"] = json!("ECDH-ES+A128KW");
    let mut signing_use = good_jwk.clone();
    signing_use["use"] = json!("sig");
    let mut off_curve = good_jwk.clone();
    off_curve["y"] = json!(base64url_encode([1u8; 32]));
    let p384 = json!({"kty": "EC", "crv": "P-384", "alg": "ECDH-ES",
        "x": "iA7lWQLzVrKGEFjfGMfMHfTEZ2KnLiKU7JuNT3E7ygsfE7ygiGDLNrDsQyBDA3Kt",
        "y": "ovTKDaHw5Y4eQEzCA3xKRoVsHCSfGvrAoFmDMgIeYWzwx6sR4LmQh4iVK2bPnqSu"});
    let x25519 = json!({"kty": "OKP", "crv": "X25519", "alg": "ECDH-ES", "x": "AAAA"});
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"jwk": good_jwk, "enc": "A128GCM"}),
            "credential_response_encryption.enc `A128GCM` is not supported; use one of A256GCM",
        ),
        (
            json!({"jwk": good_jwk, "enc": "A128CBC-HS256"}),
            "credential_response_encryption.enc `A128CBC-HS256` is not supported; use one of A256GCM",
        ),
        (json!({"jwk": good_jwk}), "credential_response_encryption.enc is missing or not a string"),
        (json!({"enc": "A256GCM"}), "credential_response_encryption.jwk is missing or not an object"),
        (
            json!({"jwk": good_jwk, "enc": "A256GCM", "zip": "DEF"}),
            "credential_response_encryption.zip: compression is not supported (no zip_values_supported)",
        ),
        (
            json!({"jwk": p384, "enc": "A256GCM"}),
            "credential_response_encryption.jwk must be an EC P-256 key (kty EC, crv P-256)",
        ),
        (
            json!({"jwk": x25519, "enc": "A256GCM"}),
            "credential_response_encryption.jwk must be an EC P-256 key (kty EC, crv P-256)",
        ),
        (
            json!({"jwk": private_jwk, "enc": "A256GCM"}),
            "credential_response_encryption.jwk holds private key material (`d`)",
        ),
        (
            json!({"jwk": no_alg, "enc": "A256GCM"}),
            "credential_response_encryption.jwk has no alg (use ECDH-ES)",
        ),
        (
            json!({"jwk": wrong_alg, "enc": "A256GCM"}),
            "credential_response_encryption.jwk alg `ECDH-ES+A128KW` is not supported; use ECDH-ES",
        ),
        (
            json!({"jwk": signing_use, "enc": "A256GCM"}),
            "credential_response_encryption.jwk use \"sig\" is not \"enc\"",
        ),
        (json!("A256GCM"), "credential_response_encryption must be a JSON object"),
    ];
    for (parameters, description) in cases {
        let mut request = wallet.request(None);
        request["credential_response_encryption"] = parameters;
        let jwe = wallet.encrypt(&metadata, &request, ContentEncryption::A256Gcm);
        assert_refused(&issuer, wallet.post_jwt(&jwe), "invalid_encryption_parameters", description).await;
    }
    let mut request = wallet.request(None);
    request["credential_response_encryption"] = json!({"jwk": off_curve, "enc": "A256GCM"});
    let jwe = wallet.encrypt(&metadata, &request, ContentEncryption::A256Gcm);
    let (status, body) = issuer.json(wallet.post_jwt(&jwe)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_encryption_parameters"))
    );
    assert!(
        body["error_description"].as_str().unwrap().starts_with("credential_response_encryption.jwk: "),
        "{body}"
    );
    assert_nonce_unspent(&issuer, &mut wallet, &metadata).await;
}

/// Request JWEs that are malformed, for another key or kid, with a changed tag, an unaccepted `enc`, `zip`, or a non-request plaintext.
#[tokio::test]
async fn rejects_request_jwes_that_cannot_be_opened() {
    let issuer = issuer("enc-jwe", EncryptionMode::Required, EncryptionMode::Optional, &["A256GCM"]).await;
    let metadata = metadata(&issuer).await;
    let mut wallet = Wallet::new(&issuer, 9).await;
    let request = wallet.request(Some("A256GCM"));
    let good = wallet.encrypt(&metadata, &request, ContentEncryption::A256Gcm);
    let published =
        PublicKey::from_jwk(&metadata["credential_request_encryption"]["jwks"]["keys"][0]).unwrap();
    let kid =
        metadata["credential_request_encryption"]["jwks"]["keys"][0]["kid"].as_str().unwrap().to_owned();

    assert_refused(
        &issuer,
        wallet.post_jwt("not a jwe"),
        "invalid_credential_request",
        "the encrypted credential request is not a compact JWE: a compact JWE has 5 parts, this one has 1",
    )
    .await;
    // An enc the tenant does not accept.
    let a128 = wallet.encrypt(&metadata, &request, ContentEncryption::A128Gcm);
    assert_refused(
        &issuer,
        wallet.post_jwt(&a128),
        "invalid_encryption_parameters",
        "the encrypted credential request cannot be decrypted: JWE enc `A128GCM` is not supported",
    )
    .await;
    // Encrypted to another key (another kid), or to another key under our kid.
    let other = DecryptionKey::generate("other", &mut wallet.rng).unwrap();
    let params = EncryptionParams {
        kid: Some("other"),
        enc: ContentEncryption::A256Gcm,
        apu: None,
        apv: None,
        deflate: false,
    };
    let foreign =
        encrypt_compact(other.public_key(), &params, request.to_string().as_bytes(), &mut wallet.rng)
            .unwrap();
    assert_refused(
        &issuer,
        wallet.post_jwt(&foreign),
        "invalid_encryption_parameters",
        &format!(
            "the encrypted credential request cannot be decrypted: JWE kid `other` is not the recipient's \
             encryption key `{kid}`"
        ),
    )
    .await;
    let params = EncryptionParams { kid: Some(&kid), ..params };
    let impostor =
        encrypt_compact(other.public_key(), &params, request.to_string().as_bytes(), &mut wallet.rng)
            .unwrap();
    let tag_failure = "the encrypted credential request cannot be decrypted: JWE decryption failed: the \
        authentication tag does not verify";
    assert_refused(&issuer, wallet.post_jwt(&impostor), "invalid_encryption_parameters", tag_failure).await;
    // A changed tag.
    let (rest, tag) = good.rsplit_once('.').unwrap();
    let flipped = match tag.strip_prefix('A') {
        Some(rest) => format!("B{rest}"),
        None => format!("A{}", tag.get(1..).unwrap()),
    };
    assert_refused(
        &issuer,
        wallet.post_jwt(&format!("{rest}.{flipped}")),
        "invalid_encryption_parameters",
        tag_failure,
    )
    .await;
    // Compressed (no zip_values_supported is offered).
    let params = EncryptionParams { deflate: true, ..params };
    let zipped =
        encrypt_compact(&published, &params, request.to_string().as_bytes(), &mut wallet.rng).unwrap();
    assert_refused(
        &issuer,
        wallet.post_jwt(&zipped),
        "invalid_encryption_parameters",
        "the encrypted credential request cannot be decrypted: JWE header `zip`: compression is not accepted",
    )
    .await;
    // A plaintext that is not a JSON object, or not a credential request.
    let params = EncryptionParams { deflate: false, ..params };
    let array = encrypt_compact(&published, &params, b"[1]", &mut wallet.rng).unwrap();
    assert_refused(
        &issuer,
        wallet.post_jwt(&array),
        "invalid_credential_request",
        "the decrypted credential request is not a JSON object: JWE plaintext: not a JSON object",
    )
    .await;
    let unknown = encrypt_compact(&published, &params, br#"{"format":"x"}"#, &mut wallet.rng).unwrap();
    let (status, body) = issuer.json(wallet.post_jwt(&unknown)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_credential_request"))
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("the decrypted request does not fit the request's form: unknown field `format`"),
        "{body}"
    );
    assert_nonce_unspent(&issuer, &mut wallet, &metadata).await;
}

#[tokio::test]
async fn keeps_the_request_key_across_restarts() {
    let first = issuer("enc-restart", EncryptionMode::Optional, EncryptionMode::Off, &["A256GCM"]).await;
    let jwk = metadata(&first).await["credential_request_encryption"]["jwks"]["keys"][0].clone();
    let data_dir = first.data_dir.clone();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(data_dir.join("tenants/default/request-encryption-key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A second deployment on the same data directory (as another node would be).
    let mut config = Config {
        data_dir: data_dir.clone(),
        database_url: Some("sqlite::memory:".into()),
        ..Config::default()
    };
    config.tenants[0].encryption.request = EncryptionMode::Optional;
    config.validate().unwrap();
    let clock = std::sync::Arc::new(segl_credential::clock::FixedClock(NOW));
    let (state, _) =
        segl_issuer::deployment::open(&config, Some(TOKEN), clock, &mut ChaCha20Rng::seed_from_u64(99))
            .await
            .unwrap();
    let mut object = json!({});
    state.tenants["default"].encryption.extend_metadata(&mut object);
    assert_eq!(object["credential_request_encryption"]["jwks"]["keys"][0], jwk);
}

#[tokio::test]
async fn serves_signed_metadata_that_verifies_to_the_tenant_ca() {
    let issuer =
        issuer("signed-metadata", EncryptionMode::Optional, EncryptionMode::Optional, &["A256GCM"]).await;
    let plain = metadata(&issuer).await;
    let request = |accept: &str| {
        Request::get("/.well-known/openid-credential-issuer/default")
            .header(header::ACCEPT, accept)
            .body(Body::empty())
            .unwrap()
    };
    let (status, body, headers) = issuer.call(request("application/jwt")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/jwt");
    assert_eq!(headers[header::VARY], "accept");
    let jwt = String::from_utf8(body).unwrap();
    let jws = CompactJws::parse(&jwt).unwrap();
    assert_eq!(jws.typ().unwrap(), Some("openidvci-issuer-metadata+jwt"));
    assert_eq!(jws.header()["alg"], "ES256");
    let chain = jws.x5c().unwrap().unwrap();
    let validated = issuer.anchors().validate(&chain, NOW).unwrap();
    jws.verify(&validated.leaf_key).unwrap();
    let mut claims = jws.payload_json().unwrap();
    assert_eq!((claims["sub"].as_str(), claims["iss"].as_str()), (Some(ISSUER), Some(ISSUER)));
    assert_eq!(claims["iat"], NOW);
    for member in ["sub", "iss", "iat"] {
        claims.remove(member);
    }
    assert_eq!(Value::Object(claims), plain, "every metadata parameter is a top-level claim");

    // Signed once: the same JWS again; JSON unless application/jwt is preferred.
    let (_, again, _) = issuer.call(request("application/json;q=0.5, application/jwt")).await;
    assert_eq!(String::from_utf8(again).unwrap(), jwt);
    for accept in
        ["application/json", "application/json, application/jwt;q=0.9", "application/jwt;q=0", "*/*"]
    {
        let (status, _, headers) = issuer.call(request(accept)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CONTENT_TYPE], "application/json", "{accept}");
    }
}

/// Deferred issuance under required encryption (OpenID4VCI 1.0 §9, §10): the 202 and the
/// deferred endpoint's answers are JWEs to the key of each request; a plaintext deferred
/// request is refused and spends nothing.
#[tokio::test]
async fn deferred_requests_and_responses_are_encrypted_too() {
    let issuer = common::start("enc-deferred", 7, |config: &mut Config| {
        config.database_url = None; // SQLite in the data directory, shared with the import
        let encryption = &mut config.tenants[0].encryption;
        encryption.request = EncryptionMode::Required;
        encryption.response = EncryptionMode::Required;
        encryption.enc = vec!["A256GCM".into()];
    })
    .await;
    let metadata = metadata(&issuer).await;
    let offer = json!({"credential_configuration_ids": [PID], "authentic_source": {"identifier": "case-9"}});
    let mut wallet = Wallet::with_offer(&issuer, 3, &offer).await;
    let request = wallet.request(Some("A256GCM"));
    let jwe = wallet.encrypt(&metadata, &request, ContentEncryption::A256Gcm);
    let (status, body, headers) = issuer.call(wallet.post_jwt(&jwe)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers[header::CONTENT_TYPE], "application/jwt");
    let pending = wallet.response_key.decrypt_json(&String::from_utf8(body).unwrap()).unwrap();
    let transaction_id = pending["transaction_id"].as_str().unwrap().to_owned();

    let deferred = |wallet: &mut Wallet| {
        let request = json!({"transaction_id": transaction_id,
            "credential_response_encryption": {"jwk": wallet.response_key.public_jwk(), "enc": "A256GCM"}});
        let jwe = wallet.encrypt(&metadata, &request, ContentEncryption::A256Gcm);
        wallet.post_jwt_to("/default/deferred_credential", &jwe)
    };
    let plaintext = post_json(
        "/default/deferred_credential",
        Some(&wallet.token),
        &json!({"transaction_id": transaction_id}),
    );
    let (status, refusal) = issuer.json(plaintext).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refusal}");
    assert_eq!(refusal["error"], "invalid_encryption_parameters", "{refusal}");

    let (status, body, headers) = issuer.call(deferred(&mut wallet)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers[header::CONTENT_TYPE], "application/jwt");
    let still = wallet.response_key.decrypt_json(&String::from_utf8(body).unwrap()).unwrap();
    assert_eq!(still["transaction_id"], transaction_id.as_str());

    import_person(&issuer, "case-9,,Nielsen,Freja,1990-04-12,DK,DK\n").await;
    let (status, body, headers) = issuer.call(deferred(&mut wallet)).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers[header::CONTENT_TYPE], "application/jwt");
    let issued = wallet.response_key.decrypt_json(&String::from_utf8(body).unwrap()).unwrap();
    assert!(issued["credentials"][0]["credential"].as_str().unwrap().contains('~'), "{issued:?}");
}

/// Imports one CSV row into the issuer's authentic source, as `segl authentic-source import`
/// does: the deployment opened again on the same data directory.
async fn import_person(issuer: &TestIssuer, row: &str) {
    use std::sync::Arc;
    let config = Config { data_dir: issuer.data_dir.clone(), database_url: None, ..Config::default() };
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let clock = Arc::new(segl_credential::clock::FixedClock(NOW));
    let (state, _) = segl_issuer::deployment::open(&config, Some(TOKEN), clock, &mut rng).await.unwrap();
    let tenant = state.tenants["default"].clone();
    let csv = format!(
        "identifier,protected,family_name,given_name,birth_date,birth_place.country,nationality\n{row}"
    );
    segl_issuer::source::import::import_csv(&state.store, &tenant, csv.as_bytes(), NOW, &mut rng)
        .await
        .unwrap();
}
