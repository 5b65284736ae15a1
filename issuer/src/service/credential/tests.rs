//! The pre-authorized flow end to end at service level (offer, token, nonce, proofs, credential,
//! notification) over a real SQLite store, with every credential verified by segl-credential
//! against the dev CA; and one test per refusal, each proving nothing was issued.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng as _;
use serde_json::json;

use crate::protocol::Proofs;

use segl_credential::clock::FixedClock;
use segl_credential::jose::base64url_decode;
use segl_credential::mdoc::{self, VerifiedDocument};
use segl_credential::sd_jwt::{ExpectedTyp, KeyBindingPolicy, VerifiedSdJwt, VerifyOptions};
use segl_credential::x509::{IssuerKeySource, TrustAnchors};

use super::*;
use crate::catalog::{AGE_MDOC_ID, AGE_SD_JWT_ID, PID_MDOC_ID, PID_SD_JWT_ID};
use crate::config::{PidOptions, TenantConfig};
use crate::protocol::{NotificationEvent, PRE_AUTHORIZED_CODE_GRANT, TokenRequest};
use crate::service::offer::create_offer;
use crate::service::test_support::{
    Holder, ISSUER_ID, LIFETIMES, NOW, issuances, memory_store, nonce_unused, pid_claims, tenant, tenant_with,
};
use crate::service::token;
use crate::store::AnyStore;

const WINDOW: ProofWindow = ProofWindow { max_age: 300, max_skew: 60 };

/// One wallet's session: an offer of `ids` redeemed for an access token.
struct Flow {
    store: AnyStore,
    tenant: Tenant,
    anchors: TrustAnchors,
    rng: ChaCha20Rng,
    token: String,
}

async fn flow_with(tenant: (Tenant, TrustAnchors), ids: &[&str]) -> Flow {
    let (tenant, anchors) = tenant;
    let store = memory_store().await;
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let token = offer_token(&store, &tenant, ids, &mut rng).await;
    Flow { store, tenant, anchors, rng, token }
}

/// A new pre-authorized offer of `ids` in `store`, redeemed: its access token.
async fn offer_token(store: &AnyStore, tenant: &Tenant, ids: &[&str], rng: &mut ChaCha20Rng) -> String {
    let request = crate::protocol::OfferRequest {
        subject: None,
        authentic_source: None,
        credential_configuration_ids: ids.iter().map(|id| (*id).to_owned()).collect(),
        claims: pid_claims(),
        tx_code: false,
        grant: Default::default(),
    };
    let created = create_offer(store, tenant, &request, 900, NOW, rng).await.unwrap();
    let code = created.offer.grants.unwrap().pre_authorized_code.unwrap().pre_authorized_code;
    let token_request = TokenRequest {
        grant_type: PRE_AUTHORIZED_CODE_GRANT.into(),
        pre_authorized_code: Some(code),
        tx_code: None,
        ..TokenRequest::default()
    };
    token::exchange_pre_authorized_code(store, &tenant.id, &token_request, None, None, &LIFETIMES, NOW, rng)
        .await
        .unwrap()
        .access_token
}

async fn flow(ids: &[&str]) -> Flow {
    flow_with(tenant(5), ids).await
}

fn request(configuration: &str, proofs: Vec<String>) -> CredentialRequest {
    CredentialRequest {
        credential_identifier: None,
        credential_configuration_id: Some(configuration.into()),
        proofs: Some(Proofs { jwt: Some(proofs), attestation: None }),
        credential_response_encryption: None,
    }
}

/// As the HTTP layer answers a credential request: the token's grant looked up, then the request.
async fn issue_with<S: Store>(
    store: &S,
    tenant: &Tenant,
    token: &str,
    request: &CredentialRequest,
    now: UnixTime,
    rng: &mut (impl CryptoRngCore + Send),
) -> Result<CredentialAnswer, ApiError> {
    let access = Access::look_up(store, tenant, token, now).await?;
    issue_credentials(store, tenant, &access, request, &WINDOW, now, rng).await
}

/// As the HTTP layer answers a notification.
async fn notify_with<S: Store>(
    store: &S,
    tenant: &Tenant,
    token: &str,
    report: &NotificationRequest,
    now: UnixTime,
) -> Result<(), ApiError> {
    let access = Access::look_up(store, tenant, token, now).await?;
    notify(store, tenant, &access, report, now).await
}

impl Flow {
    async fn nonce(&mut self) -> String {
        token::new_nonce(&self.tenant, &LIFETIMES, NOW, &mut self.rng).c_nonce
    }

    async fn issue_at(
        &mut self,
        request: &CredentialRequest,
        now: UnixTime,
    ) -> Result<CredentialResponse, ApiError> {
        let token = self.token.clone();
        issued(issue_with(&self.store, &self.tenant, &token, request, now, &mut self.rng).await)
    }

    async fn issue(&mut self, request: &CredentialRequest) -> Result<CredentialResponse, ApiError> {
        self.issue_at(request, NOW).await
    }

    /// Asserts `result` is refused with `code`, that no issuance was recorded, and, when given,
    /// that `unspent` is still a usable nonce (the refusal came before consumption).
    async fn assert_refused(
        &self,
        result: Result<CredentialResponse, ApiError>,
        code: ErrorCode,
        unspent: Option<&str>,
    ) {
        let error = result.err().map(|error| (error.code, error.description));
        assert!(matches!(&error, Some((got, _)) if *got == code), "expected {code:?}, got {error:?}");
        assert_eq!(issuances(&self.store).await, 0, "a refused request recorded an issuance");
        if let Some(nonce) = unspent {
            assert!(nonce_unused(&self.store, &self.tenant.id, nonce).await, "the nonce was spent");
        }
    }

    fn verify_sd_jwt(&self, credential: &str) -> VerifiedSdJwt {
        let clock = FixedClock(NOW);
        let options = VerifyOptions {
            issuer_key: IssuerKeySource::Anchors(&self.anchors),
            clock: &clock,
            skew: 0,
            typ: ExpectedTyp::SdJwtVc { accept_legacy_vc_sd_jwt: false },
            key_binding: KeyBindingPolicy::Forbidden,
        };
        segl_credential::sd_jwt::verify(credential, &options).unwrap()
    }

    fn verify_mdoc(&self, credential: &str, configuration: &str) -> VerifiedDocument {
        let bytes = base64url_decode(credential).unwrap();
        let options = mdoc::VerifyOptions {
            expected_doc_type: self.tenant.catalog.get(configuration).unwrap().doctype().map(str::to_owned),
            ..Default::default()
        };
        mdoc::verify_issuer_signed(&bytes, IssuerKeySource::Anchors(&self.anchors), &options, NOW).unwrap()
    }
}

fn cnf_key(verified: &VerifiedSdJwt) -> PublicKey {
    PublicKey::from_jwk(&verified.claims["cnf"]["jwk"]).unwrap()
}

#[tokio::test]
async fn issues_every_builtin_configuration_bound_to_the_proof_key() {
    let all = [PID_SD_JWT_ID, PID_MDOC_ID, AGE_MDOC_ID, AGE_SD_JWT_ID];
    let mut flow = flow(&all).await;
    let holder = Holder::new(100);
    let mut notification_ids = Vec::new();
    for configuration in all {
        let nonce = flow.nonce().await;
        let response = flow.issue(&request(configuration, vec![holder.proof(&nonce)])).await.unwrap();
        assert_eq!(response.credentials.len(), 1, "{configuration}");
        let credential = &response.credentials[0].credential;
        match configuration {
            PID_SD_JWT_ID => {
                let verified = flow.verify_sd_jwt(credential);
                assert!(verified.issuer_chain.is_some(), "validated to the dev CA through x5c");
                assert_eq!(&cnf_key(&verified), holder.key());
                assert_eq!(verified.claims["iss"], ISSUER_ID);
                assert_eq!(verified.claims["vct"], "urn:eudi:pid:1");
                assert_eq!(verified.claims["birthdate"], "1990-03-15");
                assert_eq!(verified.claims["family_name"], "Jensen");
                assert_eq!(verified.claims["address"]["locality"], "Aarhus");
            }
            AGE_SD_JWT_ID => {
                let verified = flow.verify_sd_jwt(credential);
                assert_eq!(&cnf_key(&verified), holder.key());
                assert_eq!(verified.claims["age_equal_or_over"]["18"], true);
                for absent in ["birthdate", "birth_date", "family_name", "given_name", "address"] {
                    assert!(verified.claims.get(absent).is_none(), "age proof carries {absent}");
                }
                for disclosure in credential.split('~').skip(1).filter(|part| !part.is_empty()) {
                    let text = String::from_utf8(base64url_decode(disclosure).unwrap()).unwrap();
                    assert!(!text.contains("1990"), "a disclosure holds the birth date: {text}");
                }
            }
            PID_MDOC_ID => {
                let document = flow.verify_mdoc(credential, configuration);
                assert_eq!(&document.device_key, holder.key());
                assert!(document.issuer.is_some(), "validated to the dev CA through x5chain");
                let elements = &document.namespaces["eu.europa.ec.eudi.pid.1"];
                assert!(elements.contains_key("birth_date") && elements.contains_key("family_name"));
            }
            _ => {
                let document = flow.verify_mdoc(credential, configuration);
                assert_eq!(&document.device_key, holder.key());
                assert_eq!(document.namespaces.keys().collect::<Vec<_>>(), ["eu.europa.ec.av.1"]);
                let names: Vec<&String> = document.namespaces["eu.europa.ec.av.1"].keys().collect();
                assert!(names.iter().all(|name| name.starts_with("age_over_")), "{names:?}");
                assert_eq!(
                    document.namespaces["eu.europa.ec.av.1"]["age_over_18"],
                    ciborium::Value::Bool(true)
                );
            }
        }
        notification_ids.push(response.notification_id);
    }
    assert_eq!(issuances(&flow.store).await, 4);
    let distinct: std::collections::HashSet<&String> = notification_ids.iter().collect();
    assert_eq!(distinct.len(), 4, "each issuance has its own notification_id");

    // §11: the wallet reports; repeating the report is not an error.
    for notification_id in &notification_ids {
        let report = NotificationRequest {
            notification_id: notification_id.clone(),
            event: NotificationEvent::CredentialAccepted,
            event_description: None,
        };
        notify_with(&flow.store, &flow.tenant, &flow.token, &report, NOW).await.unwrap();
        notify_with(&flow.store, &flow.tenant, &flow.token, &report, NOW).await.unwrap();
    }
}

#[tokio::test]
async fn a_batch_of_three_proofs_gives_three_credentials_bound_to_three_keys() {
    for configuration in [AGE_MDOC_ID, PID_SD_JWT_ID] {
        let mut flow = flow(&[configuration]).await;
        let holders = [Holder::new(1), Holder::new(2), Holder::new(3)];
        // One c_nonce serves the whole batch; a proof may also bring its own.
        let shared = flow.nonce().await;
        let own = flow.nonce().await;
        let proofs = vec![holders[0].proof(&shared), holders[1].proof(&shared), holders[2].proof(&own)];
        let response = flow.issue(&request(configuration, proofs)).await.unwrap();
        assert_eq!(response.credentials.len(), 3);
        let keys: Vec<PublicKey> = response
            .credentials
            .iter()
            .map(|issued| match configuration {
                AGE_MDOC_ID => flow.verify_mdoc(&issued.credential, configuration).device_key,
                _ => cnf_key(&flow.verify_sd_jwt(&issued.credential)),
            })
            .collect();
        let expected: Vec<PublicKey> = holders.iter().map(|holder| holder.key().clone()).collect();
        assert_eq!(keys, expected, "{configuration}: credential i is bound to proof i's key");
        assert_eq!(issuances(&flow.store).await, 1, "one issuance record for the batch");
        assert!(!nonce_unused(&flow.store, &flow.tenant.id, &shared).await);
        assert!(!nonce_unused(&flow.store, &flow.tenant.id, &own).await);
    }
}

#[tokio::test]
async fn issue_credentials_is_send_for_the_http_layer() {
    fn assert_send<F: std::future::Future + Send>(_: F) {}
    let (tenant, _) = tenant(5);
    let request = request(AGE_MDOC_ID, vec![]);
    let store = crate::store::connect("sqlite::memory:").await.unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    assert_send(issue_with(&store, &tenant, "t", &request, NOW, &mut rng));
    let report = NotificationRequest {
        notification_id: "n".into(),
        event: NotificationEvent::CredentialDeleted,
        event_description: None,
    };
    assert_send(notify_with(&store, &tenant, "t", &report, NOW));
}

#[tokio::test]
async fn rejects_a_reused_nonce() {
    let mut flow = flow(&[AGE_MDOC_ID]).await;
    let nonce = flow.nonce().await;
    flow.issue(&request(AGE_MDOC_ID, vec![Holder::new(1).proof(&nonce)])).await.unwrap();
    assert_eq!(issuances(&flow.store).await, 1);
    let again = flow.issue(&request(AGE_MDOC_ID, vec![Holder::new(2).proof(&nonce)])).await;
    let error = again.unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidNonce);
    assert_eq!(issuances(&flow.store).await, 1, "the replay issued nothing");

    // A nonce the issuer never handed out, and one of the batch unknown: nothing is issued.
    let fresh = flow.nonce().await;
    let proofs = vec![Holder::new(3).proof(&fresh), Holder::new(4).proof("never-issued")];
    let error = flow.issue(&request(AGE_MDOC_ID, proofs)).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidNonce);
    assert_eq!(issuances(&flow.store).await, 1);
}

#[tokio::test]
async fn rejects_an_expired_nonce() {
    let mut flow = flow(&[AGE_MDOC_ID]).await;
    // Handed out one lifetime and a second ago.
    let stale = token::new_nonce(&flow.tenant, &LIFETIMES, NOW - 301, &mut flow.rng).c_nonce;
    let result = flow.issue(&request(AGE_MDOC_ID, vec![Holder::new(1).proof(&stale)])).await;
    flow.assert_refused(result, ErrorCode::InvalidNonce, None).await;
    // One second younger, it is still good.
    let fresh = token::new_nonce(&flow.tenant, &LIFETIMES, NOW - 299, &mut flow.rng).c_nonce;
    flow.issue(&request(AGE_MDOC_ID, vec![Holder::new(1).proof(&fresh)])).await.unwrap();
}

#[tokio::test]
async fn rejects_a_proof_without_nonce() {
    let mut flow = flow(&[AGE_MDOC_ID]).await;
    let nonce = flow.nonce().await;
    let holder = Holder::new(1);
    let header =
        segl_credential::jose::header(crate::service::proof::PROOF_TYP, &holder.0, KeyReference::Jwk)
            .unwrap();
    let claims = json!({"aud": ISSUER_ID, "iat": NOW});
    let proof =
        segl_credential::jose::sign_compact(header, claims.to_string().as_bytes(), &holder.0).unwrap();
    let result = flow.issue(&request(AGE_MDOC_ID, vec![proof])).await;
    flow.assert_refused(result, ErrorCode::InvalidNonce, Some(&nonce)).await;
}

#[tokio::test]
async fn rejects_a_wrong_aud() {
    let mut flow = flow(&[AGE_MDOC_ID]).await;
    let nonce = flow.nonce().await;
    let holder = Holder::new(1);
    // A good proof first in the batch does not save a bad second one.
    let proofs =
        vec![Holder::new(2).proof(&nonce), holder.proof_with("https://issuer.example/other", &nonce, NOW)];
    let result = flow.issue(&request(AGE_MDOC_ID, proofs)).await;
    flow.assert_refused(result, ErrorCode::InvalidProof, Some(&nonce)).await;
}

#[tokio::test]
async fn rejects_a_stale_proof() {
    let mut flow = flow(&[AGE_MDOC_ID]).await;
    let nonce = flow.nonce().await;
    let proof = Holder::new(1).proof_with(ISSUER_ID, &nonce, NOW - WINDOW.max_age - 1);
    let result = flow.issue(&request(AGE_MDOC_ID, vec![proof])).await;
    flow.assert_refused(result, ErrorCode::InvalidProof, Some(&nonce)).await;
}

#[tokio::test]
async fn rejects_an_unknown_configuration() {
    let mut flow = flow(&[AGE_MDOC_ID]).await;
    let nonce = flow.nonce().await;
    let result = flow.issue(&request("no_such_configuration", vec![Holder::new(1).proof(&nonce)])).await;
    flow.assert_refused(result, ErrorCode::UnknownCredentialConfiguration, Some(&nonce)).await;
}

#[tokio::test]
async fn rejects_a_configuration_not_offered() {
    let mut flow = flow(&[AGE_MDOC_ID]).await;
    let nonce = flow.nonce().await;
    let result = flow.issue(&request(PID_SD_JWT_ID, vec![Holder::new(1).proof(&nonce)])).await;
    flow.assert_refused(result, ErrorCode::UnknownCredentialConfiguration, Some(&nonce)).await;
}

#[tokio::test]
async fn rejects_too_many_proofs() {
    let config = TenantConfig {
        pid_vc_sd_jwt: Some(PidOptions { validity_days: 14, batch_size: 2 }),
        ..Default::default()
    };
    let mut flow = flow_with(tenant_with(&config, 6), &[PID_SD_JWT_ID]).await;
    let nonce = flow.nonce().await;
    let proofs = (1..=3).map(|seed| Holder::new(seed).proof(&nonce)).collect();
    let result = flow.issue(&request(PID_SD_JWT_ID, proofs)).await;
    flow.assert_refused(result, ErrorCode::InvalidCredentialRequest, Some(&nonce)).await;
}

#[tokio::test]
async fn rejects_duplicate_keys() {
    let mut flow = flow(&[AGE_MDOC_ID]).await;
    let first = flow.nonce().await;
    let second = flow.nonce().await;
    let holder = Holder::new(1);
    let proofs = vec![holder.proof(&first), Holder::new(2).proof(&first), holder.proof(&second)];
    let result = flow.issue(&request(AGE_MDOC_ID, proofs)).await;
    flow.assert_refused(result, ErrorCode::InvalidProof, Some(&first)).await;
    assert!(nonce_unused(&flow.store, &flow.tenant.id, &second).await);
}

#[tokio::test]
async fn rejects_missing_proofs() {
    let mut flow = flow(&[AGE_MDOC_ID]).await;
    let nonce = flow.nonce().await;
    let mut no_proofs = request(AGE_MDOC_ID, vec![]);
    no_proofs.proofs = None;
    let result = flow.issue(&no_proofs).await;
    flow.assert_refused(result, ErrorCode::InvalidProof, None).await;
    let result = flow.issue(&request(AGE_MDOC_ID, vec![])).await;
    flow.assert_refused(result, ErrorCode::InvalidProof, None).await;
    let mut no_jwt = request(AGE_MDOC_ID, vec![]);
    no_jwt.proofs = Some(Proofs { jwt: None, attestation: None });
    let result = flow.issue(&no_jwt).await;
    flow.assert_refused(result, ErrorCode::InvalidProof, None).await;
    // An attestation proof to a tenant that trusts no wallet provider.
    let mut attested = request(AGE_MDOC_ID, vec![Holder::new(1).proof(&nonce)]);
    attested.proofs = Some(Proofs { jwt: None, attestation: Some(vec!["eyJ.eyJ.sig".into()]) });
    let result = flow.issue(&attested).await;
    flow.assert_refused(result, ErrorCode::InvalidProof, Some(&nonce)).await;
}

#[tokio::test]
async fn rejects_encryption_requested() {
    let mut flow = flow(&[AGE_MDOC_ID]).await;
    let nonce = flow.nonce().await;
    let mut encrypted = request(AGE_MDOC_ID, vec![Holder::new(1).proof(&nonce)]);
    encrypted.credential_response_encryption = Some(json!({"jwk": {"kty": "EC"}, "enc": "A128GCM"}));
    let result = flow.issue(&encrypted).await;
    flow.assert_refused(result, ErrorCode::InvalidEncryptionParameters, Some(&nonce)).await;
}

#[tokio::test]
async fn rejects_an_expired_token() {
    let mut flow = flow(&[AGE_MDOC_ID]).await;
    let nonce = flow.nonce().await;
    let expired = NOW + i64::try_from(LIFETIMES.access_token).unwrap();
    let proof = Holder::new(1).proof_with(ISSUER_ID, &nonce, expired);
    let result = flow.issue_at(&request(AGE_MDOC_ID, vec![proof]), expired).await;
    flow.assert_refused(result, ErrorCode::InvalidToken, Some(&nonce)).await;
}

#[tokio::test]
async fn rejects_an_unknown_token() {
    let mut flow = flow(&[AGE_MDOC_ID]).await;
    let nonce = flow.nonce().await;
    flow.token = "not-a-token".into();
    let result = flow.issue(&request(AGE_MDOC_ID, vec![Holder::new(1).proof(&nonce)])).await;
    flow.assert_refused(result, ErrorCode::InvalidToken, Some(&nonce)).await;
}

#[tokio::test]
async fn rejects_another_tenants_token() {
    let mut flow = flow(&[AGE_MDOC_ID]).await;
    let nonce = flow.nonce().await;
    let (mut other, _) = tenant(5);
    other.id = "other".into();
    let token = flow.token.clone();
    let request = request(AGE_MDOC_ID, vec![Holder::new(1).proof(&nonce)]);
    let result = issued(issue_with(&flow.store, &other, &token, &request, NOW, &mut flow.rng).await);
    flow.assert_refused(result, ErrorCode::InvalidToken, Some(&nonce)).await;
}

#[tokio::test]
async fn rejects_both_or_neither_id_and_an_unknown_identifier() {
    let mut flow = flow(&[AGE_MDOC_ID]).await;
    let nonce = flow.nonce().await;
    let proof = Holder::new(1).proof(&nonce);
    let mut both = request(AGE_MDOC_ID, vec![proof.clone()]);
    both.credential_identifier = Some("ds-1".into());
    let result = flow.issue(&both).await;
    flow.assert_refused(result, ErrorCode::InvalidCredentialRequest, Some(&nonce)).await;

    let nonce = flow.nonce().await;
    let mut neither = request(AGE_MDOC_ID, vec![Holder::new(1).proof(&nonce)]);
    neither.credential_configuration_id = None;
    let result = flow.issue(&neither).await;
    flow.assert_refused(result, ErrorCode::InvalidCredentialRequest, Some(&nonce)).await;

    let nonce = flow.nonce().await;
    let mut identifier = request(AGE_MDOC_ID, vec![Holder::new(1).proof(&nonce)]);
    identifier.credential_configuration_id = None;
    identifier.credential_identifier = Some("ds-1".into());
    let result = flow.issue(&identifier).await;
    flow.assert_refused(result, ErrorCode::UnknownCredentialIdentifier, Some(&nonce)).await;
}

#[tokio::test]
async fn rejects_an_unknown_notification_id() {
    let mut flow = flow(&[AGE_MDOC_ID]).await;
    let nonce = flow.nonce().await;
    let issued = flow.issue(&request(AGE_MDOC_ID, vec![Holder::new(1).proof(&nonce)])).await.unwrap();
    let report = |notification_id: &str| NotificationRequest {
        notification_id: notification_id.into(),
        event: NotificationEvent::CredentialFailure,
        event_description: Some("storage full".into()),
    };
    let error =
        notify_with(&flow.store, &flow.tenant, &flow.token, &report("unknown"), NOW).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidNotificationId);
    let error = notify_with(&flow.store, &flow.tenant, &flow.token, &report(""), NOW).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidNotificationRequest);
    // A valid id still needs a valid token.
    let error = notify_with(&flow.store, &flow.tenant, "not-a-token", &report(&issued.notification_id), NOW)
        .await
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidToken);
    // Another tenant does not know this tenant's notification ids.
    let (mut other, _) = tenant(5);
    other.id = "other".into();
    let error = notify_with(&flow.store, &other, &flow.token, &report(&issued.notification_id), NOW)
        .await
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidToken);
    notify_with(&flow.store, &flow.tenant, &flow.token, &report(&issued.notification_id), NOW).await.unwrap();
}

/// A wallet's token of one offer sending the `notification_id` of another offer's issuance.
#[tokio::test]
async fn rejects_a_notification_id_of_another_offer() {
    let mut flow = flow(&[AGE_MDOC_ID]).await;
    let nonce = flow.nonce().await;
    let issued = flow.issue(&request(AGE_MDOC_ID, vec![Holder::new(1).proof(&nonce)])).await.unwrap();
    let other_wallet = offer_token(&flow.store, &flow.tenant, &[AGE_MDOC_ID], &mut flow.rng).await;
    let report = NotificationRequest {
        notification_id: issued.notification_id.clone(),
        event: NotificationEvent::CredentialDeleted,
        event_description: None,
    };
    let error = notify_with(&flow.store, &flow.tenant, &other_wallet, &report, NOW).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidNotificationId);
    assert_eq!(error.description, "unknown notification_id");
    notify_with(&flow.store, &flow.tenant, &flow.token, &report, NOW).await.unwrap();
}

#[tokio::test]
async fn every_credential_gets_its_own_status_entry_recorded_under_the_offer() {
    let mut flow = flow(&[PID_SD_JWT_ID, AGE_MDOC_ID]).await;
    let holders: Vec<Holder> = (0..3).map(|i| Holder::new(200 + i)).collect();
    let nonce = flow.nonce().await;
    let proofs = holders.iter().map(|holder| holder.proof(&nonce)).collect();
    let batch = flow.issue(&request(AGE_MDOC_ID, proofs)).await.unwrap();
    let nonce = flow.nonce().await;
    let single = flow.issue(&request(PID_SD_JWT_ID, vec![holders[0].proof(&nonce)])).await.unwrap();

    let mut references = Vec::new();
    for issued in &batch.credentials {
        let document = flow.verify_mdoc(&issued.credential, AGE_MDOC_ID);
        references.push(document.status.expect("the MSO carries a status reference").status_list);
    }
    let verified = flow.verify_sd_jwt(&single.credentials[0].credential);
    let status: StatusClaim = serde_json::from_value(verified.claims["status"].clone()).unwrap();
    references.push(status.status_list);

    let uri = format!("{ISSUER_ID}/status-lists/1");
    assert!(references.iter().all(|r| r.uri == uri), "{references:?}");
    let indices: std::collections::HashSet<u64> = references.iter().map(|r| r.idx).collect();
    assert_eq!(indices.len(), 4, "each credential has its own index: {references:?}");

    let grant = flow.store.access_grant(&flow.tenant.id, &SecretHash::of(&flow.token), NOW).await.unwrap();
    let offer_id = grant.unwrap().offer_id;
    let records = flow
        .store
        .credentials_where(&flow.tenant.id, &crate::store::StatusTarget::Offer(&offer_id))
        .await
        .unwrap();
    let mut stored: Vec<u64> = records.iter().map(|r| r.slot.idx).collect();
    stored.sort_unstable();
    let mut issued: Vec<u64> = indices.into_iter().collect();
    issued.sort_unstable();
    assert_eq!(stored, issued);
    let configurations: Vec<&str> = records.iter().map(|r| r.credential_configuration_id.as_str()).collect();
    assert_eq!(configurations.iter().filter(|c| **c == AGE_MDOC_ID).count(), 3);
}

/// The credentials of an answer that must not be deferred (these offers carry their claims).
fn issued(answer: Result<super::CredentialAnswer, ApiError>) -> Result<CredentialResponse, ApiError> {
    answer.map(|answer| match answer {
        super::CredentialAnswer::Issued(response) => response,
        super::CredentialAnswer::Deferred(pending) => panic!("deferred: {pending:?}"),
    })
}
