//! vp_token checks end to end on credentials minted by segl-credential: the dev PKI, SD-JWT VC
//! `issue_vc` + `present` with a KB-JWT, and mdoc `IssuerSignedBuilder` + `build_device_response`.

use ciborium::Value as Cbor;
use rand::SeedableRng as _;
use rand_chacha::ChaCha20Rng;
use segl_credential::clock::{FixedClock, UnixTime};
use segl_credential::jose::{KeyReference, base64url_encode};
use segl_credential::keys::{Signer as _, SoftwareSigner};
use segl_credential::mdoc::{
    IssuerSignedBuilder, Presentation, SessionTranscript, Validity, build_device_response,
};
use segl_credential::sd_jwt::{self, ClaimPath, DisclosurePolicy, IssueOptions, KeyBindingInput, VcClaims};
use segl_credential::status_list::{
    Bits, Status, StatusClaim, StatusList, StatusListCache, StatusListTokenClaims, StatusListVerifier,
    StatusReference, sign_jwt,
};
use segl_credential::x509::{DevPki, DevPkiOptions, IssuerKeySource, TrustAnchors, generate_dev_pki};
use serde_json::{Map, Value, json};

use super::*;
use crate::request::{
    AGE_DOCTYPE, AGE_VCT, ClaimQuery, CredentialQueryBuilder, DcqlQueryBuilder, PID_DOCTYPE, PID_VCT,
    age_over_18_either_format,
};

const NOW: UnixTime = 1_750_000_000;
const CLIENT_ID: &str = "x509_hash:verifier-cert-hash";
const NONCE: &str = "n-0S6_WzA2Mj";
const RESPONSE_URI: &str = "https://verifier.example/response";
const STATUS_URI: &str = "https://issuer.example/status/1";

struct Fixture {
    pki: DevPki,
    anchors: TrustAnchors,
    holder: SoftwareSigner,
    clock: FixedClock,
    rng: ChaCha20Rng,
}

fn pki(rng: &mut ChaCha20Rng, name: &str) -> DevPki {
    let options = DevPkiOptions {
        ca_common_name: format!("{name} CA"),
        issuer_common_name: format!("{name} Issuer"),
        country: Some("DK".into()),
        dns_names: vec![],
        uris: vec![],
        mdoc_ds_eku: true,
        not_before: NOW - 86_400,
        not_after: NOW + 365 * 86_400,
    };
    generate_dev_pki(&options, rng).unwrap()
}

fn fixture() -> Fixture {
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let pki = pki(&mut rng, "Test");
    let mut anchors = TrustAnchors::new();
    anchors.add_der(&pki.ca_der).unwrap();
    let holder = SoftwareSigner::generate(&mut rng).unwrap();
    Fixture { pki, anchors, holder, clock: FixedClock(NOW), rng }
}

fn binding() -> PresentationBinding {
    PresentationBinding::redirect(CLIENT_ID, NONCE, None, RESPONSE_URI)
}

impl Fixture {
    fn context(&self) -> VerifyContext<'_> {
        VerifyContext::new(&self.anchors, &self.clock)
    }

    /// A PID-like SD-JWT VC with every claim selectively disclosable.
    fn sd_jwt(&mut self, vct: &str, claims: Value, status: Option<&StatusClaim>) -> String {
        let claims: Map<String, Value> = claims.as_object().cloned().unwrap();
        let paths = claims.keys().map(|name| ClaimPath::keys([name.as_str()])).collect::<Vec<_>>();
        let mut policy_paths = paths.clone();
        if let Some(Value::Object(ages)) = claims.get("age_equal_or_over") {
            policy_paths.extend(ages.keys().map(|age| ClaimPath::keys(["age_equal_or_over", age.as_str()])));
        }
        let vc = VcClaims {
            iss: Some("https://issuer.example"),
            vct,
            iat: Some(NOW - 60),
            exp: Some(NOW + 86_400),
            holder_key: Some(self.holder.public_key()),
            status,
            ..VcClaims::default()
        };
        let policy = DisclosurePolicy::new(policy_paths).unwrap();
        sd_jwt::issue_vc(
            &vc,
            claims,
            &policy,
            &IssueOptions::default(),
            &self.pki.issuer_signer,
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

    fn issuer_signed(&mut self, doctype: &str, namespace: &str, elements: &[(&str, Cbor)]) -> Vec<u8> {
        let validity = Validity {
            signed: NOW - 60,
            valid_from: NOW - 60,
            valid_until: NOW + 86_400,
            expected_update: None,
        };
        let builder =
            elements.iter().fold(IssuerSignedBuilder::new(doctype, validity), |builder, (name, value)| {
                builder.element(namespace, *name, value.clone())
            });
        builder.issue(self.holder.public_key(), &self.pki.issuer_signer, &mut self.rng).unwrap()
    }

    fn device_response(
        &self,
        issuer_signed: &[u8],
        disclose: &[(&str, &str)],
        transcript: &SessionTranscript,
    ) -> String {
        let presentation = Presentation { issuer_signed, disclose, device_key: &self.holder };
        base64url_encode(build_device_response(&[presentation], transcript).unwrap())
    }
}

fn pid_claims() -> Value {
    json!({"family_name": "Jensen", "given_name": "Karen", "birthdate": "1990-02-01", "nationalities": ["DK"]})
}

fn pid_query() -> ValidatedDcqlQuery {
    DcqlQueryBuilder::new()
        .credential(
            CredentialQueryBuilder::sd_jwt("pid", [PID_VCT])
                .claim_path(["family_name"])
                .claim_path(["given_name"]),
        )
        .build()
        .unwrap()
}

fn mdoc_query() -> ValidatedDcqlQuery {
    DcqlQueryBuilder::new()
        .credential(
            CredentialQueryBuilder::mdoc("pid", PID_DOCTYPE)
                .mdoc_claim(PID_DOCTYPE, "family_name")
                .mdoc_claim(PID_DOCTYPE, "given_name"),
        )
        .build()
        .unwrap()
}

fn token(id: &str, presentations: &[&str]) -> Value {
    json!({ id: presentations })
}

/// The single reason for presentation 0 of `id`, from a refused response.
fn reason(result: Result<VerifiedResponse, RejectedResponse>) -> Reason {
    match result {
        Err(rejected) => rejected.reasons.first().map(|r| r.reason).unwrap(),
        Ok(accepted) => panic!("accepted: {accepted:?}"),
    }
}

fn pid_presentation(f: &mut Fixture, selection: &[&[&str]]) -> String {
    let credential = f.sd_jwt(PID_VCT, pid_claims(), None);
    f.present(&credential, selection, CLIENT_ID, NONCE)
}

fn pid_mdoc(f: &mut Fixture) -> Vec<u8> {
    f.issuer_signed(
        PID_DOCTYPE,
        PID_DOCTYPE,
        &[
            ("family_name", Cbor::from("Jensen")),
            ("given_name", Cbor::from("Karen")),
            ("birth_date", Cbor::from("1990-02-01")),
        ],
    )
}

// ------------------------------------------------------------------------------ SD-JWT VC

#[test]
fn accepts_sd_jwt_vc_with_key_binding() {
    let mut f = fixture();
    let presentation = pid_presentation(&mut f, &[&["family_name"], &["given_name"]]);
    let verified =
        verify_vp_token(&token("pid", &[&presentation]), &pid_query(), &binding(), &f.context()).unwrap();
    let credential = &verified.credentials["pid"][0];
    assert_eq!(credential.credential_type, PID_VCT);
    assert_eq!(credential.claims["family_name"], "Jensen");
    assert_eq!(credential.claims.get("birthdate"), None);
    assert_eq!(credential.holder_key.as_ref(), Some(f.holder.public_key()));
    assert!(credential.issuer.is_some());
    assert!(verified.dropped.is_empty());
}

#[test]
fn rejects_nonce_mismatch() {
    let mut f = fixture();
    let credential = f.sd_jwt(PID_VCT, pid_claims(), None);
    let presentation = f.present(&credential, &[&["family_name"], &["given_name"]], CLIENT_ID, "other-nonce");
    let result = verify_vp_token(&token("pid", &[&presentation]), &pid_query(), &binding(), &f.context());
    assert_eq!(reason(result), Reason::NonceMismatch);
}

#[test]
fn rejects_audience_mismatch() {
    let mut f = fixture();
    let credential = f.sd_jwt(PID_VCT, pid_claims(), None);
    // Without the prefix: OpenID4VP 1.0 wants the full client_id.
    let presentation =
        f.present(&credential, &[&["family_name"], &["given_name"]], "verifier-cert-hash", NONCE);
    let result = verify_vp_token(&token("pid", &[&presentation]), &pid_query(), &binding(), &f.context());
    assert_eq!(reason(result), Reason::AudienceMismatch);
}

#[test]
fn dc_api_binding_wants_origin_audience() {
    let mut f = fixture();
    let credential = f.sd_jwt(PID_VCT, pid_claims(), None);
    let selection: &[&[&str]] = &[&["family_name"], &["given_name"]];
    let dc_api = PresentationBinding::dc_api("https://shop.example", NONCE, None);
    let good = f.present(&credential, selection, "origin:https://shop.example", NONCE);
    assert!(verify_vp_token(&token("pid", &[&good]), &pid_query(), &dc_api, &f.context()).is_ok());
    let bad = f.present(&credential, selection, CLIENT_ID, NONCE);
    assert_eq!(
        reason(verify_vp_token(&token("pid", &[&bad]), &pid_query(), &dc_api, &f.context())),
        Reason::AudienceMismatch
    );
}

#[test]
fn rejects_sd_hash_mismatch() {
    let mut f = fixture();
    let presentation = pid_presentation(&mut f, &[&["family_name"], &["given_name"], &["birthdate"]]);
    // Drop one disclosure after the KB-JWT was made: sd_hash no longer covers what is sent.
    let parts: Vec<&str> = presentation.split('~').collect();
    let tampered = format!("{}~{}~{}~{}", parts[0], parts[1], parts[2], parts[4]);
    let result = verify_vp_token(&token("pid", &[&tampered]), &pid_query(), &binding(), &f.context());
    assert_eq!(reason(result), Reason::SdHashMismatch);
}

#[test]
fn rejects_missing_key_binding() {
    let mut f = fixture();
    let credential = f.sd_jwt(PID_VCT, pid_claims(), None);
    let selection = [ClaimPath::keys(["family_name"]), ClaimPath::keys(["given_name"])];
    let presentation = sd_jwt::present(&credential, &selection, None).unwrap();
    let result = verify_vp_token(&token("pid", &[&presentation]), &pid_query(), &binding(), &f.context());
    assert_eq!(reason(result), Reason::MissingKeyBinding);
}

#[test]
fn rejects_stale_key_binding() {
    let mut f = fixture();
    let credential = f.sd_jwt(PID_VCT, pid_claims(), None);
    let selection = [ClaimPath::keys(["family_name"]), ClaimPath::keys(["given_name"])];
    let input =
        KeyBindingInput { audience: CLIENT_ID, nonce: NONCE, issued_at: NOW - 3_600, signer: &f.holder };
    let presentation = sd_jwt::present(&credential, &selection, Some(&input)).unwrap();
    let result = verify_vp_token(&token("pid", &[&presentation]), &pid_query(), &binding(), &f.context());
    assert_eq!(reason(result), Reason::StaleKeyBinding);
}

#[test]
fn rejects_invalid_key_binding_signature() {
    let mut f = fixture();
    let credential = f.sd_jwt(PID_VCT, pid_claims(), None);
    let selection = [ClaimPath::keys(["family_name"]), ClaimPath::keys(["given_name"])];
    let thief = SoftwareSigner::generate(&mut f.rng).unwrap();
    let input = KeyBindingInput { audience: CLIENT_ID, nonce: NONCE, issued_at: NOW, signer: &thief };
    let presentation = sd_jwt::present(&credential, &selection, Some(&input)).unwrap();
    let result = verify_vp_token(&token("pid", &[&presentation]), &pid_query(), &binding(), &f.context());
    assert_eq!(reason(result), Reason::InvalidKeyBinding);
}

#[test]
fn rejects_untrusted_issuer() {
    let mut f = fixture();
    let presentation = pid_presentation(&mut f, &[&["family_name"], &["given_name"]]);
    let other = pki(&mut f.rng, "Other");
    let mut anchors = TrustAnchors::new();
    anchors.add_der(&other.ca_der).unwrap();
    let context = VerifyContext::new(&anchors, &f.clock);
    let result = verify_vp_token(&token("pid", &[&presentation]), &pid_query(), &binding(), &context);
    assert_eq!(reason(result), Reason::UntrustedIssuer);
}

#[test]
fn rejects_invalid_issuer_signature() {
    let mut f = fixture();
    let presentation = pid_presentation(&mut f, &[&["family_name"], &["given_name"]]);
    let (jwt, rest) = presentation.split_once('~').unwrap();
    let (signing_input, signature) = jwt.rsplit_once('.').unwrap();
    let mut bytes = segl_credential::jose::base64url_decode(signature).unwrap();
    bytes[10] ^= 1;
    let tampered = format!("{signing_input}.{}~{rest}", base64url_encode(bytes));
    let result = verify_vp_token(&token("pid", &[&tampered]), &pid_query(), &binding(), &f.context());
    assert_eq!(reason(result), Reason::InvalidIssuerSignature);
}

#[test]
fn rejects_expired() {
    let mut f = fixture();
    let presentation = pid_presentation(&mut f, &[&["family_name"], &["given_name"]]);
    let later = FixedClock(NOW + 2 * 86_400);
    let context = VerifyContext { clock: &later, key_binding_max_age: 10 * 86_400, ..f.context() };
    let result = verify_vp_token(&token("pid", &[&presentation]), &pid_query(), &binding(), &context);
    assert_eq!(reason(result), Reason::Expired);
}

#[test]
fn rejects_wrong_vct() {
    let mut f = fixture();
    let credential = f.sd_jwt("urn:eudi:other:1", pid_claims(), None);
    let presentation = f.present(&credential, &[&["family_name"], &["given_name"]], CLIENT_ID, NONCE);
    let result = verify_vp_token(&token("pid", &[&presentation]), &pid_query(), &binding(), &f.context());
    assert_eq!(reason(result), Reason::WrongCredentialType);
}

#[test]
fn rejects_missing_claim() {
    let mut f = fixture();
    let presentation = pid_presentation(&mut f, &[&["family_name"]]);
    let result = verify_vp_token(&token("pid", &[&presentation]), &pid_query(), &binding(), &f.context());
    assert_eq!(reason(result), Reason::MissingClaim);
}

#[test]
fn rejects_unrequested_claim() {
    let mut f = fixture();
    let presentation = pid_presentation(&mut f, &[&["family_name"], &["given_name"], &["birthdate"]]);
    let result = verify_vp_token(&token("pid", &[&presentation]), &pid_query(), &binding(), &f.context());
    assert_eq!(reason(result), Reason::UnrequestedClaim);
}

#[test]
fn rejects_claim_value_outside_values() {
    let mut f = fixture();
    let presentation = pid_presentation(&mut f, &[&["family_name"]]);
    let query = DcqlQueryBuilder::new()
        .credential(
            CredentialQueryBuilder::sd_jwt("pid", [PID_VCT])
                .claim(ClaimQuery::new(ClaimPath::keys(["family_name"])).with_values(vec![json!("Hansen")])),
        )
        .build()
        .unwrap();
    let result = verify_vp_token(&token("pid", &[&presentation]), &query, &binding(), &f.context());
    assert_eq!(reason(result), Reason::ClaimValueMismatch);
}

#[test]
fn claim_sets_pick_a_satisfied_option_and_refuse_extras() {
    let mut f = fixture();
    let query = DcqlQueryBuilder::new()
        .credential(
            CredentialQueryBuilder::sd_jwt("pid", [PID_VCT])
                .claim(ClaimQuery::new(ClaimPath::keys(["family_name"])).with_id("a"))
                .claim(ClaimQuery::new(ClaimPath::keys(["birthdate"])).with_id("b"))
                .claim(ClaimQuery::new(ClaimPath::keys(["given_name"])).with_id("c"))
                .claim_set(["a", "b"])
                .claim_set(["a", "c"]),
        )
        .build()
        .unwrap();
    let second = pid_presentation(&mut f, &[&["family_name"], &["given_name"]]);
    let verified = verify_vp_token(&token("pid", &[&second]), &query, &binding(), &f.context()).unwrap();
    assert_eq!(verified.credentials["pid"][0].claim_set, 1);
    let everything = pid_presentation(&mut f, &[&["family_name"], &["given_name"], &["birthdate"]]);
    let result = verify_vp_token(&token("pid", &[&everything]), &query, &binding(), &f.context());
    assert_eq!(reason(result), Reason::UnrequestedClaim);
}

#[test]
fn nested_claims_disclose_their_parents() {
    let mut f = fixture();
    let claims = json!({"address": {"country": "DK", "locality": "Aarhus"}, "family_name": "Jensen"});
    let credential = {
        let claims: Map<String, Value> = claims.as_object().cloned().unwrap();
        let policy = DisclosurePolicy::new([
            ClaimPath::keys(["address"]),
            ClaimPath::keys(["address", "country"]),
            ClaimPath::keys(["address", "locality"]),
        ])
        .unwrap();
        let vc = VcClaims { vct: PID_VCT, holder_key: Some(f.holder.public_key()), ..VcClaims::default() };
        sd_jwt::issue_vc(&vc, claims, &policy, &IssueOptions::default(), &f.pki.issuer_signer, &mut f.rng)
            .unwrap()
    };
    let query = DcqlQueryBuilder::new()
        .credential(CredentialQueryBuilder::sd_jwt("pid", [PID_VCT]).claim_path(["address", "country"]))
        .build()
        .unwrap();
    let country = f.present(&credential, &[&["address", "country"]], CLIENT_ID, NONCE);
    let verified = verify_vp_token(&token("pid", &[&country]), &query, &binding(), &f.context()).unwrap();
    assert_eq!(verified.credentials["pid"][0].claims["address"], json!({"country": "DK"}));
    let both = f.present(&credential, &[&["address", "country"], &["address", "locality"]], CLIENT_ID, NONCE);
    assert_eq!(
        reason(verify_vp_token(&token("pid", &[&both]), &query, &binding(), &f.context())),
        Reason::UnrequestedClaim
    );
}

#[test]
fn holder_binding_not_required_accepts_plain_sd_jwt() {
    let mut f = fixture();
    let credential = f.sd_jwt(PID_VCT, pid_claims(), None);
    let presentation = sd_jwt::present(&credential, &[ClaimPath::keys(["family_name"])], None).unwrap();
    let query = DcqlQueryBuilder::new()
        .credential(
            CredentialQueryBuilder::sd_jwt("pid", [PID_VCT])
                .claim_path(["family_name"])
                .holder_binding(false),
        )
        .build()
        .unwrap();
    let verified =
        verify_vp_token(&token("pid", &[&presentation]), &query, &binding(), &f.context()).unwrap();
    assert_eq!(verified.credentials["pid"][0].holder_key, None);
}

// ------------------------------------------------------------------------------ status

fn status_cache(f: &Fixture, statuses: &[(u64, Status)]) -> StatusListCache {
    let mut list = StatusList::new(Bits::Two, 16).unwrap();
    for (index, status) in statuses {
        list.set(*index, *status).unwrap();
    }
    let claims =
        StatusListTokenClaims { exp: Some(NOW + 3_600), ..StatusListTokenClaims::new(STATUS_URI, NOW - 10) };
    let jwt = sign_jwt(&list, &claims, &f.pki.issuer_signer, KeyReference::X5c).unwrap();
    let verified = StatusListVerifier::new(IssuerKeySource::Anchors(&f.anchors), &f.clock)
        .verify_jwt(&jwt, STATUS_URI)
        .unwrap();
    let mut cache = StatusListCache::new(600, 8);
    cache.insert(verified, NOW - 10, None);
    cache
}

#[test]
fn status_list_decides_revoked_suspended_and_valid() {
    let mut f = fixture();
    let cache = status_cache(&f, &[(1, Status::Invalid), (2, Status::Suspended)]);
    for (index, expected) in [(0, None), (1, Some(Reason::Revoked)), (2, Some(Reason::Suspended))] {
        let status = StatusClaim { status_list: StatusReference { idx: index, uri: STATUS_URI.into() } };
        let credential = f.sd_jwt(PID_VCT, pid_claims(), Some(&status));
        let presentation = f.present(&credential, &[&["family_name"], &["given_name"]], CLIENT_ID, NONCE);
        let context = VerifyContext { status: Some(&cache), ..f.context() };
        let result = verify_vp_token(&token("pid", &[&presentation]), &pid_query(), &binding(), &context);
        match expected {
            None => assert_eq!(result.unwrap().credentials["pid"][0].status.as_ref().unwrap().idx, 0),
            Some(expected) => assert_eq!(reason(result), expected),
        }
    }
}

#[test]
fn rejects_revoked() {
    let mut f = fixture();
    let cache = status_cache(&f, &[(5, Status::Invalid)]);
    let document = {
        let validity = Validity {
            signed: NOW - 60,
            valid_from: NOW - 60,
            valid_until: NOW + 86_400,
            expected_update: None,
        };
        IssuerSignedBuilder::new(PID_DOCTYPE, validity)
            .element(PID_DOCTYPE, "family_name", Cbor::from("Jensen"))
            .element(PID_DOCTYPE, "given_name", Cbor::from("Karen"))
            .status(StatusReference { idx: 5, uri: STATUS_URI.into() })
            .issue(f.holder.public_key(), &f.pki.issuer_signer, &mut f.rng)
            .unwrap()
    };
    let transcript = &binding().session_transcripts[0];
    let response = f.device_response(
        &document,
        &[(PID_DOCTYPE, "family_name"), (PID_DOCTYPE, "given_name")],
        transcript,
    );
    let context = VerifyContext { status: Some(&cache), ..f.context() };
    assert_eq!(
        reason(verify_vp_token(&token("pid", &[&response]), &mdoc_query(), &binding(), &context)),
        Reason::Revoked
    );
    // Without a status lookup the verifier cannot know: refused, not waved through.
    let result = verify_vp_token(&token("pid", &[&response]), &mdoc_query(), &binding(), &f.context());
    assert_eq!(reason(result), Reason::StatusUnavailable);
}

// ------------------------------------------------------------------------------ mdoc

#[test]
fn accepts_mdoc_over_the_openid4vp_handover() {
    let mut f = fixture();
    let document = pid_mdoc(&mut f);
    let response = f.device_response(
        &document,
        &[(PID_DOCTYPE, "family_name"), (PID_DOCTYPE, "given_name")],
        &binding().session_transcripts[0],
    );
    let verified =
        verify_vp_token(&token("pid", &[&response]), &mdoc_query(), &binding(), &f.context()).unwrap();
    let credential = &verified.credentials["pid"][0];
    assert_eq!(credential.claims[PID_DOCTYPE], json!({"family_name": "Jensen", "given_name": "Karen"}));
    assert_eq!(credential.format, CredentialFormat::MsoMdoc);
}

#[test]
fn rejects_wrong_session_transcript() {
    let mut f = fixture();
    let document = pid_mdoc(&mut f);
    let foreign = SessionTranscript::openid4vp(CLIENT_ID, "another-nonce", None, RESPONSE_URI);
    let response =
        f.device_response(&document, &[(PID_DOCTYPE, "family_name"), (PID_DOCTYPE, "given_name")], &foreign);
    let result = verify_vp_token(&token("pid", &[&response]), &mdoc_query(), &binding(), &f.context());
    assert_eq!(reason(result), Reason::WrongSessionTranscript);
    // The caller may accept a second (e.g. pre-1.0) form: then the same response verifies.
    let lenient = binding().also_accept(foreign);
    assert!(verify_vp_token(&token("pid", &[&response]), &mdoc_query(), &lenient, &f.context()).is_ok());
}

#[test]
fn rejects_mdoc_missing_and_unrequested_elements() {
    let mut f = fixture();
    let document = pid_mdoc(&mut f);
    let transcript = &binding().session_transcripts[0];
    let only_family = f.device_response(&document, &[(PID_DOCTYPE, "family_name")], transcript);
    let result = verify_vp_token(&token("pid", &[&only_family]), &mdoc_query(), &binding(), &f.context());
    assert_eq!(reason(result), Reason::MissingClaim);
    let extra = f.device_response(
        &document,
        &[(PID_DOCTYPE, "family_name"), (PID_DOCTYPE, "given_name"), (PID_DOCTYPE, "birth_date")],
        transcript,
    );
    let result = verify_vp_token(&token("pid", &[&extra]), &mdoc_query(), &binding(), &f.context());
    assert_eq!(reason(result), Reason::UnrequestedClaim);
}

#[test]
fn rejects_wrong_doctype_and_malformed_mdoc() {
    let mut f = fixture();
    let document = f.issuer_signed(
        "org.iso.18013.5.1.mDL",
        PID_DOCTYPE,
        &[("family_name", Cbor::from("J")), ("given_name", Cbor::from("K"))],
    );
    let transcript = &binding().session_transcripts[0];
    let response = f.device_response(
        &document,
        &[(PID_DOCTYPE, "family_name"), (PID_DOCTYPE, "given_name")],
        transcript,
    );
    let result = verify_vp_token(&token("pid", &[&response]), &mdoc_query(), &binding(), &f.context());
    assert_eq!(reason(result), Reason::WrongCredentialType);
    for garbage in ["***", "oWFhYWI", ""] {
        let result = verify_vp_token(&token("pid", &[garbage]), &mdoc_query(), &binding(), &f.context());
        assert_eq!(reason(result), Reason::MalformedPresentation, "{garbage:?}");
    }
}

#[test]
fn rejects_expired_mdoc() {
    let mut f = fixture();
    let document = pid_mdoc(&mut f);
    let transcript = &binding().session_transcripts[0];
    let response = f.device_response(
        &document,
        &[(PID_DOCTYPE, "family_name"), (PID_DOCTYPE, "given_name")],
        transcript,
    );
    let later = FixedClock(NOW + 2 * 86_400);
    let context = VerifyContext { clock: &later, ..f.context() };
    assert_eq!(
        reason(verify_vp_token(&token("pid", &[&response]), &mdoc_query(), &binding(), &context)),
        Reason::Expired
    );
}

// ------------------------------------------------------------------------------ age

fn age_mdoc(f: &mut Fixture, doctype: &str, elements: &[(&str, bool)]) -> Vec<u8> {
    let elements: Vec<(&str, Cbor)> =
        elements.iter().map(|(name, over)| (*name, Cbor::Bool(*over))).collect();
    f.issuer_signed(doctype, doctype, &elements)
}

#[test]
fn age_over_18_accepts_either_format() {
    let mut f = fixture();
    let query = age_over_18_either_format().unwrap();
    let document = age_mdoc(&mut f, AGE_DOCTYPE, &[("age_over_18", true), ("age_over_65", false)]);
    let transcript = &binding().session_transcripts[0];
    let response = f.device_response(&document, &[(AGE_DOCTYPE, "age_over_18")], transcript);
    let verified =
        verify_vp_token(&token("age_mdoc", &[&response]), &query, &binding(), &f.context()).unwrap();
    assert_eq!(verified.credentials["age_mdoc"][0].age_over(18), Some(true));

    let credential = f.sd_jwt(AGE_VCT, json!({"age_equal_or_over": {"18": false, "21": false}}), None);
    let presentation = f.present(&credential, &[&["age_equal_or_over", "18"]], CLIENT_ID, NONCE);
    let verified =
        verify_vp_token(&token("age_sd_jwt", &[&presentation]), &query, &binding(), &f.context()).unwrap();
    assert_eq!(verified.credentials["age_sd_jwt"][0].age_over(18), Some(false));

    let result = verify_vp_token(&json!({}), &query, &binding(), &f.context());
    assert_eq!(reason(result), Reason::CredentialSetUnsatisfied);
}

#[test]
fn age_rule_accepts_nearest_true_statement() {
    let mut f = fixture();
    let query = age_over_18_either_format().unwrap();
    let transcript = &binding().session_transcripts[0];
    let document = age_mdoc(&mut f, AGE_DOCTYPE, &[("age_over_16", true), ("age_over_21", true)]);
    let response = f.device_response(&document, &[(AGE_DOCTYPE, "age_over_21")], transcript);
    let verified =
        verify_vp_token(&token("age_mdoc", &[&response]), &query, &binding(), &f.context()).unwrap();
    assert_eq!(verified.credentials["age_mdoc"][0].age_over(18), Some(true));
    // age_over_16 = true says nothing about 18.
    let undecided = f.device_response(&document, &[(AGE_DOCTYPE, "age_over_16")], transcript);
    let result = verify_vp_token(&token("age_mdoc", &[&undecided]), &query, &binding(), &f.context());
    assert_eq!(result.unwrap_err().reasons[0].reason, Reason::MissingClaim);
}

#[test]
fn rejects_age_substitute_when_the_exact_statement_is_there() {
    let mut f = fixture();
    let query = age_over_18_either_format().unwrap();
    let document = age_mdoc(&mut f, AGE_DOCTYPE, &[("age_over_18", true), ("age_over_21", true)]);
    let response = f.device_response(
        &document,
        &[(AGE_DOCTYPE, "age_over_18"), (AGE_DOCTYPE, "age_over_21")],
        &binding().session_transcripts[0],
    );
    let result = verify_vp_token(&token("age_mdoc", &[&response]), &query, &binding(), &f.context());
    assert_eq!(result.unwrap_err().reasons[0].reason, Reason::UnrequestedClaim);
}

#[test]
fn age_aliases_are_accepted_only_when_configured() {
    let mut f = fixture();
    let query = age_over_18_either_format().unwrap();
    let document = age_mdoc(&mut f, DK_AGE_DOCTYPE, &[("age_over_18", true)]);
    let response =
        f.device_response(&document, &[(DK_AGE_DOCTYPE, "age_over_18")], &binding().session_transcripts[0]);
    let result = verify_vp_token(&token("age_mdoc", &[&response]), &query, &binding(), &f.context());
    assert_eq!(result.unwrap_err().reasons[0].reason, Reason::WrongCredentialType);
    let context = VerifyContext { aliases: DoctypeAliases::eu_age_proofs(), ..f.context() };
    let verified = verify_vp_token(&token("age_mdoc", &[&response]), &query, &binding(), &context).unwrap();
    let credential = &verified.credentials["age_mdoc"][0];
    assert_eq!(credential.credential_type, DK_AGE_DOCTYPE);
    assert_eq!(credential.requested_type, AGE_DOCTYPE);
    assert_eq!(credential.claims[AGE_DOCTYPE]["age_over_18"], json!(true));
}

// ------------------------------------------------------------------------------ vp_token shape

#[test]
fn rejects_malformed_vp_token() {
    let f = fixture();
    for bad in [json!("x"), json!({"pid": []}), json!({"pid": "abc"}), json!([])] {
        let result = verify_vp_token(&bad, &pid_query(), &binding(), &f.context());
        assert_eq!(reason(result), Reason::MalformedVpToken, "{bad}");
    }
    let result = verify_vp_token(&json!({"pid": [42]}), &pid_query(), &binding(), &f.context());
    assert_eq!(reason(result), Reason::MalformedPresentation);
}

#[test]
fn rejects_unknown_credential_query() {
    let f = fixture();
    let result = verify_vp_token(&json!({"other": ["x"]}), &pid_query(), &binding(), &f.context());
    assert_eq!(reason(result), Reason::UnknownCredentialQuery);
}

#[test]
fn rejects_unexpected_presentation_count() {
    let mut f = fixture();
    let presentation = pid_presentation(&mut f, &[&["family_name"], &["given_name"]]);
    let result = verify_vp_token(
        &token("pid", &[&presentation, &presentation]),
        &pid_query(),
        &binding(),
        &f.context(),
    );
    assert_eq!(reason(result), Reason::UnexpectedPresentationCount);
}

#[test]
fn rejects_missing_credential() {
    let f = fixture();
    let result = verify_vp_token(&json!({}), &pid_query(), &binding(), &f.context());
    assert_eq!(reason(result), Reason::MissingCredential);
}

#[test]
fn optional_credential_set_failure_is_dropped_not_fatal() {
    let mut f = fixture();
    let query = DcqlQueryBuilder::new()
        .credential(CredentialQueryBuilder::sd_jwt("pid", [PID_VCT]).claim_path(["family_name"]))
        .credential(CredentialQueryBuilder::mdoc("extra", PID_DOCTYPE).mdoc_claim(PID_DOCTYPE, "family_name"))
        .credential_set([["pid"]], true)
        .credential_set([["extra"]], false)
        .build()
        .unwrap();
    let presentation = pid_presentation(&mut f, &[&["family_name"]]);
    let vp_token = json!({"pid": [presentation], "extra": ["bm90LWNib3I"]});
    let verified = verify_vp_token(&vp_token, &query, &binding(), &f.context()).unwrap();
    assert_eq!(verified.credentials.len(), 1);
    assert_eq!(verified.dropped.len(), 1);
    assert_eq!(verified.dropped[0].reason, Reason::MalformedPresentation);
    assert_eq!(verified.dropped[0].query_id.as_deref(), Some("extra"));
}

#[test]
fn rejects_trusted_authority_mismatch() {
    let mut f = fixture();
    let presentation = pid_presentation(&mut f, &[&["family_name"]]);
    let query_for = |aki: &str| {
        DcqlQueryBuilder::new()
            .credential(
                CredentialQueryBuilder::sd_jwt("pid", [PID_VCT])
                    .claim_path(["family_name"])
                    .trusted_authority("aki", [aki]),
            )
            .build()
            .unwrap()
    };
    let result =
        verify_vp_token(&token("pid", &[&presentation]), &query_for("bm9wZQ"), &binding(), &f.context());
    assert_eq!(reason(result), Reason::TrustedAuthorityMismatch);
    // The right AKI (the dev CA's key identifier, read from the validated chain) is accepted.
    let accepted =
        verify_vp_token(&token("pid", &[&presentation]), &pid_query_any(), &binding(), &f.context()).unwrap();
    let aki = accepted.credentials["pid"][0].issuer.as_ref().unwrap().authority_key_ids[0].clone();
    assert!(
        verify_vp_token(&token("pid", &[&presentation]), &query_for(&aki), &binding(), &f.context()).is_ok()
    );
}

fn pid_query_any() -> ValidatedDcqlQuery {
    DcqlQueryBuilder::new()
        .credential(CredentialQueryBuilder::sd_jwt("pid", [PID_VCT]).claim_path(["family_name"]))
        .build()
        .unwrap()
}

#[test]
fn reasons_serialize_as_their_codes() {
    assert_eq!(serde_json::to_value(Reason::NonceMismatch).unwrap(), json!("nonce_mismatch"));
    assert_eq!(Reason::WrongSessionTranscript.code(), "wrong_session_transcript");
}

/// An array claim disclosed with every selectively disclosable element withheld comes out as
/// `[]`: that does not answer a query for the claim (see `claims::evaluate`), for the array path
/// or its elements, while the same array with one element disclosed does.
#[test]
fn rejects_array_claim_with_every_element_withheld_as_missing() {
    use segl_credential::sd_jwt::PathElement;
    let mut f = fixture();
    let claims: Map<String, Value> =
        json!({"nationalities": ["DK", "SE"], "family_name": "Jensen"}).as_object().cloned().unwrap();
    let element =
        |index| ClaimPath::new(vec![PathElement::Key("nationalities".into()), PathElement::Index(index)]);
    let policy = DisclosurePolicy::new([ClaimPath::keys(["nationalities"]), element(0), element(1)]).unwrap();
    let vc = VcClaims { vct: PID_VCT, ..VcClaims::default() };
    let credential =
        sd_jwt::issue_vc(&vc, claims, &policy, &IssueOptions::default(), &f.pki.issuer_signer, &mut f.rng)
            .unwrap();
    let one = sd_jwt::present(&credential, &[element(0)], None).unwrap();
    // The same presentation without the element's disclosure: only the container's (a
    // disclosure of three entries: salt, name, value) is kept.
    let container_only = {
        let parts: Vec<&str> = one.trim_end_matches('~').split('~').collect();
        let kept = parts[1..].iter().filter(|encoded| {
            let json = segl_credential::jose::base64url_decode(encoded).unwrap();
            serde_json::from_slice::<Vec<Value>>(&json).unwrap().len() == 3
        });
        let mut text = parts[0].to_owned();
        for disclosure in kept {
            text.push('~');
            text.push_str(disclosure);
        }
        text.push('~');
        text
    };
    assert_eq!(container_only.matches('~').count(), 2, "{container_only}");
    for path in [vec![json!("nationalities")], vec![json!("nationalities"), Value::Null]] {
        let query = crate::request::DcqlQuery::parse(
            &json!({"credentials": [{"id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": [PID_VCT]},
                "require_cryptographic_holder_binding": false, "claims": [{"path": path}]}]})
            .to_string(),
        )
        .unwrap();
        let result = verify_vp_token(&token("pid", &[&container_only]), &query, &binding(), &f.context());
        assert_eq!(reason(result), Reason::MissingClaim, "{path:?}");
        let verified = verify_vp_token(&token("pid", &[&one]), &query, &binding(), &f.context()).unwrap();
        assert_eq!(verified.credentials["pid"][0].claims["nationalities"], json!(["DK"]), "{path:?}");
    }
}
