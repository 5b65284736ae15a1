//! The start/finish flow end to end: a verifier identity on a development access certificate,
//! credentials minted by segl-credential's dev PKI, and a wallet simulated with the same
//! library (wallet-side Request Object checks, SD-JWT VC presentation with KB-JWT, mdoc
//! DeviceResponse over the session's SessionTranscript, JWE encryption to the verifier key).

use std::sync::Arc;

use ciborium::Value as Cbor;
use rand::SeedableRng as _;
use rand_chacha::ChaCha20Rng;
use segl_credential::clock::{FixedClock, UnixTime};
use segl_credential::jose::{CompactJws, base64url_encode};
use segl_credential::keys::{PublicKey, Signer as _, SoftwareSigner};
use segl_credential::mdoc::{
    IssuerSignedBuilder, Presentation, SessionTranscript, Validity, build_device_response,
};
use segl_credential::sd_jwt::{self, ClaimPath, DisclosurePolicy, IssueOptions, KeyBindingInput, VcClaims};
use segl_credential::x509::{DevPki, DevPkiOptions, TrustAnchors, generate_dev_pki};
use serde_json::{Map, Value, json};

use super::*;
use crate::request::object::SELF_ISSUED_AUDIENCE;
use crate::request::{
    AGE_VCT, ClientId, CredentialQueryBuilder, DcqlQueryBuilder, PID_DOCTYPE, PID_VCT, RequestUriMethod,
    ResponseMode, ValidatedDcqlQuery, VerifiedRequestObject, WalletExpectations, age_over_18_either_format,
    verify_request_object,
};
use crate::response::VerifyContext;
use crate::response::jwe::{ContentEncryption, EncryptionParams, encrypt_compact};

const NOW: UnixTime = 1_780_000_000;
const HOST: &str = "verifier.example";
const ORIGIN: &str = "https://shop.example";

fn pki(rng: &mut ChaCha20Rng, name: &str, dns_names: &[&str], mdoc: bool) -> DevPki {
    let options = DevPkiOptions {
        ca_common_name: format!("{name} CA"),
        issuer_common_name: name.to_owned(),
        country: Some("DK".into()),
        dns_names: dns_names.iter().map(|name| (*name).to_owned()).collect(),
        uris: vec![],
        mdoc_ds_eku: mdoc,
        not_before: NOW - 86_400,
        not_after: NOW + 365 * 86_400,
    };
    generate_dev_pki(&options, rng).unwrap()
}

/// The verifier (identity, issuer anchors) and the wallet (holder key, credentials from the
/// issuer, access-CA anchors) of one test.
struct Fixture {
    identity: VerifierIdentity,
    issuer: DevPki,
    issuer_anchors: TrustAnchors,
    access_anchors: TrustAnchors,
    holder: SoftwareSigner,
    clock: FixedClock,
    rng: ChaCha20Rng,
}

fn fixture_with(dns_name: &str, seed: u64) -> Fixture {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let issuer = pki(&mut rng, "Issuer", &[], true);
    let mut issuer_anchors = TrustAnchors::new();
    issuer_anchors.add_der(&issuer.ca_der).unwrap();
    let access = pki(&mut rng, "Verifier", &[dns_name], false);
    let mut access_anchors = TrustAnchors::new();
    access_anchors.add_der(&access.ca_der).unwrap();
    let client_id = ClientId::x509_san_dns(access.issuer_signer.certificate_chain(), dns_name).unwrap();
    let identity = VerifierIdentity::signed(client_id, Arc::new(access.issuer_signer)).unwrap();
    let holder = SoftwareSigner::generate(&mut rng).unwrap();
    Fixture { identity, issuer, issuer_anchors, access_anchors, holder, clock: FixedClock(NOW), rng }
}

fn fixture() -> Fixture {
    fixture_with(HOST, 7)
}

fn pid_sd_jwt_query() -> ValidatedDcqlQuery {
    DcqlQueryBuilder::new()
        .credential(
            CredentialQueryBuilder::sd_jwt("pid", [PID_VCT])
                .claim_path(["family_name"])
                .claim_path(["given_name"]),
        )
        .build()
        .unwrap()
}

fn pid_mdoc_query() -> ValidatedDcqlQuery {
    DcqlQueryBuilder::new()
        .credential(
            CredentialQueryBuilder::mdoc("pid", PID_DOCTYPE)
                .mdoc_claim(PID_DOCTYPE, "family_name")
                .mdoc_claim(PID_DOCTYPE, "given_name"),
        )
        .build()
        .unwrap()
}

/// A request the wallet fetched and checked, and how to answer it.
struct Fetched {
    request: VerifiedRequestObject,
}

impl Fixture {
    fn context(&self) -> VerifyContext<'_> {
        VerifyContext::new(&self.issuer_anchors, &self.clock)
    }

    fn urls(ids: &TransactionIds, host: &str, scheme: &str) -> (String, String) {
        (
            format!("{scheme}://{host}/verifier/v1/requests/{}", ids.request_id),
            format!("{scheme}://{host}/verifier/v1/responses/{}", ids.request_id),
        )
    }

    fn start_with(
        &mut self,
        query: ValidatedDcqlQuery,
        mode: ResponseMode,
        method: RequestUriMethod,
    ) -> Started {
        let ids = TransactionIds::generate(&mut self.rng);
        let (request_uri, response_uri) = Self::urls(&ids, HOST, "https");
        let options = StartOptions {
            response_mode: mode,
            request_uri_method: method,
            ..StartOptions::new(query, &request_uri, &response_uri)
        };
        start(&self.identity, ids, options, &mut self.rng, &self.clock).unwrap()
    }

    fn start(&mut self, query: ValidatedDcqlQuery, mode: ResponseMode) -> Started {
        self.start_with(query, mode, RequestUriMethod::Get)
    }

    /// The wallet's side of `request_uri`: parse the invocation URL, fetch the object (POSTing
    /// `wallet_nonce` when asked) and check it against the access CA.
    fn fetch(&self, started: &Started, wallet_nonce: Option<&str>) -> Fetched {
        let url = url::Url::parse(&started.authorization_request).unwrap();
        assert_eq!(url.scheme(), "openid4vp");
        let query: Map<String, Value> = url
            .query_pairs()
            .map(|(name, value)| (name.into_owned(), Value::from(value.into_owned())))
            .collect();
        assert_eq!(query["request_uri"], started.transaction.request_uri().unwrap());
        let client_id = query["client_id"].as_str().unwrap().to_owned();
        let jws = request_object(&self.identity, &started.transaction, wallet_nonce, &self.clock).unwrap();
        let expect = WalletExpectations {
            anchors: &self.access_anchors,
            now: NOW + 1,
            invocation_client_id: &client_id,
            audience: SELF_ISSUED_AUDIENCE,
            wallet_nonce,
        };
        Fetched { request: verify_request_object(&jws, &expect).unwrap() }
    }

    fn sd_jwt(&mut self, vct: &str, claims: Value) -> String {
        let claims: Map<String, Value> = claims.as_object().cloned().unwrap();
        let mut paths: Vec<ClaimPath> = claims.keys().map(|name| ClaimPath::keys([name.as_str()])).collect();
        if let Some(Value::Object(ages)) = claims.get("age_equal_or_over") {
            paths.extend(ages.keys().map(|age| ClaimPath::keys(["age_equal_or_over", age.as_str()])));
        }
        let vc = VcClaims {
            iss: Some("https://issuer.example"),
            vct,
            iat: Some(NOW - 60),
            exp: Some(NOW + 86_400),
            holder_key: Some(self.holder.public_key()),
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

    fn present(&self, credential: &str, selection: &[&[&str]], audience: &str, nonce: &str) -> String {
        let selection: Vec<ClaimPath> =
            selection.iter().map(|path| ClaimPath::keys(path.iter().copied())).collect();
        let input = KeyBindingInput { audience, nonce, issued_at: NOW - 5, signer: &self.holder };
        sd_jwt::present(credential, &selection, Some(&input)).unwrap()
    }

    /// A PID SD-JWT VC presentation of family and given name.
    fn pid_presentation(&mut self, audience: &str, nonce: &str) -> String {
        let credential = self.sd_jwt(
            PID_VCT,
            json!({"family_name": "Jensen", "given_name": "Karen", "birthdate": "1990-02-01"}),
        );
        self.present(&credential, &[&["family_name"], &["given_name"]], audience, nonce)
    }

    fn pid_mdoc(&mut self) -> Vec<u8> {
        let validity = Validity {
            signed: NOW - 60,
            valid_from: NOW - 60,
            valid_until: NOW + 86_400,
            expected_update: None,
        };
        IssuerSignedBuilder::new(PID_DOCTYPE, validity)
            .element(PID_DOCTYPE, "family_name", Cbor::from("Jensen"))
            .element(PID_DOCTYPE, "given_name", Cbor::from("Karen"))
            .element(PID_DOCTYPE, "birth_date", Cbor::from("1990-02-01"))
            .issue(self.holder.public_key(), &self.issuer.issuer_signer, &mut self.rng)
            .unwrap()
    }

    fn device_response(&mut self, disclose: &[(&str, &str)], transcript: &SessionTranscript) -> String {
        let issuer_signed = self.pid_mdoc();
        let presentation = Presentation { issuer_signed: &issuer_signed, disclose, device_key: &self.holder };
        base64url_encode(build_device_response(&[presentation], transcript).unwrap())
    }

    /// The 1.0 handover for a fetched request (thumbprint of its encryption key, if any).
    fn transcript(fetched: &Fetched) -> SessionTranscript {
        let thumbprint = fetched
            .request
            .encryption_jwk
            .as_ref()
            .map(|jwk| PublicKey::from_jwk(jwk).unwrap().jwk_thumbprint());
        SessionTranscript::openid4vp(
            &fetched.request.client_id.to_string(),
            &fetched.request.nonce,
            thumbprint.as_ref(),
            &fetched.request.response_uri,
        )
    }

    /// The form the wallet POSTs: in clear for `direct_post`, a JWE for `direct_post.jwt`.
    fn answer(&mut self, fetched: &Fetched, vp_token: Value, apu: Option<&[u8]>) -> WalletAnswer {
        let state = fetched.request.state.clone().unwrap();
        let fields = match &fetched.request.encryption_jwk {
            None => vec![("vp_token".to_owned(), vp_token.to_string()), ("state".to_owned(), state)],
            Some(jwk) => {
                let payload = json!({"vp_token": vp_token, "state": state});
                let jwe = encrypt_to(jwk, &payload, apu, &mut self.rng);
                vec![("response".to_owned(), jwe)]
            }
        };
        WalletAnswer::from_form(&fields).unwrap()
    }
}

fn encrypt_to(jwk: &Value, payload: &Value, apu: Option<&[u8]>, rng: &mut ChaCha20Rng) -> String {
    let recipient = PublicKey::from_jwk(jwk).unwrap();
    let params = EncryptionParams {
        kid: jwk["kid"].as_str(),
        enc: ContentEncryption::A256Gcm,
        apu,
        apv: None,
        deflate: false,
    };
    encrypt_compact(&recipient, &params, payload.to_string().as_bytes(), rng).unwrap()
}

fn codes(outcome: &Outcome) -> Vec<&'static str> {
    outcome.codes()
}

fn assert_verified_pid(outcome: &Outcome) {
    let verified = outcome.verified().unwrap_or_else(|| panic!("not verified: {outcome:?}"));
    let credential = &verified.credentials["pid"][0];
    let summary = serde_json::to_value(outcome.summary()).unwrap();
    assert_eq!(summary["status"], "verified");
    match credential.format {
        crate::request::CredentialFormat::DcSdJwt => {
            assert_eq!(credential.claims["family_name"], "Jensen");
            assert_eq!(credential.claims.get("birthdate"), None);
            assert_eq!(summary["claims"]["pid"][0]["claims"]["given_name"], "Karen");
        }
        _ => {
            assert_eq!(credential.claims[PID_DOCTYPE]["family_name"], "Jensen");
            assert_eq!(summary["claims"]["pid"][0]["claims"][PID_DOCTYPE]["given_name"], "Karen");
        }
    }
}

// ------------------------------------------------------------------------ redirect, happy paths

fn sd_jwt_round_trip(mode: ResponseMode) {
    let mut f = fixture();
    let started = f.start(pid_sd_jwt_query(), mode);
    let fetched = f.fetch(&started, None);
    assert_eq!(fetched.request.response_mode, mode);
    assert_eq!(fetched.request.nonce, started.transaction.nonce());
    let presentation = f.pid_presentation(&fetched.request.client_id.to_string(), &fetched.request.nonce);
    let answer = f.answer(&fetched, json!({"pid": [presentation]}), None);
    let outcome = finish(&started.transaction, answer, &f.context(), NOW + 2).unwrap();
    assert_verified_pid(&outcome);
}

#[test]
fn sd_jwt_verifies_over_direct_post_jwt() {
    sd_jwt_round_trip(ResponseMode::DirectPostJwt);
}

#[test]
fn sd_jwt_verifies_over_direct_post() {
    sd_jwt_round_trip(ResponseMode::DirectPost);
}

fn mdoc_round_trip(mode: ResponseMode) {
    let mut f = fixture();
    let started = f.start(pid_mdoc_query(), mode);
    let fetched = f.fetch(&started, None);
    let transcript = Fixture::transcript(&fetched);
    let response =
        f.device_response(&[(PID_DOCTYPE, "family_name"), (PID_DOCTYPE, "given_name")], &transcript);
    let answer = f.answer(&fetched, json!({"pid": [response]}), None);
    let outcome = finish(&started.transaction, answer, &f.context(), NOW + 2).unwrap();
    assert_verified_pid(&outcome);
}

#[test]
fn mdoc_verifies_over_direct_post_jwt_with_the_1_0_handover() {
    mdoc_round_trip(ResponseMode::DirectPostJwt);
}

#[test]
fn mdoc_verifies_over_direct_post_with_the_1_0_handover() {
    mdoc_round_trip(ResponseMode::DirectPost);
}

#[test]
fn mdoc_verifies_with_the_draft18_handover_and_apu_nonce() {
    let mut f = fixture();
    let started = f.start(pid_mdoc_query(), ResponseMode::DirectPostJwt);
    let fetched = f.fetch(&started, None);
    let mdoc_nonce = "mdoc-generated-nonce-1";
    // Deployed wallets hash the client_id as received, prefix included, or without it.
    for client_id in [fetched.request.client_id.to_string(), HOST.to_owned()] {
        let transcript = SessionTranscript::openid4vp_draft18(
            &client_id,
            &fetched.request.response_uri,
            &fetched.request.nonce,
            mdoc_nonce,
        );
        let response =
            f.device_response(&[(PID_DOCTYPE, "family_name"), (PID_DOCTYPE, "given_name")], &transcript);
        let answer = f.answer(&fetched, json!({"pid": [response]}), Some(mdoc_nonce.as_bytes()));
        let outcome = finish(&started.transaction, answer, &f.context(), NOW + 2).unwrap();
        assert_verified_pid(&outcome);
    }

    // Without the apu the draft 18 transcript cannot be rebuilt.
    let transcript = SessionTranscript::openid4vp_draft18(
        &fetched.request.client_id.to_string(),
        &fetched.request.response_uri,
        &fetched.request.nonce,
        mdoc_nonce,
    );
    let response =
        f.device_response(&[(PID_DOCTYPE, "family_name"), (PID_DOCTYPE, "given_name")], &transcript);
    let answer = f.answer(&fetched, json!({"pid": [response]}), None);
    let outcome = finish(&started.transaction, answer, &f.context(), NOW + 2).unwrap();
    assert_eq!(codes(&outcome), ["wrong_session_transcript", "missing_credential"]);
}

#[test]
fn request_uri_method_post_echoes_the_wallet_nonce() {
    let mut f = fixture();
    let started = f.start_with(pid_sd_jwt_query(), ResponseMode::DirectPostJwt, RequestUriMethod::Post);
    assert!(started.authorization_request.ends_with("&request_uri_method=post"));
    let fetched = f.fetch(&started, Some("wallet-nonce-123"));
    assert_eq!(fetched.request.claims["wallet_nonce"], "wallet-nonce-123");
    let presentation = f.pid_presentation(&fetched.request.client_id.to_string(), &fetched.request.nonce);
    let answer = f.answer(&fetched, json!({"pid": [presentation]}), None);
    assert_verified_pid(&finish(&started.transaction, answer, &f.context(), NOW + 2).unwrap());
}

#[test]
fn request_object_is_reproducible_from_the_stored_transaction() {
    let mut f = fixture();
    let started = f.start(pid_sd_jwt_query(), ResponseMode::DirectPostJwt);
    let first = request_object(&f.identity, &started.transaction, None, &f.clock).unwrap();
    let restored: Transaction =
        serde_json::from_str(&serde_json::to_string(&started.transaction).unwrap()).unwrap();
    let second = request_object(&f.identity, &restored, None, &f.clock).unwrap();
    // ES256 signatures are randomised; the signed claims are the same.
    let claims = |jws: &str| CompactJws::parse(jws).unwrap().payload_json().unwrap();
    assert_eq!(claims(&first), claims(&second));
    assert_eq!(claims(&first)["exp"], json!(started.transaction.expires_at()));
}

#[test]
fn transaction_round_trips_through_json_and_still_finishes() {
    let mut f = fixture();
    let started = f.start(pid_mdoc_query(), ResponseMode::DirectPostJwt);
    let stored = serde_json::to_string(&started.transaction).unwrap();
    let stored_json: Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(stored_json["kind"]["type"], "redirect");
    assert_eq!(stored_json["kind"]["response_mode"], "direct_post.jwt");
    assert_eq!(stored_json["client_id"], format!("x509_san_dns:{HOST}"));
    let d = stored_json["response_key"]["d"].as_str().unwrap().to_owned();
    let debug = format!("{:?}", started.transaction);
    assert!(!debug.contains(&d), "Debug shows the private key");
    assert!(!debug.contains(started.transaction.transaction_id()), "Debug shows the transaction id");

    let restored: Transaction = serde_json::from_str(&stored).unwrap();
    assert_eq!(restored.nonce(), started.transaction.nonce());
    assert!(restored.transaction_id_is(started.transaction.transaction_id()));
    assert!(!restored.transaction_id_is(restored.request_id()));
    let fetched = f.fetch(&Started { transaction: restored.clone(), ..started.clone() }, None);
    let transcript = Fixture::transcript(&fetched);
    let response =
        f.device_response(&[(PID_DOCTYPE, "family_name"), (PID_DOCTYPE, "given_name")], &transcript);
    let answer = f.answer(&fetched, json!({"pid": [response]}), None);
    assert_verified_pid(&finish(&restored, answer, &f.context(), NOW + 2).unwrap());

    // A stored key whose public part was swapped is refused, not silently used.
    let mut tampered = stored_json.clone();
    tampered["response_key"]["x"] = stored_json["response_key"]["y"].clone();
    let tampered: Transaction = serde_json::from_value(tampered).unwrap();
    assert_eq!(request_object(&f.identity, &tampered, None, &f.clock).unwrap_err().code(), "key");
}

#[test]
fn redirect_uri_identity_passes_an_unsigned_request_by_value() {
    let mut f = fixture();
    let ids = TransactionIds::generate(&mut f.rng);
    let (_, response_uri) = Fixture::urls(&ids, HOST, "https");
    let options = StartOptions {
        response_mode: ResponseMode::DirectPost,
        ..StartOptions::new(pid_sd_jwt_query(), "", &response_uri)
    };
    let identity = VerifierIdentity::redirect_uri();
    let started = start(&identity, ids, options, &mut f.rng, &f.clock).unwrap();
    let url = url::Url::parse(&started.authorization_request).unwrap();
    let parameters: Map<String, Value> =
        url.query_pairs().map(|(name, value)| (name.into_owned(), Value::from(value.into_owned()))).collect();
    let client_id = format!("redirect_uri:{response_uri}");
    assert_eq!(parameters["client_id"], client_id);
    assert_eq!(parameters["response_uri"], response_uri);
    assert_eq!(parameters["nonce"], started.transaction.nonce());
    assert!(parameters.get("request_uri").is_none());
    assert_eq!(
        request_object(&identity, &started.transaction, None, &f.clock).unwrap_err().code(),
        "identity"
    );

    let presentation = f.pid_presentation(&client_id, started.transaction.nonce());
    let fields = vec![
        ("vp_token".to_owned(), json!({"pid": [presentation]}).to_string()),
        ("state".to_owned(), started.transaction.state().unwrap().to_owned()),
    ];
    let answer = WalletAnswer::from_form(&fields).unwrap();
    assert_verified_pid(&finish(&started.transaction, answer, &f.context(), NOW + 2).unwrap());
}

#[test]
fn loopback_http_is_allowed_for_development_only() {
    let mut f = fixture_with("localhost", 8);
    let ids = TransactionIds::generate(&mut f.rng);
    let (request_uri, response_uri) = Fixture::urls(&ids, "localhost:8080", "http");
    let options = StartOptions::new(pid_sd_jwt_query(), &request_uri, &response_uri);
    let started = start(&f.identity, ids, options, &mut f.rng, &f.clock).unwrap();
    let fetched = f.fetch(&started, None);
    assert_eq!(fetched.request.response_uri, response_uri);

    let mut f = fixture();
    let ids = TransactionIds::generate(&mut f.rng);
    let (request_uri, response_uri) = Fixture::urls(&ids, HOST, "http");
    let options = StartOptions::new(pid_sd_jwt_query(), &request_uri, &response_uri);
    let error = start(&f.identity, ids, options, &mut f.rng, &f.clock).unwrap_err();
    assert_eq!(error.code(), "invalid_options");
}

#[test]
fn age_over_18_is_answered_from_the_summary() {
    let mut f = fixture();
    let started = f.start(age_over_18_either_format().unwrap(), ResponseMode::DirectPostJwt);
    let fetched = f.fetch(&started, None);
    let credential = f.sd_jwt(AGE_VCT, json!({"age_equal_or_over": {"18": true, "21": false}}));
    let presentation = f.present(
        &credential,
        &[&["age_equal_or_over", "18"]],
        &fetched.request.client_id.to_string(),
        &fetched.request.nonce,
    );
    let answer = f.answer(&fetched, json!({"age_sd_jwt": [presentation]}), None);
    let outcome = finish(&started.transaction, answer, &f.context(), NOW + 2).unwrap();
    assert_eq!(outcome.age_over_18(), Some(true), "{outcome:?}");
    assert_eq!(outcome.age_over(21), None);
    let summary = outcome.summary();
    assert_eq!(summary.status, OutcomeStatus::Verified);
    assert_eq!(summary.claims["age_sd_jwt"][0].credential_type, AGE_VCT);
}

#[test]
fn wallet_errors_are_reported_with_their_code() {
    let mut f = fixture();
    let started = f.start(pid_sd_jwt_query(), ResponseMode::DirectPost);
    let fields = vec![
        ("error".to_owned(), "access_denied".to_owned()),
        ("error_description".to_owned(), "the user declined".to_owned()),
        ("state".to_owned(), started.transaction.state().unwrap().to_owned()),
    ];
    let answer = WalletAnswer::from_form(&fields).unwrap();
    let outcome = finish(&started.transaction, answer, &f.context(), NOW + 2).unwrap();
    assert_eq!(
        outcome,
        Outcome::WalletError { error: "access_denied".into(), description: Some("the user declined".into()) }
    );
    let summary = serde_json::to_value(outcome.summary()).unwrap();
    assert_eq!(
        summary,
        json!({"status": "rejected", "reasons": [{"code": "wallet_error", "detail": "access_denied: the user declined"}]})
    );
}

// ------------------------------------------------------------------------ redirect, refusals

#[test]
fn rejects_wrong_nonce() {
    let mut f = fixture();
    let started = f.start(pid_sd_jwt_query(), ResponseMode::DirectPostJwt);
    let fetched = f.fetch(&started, None);
    let presentation = f.pid_presentation(&fetched.request.client_id.to_string(), "another-nonce-0123456789");
    let answer = f.answer(&fetched, json!({"pid": [presentation]}), None);
    let outcome = finish(&started.transaction, answer, &f.context(), NOW + 2).unwrap();
    assert_eq!(codes(&outcome), ["nonce_mismatch", "missing_credential"]);
}

#[test]
fn rejects_state_of_another_transaction() {
    let mut f = fixture();
    let first = f.start(pid_sd_jwt_query(), ResponseMode::DirectPost);
    let second = f.start(pid_sd_jwt_query(), ResponseMode::DirectPost);
    let fetched = f.fetch(&second, None);
    let presentation = f.pid_presentation(&fetched.request.client_id.to_string(), &fetched.request.nonce);
    let fields = vec![
        ("vp_token".to_owned(), json!({"pid": [presentation]}).to_string()),
        ("state".to_owned(), first.transaction.state().unwrap().to_owned()),
    ];
    let outcome =
        finish(&second.transaction, WalletAnswer::from_form(&fields).unwrap(), &f.context(), NOW + 2)
            .unwrap();
    assert_eq!(codes(&outcome), ["state_mismatch"]);
    // No state at all is refused as well.
    let outcome =
        finish(&second.transaction, WalletAnswer::from_form(&fields[..1]).unwrap(), &f.context(), NOW + 2)
            .unwrap();
    assert_eq!(codes(&outcome), ["state_mismatch"]);
}

#[test]
fn rejects_response_replayed_on_another_transaction() {
    let mut f = fixture();
    // Encrypted: the JWE is for the first transaction's key.
    let first = f.start(pid_sd_jwt_query(), ResponseMode::DirectPostJwt);
    let second = f.start(pid_sd_jwt_query(), ResponseMode::DirectPostJwt);
    let fetched = f.fetch(&first, None);
    let presentation = f.pid_presentation(&fetched.request.client_id.to_string(), &fetched.request.nonce);
    let answer = f.answer(&fetched, json!({"pid": [presentation]}), None);
    assert!(finish(&first.transaction, answer.clone(), &f.context(), NOW + 2).unwrap().is_verified());
    let outcome = finish(&second.transaction, answer, &f.context(), NOW + 2).unwrap();
    assert_eq!(codes(&outcome), ["decryption_failed"]);

    // In clear, with the second transaction's state spliced in: the nonce gives it away.
    let first = f.start(pid_sd_jwt_query(), ResponseMode::DirectPost);
    let second = f.start(pid_sd_jwt_query(), ResponseMode::DirectPost);
    let fetched = f.fetch(&first, None);
    let presentation = f.pid_presentation(&fetched.request.client_id.to_string(), &fetched.request.nonce);
    let fields = vec![
        ("vp_token".to_owned(), json!({"pid": [presentation]}).to_string()),
        ("state".to_owned(), second.transaction.state().unwrap().to_owned()),
    ];
    let outcome =
        finish(&second.transaction, WalletAnswer::from_form(&fields).unwrap(), &f.context(), NOW + 2)
            .unwrap();
    assert_eq!(codes(&outcome), ["nonce_mismatch", "missing_credential"]);
}

#[test]
fn rejects_key_binding_for_another_audience() {
    let mut f = fixture();
    let started = f.start(pid_sd_jwt_query(), ResponseMode::DirectPostJwt);
    let fetched = f.fetch(&started, None);
    let presentation = f.pid_presentation("x509_san_dns:other.example", &fetched.request.nonce);
    let answer = f.answer(&fetched, json!({"pid": [presentation]}), None);
    let outcome = finish(&started.transaction, answer, &f.context(), NOW + 2).unwrap();
    assert_eq!(codes(&outcome), ["audience_mismatch", "missing_credential"]);
}

#[test]
fn rejects_mdoc_with_a_foreign_session_transcript() {
    let mut f = fixture();
    let started = f.start(pid_mdoc_query(), ResponseMode::DirectPostJwt);
    let fetched = f.fetch(&started, None);
    // Another verifier's handover (other client_id), and ours without the key thumbprint.
    for transcript in [
        SessionTranscript::openid4vp(
            "x509_san_dns:other.example",
            &fetched.request.nonce,
            None,
            &fetched.request.response_uri,
        ),
        SessionTranscript::openid4vp(
            &fetched.request.client_id.to_string(),
            &fetched.request.nonce,
            None,
            &fetched.request.response_uri,
        ),
    ] {
        let response =
            f.device_response(&[(PID_DOCTYPE, "family_name"), (PID_DOCTYPE, "given_name")], &transcript);
        let answer = f.answer(&fetched, json!({"pid": [response]}), None);
        let outcome = finish(&started.transaction, answer, &f.context(), NOW + 2).unwrap();
        assert_eq!(codes(&outcome), ["wrong_session_transcript", "missing_credential"]);
    }
}

#[test]
fn rejects_plain_vp_token_when_encryption_was_requested() {
    let mut f = fixture();
    let started = f.start(pid_sd_jwt_query(), ResponseMode::DirectPostJwt);
    let fetched = f.fetch(&started, None);
    let presentation = f.pid_presentation(&fetched.request.client_id.to_string(), &fetched.request.nonce);
    let fields = vec![
        ("vp_token".to_owned(), json!({"pid": [presentation]}).to_string()),
        ("state".to_owned(), fetched.request.state.clone().unwrap()),
    ];
    let outcome =
        finish(&started.transaction, WalletAnswer::from_form(&fields).unwrap(), &f.context(), NOW + 2)
            .unwrap();
    assert_eq!(codes(&outcome), ["encryption_required"]);
}

#[test]
fn rejects_jwe_for_another_key() {
    let mut f = fixture();
    let started = f.start(pid_sd_jwt_query(), ResponseMode::DirectPostJwt);
    let fetched = f.fetch(&started, None);
    let presentation = f.pid_presentation(&fetched.request.client_id.to_string(), &fetched.request.nonce);
    let payload = json!({"vp_token": {"pid": [presentation]}, "state": fetched.request.state});
    // Another key under the same kid: the kid check passes, decryption does not.
    let other = crate::response::jwe::ResponseDecryptionKey::generate(
        fetched.request.encryption_jwk.as_ref().unwrap()["kid"].as_str().unwrap(),
        &mut f.rng,
    )
    .unwrap();
    let jwe = encrypt_to(&other.public_jwk(), &payload, None, &mut f.rng);
    let answer = WalletAnswer::from_form(&[("response".to_owned(), jwe)]).unwrap();
    let outcome = finish(&started.transaction, answer, &f.context(), NOW + 2).unwrap();
    assert_eq!(codes(&outcome), ["decryption_failed"]);
}

#[test]
fn rejects_encrypted_payload_with_another_state() {
    let mut f = fixture();
    let started = f.start(pid_sd_jwt_query(), ResponseMode::DirectPostJwt);
    let fetched = f.fetch(&started, None);
    let presentation = f.pid_presentation(&fetched.request.client_id.to_string(), &fetched.request.nonce);
    let jwk = fetched.request.encryption_jwk.clone().unwrap();
    for payload in [
        json!({"vp_token": {"pid": [presentation]}, "state": "another-state"}),
        json!({"vp_token": {"pid": [presentation]}}),
    ] {
        let jwe = encrypt_to(&jwk, &payload, None, &mut f.rng);
        let answer = WalletAnswer::from_form(&[("response".to_owned(), jwe)]).unwrap();
        let outcome = finish(&started.transaction, answer, &f.context(), NOW + 2).unwrap();
        assert_eq!(codes(&outcome), ["state_mismatch"]);
    }
}

#[test]
fn rejects_expired_transaction() {
    let mut f = fixture();
    let started = f.start(pid_sd_jwt_query(), ResponseMode::DirectPostJwt);
    let fetched = f.fetch(&started, None);
    let presentation = f.pid_presentation(&fetched.request.client_id.to_string(), &fetched.request.nonce);
    let answer = f.answer(&fetched, json!({"pid": [presentation]}), None);
    let expires_at = started.transaction.expires_at();
    assert_eq!(expires_at, NOW + crate::request::object::DEFAULT_LIFETIME);
    let outcome = finish(&started.transaction, answer, &f.context(), expires_at).unwrap();
    assert_eq!(codes(&outcome), ["transaction_expired"]);
    let late = FixedClock(expires_at);
    assert_eq!(
        request_object(&f.identity, &started.transaction, None, &late),
        Err(FlowError::Expired { expires_at, now: expires_at })
    );
}

#[test]
fn rejects_malformed_jwe_json_and_cbor() {
    let mut f = fixture();
    let started = f.start(pid_mdoc_query(), ResponseMode::DirectPostJwt);
    let fetched = f.fetch(&started, None);
    let jwk = fetched.request.encryption_jwk.clone().unwrap();
    let state = fetched.request.state.clone().unwrap();

    // A JWE that is no JWE, and one whose payload is not JSON.
    for response in ["not-a-jwe".to_owned(), "a.b.c.d.e".to_owned()] {
        let answer = WalletAnswer::from_form(&[("response".to_owned(), response)]).unwrap();
        let outcome = finish(&started.transaction, answer, &f.context(), NOW + 2).unwrap();
        assert_eq!(codes(&outcome), ["malformed_response"]);
    }
    let recipient = PublicKey::from_jwk(&jwk).unwrap();
    let params = EncryptionParams {
        kid: jwk["kid"].as_str(),
        enc: ContentEncryption::A128Gcm,
        apu: None,
        apv: None,
        deflate: false,
    };
    let jwe = encrypt_compact(&recipient, &params, b"{not json", &mut f.rng).unwrap();
    let answer = WalletAnswer::from_form(&[("response".to_owned(), jwe)]).unwrap();
    assert_eq!(
        codes(&finish(&started.transaction, answer, &f.context(), NOW + 2).unwrap()),
        ["malformed_response"]
    );
    // A JSON payload without a vp_token object.
    let jwe = encrypt_to(&jwk, &json!({"state": state, "vp_token": "pid"}), None, &mut f.rng);
    let answer = WalletAnswer::from_form(&[("response".to_owned(), jwe)]).unwrap();
    assert_eq!(
        codes(&finish(&started.transaction, answer, &f.context(), NOW + 2).unwrap()),
        ["malformed_response"]
    );

    // A DeviceResponse that is no CBOR.
    let garbage = base64url_encode([0xff, 0x00, 0x13, 0x37]);
    let answer = f.answer(&fetched, json!({"pid": [garbage]}), None);
    let outcome = finish(&started.transaction, answer, &f.context(), NOW + 2).unwrap();
    assert_eq!(codes(&outcome), ["malformed_presentation", "missing_credential"]);

    // A form vp_token that is not JSON is no answer at all.
    let fields = vec![("vp_token".to_owned(), "{pid: [".to_owned()), ("state".to_owned(), state)];
    assert_eq!(WalletAnswer::from_form(&fields).unwrap_err().code(), "malformed_answer");
}

#[test]
fn rejects_unrequested_claims() {
    let mut f = fixture();
    let started = f.start(pid_sd_jwt_query(), ResponseMode::DirectPostJwt);
    let fetched = f.fetch(&started, None);
    let credential =
        f.sd_jwt(PID_VCT, json!({"family_name": "Jensen", "given_name": "Karen", "birthdate": "1990-02-01"}));
    let presentation = f.present(
        &credential,
        &[&["family_name"], &["given_name"], &["birthdate"]],
        &fetched.request.client_id.to_string(),
        &fetched.request.nonce,
    );
    let answer = f.answer(&fetched, json!({"pid": [presentation]}), None);
    let outcome = finish(&started.transaction, answer, &f.context(), NOW + 2).unwrap();
    assert_eq!(codes(&outcome), ["unrequested_claim", "missing_credential"]);

    // mdoc: an element beyond the query.
    let started = f.start(pid_mdoc_query(), ResponseMode::DirectPost);
    let fetched = f.fetch(&started, None);
    let transcript = Fixture::transcript(&fetched);
    let response = f.device_response(
        &[(PID_DOCTYPE, "family_name"), (PID_DOCTYPE, "given_name"), (PID_DOCTYPE, "birth_date")],
        &transcript,
    );
    let answer = f.answer(&fetched, json!({"pid": [response]}), None);
    let outcome = finish(&started.transaction, answer, &f.context(), NOW + 2).unwrap();
    assert_eq!(codes(&outcome), ["unrequested_claim", "missing_credential"]);
}

#[test]
fn rejects_malformed_forms() {
    let field = |name: &str, value: &str| (name.to_owned(), value.to_owned());
    for fields in [
        vec![],
        vec![field("state", "s")],
        vec![field("vp_token", "{}"), field("vp_token", "{}")],
        vec![field("vp_token", "{}"), field("response", "a.b.c.d.e")],
        vec![field("vp_token", "[]")],
        vec![field("response", "a.b.c.d.e"), field("state", "s")],
        vec![field("error", "")],
        vec![field("error", "bad\nerror")],
        vec![field("state", &"s".repeat(2000)), field("vp_token", "{}")],
        vec![field("vp_token", &"x".repeat(MAX_FORM_VALUE_LEN + 1))],
        (0..=MAX_FORM_FIELDS).map(|i| field(&format!("x{i}"), "")).collect(),
    ] {
        let error = WalletAnswer::from_form(&fields).unwrap_err();
        assert_eq!(error.code(), "malformed_answer", "{error}");
    }
    // Unknown parameters are ignored.
    let answer = WalletAnswer::from_form(&[field("vp_token", "{}"), field("iss", "wallet")]).unwrap();
    assert_eq!(answer, WalletAnswer::VpToken { vp_token: json!({}), state: None });
}

#[test]
fn rejects_caller_mistakes() {
    let mut f = fixture();
    let started = f.start(pid_sd_jwt_query(), ResponseMode::DirectPostJwt);
    // Another identity (another client_id) cannot serve the object; a rotated access
    // certificate with the same client_id could.
    let other = fixture_with("other.example", 9);
    let error = request_object(&other.identity, &started.transaction, None, &f.clock).unwrap_err();
    assert_eq!(error.code(), "identity_mismatch");
    // A redirect transaction is not finished over the DC API, and the other way round.
    let error = finish_dc_api(&started.transaction, &json!({}), ORIGIN, &f.context(), NOW).unwrap_err();
    assert_eq!(error.code(), "wrong_kind");
    let (_, dc) = f.start_dc_api(pid_sd_jwt_query(), false, false);
    let answer = WalletAnswer::VpToken { vp_token: json!({}), state: None };
    assert_eq!(finish(&dc, answer, &f.context(), NOW).unwrap_err().code(), "wrong_kind");
    // Lifetimes out of range, a response_uri on another host than the x509_san_dns name.
    for (lifetime, host) in [(0, HOST), (MAX_LIFETIME + 1, HOST), (60, "other.example")] {
        let ids = TransactionIds::generate(&mut f.rng);
        let (request_uri, response_uri) = Fixture::urls(&ids, host, "https");
        let options = StartOptions {
            lifetime_seconds: lifetime,
            ..StartOptions::new(pid_sd_jwt_query(), &request_uri, &response_uri)
        };
        assert!(start(&f.identity, ids, options, &mut f.rng, &f.clock).is_err(), "{lifetime} {host}");
    }
    // A client_id the certificate does not carry.
    let signer = Arc::new(SoftwareSigner::generate(&mut f.rng).unwrap());
    let client_id = ClientId::parse("x509_san_dns:verifier.example").unwrap();
    assert!(VerifierIdentity::signed(client_id, signer).is_err());
}

#[test]
fn ids_are_independent_and_well_formed() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let ids = TransactionIds::generate(&mut rng);
    assert_ne!(ids.transaction_id, ids.request_id);
    assert!(TransactionIds::is_well_formed(&ids.transaction_id));
    assert!(TransactionIds::is_well_formed(&ids.request_id));
    assert!(!TransactionIds::is_well_formed("short"));
    assert!(!TransactionIds::is_well_formed(&format!("{}=", &ids.request_id[1..])));
    assert!(!format!("{ids:?}").contains(&ids.transaction_id));
}

// ------------------------------------------------------------------------ PID trust anchors

#[test]
fn pid_must_chain_to_the_pid_anchors_when_they_are_set() {
    let mut f = fixture();
    let mut other_rng = ChaCha20Rng::seed_from_u64(99);
    let attestation_provider = pki(&mut other_rng, "Attestation provider", &[], true);
    let mut general = TrustAnchors::new();
    general.add_der(&attestation_provider.ca_der).unwrap();

    let started = f.start(pid_sd_jwt_query(), ResponseMode::DirectPostJwt);
    let fetched = f.fetch(&started, None);
    let presentation = f.pid_presentation(&fetched.request.client_id.to_string(), &fetched.request.nonce);
    let answer = f.answer(&fetched, json!({"pid": [presentation]}), None);

    // The PID issuer's CA as PID anchor: accepted.
    let context =
        VerifyContext { trust_anchors: &general, pid_trust_anchors: Some(&f.issuer_anchors), ..f.context() };
    assert!(finish(&started.transaction, answer.clone(), &context, NOW + 2).unwrap().is_verified());
    // The PID issuer's CA only among the general anchors: a PID from an attestation provider.
    let context = VerifyContext { pid_trust_anchors: Some(&general), ..f.context() };
    let outcome = finish(&started.transaction, answer, &context, NOW + 2).unwrap();
    assert_eq!(codes(&outcome), ["untrusted_issuer", "missing_credential"]);

    // Non-PID types chain to the general anchors, not the PID ones.
    let started = f.start(age_over_18_either_format().unwrap(), ResponseMode::DirectPostJwt);
    let fetched = f.fetch(&started, None);
    let credential = f.sd_jwt(AGE_VCT, json!({"age_equal_or_over": {"18": true}}));
    let presentation = f.present(
        &credential,
        &[&["age_equal_or_over", "18"]],
        &fetched.request.client_id.to_string(),
        &fetched.request.nonce,
    );
    let answer = f.answer(&fetched, json!({"age_sd_jwt": [presentation]}), None);
    assert!(finish(&started.transaction, answer.clone(), &f.context(), NOW + 2).unwrap().is_verified());
    let context =
        VerifyContext { trust_anchors: &general, pid_trust_anchors: Some(&f.issuer_anchors), ..f.context() };
    let outcome = finish(&started.transaction, answer, &context, NOW + 2).unwrap();
    assert_eq!(codes(&outcome)[0], "untrusted_issuer");
}

// ------------------------------------------------------------------------ DC API

impl Fixture {
    fn start_dc_api(
        &mut self,
        query: ValidatedDcqlQuery,
        signed: bool,
        encrypted: bool,
    ) -> (DcApiRequest, Transaction) {
        let ids = TransactionIds::generate(&mut self.rng);
        let options = DcApiOptions {
            query,
            signed,
            expected_origins: vec![ORIGIN.to_owned(), "https://www.shop.example".to_owned()],
            encrypted,
            lifetime_seconds: 120,
        };
        start_dc_api(&self.identity, ids, options, &mut self.rng, &self.clock).unwrap()
    }

    /// The wallet's view of the request: the parameters (checked JWS payload when signed).
    fn dc_api_parameters(&self, request: &DcApiRequest) -> Map<String, Value> {
        let json = serde_json::to_value(request).unwrap();
        let entries = json["requests"].as_array().unwrap();
        assert_eq!(entries.len(), 1);
        let data = &entries[0]["data"];
        match entries[0]["protocol"].as_str().unwrap() {
            DC_API_SIGNED_PROTOCOL => {
                let jws = CompactJws::parse(data["request"].as_str().unwrap()).unwrap();
                assert_eq!(jws.typ().unwrap(), Some("oauth-authz-req+jwt"));
                let chain = jws.x5c().unwrap().unwrap();
                let validated = self.access_anchors.validate(&chain, NOW).unwrap();
                jws.verify(&validated.leaf_key).unwrap();
                let claims = jws.payload_json().unwrap();
                ClientId::parse(claims["client_id"].as_str().unwrap())
                    .unwrap()
                    .check_certificate(&chain)
                    .unwrap();
                claims
            }
            DC_API_UNSIGNED_PROTOCOL => data.as_object().cloned().unwrap(),
            other => panic!("protocol {other}"),
        }
    }

    /// `DigitalCredential.data`: `{vp_token}` in clear or `{response}` encrypted.
    fn dc_api_data(&mut self, parameters: &Map<String, Value>, vp_token: Value) -> Value {
        match parameters["response_mode"].as_str().unwrap() {
            "dc_api" => json!({ "vp_token": vp_token }),
            "dc_api.jwt" => {
                let jwk = parameters["client_metadata"]["jwks"]["keys"][0].clone();
                json!({ "response": encrypt_to(&jwk, &json!({ "vp_token": vp_token }), None, &mut self.rng) })
            }
            other => panic!("response_mode {other}"),
        }
    }

    fn dc_api_thumbprint(parameters: &Map<String, Value>) -> Option<[u8; 32]> {
        parameters["client_metadata"]
            .get("jwks")
            .map(|jwks| PublicKey::from_jwk(&jwks["keys"][0]).unwrap().jwk_thumbprint())
    }
}

#[test]
fn dc_api_signed_and_unsigned_verify_in_both_formats() {
    let mut f = fixture();
    for (signed, encrypted) in [(true, true), (true, false), (false, true), (false, false)] {
        // SD-JWT VC: audience origin:<origin>.
        let (request, transaction) = f.start_dc_api(pid_sd_jwt_query(), signed, encrypted);
        let parameters = f.dc_api_parameters(&request);
        assert_eq!(parameters.contains_key("client_id"), signed);
        assert_eq!(parameters.contains_key("expected_origins"), signed);
        assert!(!parameters.contains_key("state") && !parameters.contains_key("response_uri"));
        assert_eq!(parameters["nonce"], transaction.nonce());
        assert_eq!(parameters["response_mode"], if encrypted { "dc_api.jwt" } else { "dc_api" });
        assert_eq!(transaction.response_mode_value(), parameters["response_mode"]);
        if signed {
            assert_eq!(parameters["expected_origins"], json!([ORIGIN, "https://www.shop.example"]));
        }
        let nonce = parameters["nonce"].as_str().unwrap().to_owned();
        let presentation = f.pid_presentation(&format!("origin:{ORIGIN}"), &nonce);
        let data = f.dc_api_data(&parameters, json!({"pid": [presentation]}));
        let outcome = finish_dc_api(&transaction, &data, ORIGIN, &f.context(), NOW + 2).unwrap();
        assert_verified_pid(&outcome);

        // mdoc: the OpenID4VPDCAPIHandover over origin, nonce and thumbprint.
        let (request, transaction) = f.start_dc_api(pid_mdoc_query(), signed, encrypted);
        let stored: Transaction =
            serde_json::from_str(&serde_json::to_string(&transaction).unwrap()).unwrap();
        let parameters = f.dc_api_parameters(&request);
        let nonce = parameters["nonce"].as_str().unwrap().to_owned();
        let thumbprint = Fixture::dc_api_thumbprint(&parameters);
        let transcript = SessionTranscript::openid4vp_dc_api(ORIGIN, &nonce, thumbprint.as_ref());
        let response =
            f.device_response(&[(PID_DOCTYPE, "family_name"), (PID_DOCTYPE, "given_name")], &transcript);
        let data = f.dc_api_data(&parameters, json!({"pid": [response]}));
        let outcome = finish_dc_api(&stored, &data, ORIGIN, &f.context(), NOW + 2).unwrap();
        assert_verified_pid(&outcome);
    }
}

#[test]
fn dc_api_accepts_the_draft24_handover() {
    let mut f = fixture();
    let (request, transaction) = f.start_dc_api(pid_mdoc_query(), true, false);
    let parameters = f.dc_api_parameters(&request);
    let nonce = parameters["nonce"].as_str().unwrap().to_owned();
    let client_id = parameters["client_id"].as_str().unwrap().to_owned();
    let transcript = SessionTranscript::openid4vp_dc_api_draft24(ORIGIN, &client_id, &nonce);
    let response =
        f.device_response(&[(PID_DOCTYPE, "family_name"), (PID_DOCTYPE, "given_name")], &transcript);
    let outcome =
        finish_dc_api(&transaction, &json!({"vp_token": {"pid": [response]}}), ORIGIN, &f.context(), NOW + 2)
            .unwrap();
    assert_verified_pid(&outcome);
}

#[test]
fn rejects_dc_api_origin_not_expected() {
    let mut f = fixture();
    for signed in [true, false] {
        let (request, transaction) = f.start_dc_api(pid_sd_jwt_query(), signed, false);
        let parameters = f.dc_api_parameters(&request);
        let nonce = parameters["nonce"].as_str().unwrap().to_owned();
        // The wallet bound the presentation to the origin it saw: the attacker's.
        let evil = "https://evil.example";
        let presentation = f.pid_presentation(&format!("origin:{evil}"), &nonce);
        let data = f.dc_api_data(&parameters, json!({"pid": [presentation]}));
        let outcome = finish_dc_api(&transaction, &data, evil, &f.context(), NOW + 2).unwrap();
        assert_eq!(codes(&outcome), ["origin_mismatch"]);
        // Claiming the expected origin does not help: the audience gives it away.
        let outcome = finish_dc_api(&transaction, &data, ORIGIN, &f.context(), NOW + 2).unwrap();
        assert_eq!(codes(&outcome), ["audience_mismatch", "missing_credential"]);
    }
}

#[test]
fn rejects_dc_api_answers_that_do_not_fit() {
    let mut f = fixture();
    let (request, transaction) = f.start_dc_api(pid_sd_jwt_query(), true, true);
    let parameters = f.dc_api_parameters(&request);
    let nonce = parameters["nonce"].as_str().unwrap().to_owned();
    let presentation = f.pid_presentation(&format!("origin:{ORIGIN}"), &nonce);
    let check = |data: Value, expected: &[&str]| {
        let outcome = finish_dc_api(&transaction, &data, ORIGIN, &f.context(), NOW + 2).unwrap();
        assert_eq!(codes(&outcome), expected, "{data}");
    };
    check(json!({"vp_token": {"pid": [presentation]}}), &["encryption_required"]);
    check(json!({"response": "a.b.c.d.e"}), &["malformed_response"]);
    check(json!({"response": 5}), &["malformed_response"]);
    check(json!("vp_token"), &["malformed_response"]);
    check(json!({}), &["malformed_response"]);
    check(json!({"error": "access_denied"}), &["wallet_error"]);
    check(json!({"error": 5}), &["malformed_response"]);
    let outcome =
        finish_dc_api(&transaction, &json!({"vp_token": {}}), ORIGIN, &f.context(), transaction.expires_at())
            .unwrap();
    assert_eq!(codes(&outcome), ["transaction_expired"]);
    // Bad options.
    for origins in
        [vec![], vec!["https://shop.example/path".to_owned()], vec!["http://shop.example".to_owned()]]
    {
        let ids = TransactionIds::generate(&mut f.rng);
        let options = DcApiOptions {
            query: pid_sd_jwt_query(),
            signed: false,
            expected_origins: origins,
            encrypted: false,
            lifetime_seconds: 60,
        };
        assert_eq!(
            start_dc_api(&f.identity, ids, options, &mut f.rng, &f.clock).unwrap_err().code(),
            "invalid_options"
        );
    }
    let ids = TransactionIds::generate(&mut f.rng);
    let options = DcApiOptions {
        query: pid_sd_jwt_query(),
        signed: true,
        expected_origins: vec![ORIGIN.to_owned()],
        encrypted: false,
        lifetime_seconds: 60,
    };
    let error =
        start_dc_api(&VerifierIdentity::redirect_uri(), ids, options, &mut f.rng, &f.clock).unwrap_err();
    assert_eq!(error.code(), "identity");
}

// ------------------------------------------------------------------------ real wallet bytes

const MDL: &str = "org.iso.18013.5.1.mDL";
const MDL_NAMESPACE: &str = "org.iso.18013.5.1";

fn mdl_query(elements: &[&str]) -> ValidatedDcqlQuery {
    let credential = elements.iter().fold(CredentialQueryBuilder::mdoc("mdoc", MDL), |query, element| {
        query.mdoc_claim(MDL_NAMESPACE, element)
    });
    DcqlQueryBuilder::new().credential(credential).build().unwrap()
}

/// A stored redirect transaction with the parameters a real wallet answered (their nonces are
/// shorter than Segl's, so the transaction is written out rather than started).
fn real_transaction(
    client_id: ClientId,
    response_uri: &str,
    nonce: &str,
    query: ValidatedDcqlQuery,
    now: UnixTime,
    rng: &mut ChaCha20Rng,
) -> (Transaction, crate::response::jwe::ResponseDecryptionKey) {
    let key = crate::response::jwe::ResponseDecryptionKey::generate("k1", rng).unwrap();
    let transaction = Transaction {
        ids: TransactionIds::generate(rng),
        client_id: Some(client_id),
        nonce: nonce.to_owned(),
        state: Some("state-1".into()),
        query,
        created_at: now - 60,
        expires_at: now + 60,
        kind: TransactionKind::Redirect {
            response_mode: ResponseMode::DirectPostJwt,
            request_uri: "https://example.com/request".into(),
            request_uri_method: RequestUriMethod::Get,
            response_uri: response_uri.to_owned(),
        },
        response_key: Some(transaction::PrivateJwk::from_key(&key).unwrap()),
    };
    (transaction, key)
}

/// A real draft 18 answer: DeviceResponse, DS certificate, client_id, response_uri, nonce,
/// mdocGeneratedNonce, verification time, disclosed elements.
struct RealVector(
    &'static [u8],
    &'static str,
    ClientId,
    &'static str,
    &'static str,
    &'static str,
    UnixTime,
    &'static [&'static str],
);

#[test]
fn real_draft18_wallet_responses_finish() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let vectors: [RealVector; 2] = [
        RealVector(
            include_bytes!("../../../test-vectors/mdoc-real/france_device_response.cbor"),
            include_str!("../../../test-vectors/mdoc-real/france_ds_cert.pem"),
            // Draft 18 hashed the bare name; Segl's request says x509_san_dns:example.com.
            ClientId::parse("x509_san_dns:example.com").unwrap(),
            "https://example.com/12345/response",
            "abcdefgh1234567890",
            "",
            1_632_528_000,
            &[
                "document_number",
                "driving_privileges",
                "expiry_date",
                "family_name",
                "issue_date",
                "portrait",
            ],
        ),
        RealVector(
            include_bytes!("../../../test-vectors/mdoc-real/ubique_device_response.cbor"),
            include_str!("../../../test-vectors/mdoc-real/ubique_ds_cert.pem"),
            // The bare identifier is a base64url SHA-256: the x509_hash form of it.
            ClientId::parse("x509_hash:Cq1anPb8vZU5j5C0d7hcsbuJLBpIawUJIDQRi2Ebwb4").unwrap(),
            "http://localhost:4000/api/presentation_request/dc8999df-d6ea-4c84-9985-37a8b81a82ec/callback",
            "abcdefg",
            "123456",
            1_738_368_000,
            &["family_name"],
        ),
    ];
    for RealVector(bytes, pem, client_id, response_uri, nonce, mdoc_nonce, now, disclosed) in vectors {
        let mut anchors = TrustAnchors::new();
        anchors.add_pem(pem).unwrap();
        let clock = FixedClock(now);
        let context = VerifyContext::new(&anchors, &clock);
        let (transaction, key) =
            real_transaction(client_id, response_uri, nonce, mdl_query(disclosed), now, &mut rng);
        let payload = json!({"vp_token": {"mdoc": [base64url_encode(bytes)]}, "state": "state-1"});
        let encrypt = |apu: &[u8], rng: &mut ChaCha20Rng| {
            let jwe = encrypt_to(&key.public_jwk(), &payload, Some(apu), rng);
            WalletAnswer::from_form(&[("response".to_owned(), jwe)]).unwrap()
        };
        let outcome = finish(&transaction, encrypt(mdoc_nonce.as_bytes(), &mut rng), &context, now).unwrap();
        let verified = outcome.verified().unwrap_or_else(|| panic!("{response_uri}: {outcome:?}"));
        assert_eq!(verified.credentials["mdoc"][0].credential_type, MDL);
        // Another mdocGeneratedNonce: another transcript.
        let outcome = finish(&transaction, encrypt(b"other", &mut rng), &context, now).unwrap();
        assert_eq!(codes(&outcome)[0], "wrong_session_transcript");
    }
}

#[test]
fn real_draft24_dc_api_response_finishes() {
    let origin = "https://ellis-occurrence-ac-smoking.trycloudflare.com";
    let now = 1_740_009_600;
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let mut anchors = TrustAnchors::new();
    anchors
        .add_pem(include_str!("../../../test-vectors/mdoc-real/google_ds_cert_digitalcredentials_dev.pem"))
        .unwrap();
    let clock = FixedClock(now);
    let transaction = Transaction {
        ids: TransactionIds::generate(&mut rng),
        client_id: None,
        nonce: "UwQek7MemM55VM2Lc7UPPsdsxa-vejebSUo75B_G7vk".into(),
        state: None,
        query: mdl_query(&["family_name", "given_name"]),
        created_at: now - 60,
        expires_at: now + 60,
        kind: TransactionKind::DcApi {
            expected_origins: vec![origin.into()],
            signed: false,
            encrypted: false,
        },
        response_key: None,
    };
    let bytes = include_bytes!("../../../test-vectors/mdoc-real/google_device_response.cbor");
    let data = json!({"vp_token": {"mdoc": [base64url_encode(bytes)]}});
    let context = VerifyContext::new(&anchors, &clock);
    let outcome = finish_dc_api(&transaction, &data, origin, &context, now).unwrap();
    assert!(outcome.is_verified(), "{outcome:?}");
    let outcome = finish_dc_api(&transaction, &data, "https://shop.example", &context, now).unwrap();
    assert_eq!(codes(&outcome), ["origin_mismatch"]);
}
