//! Credential Offers (OpenID4VCI 1.0 §4.1): an authority creates a pre-authorized offer through
//! the admin API, and the wallet fetches it by reference (`credential_offer_uri`, §4.1.3) or
//! reads it by value from the deep link. The store keeps only digests of the pre-authorized code
//! and the transaction code; the code is re-derived from the offer id with the tenant's
//! [`OfferKey`](super::tenant::OfferKey) whenever the offer is served.

use rand::Rng as _;
use rand_core::CryptoRngCore;
use segl_credential::clock::UnixTime;
use url::form_urlencoded;

use super::ApiError;
use super::authorize::{issuer_state, offered_configurations};
use super::tenant::Tenant;
use super::token::new_secret;
use crate::catalog::{CredentialConfiguration, Format, InputClaims};
use crate::protocol::{
    AuthorizationCodeGrant, CredentialOffer, ErrorCode, Grants, OfferCreated, OfferGrant, OfferRequest,
    PreAuthorizedCodeGrant, TxCode,
};
use crate::source::{PersonIdentifier, PersonKey};
use crate::store::{NewOffer, OfferState, SecretHash, Store};

/// The custom URL scheme wallets register for offers (OpenID4VCI 1.0 §4.1).
pub const OFFER_SCHEME: &str = "openid-credential-offer://";

/// Digits in a transaction code.
pub const TX_CODE_LENGTH: u32 = 6;

/// What the wallet shows the user next to the transaction code field (at most 300 characters,
/// OpenID4VCI 1.0 §4.1.1).
const TX_CODE_DESCRIPTION: &str = "Enter the 6-digit transaction code you received from the issuer.";

/// The most configurations one offer may name (the catalogue is small; this bounds the dry runs).
const MAX_CONFIGURATIONS: usize = 32;

/// The longest `subject` an offer may name, in characters.
const MAX_SUBJECT_CHARS: usize = 256;

/// A freshly created offer: its id, the offer by value, and the transaction code to deliver out
/// of band (the only time it exists in clear on the issuer's side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedOffer {
    /// The offer's opaque, unguessable id (the last path segment of `credential_offer_uri`).
    pub offer_id: String,
    /// The Credential Offer with its pre-authorized code grant.
    pub offer: CredentialOffer,
    /// The transaction code, when one was requested.
    pub tx_code: Option<String>,
}

/// Creates a pre-authorized Credential Offer (OpenID4VCI 1.0 §4.1.1) for `request`, valid for
/// `offer_lifetime` seconds from `now`.
///
/// Refused with `invalid_request` (naming the culprit) when the list of configurations is empty,
/// repeats an id, or names one the tenant does not offer, and when the claims do not make a
/// valid credential of EVERY requested configuration: each is prepared once as a dry run, so a
/// wallet never redeems a code for a credential that cannot be minted.
pub async fn create_offer<S: Store>(
    store: &S,
    tenant: &Tenant,
    request: &OfferRequest,
    offer_lifetime: u64,
    now: UnixTime,
    rng: &mut (impl CryptoRngCore + Send),
) -> Result<CreatedOffer, ApiError> {
    let ids = &request.credential_configuration_ids;
    if ids.is_empty() {
        return Err(invalid_request("credential_configuration_ids must name at least one configuration"));
    }
    if ids.len() > MAX_CONFIGURATIONS {
        return Err(invalid_request(format!(
            "credential_configuration_ids names {} configurations; at most {MAX_CONFIGURATIONS}",
            ids.len()
        )));
    }
    if let Some(subject) = &request.subject
        && (subject.is_empty() || subject.chars().count() > MAX_SUBJECT_CHARS)
    {
        return Err(invalid_request(format!("subject must have 1 to {MAX_SUBJECT_CHARS} characters")));
    }
    for (index, id) in ids.iter().enumerate() {
        if ids.iter().take(index).any(|earlier| earlier == id) {
            return Err(invalid_request(format!("credential configuration `{id}` is listed twice")));
        }
        let configuration = tenant.catalog.get(id).ok_or_else(|| {
            invalid_request(format!("credential configuration `{id}` is not offered by this issuer"))
        })?;
        if request.authentic_source.is_none() && request.grant == OfferGrant::PreAuthorizedCode {
            dry_run(configuration, &request.claims, now)?;
        }
    }
    if request.grant == OfferGrant::AuthorizationCode {
        return authorization_code_offer(tenant, request, now.saturating_add_unsigned(offer_lifetime));
    }
    let person = source_person(tenant, request)?;

    let offer_id = new_secret(rng);
    let code = tenant.offer_key.code_for(&offer_id);
    let tx_code = request.tx_code.then(|| numeric_code(rng));
    let record = NewOffer {
        id: offer_id.clone(),
        tenant: tenant.id.clone(),
        credential_configuration_ids: ids.clone(),
        claims: serde_json::Value::Object(request.claims.clone()),
        pre_authorized_code: SecretHash::of(&code),
        tx_code: tx_code.as_deref().map(SecretHash::of),
        created_at: now,
        expires_at: now.saturating_add_unsigned(offer_lifetime),
        subject: request.subject.clone(),
    };
    if let Some((person, label)) = &person {
        // Linked first: should the offer then fail to be stored, the link names an offer id
        // that never exists.
        store.link_offer_to_person(&tenant.id, &offer_id, person, now).await?;
        tracing::info!(tenant = %tenant.id, person = %label, "offer for a person of the authentic source");
    }
    store.create_offer(&record).await?;
    let offer = credential_offer(tenant, ids.clone(), code, tx_code.is_some());
    Ok(CreatedOffer { offer_id, offer, tx_code })
}

/// An offer of the authorization code grant, valid until `expires_at`: nothing is stored; its
/// id is its `issuer_state`, which any node can check.
fn authorization_code_offer(
    tenant: &Tenant,
    request: &OfferRequest,
    expires_at: UnixTime,
) -> Result<CreatedOffer, ApiError> {
    if !tenant.authorization.enabled() {
        return Err(invalid_request(
            "grant authorization_code needs the tenant's upstream login ([tenants.login])",
        ));
    }
    if !request.claims.is_empty()
        || request.authentic_source.is_some()
        || request.tx_code
        || request.subject.is_some()
    {
        return Err(invalid_request(
            "an authorization_code offer takes no claims, authentic_source, tx_code or subject: the login decides them",
        ));
    }
    let ids = request.credential_configuration_ids.clone();
    let state = issuer_state(tenant, &ids, expires_at);
    Ok(CreatedOffer { offer_id: state.clone(), offer: code_flow_offer(tenant, ids, state), tx_code: None })
}

/// The offer as the wallet sees it: the authorization code grant with its `issuer_state`.
fn code_flow_offer(
    tenant: &Tenant,
    credential_configuration_ids: Vec<String>,
    state: String,
) -> CredentialOffer {
    CredentialOffer {
        credential_issuer: tenant.issuer_id.clone(),
        credential_configuration_ids,
        grants: Some(Grants {
            pre_authorized_code: None,
            authorization_code: Some(AuthorizationCodeGrant { issuer_state: Some(state) }),
        }),
    }
}

/// What the id in a `credential_offer_uri` names. A pre-authorized offer is stored under an id
/// drawn as base64url, which never holds a `.`; an authorization-code offer is not stored at all
/// and is served from its MAC-protected `issuer_state` (`body.tag`), which always holds one.
enum OfferReference<'a> {
    /// An offer row of the store.
    Stored(&'a str),
    /// An `issuer_state` minted by [`super::authorize::issuer_state`].
    IssuerState(&'a str),
}

impl<'a> OfferReference<'a> {
    fn of(id: &'a str) -> Self {
        if id.contains('.') { OfferReference::IssuerState(id) } else { OfferReference::Stored(id) }
    }
}

/// The offer behind `credential_offer_uri` (OpenID4VCI 1.0 §4.1.3): a pre-authorized offer
/// served only while it is pending and unexpired, with its pre-authorized code re-derived from
/// the offer id; an authorization code offer (whose id is its `issuer_state`, with a `.`) while
/// its `issuer_state` is valid.
///
/// Every refusal of a request (unknown offer, another tenant's, expired, already redeemed,
/// locked) is `invalid_request`, which the HTTP layer answers with 404; a database failure is
/// `server_error`.
pub async fn offer_by_reference<S: Store>(
    store: &S,
    tenant: &Tenant,
    offer_id: &str,
    now: UnixTime,
) -> Result<CredentialOffer, ApiError> {
    let offer_id = match OfferReference::of(offer_id) {
        OfferReference::IssuerState(state) => {
            let ids = offered_configurations(tenant, state, now)
                .map_err(|_| invalid_request("unknown or expired credential offer"))?;
            return Ok(code_flow_offer(tenant, ids, state.to_owned()));
        }
        OfferReference::Stored(offer_id) => offer_id,
    };
    let offer = store
        .offer(&tenant.id, offer_id)
        .await?
        .ok_or_else(|| invalid_request("unknown credential offer"))?;
    match offer.state {
        OfferState::Pending => {}
        OfferState::Redeemed => return Err(invalid_request("credential offer already used")),
        OfferState::Locked => {
            return Err(invalid_request("credential offer locked after too many wrong transaction codes"));
        }
    }
    // The code stops being redeemable at `expires_at` (the store refuses it from then on).
    if now >= offer.expires_at {
        return Err(invalid_request("credential offer expired"));
    }
    let code = tenant.offer_key.code_for(&offer.id);
    Ok(credential_offer(tenant, offer.credential_configuration_ids, code, offer.tx_code_required))
}

/// `openid-credential-offer://?credential_offer_uri=<percent-encoded>` (OpenID4VCI 1.0 §4.1):
/// the deep link or QR code content for an offer passed by reference.
pub fn offer_uri(credential_offer_uri: &str) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("credential_offer_uri", credential_offer_uri)
        .finish();
    format!("{OFFER_SCHEME}?{query}")
}

/// `openid-credential-offer://?credential_offer=<percent-encoded JSON>` (OpenID4VCI 1.0 §4.1):
/// the offer passed by value.
pub fn offer_uri_by_value(offer: &CredentialOffer) -> String {
    // Serialising a struct of strings, vectors and options cannot fail (serde_json fails only on
    // non-string map keys or a failing custom `Serialize`), so the default is never used.
    let json = serde_json::to_string(offer).unwrap_or_default();
    let query =
        form_urlencoded::Serializer::new(String::new()).append_pair("credential_offer", &json).finish();
    format!("{OFFER_SCHEME}?{query}")
}

/// The offer as the wallet sees it: the pre-authorized code grant, with a `tx_code` object when
/// a transaction code is required (§4.1.1: its presence, "even as `{}`", demands one).
fn credential_offer(
    tenant: &Tenant,
    credential_configuration_ids: Vec<String>,
    code: String,
    tx_code_required: bool,
) -> CredentialOffer {
    let tx_code = tx_code_required.then(|| TxCode {
        input_mode: Some("numeric".into()),
        length: Some(TX_CODE_LENGTH),
        description: Some(TX_CODE_DESCRIPTION.into()),
    });
    CredentialOffer {
        credential_issuer: tenant.issuer_id.clone(),
        credential_configuration_ids,
        grants: Some(Grants {
            pre_authorized_code: Some(PreAuthorizedCodeGrant { pre_authorized_code: code, tx_code }),
            authorization_code: None,
        }),
    }
}

/// The person of an offer made from the authentic source (with the label logs may show), after
/// checking that the request names either claims or a person.
fn source_person(tenant: &Tenant, request: &OfferRequest) -> Result<Option<(PersonKey, String)>, ApiError> {
    let Some(reference) = &request.authentic_source else {
        return Ok(None);
    };
    if !request.claims.is_empty() {
        return Err(invalid_request("give either claims or authentic_source, not both"));
    }
    let identifier = PersonIdentifier::parse(&tenant.source_settings, &reference.identifier)
        .map_err(|error| invalid_request(format!("authentic_source.identifier: {error}")))?;
    Ok(Some((identifier.key(&tenant.source_keys), identifier.log_label())))
}

/// Prepares the credential of `configuration` from `claims` without minting it, to refuse an
/// offer that could never be honoured.
pub(crate) fn dry_run(
    configuration: &CredentialConfiguration,
    claims: &InputClaims,
    now: UnixTime,
) -> Result<(), ApiError> {
    let checked = match configuration.format() {
        Format::SdJwtVc => configuration.sd_jwt_claims(claims, now).map(drop),
        Format::MsoMdoc => configuration.mdoc_builder(claims, now).map(drop),
    };
    checked.map_err(|error| {
        invalid_request(format!("claims for credential configuration `{}`: {error}", configuration.id()))
    })
}

/// A transaction code of [`TX_CODE_LENGTH`] decimal digits, each digit string equally likely:
/// `gen_range` samples uniformly (by rejection), with no modulo bias.
fn numeric_code(rng: &mut impl CryptoRngCore) -> String {
    let value: u32 = rng.gen_range(0..10u32.pow(TX_CODE_LENGTH));
    format!("{value:0width$}", width = TX_CODE_LENGTH as usize)
}

fn invalid_request(description: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidRequest, description)
}

/// What the admin API and `segl offer create` answer for a created offer: its reference URI,
/// the deep links by reference and by value, the page with its QR code, and the offer itself.
pub fn describe(tenant: &Tenant, created: CreatedOffer) -> OfferCreated {
    let credential_offer_uri = format!("{}/offers/{}", tenant.issuer_id, created.offer_id);
    OfferCreated {
        offer_uri: offer_uri(&credential_offer_uri),
        offer_uri_by_value: offer_uri_by_value(&created.offer),
        page_url: format!("{credential_offer_uri}/page"),
        credential_offer_uri,
        offer_id: created.offer_id,
        tx_code: created.tx_code,
        credential_offer: created.offer,
    }
}

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng as _;
    use serde_json::json;

    use super::*;
    use crate::catalog::{AGE_MDOC_ID, AGE_SD_JWT_ID, PID_MDOC_ID, PID_SD_JWT_ID};
    use crate::protocol::{PRE_AUTHORIZED_CODE_GRANT, TokenRequest};
    use crate::service::test_support::{ISSUER_ID, LIFETIMES, NOW, memory_store, pid_claims, tenant};
    use crate::service::token::exchange_pre_authorized_code;
    use crate::store::AnyStore;

    fn request(ids: &[&str], claims: InputClaims, tx_code: bool) -> OfferRequest {
        OfferRequest {
            subject: None,
            authentic_source: None,
            credential_configuration_ids: ids.iter().map(|id| (*id).to_owned()).collect(),
            claims,
            tx_code,
            grant: Default::default(),
        }
    }

    fn code_of(offer: &CredentialOffer) -> (String, Option<TxCode>) {
        let grant = offer.grants.clone().unwrap().pre_authorized_code.unwrap();
        (grant.pre_authorized_code, grant.tx_code)
    }

    async fn redeem(
        store: &AnyStore,
        tenant: &Tenant,
        code: &str,
        tx_code: Option<&str>,
    ) -> Result<(), ApiError> {
        let request = TokenRequest {
            grant_type: PRE_AUTHORIZED_CODE_GRANT.into(),
            pre_authorized_code: Some(code.into()),
            tx_code: tx_code.map(str::to_owned),
            ..TokenRequest::default()
        };
        let mut rng = ChaCha20Rng::seed_from_u64(99);
        exchange_pre_authorized_code(store, &tenant.id, &request, None, None, &LIFETIMES, NOW + 1, &mut rng)
            .await
            .map(drop)
    }

    #[tokio::test]
    async fn creates_an_offer_whose_reference_regenerates_the_same_code() {
        let store = memory_store().await;
        let (tenant, _) = tenant(1);
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let all = [PID_SD_JWT_ID, PID_MDOC_ID, AGE_MDOC_ID, AGE_SD_JWT_ID];
        let created = create_offer(&store, &tenant, &request(&all, pid_claims(), false), 900, NOW, &mut rng)
            .await
            .unwrap();
        assert_eq!(created.offer.credential_issuer, ISSUER_ID);
        assert_eq!(created.offer.credential_configuration_ids, all);
        assert_eq!(created.offer_id.len(), 43);
        assert_eq!(created.tx_code, None);
        let (code, tx_code) = code_of(&created.offer);
        assert_eq!(code, tenant.offer_key.code_for(&created.offer_id));
        assert_eq!(tx_code, None);

        let stored = store.offer(&tenant.id, &created.offer_id).await.unwrap().unwrap();
        assert_eq!(stored.claims, serde_json::Value::Object(pid_claims()));
        assert_eq!(stored.expires_at, NOW + 900);
        assert!(!stored.tx_code_required);

        let served = offer_by_reference(&store, &tenant, &created.offer_id, NOW + 899).await.unwrap();
        assert_eq!(served, created.offer);
        // The stored digest is of exactly this code: the token endpoint redeems it.
        redeem(&store, &tenant, &code, None).await.unwrap();
    }

    #[tokio::test]
    async fn tx_code_is_six_digits_stored_hashed_and_announced() {
        let store = memory_store().await;
        let (tenant, _) = tenant(2);
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let created =
            create_offer(&store, &tenant, &request(&[AGE_MDOC_ID], pid_claims(), true), 900, NOW, &mut rng)
                .await
                .unwrap();
        let tx_code = created.tx_code.clone().unwrap();
        assert_eq!(tx_code.len(), 6);
        assert!(tx_code.bytes().all(|digit| digit.is_ascii_digit()), "{tx_code}");
        let (code, announced) = code_of(&created.offer);
        let announced = announced.unwrap();
        assert_eq!(announced.input_mode.as_deref(), Some("numeric"));
        assert_eq!(announced.length, Some(6));
        assert!(announced.description.is_some_and(|text| text.chars().count() <= 300));
        assert!(store.offer(&tenant.id, &created.offer_id).await.unwrap().unwrap().tx_code_required);
        let served = offer_by_reference(&store, &tenant, &created.offer_id, NOW).await.unwrap();
        assert_eq!(served, created.offer, "by reference the tx_code object is announced too");
        assert!(serde_json::to_string(&served).unwrap().contains("\"tx_code\""));
        assert!(!serde_json::to_string(&served).unwrap().contains(&format!("\"{tx_code}\"")));

        let wrong = if tx_code == "000000" { "000001" } else { "000000" };
        assert_eq!(
            redeem(&store, &tenant, &code, Some(wrong)).await.unwrap_err().code,
            ErrorCode::InvalidGrant
        );
        redeem(&store, &tenant, &code, Some(&tx_code)).await.unwrap();
    }

    #[test]
    fn tx_codes_are_uniform_over_all_six_digit_strings() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let mut first_digit = [0u32; 10];
        let mut last_digit = [0u32; 10];
        for _ in 0..10_000 {
            let code = numeric_code(&mut rng);
            assert_eq!(code.len(), 6, "{code}");
            let digits: Vec<usize> = code.bytes().map(|byte| usize::from(byte - b'0')).collect();
            assert!(digits.iter().all(|digit| *digit < 10), "{code}");
            first_digit[digits[0]] += 1;
            last_digit[digits[5]] += 1;
        }
        // 1000 expected per digit; ±15% is over 4.5 standard deviations.
        for counts in [first_digit, last_digit] {
            assert!(counts.iter().all(|count| (850..=1150).contains(count)), "{counts:?}");
        }
    }

    #[tokio::test]
    async fn rejects_unknown_empty_and_repeated_configuration_ids() {
        let store = memory_store().await;
        let (tenant, _) = tenant(4);
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let cases: [(&[&str], &str); 3] = [
            (&[AGE_MDOC_ID, "dk.unknown"], "`dk.unknown`"),
            (&[], "at least one"),
            (&[AGE_MDOC_ID, PID_MDOC_ID, AGE_MDOC_ID], "listed twice"),
        ];
        for (ids, needle) in cases {
            let error = create_offer(&store, &tenant, &request(ids, pid_claims(), false), 900, NOW, &mut rng)
                .await
                .unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidRequest, "{ids:?}");
            assert!(error.description.contains(needle), "{ids:?}: {}", error.description);
        }
    }

    #[tokio::test]
    async fn rejects_claims_that_do_not_fit_every_configuration() {
        let store = memory_store().await;
        let (tenant, _) = tenant(5);
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let birth_only = match json!({"birth_date": "2000-01-01"}) {
            serde_json::Value::Object(claims) => claims,
            _ => unreachable!(),
        };
        // Enough for the age proof, not for the PID offered with it.
        create_offer(
            &store,
            &tenant,
            &request(&[AGE_MDOC_ID], birth_only.clone(), false),
            900,
            NOW,
            &mut rng,
        )
        .await
        .unwrap();
        let error = create_offer(
            &store,
            &tenant,
            &request(&[AGE_MDOC_ID, PID_MDOC_ID], birth_only, false),
            900,
            NOW,
            &mut rng,
        )
        .await
        .unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidRequest);
        assert!(
            error.description.contains(PID_MDOC_ID) && error.description.contains("family_name"),
            "{}",
            error.description
        );

        let mut bad_date = pid_claims();
        bad_date.insert("birth_date".into(), json!("15-03-1990"));
        let error =
            create_offer(&store, &tenant, &request(&[PID_SD_JWT_ID], bad_date, false), 900, NOW, &mut rng)
                .await
                .unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidRequest);
        assert!(error.description.contains("birth_date"), "{}", error.description);
    }

    #[tokio::test]
    async fn serves_only_pending_unexpired_offers_of_the_tenant() {
        let store = memory_store().await;
        let (tenant, _) = tenant(6);
        let mut rng = ChaCha20Rng::seed_from_u64(6);
        let created =
            create_offer(&store, &tenant, &request(&[AGE_MDOC_ID], pid_claims(), false), 900, NOW, &mut rng)
                .await
                .unwrap();
        let refused = |result: Result<CredentialOffer, ApiError>, needle: &str| {
            let error = result.unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidRequest);
            assert!(error.description.contains(needle), "{}", error.description);
        };
        refused(offer_by_reference(&store, &tenant, "no-such-offer", NOW).await, "unknown");
        refused(offer_by_reference(&store, &tenant, &created.offer_id, NOW + 900).await, "expired");
        let (mut other, _) = crate::service::test_support::tenant(6);
        other.id = "other".into();
        refused(offer_by_reference(&store, &other, &created.offer_id, NOW).await, "unknown");

        let (code, _) = code_of(&created.offer);
        redeem(&store, &tenant, &code, None).await.unwrap();
        refused(offer_by_reference(&store, &tenant, &created.offer_id, NOW + 2).await, "already used");
    }

    #[test]
    fn offer_uris_percent_encode_the_reference_and_the_value() {
        assert_eq!(
            offer_uri("https://issuer.example/default/offers/a_b-c?x=1&y=2"),
            "openid-credential-offer://?credential_offer_uri=\
             https%3A%2F%2Fissuer.example%2Fdefault%2Foffers%2Fa_b-c%3Fx%3D1%26y%3D2"
        );
        let offer = CredentialOffer {
            credential_issuer: ISSUER_ID.into(),
            credential_configuration_ids: vec![AGE_MDOC_ID.into()],
            grants: Some(Grants {
                pre_authorized_code: Some(PreAuthorizedCodeGrant {
                    pre_authorized_code: "c+/=&".into(),
                    tx_code: Some(TxCode {
                        input_mode: Some("numeric".into()),
                        length: Some(6),
                        description: None,
                    }),
                }),
                authorization_code: None,
            }),
        };
        let uri = offer_uri_by_value(&offer);
        let query = uri.strip_prefix("openid-credential-offer://?").unwrap();
        assert!(!query.contains(['{', '"', ' ', '&']), "{query}");
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs[0].0, "credential_offer");
        assert_eq!(serde_json::from_str::<CredentialOffer>(&pairs[0].1).unwrap(), offer);
    }
}
