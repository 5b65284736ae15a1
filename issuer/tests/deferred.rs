//! The authentic source and deferred issuance (OpenID4VCI 1.0 §9) through the real router: offers
//! that name a person, 202 with a `transaction_id` while the person's data is missing, the CSV
//! import (as `segl authentic-source import` runs it, on the same database) and the credentials
//! picked up exactly once; CPR and protected-person rules; refusals with exact codes that change
//! nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{NOW, TOKEN, TestIssuer, get, post_json};
use rand::SeedableRng as _;
use segl_credential::clock::{Clock, FixedClock, UnixTime};
use segl_credential::jose::{self, KeyReference};
use segl_credential::keys::SoftwareSigner;
use segl_issuer::config::Config;
use segl_issuer::source::{IdentifierKind, ProtectedPersons, SourceSettings, import};
use serde_json::{Value, json};

const PID: &str = "eu.europa.ec.eudi.pid_vc_sd_jwt";
const AGE: &str = "proof_of_age";
const HEADER: &str =
    "identifier,protected,family_name,given_name,birth_date,birth_place.country,nationality,resident_city\n";

/// A clock the test moves.
struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now(&self) -> UnixTime {
        self.0.load(Ordering::SeqCst)
    }
}

fn settings_of(config: &mut Config, settings: SourceSettings) {
    config.database_url = None; // SQLite in the data directory, shared with the import
    config.tenants[0].authentic_source = settings;
}

async fn issuer(name: &str, settings: SourceSettings) -> TestIssuer {
    common::start(name, 11, |config| settings_of(config, settings)).await
}

/// Imports `csv` the way `segl authentic-source import` does: the deployment opened again on
/// the same data directory and database.
async fn import(issuer: &TestIssuer, settings: SourceSettings, csv: &str) -> Result<u64, String> {
    let mut config = Config { data_dir: issuer.data_dir.clone(), ..Config::default() };
    settings_of(&mut config, settings);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
    let (state, _) = segl_issuer::deployment::open(&config, Some(TOKEN), Arc::new(FixedClock(NOW)), &mut rng)
        .await
        .unwrap();
    let tenant = state.tenants["default"].clone();
    import::import_csv(&state.store, &tenant, csv.as_bytes(), NOW, &mut rng).await.map_err(|e| e.to_string())
}

/// Offer for `identifier` → token; returns the access token.
async fn token_for(issuer: &TestIssuer, identifier: &str, configurations: &[&str]) -> String {
    let body = json!({"credential_configuration_ids": configurations, "authentic_source": {"identifier": identifier}});
    let (status, created) = issuer.json(post_json("/admin/v1/offers", Some(TOKEN), &body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let offer_path =
        created["credential_offer_uri"].as_str().unwrap().trim_start_matches("http://127.0.0.1:8080");
    let (_, offer) = issuer.json(get(offer_path)).await;
    let code = offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"]
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
    token["access_token"].as_str().unwrap().to_owned()
}

/// A credential request for `configuration` with one fresh key proof.
async fn request_credential(
    issuer: &TestIssuer,
    token: &str,
    configuration: &str,
    at: i64,
) -> (StatusCode, Value) {
    let (_, nonce) = issuer.json(Request::post("/default/nonce").body(Body::empty()).unwrap()).await;
    let holder = SoftwareSigner::generate(&mut rand_chacha::ChaCha20Rng::seed_from_u64(7)).unwrap();
    let header = jose::header("openid4vci-proof+jwt", &holder, KeyReference::Jwk).unwrap();
    let claims = json!({"aud": "http://127.0.0.1:8080/default", "iat": at, "nonce": nonce["c_nonce"]});
    let proof = jose::sign_compact(header, claims.to_string().as_bytes(), &holder).unwrap();
    let body = json!({"credential_configuration_id": configuration, "proofs": {"jwt": [proof]}});
    issuer.json(post_json("/default/credential", Some(token), &body)).await
}

async fn pick_up(issuer: &TestIssuer, token: &str, transaction_id: &Value) -> (StatusCode, Value) {
    let body = json!({"transaction_id": transaction_id});
    issuer.json(post_json("/default/deferred_credential", Some(token), &body)).await
}

fn refused(answer: &(StatusCode, Value), status: StatusCode, code: &str, description: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["error"], code);
    assert_eq!(answer.1["error_description"], description);
}

/// The text of an SD-JWT's disclosures, or an mdoc's CBOR bytes read as text.
fn readable(credential: &str) -> String {
    if credential.contains('~') {
        credential
            .split('~')
            .skip(1)
            .filter_map(|d| URL_SAFE_NO_PAD.decode(d).ok())
            .map(|d| String::from_utf8_lossy(&d).into_owned())
            .collect()
    } else {
        String::from_utf8_lossy(&URL_SAFE_NO_PAD.decode(credential).unwrap()).into_owned()
    }
}

fn credential_of(answer: &Value) -> String {
    answer["credentials"][0]["credential"].as_str().unwrap().to_owned()
}

const UNKNOWN: &str = "the transaction_id is unknown, expired or already used";

#[tokio::test]
async fn deferred_issuance_waits_for_the_data_and_issues_exactly_once() {
    let settings = SourceSettings::default();
    let issuer = issuer("deferred-e2e", settings).await;
    let (_, metadata) = issuer.json(get("/.well-known/openid-credential-issuer/default")).await;
    assert_eq!(metadata["deferred_credential_endpoint"], "http://127.0.0.1:8080/default/deferred_credential");

    let token = token_for(&issuer, "case-17", &[PID]).await;
    let (status, pending) = request_credential(&issuer, &token, PID, NOW).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{pending}");
    assert_eq!(pending["interval"], 60);
    let transaction_id = pending["transaction_id"].clone();
    assert_eq!(transaction_id.as_str().unwrap().len(), 43);

    let (status, still) = pick_up(&issuer, &token, &transaction_id).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(still, json!({"transaction_id": transaction_id, "interval": 60}));

    let row = "case-17,false,Nielsen,Freja,1990-04-12,DK,DK;SE,Aarhus\n";
    assert_eq!(import(&issuer, settings, &format!("{HEADER}{row}")).await, Ok(1));
    let (status, issued) = pick_up(&issuer, &token, &transaction_id).await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    assert_eq!(issued["credentials"].as_array().unwrap().len(), 1);
    assert_eq!(issued["notification_id"].as_str().unwrap().len(), 43);
    let text = readable(&credential_of(&issued));
    assert!(text.contains("Nielsen") && text.contains("Aarhus") && text.contains("SE"), "{text}");

    refused(
        &pick_up(&issuer, &token, &transaction_id).await,
        StatusCode::BAD_REQUEST,
        "invalid_transaction_id",
        UNKNOWN,
    );
}

#[tokio::test]
async fn data_entered_later_is_used_and_re_import_updates() {
    let settings = SourceSettings::default();
    let issuer = issuer("deferred-reimport", settings).await;
    import(&issuer, settings, &format!("{HEADER}p-1,,Hansen,Ida,1990-04-12,DK,DK,Odense\n")).await.unwrap();
    let token = token_for(&issuer, "p-1", &[PID]).await;
    import(&issuer, settings, &format!("{HEADER}p-1,,Hansen-Berg,Ida,1990-04-12,DK,DK,Odense\n"))
        .await
        .unwrap();
    let (status, issued) = request_credential(&issuer, &token, PID, NOW).await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    assert!(readable(&credential_of(&issued)).contains("Hansen-Berg"));
}

#[tokio::test]
async fn rejects_unknown_foreign_and_unauthenticated_pickups_without_spending_the_transaction() {
    let settings = SourceSettings::default();
    let issuer = issuer("deferred-rejects", settings).await;
    let token = token_for(&issuer, "p-2", &[AGE]).await;
    let other = token_for(&issuer, "p-3", &[AGE]).await;
    let (status, pending) = request_credential(&issuer, &token, AGE, NOW).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let transaction_id = pending["transaction_id"].clone();

    refused(
        &pick_up(&issuer, &token, &json!("no-such-transaction")).await,
        StatusCode::BAD_REQUEST,
        "invalid_transaction_id",
        UNKNOWN,
    );
    refused(
        &pick_up(&issuer, &other, &transaction_id).await,
        StatusCode::BAD_REQUEST,
        "invalid_transaction_id",
        UNKNOWN,
    );
    refused(
        &pick_up(&issuer, "forged-token", &transaction_id).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "the access token is unknown or expired",
    );
    let malformed = issuer
        .json(post_json("/default/deferred_credential", Some(&token), &json!({"transaction": 1})))
        .await;
    assert_eq!(malformed.0, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.1["error"], "invalid_credential_request");

    // Nothing was spent: the owner still picks it up once the data is there.
    import(&issuer, settings, &format!("{HEADER}p-2,,Lund,Emil,2001-02-03,DK,DK,Aalborg\n")).await.unwrap();
    let (status, issued) = pick_up(&issuer, &token, &transaction_id).await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    refused(
        &pick_up(&issuer, &token, &transaction_id).await,
        StatusCode::BAD_REQUEST,
        "invalid_transaction_id",
        UNKNOWN,
    );
}

#[tokio::test]
async fn rejects_an_expired_transaction() {
    let settings = SourceSettings { deferred_lifetime_secs: 3_600, ..SourceSettings::default() };
    let clock = Arc::new(TestClock(AtomicI64::new(NOW)));
    let issuer = common::start_with_clock("deferred-expiry", 12, clock.clone(), |config| {
        settings_of(config, settings)
    })
    .await;
    let token = token_for(&issuer, "p-4", &[AGE]).await;
    let (status, pending) = request_credential(&issuer, &token, AGE, NOW).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    import(&issuer, settings, &format!("{HEADER}p-4,,Lund,Emil,2001-02-03,DK,DK,Aalborg\n")).await.unwrap();
    // Beyond the access token's own lifetime (600 s) the transaction keeps it usable ...
    clock.0.store(NOW + 3_599, Ordering::SeqCst);
    let transaction_id = pending["transaction_id"].clone();
    let body = json!({"transaction_id": "unknown"});
    let answer = issuer.json(post_json("/default/deferred_credential", Some(&token), &body)).await;
    refused(&answer, StatusCode::BAD_REQUEST, "invalid_transaction_id", UNKNOWN);
    // ... and at its end the transaction id is refused.
    clock.0.store(NOW + 3_600, Ordering::SeqCst);
    refused(
        &pick_up(&issuer, &token, &transaction_id).await,
        StatusCode::BAD_REQUEST,
        "invalid_transaction_id",
        UNKNOWN,
    );
}

#[tokio::test]
async fn rejects_a_person_the_source_does_not_know_and_unfit_data() {
    let settings = SourceSettings::default();
    let issuer = issuer("deferred-unfit", settings).await;
    // A ready record without the PID's mandatory attributes is refused at import ...
    let error = import(&issuer, settings, "identifier,birth_date\np-5,2001-02-03\n").await.unwrap_err();
    assert_eq!(error, "line 2, column `family_name`: claim `family_name` is mandatory but missing");
    // ... and a PID for a protected person (names withheld) is a final refusal.
    import(&issuer, settings, &format!("{HEADER}p-6,ja,Holm,Asta,1990-04-12,DK,DK,Vejle\n")).await.unwrap();
    let token = token_for(&issuer, "p-6", &[PID, AGE]).await;
    let answer = request_credential(&issuer, &token, PID, NOW).await;
    refused(
        &answer,
        StatusCode::FORBIDDEN,
        "credential_request_denied",
        "the authentic source's data do not make `eu.europa.ec.eudi.pid_vc_sd_jwt`: claim `family_name` is mandatory but missing",
    );
    let (status, age) = request_credential(&issuer, &token, AGE, NOW).await;
    assert_eq!(status, StatusCode::OK, "{age}");
}

#[tokio::test]
async fn protected_persons_get_names_only_when_the_tenant_issues_them() {
    let settings = SourceSettings { protected_persons: ProtectedPersons::Issue, ..SourceSettings::default() };
    let issuer = issuer("deferred-protected", settings).await;
    import(&issuer, settings, &format!("{HEADER}p-7,true,Holm,Asta,1990-04-12,DK,DK,Vejle\n")).await.unwrap();
    let token = token_for(&issuer, "p-7", &[PID]).await;
    let (status, issued) = request_credential(&issuer, &token, PID, NOW).await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    assert!(readable(&credential_of(&issued)).contains("Vejle"));
}

#[tokio::test]
async fn rejects_malformed_csv_lines_and_writes_nothing() {
    let settings = SourceSettings::default();
    let issuer = issuer("deferred-csv", settings).await;
    let good = "p-8,,Lund,Emil,1991-05-06,DK,DK,Aalborg\n";
    let cases = [
        (
            format!("{HEADER}{good}p-9,,Lund,Emil,1991-13-06,DK,DK,Aalborg\n"),
            "line 3, column `birth_date`: claim `birth_date`: `1991-13-06` is not a YYYY-MM-DD date",
        ),
        (format!("{HEADER}{good}p-9,,Lund,Emil\n"), "line 3: 4 fields where the header has 8"),
        (
            format!("{HEADER}{good}p-9,maybe,Lund,Emil,1991-05-06,DK,DK,Aalborg\n"),
            "line 3, column `protected`: `maybe` is not true or false",
        ),
        (
            format!("{HEADER}{good}{good}"),
            "line 3, column `identifier`: this person appears on an earlier line too",
        ),
        (
            format!("{HEADER}{good},,Lund,Emil,1991-05-06,DK,DK,Aalborg\n"),
            "line 3, column `identifier`: an identifier has 1 to 256 characters",
        ),
        (
            format!("{}{good}", HEADER.replace("resident_city", "shoe_size")),
            "line 1, column `shoe_size`: not a PID data identifier nor identifier, protected or status",
        ),
        ("family_name\nLund\n".to_owned(), "line 1: the header has no `identifier` column"),
        (
            "identifier,personal_administrative_number\np-9,1\n".to_owned(),
            "line 1, column `personal_administrative_number`: the CPR number is the identifier (identifier = \"cpr\"), not a column",
        ),
        (
            format!("{HEADER}{good}p-9,,Lund,Emil,1991-05-06,dk,DK,Aalborg\n"),
            "line 3, column `birth_place.country`: claim `birth_place.country`: `dk` is not an ISO 3166-1 alpha-2 code",
        ),
    ];
    for (csv, expected) in cases {
        assert_eq!(import(&issuer, settings, &csv).await.unwrap_err(), expected, "{csv}");
    }
    // Nothing of the rejected files was written: the good row's person is still unknown, so
    // an offer for it waits (202) instead of issuing.
    let token = token_for(&issuer, "p-8", &[AGE]).await;
    assert_eq!(request_credential(&issuer, &token, AGE, NOW).await.0, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn rejects_bad_cpr_dates_and_forms_at_offer_and_import() {
    let settings = SourceSettings {
        identifier: IdentifierKind::Cpr,
        personal_administrative_number: true,
        ..SourceSettings::default()
    };
    let issuer = issuer("deferred-cpr-bad", settings).await;
    let offer = |identifier: &str| json!({"credential_configuration_ids": [PID], "authentic_source": {"identifier": identifier}});
    let bad_date = issuer.json(post_json("/admin/v1/offers", Some(TOKEN), &offer("310290-1234"))).await;
    refused(
        &bad_date,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "authentic_source.identifier: the CPR number's first six digits 310290 are not a valid date DDMMYY",
    );
    let bad_form = issuer.json(post_json("/admin/v1/offers", Some(TOKEN), &offer("0101904"))).await;
    refused(
        &bad_form,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "authentic_source.identifier: a CPR number is 10 digits, DDMMYYSSSS or DDMMYY-SSSS",
    );
    let error =
        import(&issuer, settings, &format!("{HEADER}2902011234,,Lund,Emil,2001-02-28,DK,DK,Aalborg\n")).await;
    assert_eq!(
        error.unwrap_err(),
        "line 2, column `identifier`: the CPR number's first six digits 290201 are not a valid date DDMMYY"
    );
}

#[tokio::test]
async fn cpr_identifiers_are_checked_by_date_only_and_issued_only_when_configured() {
    let settings = SourceSettings {
        identifier: IdentifierKind::Cpr,
        personal_administrative_number: true,
        ..SourceSettings::default()
    };
    let issuer = issuer("deferred-cpr", settings).await;
    // 010190-4000 fails modulus 11 and is a valid CPR number all the same.
    let row = "0101904000,,Lund,Emil,1990-01-01,DK,DK,Aalborg\n";
    import(&issuer, settings, &format!("{HEADER}{row}")).await.unwrap();
    let token = token_for(&issuer, "010190-4000", &[PID, AGE]).await;
    let (status, pid) = request_credential(&issuer, &token, PID, NOW).await;
    assert_eq!(status, StatusCode::OK, "{pid}");
    assert!(readable(&credential_of(&pid)).contains("\"personal_administrative_number\", \"010190-4000\""));
    let (status, age) = request_credential(&issuer, &token, AGE, NOW).await;
    assert_eq!(status, StatusCode::OK, "{age}");
    let age = readable(&credential_of(&age));
    assert!(!age.contains("4000") && !age.contains("personal_administrative_number"), "{age}");

    // The same person at a tenant that keeps the default: no CPR claim.
    let plain = SourceSettings { personal_administrative_number: false, ..settings };
    let issuer = self::issuer("deferred-cpr-off", plain).await;
    import(&issuer, plain, &format!("{HEADER}{row}")).await.unwrap();
    let token = token_for(&issuer, "0101904000", &[PID]).await;
    let (status, pid) = request_credential(&issuer, &token, PID, NOW).await;
    assert_eq!(status, StatusCode::OK, "{pid}");
    assert!(!readable(&credential_of(&pid)).contains("personal_administrative_number"));
}

#[tokio::test]
async fn rejects_offers_with_both_claims_and_a_person_or_an_empty_identifier() {
    let issuer = issuer("deferred-offer", SourceSettings::default()).await;
    let both = json!({"credential_configuration_ids": [AGE], "claims": {"birth_date": "1990-01-01"},
        "authentic_source": {"identifier": "p-1"}});
    let answer = issuer.json(post_json("/admin/v1/offers", Some(TOKEN), &both)).await;
    refused(
        &answer,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "give either claims or authentic_source, not both",
    );
    let empty = json!({"credential_configuration_ids": [AGE], "authentic_source": {"identifier": " "}});
    let answer = issuer.json(post_json("/admin/v1/offers", Some(TOKEN), &empty)).await;
    refused(
        &answer,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "authentic_source.identifier: an identifier has 1 to 256 characters",
    );
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_show_cpr_numbers_only_masked() {
    // The process-wide subscriber (a scoped one misses callsites other test threads cached).
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let settings = SourceSettings { identifier: IdentifierKind::Cpr, ..SourceSettings::default() };
    let issuer = issuer("deferred-cpr-log", settings).await;
    let token = token_for(&issuer, "150390-1234", &[AGE]).await;
    assert_eq!(request_credential(&issuer, &token, AGE, NOW).await.0, StatusCode::ACCEPTED);
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("150390-****"), "{log}");
    assert!(!log.contains("1503901234") && !log.contains("150390-1234"), "{log}");
}
