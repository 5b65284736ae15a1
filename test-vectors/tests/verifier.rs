//! segl-verifier on public vectors: the OpenID4VP 1.0 DCQL examples (and the EU AV query), the
//! real wallet DeviceResponses of mdoc-real as vp_token presentations, and the Danish pilot's
//! age proof through the docType alias table.

// Test helpers outside `#[test]` functions read fixed vector files: a panic is the failure.
#![allow(clippy::unwrap_used, clippy::panic)]

use segl_credential::clock::FixedClock;
use segl_credential::jose::base64url_encode;
use segl_credential::mdoc::SessionTranscript;
use segl_credential::x509::TrustAnchors;
use segl_test_vectors::path;
use segl_verifier::request::{
    CredentialFormat, CredentialQueryBuilder, DcqlError, DcqlQuery, DcqlQueryBuilder, ValidatedDcqlQuery,
    age_over_18_either_format,
};
use segl_verifier::response::{
    DoctypeAliases, PresentationBinding, Reason, RejectedResponse, VerifiedResponse, VerifyContext,
    verify_vp_token,
};
use serde_json::{Value, json};
use time::macros::datetime;

fn read(relative: &str) -> Vec<u8> {
    std::fs::read(path(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn text(relative: &str) -> String {
    String::from_utf8(read(relative)).unwrap()
}

// ---------------------------------------------------------------- DCQL

const SPEC_QUERIES: [&str; 7] = [
    "claims_alternatives",
    "complex_mdoc",
    "credentials_alternatives",
    "multi_credentials",
    "simple",
    "simple_mdoc",
    "value_matching_simple",
];

/// Every DCQL example of OpenID4VP 1.0 parses, validates, and serializes back to the same JSON
/// (compared as parsed structures; defaults are not written out).
#[test]
fn spec_dcql_examples_parse_validate_and_round_trip() {
    for name in SPEC_QUERIES {
        let file = format!("oid4vp/examples/query_lang/{name}.json");
        let original: Value = serde_json::from_str(&text(&file)).unwrap();
        let query = DcqlQuery::parse(&text(&file)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(query.to_json(), original, "{name}");
        let again: ValidatedDcqlQuery = serde_json::from_value(query.to_json()).unwrap();
        assert_eq!(again, query, "{name}");
    }
    let complex = DcqlQuery::parse(&text("oid4vp/examples/query_lang/complex_mdoc.json")).unwrap();
    let sets = complex.query().credential_sets.as_ref().unwrap();
    assert!(sets[0].required);
    assert!(!sets[1].required);
    assert_eq!(complex.query().credentials[0].format, CredentialFormat::MsoMdoc);
    let alternatives =
        DcqlQuery::parse(&text("oid4vp/examples/query_lang/claims_alternatives.json")).unwrap();
    let options = alternatives.query().credentials[0].claim_options();
    assert_eq!(options.iter().map(Vec::len).collect::<Vec<_>>(), [4, 3]);
    // The DCQL query embedded in the spec's encrypted-response request.
    let request: Value =
        serde_json::from_str(&text("oid4vp/vectors/encrypted_response_request.json")).unwrap();
    DcqlQuery::parse(&request["dcql_query"].to_string()).unwrap();
}

/// The EU AV Annex A query parses; its published doctype carries a trailing space (a typo
/// documented in age-verification/SOURCES.md), so it could never match a real credential.
#[test]
fn eu_av_dcql_query_parses_with_its_typo() {
    let query = DcqlQuery::parse(&text("age-verification/oid4vp_dcql_query.json")).unwrap();
    let doctype = query.query().credentials[0].meta.doctype_value.as_deref().unwrap();
    assert_eq!(doctype, "eu.europa.ec.av.1 ");
}

/// A change that breaks a valid query.
type Mutation = fn(&mut Value);

#[test]
fn rejects_spec_examples_made_invalid() {
    // A W3C format from the spec's request examples: valid DCQL, but not a format Segl verifies.
    let w3c = DcqlQuery::parse(&text("oid4vp/examples/request/dcql_jwt_vc.json"));
    assert!(matches!(w3c, Err(DcqlError::UnsupportedFormat { .. })), "{w3c:?}");
    let base: Value =
        serde_json::from_str(&text("oid4vp/examples/query_lang/claims_alternatives.json")).unwrap();
    let mutations: [(&str, Mutation); 5] = [
        ("unknown claim id in a claim set", |q| q["credentials"][0]["claim_sets"][0][0] = json!("z")),
        ("duplicate claim id", |q| q["credentials"][0]["claims"][1]["id"] = json!("a")),
        ("bad credential id", |q| q["credentials"][0]["id"] = json!("p i d")),
        ("empty path", |q| q["credentials"][0]["claims"][0]["path"] = json!([])),
        ("no vct_values", |q| q["credentials"][0]["meta"] = json!({})),
    ];
    for (what, mutate) in mutations {
        let mut query = base.clone();
        mutate(&mut query);
        assert!(DcqlQuery::parse(&query.to_string()).is_err(), "{what} accepted");
    }
    let mut mdoc: Value = serde_json::from_str(&text("oid4vp/examples/query_lang/simple_mdoc.json")).unwrap();
    mdoc["credentials"][0]["claims"][0]["path"] = json!(["org.iso.7367.1"]);
    assert!(matches!(DcqlQuery::parse(&mdoc.to_string()), Err(DcqlError::InvalidClaim { .. })));
}

// ---------------------------------------------------------------- real wallet responses

struct RealResponse {
    file: &'static str,
    anchor: &'static str,
    now: time::OffsetDateTime,
    transcript: SessionTranscript,
    doc_type: &'static str,
    namespace: &'static str,
    disclosed: &'static [&'static str],
    absent: &'static str,
}

fn real_responses() -> Vec<RealResponse> {
    let animo_thumbprint: [u8; 32] =
        hex::decode("61a29f269176244d397cae26f7f80ab196bffcb65fe3052b540c78073dab7c1e")
            .unwrap()
            .try_into()
            .unwrap();
    let google_origin = "https://ellis-occurrence-ac-smoking.trycloudflare.com";
    vec![
        RealResponse {
            file: "mdoc-real/animo-paradym_device_response.cbor",
            anchor: "mdoc-real/animo-paradym_iaca_root.pem",
            now: datetime!(2026-01-12 00:00 UTC),
            transcript: SessionTranscript::openid4vp(
                "x509_san_dns:playground.animo.id",
                "LMGPB6k--THpBUSkEBvLxmdMIi3Ee1fjHXXUUzBVa04",
                Some(&animo_thumbprint),
                "https://playground.animo.id/oid4vp/8caaebcc-d48c-471b-86b0-a534e15c4774/authorize?session=6c115dbc-1364-4e9f-a325-173eeec01a5a",
            ),
            doc_type: "eu.europa.ec.eudi.pid.1",
            namespace: "eu.europa.ec.eudi.pid.1",
            disclosed: &["family_name", "given_name"],
            absent: "birth_date",
        },
        RealResponse {
            file: "mdoc-real/france_device_response.cbor",
            anchor: "mdoc-real/france_ds_cert.pem",
            now: datetime!(2021-09-25 00:00 UTC),
            transcript: SessionTranscript::openid4vp_draft18(
                "example.com",
                "https://example.com/12345/response",
                "abcdefgh1234567890",
                "",
            ),
            doc_type: "org.iso.18013.5.1.mDL",
            namespace: "org.iso.18013.5.1",
            disclosed: &[
                "document_number",
                "driving_privileges",
                "expiry_date",
                "family_name",
                "issue_date",
                "portrait",
            ],
            absent: "given_name",
        },
        RealResponse {
            file: "mdoc-real/google_device_response.cbor",
            anchor: "mdoc-real/google_ds_cert_digitalcredentials_dev.pem",
            now: datetime!(2025-02-20 00:00 UTC),
            transcript: SessionTranscript::openid4vp_dc_api_draft24(
                google_origin,
                &format!("web-origin:{google_origin}"),
                "UwQek7MemM55VM2Lc7UPPsdsxa-vejebSUo75B_G7vk",
            ),
            doc_type: "org.iso.18013.5.1.mDL",
            namespace: "org.iso.18013.5.1",
            disclosed: &["family_name", "given_name"],
            absent: "age_over_21",
        },
        RealResponse {
            file: "mdoc-real/ubique_device_response.cbor",
            anchor: "mdoc-real/ubique_ds_cert.pem",
            now: datetime!(2025-02-01 00:00 UTC),
            transcript: SessionTranscript::openid4vp_draft18(
                "Cq1anPb8vZU5j5C0d7hcsbuJLBpIawUJIDQRi2Ebwb4",
                "http://localhost:4000/api/presentation_request/dc8999df-d6ea-4c84-9985-37a8b81a82ec/callback",
                "abcdefg",
                "123456",
            ),
            doc_type: "org.iso.18013.5.1.mDL",
            namespace: "org.iso.18013.5.1",
            disclosed: &["family_name"],
            absent: "given_name",
        },
    ]
}

fn anchors(pem_file: &str) -> TrustAnchors {
    let mut anchors = TrustAnchors::new();
    anchors.add_pem(&text(pem_file)).unwrap();
    anchors
}

/// A binding whose only acceptable transcript is the vector's (the audience and nonce matter to
/// SD-JWT only).
fn binding(transcript: SessionTranscript) -> PresentationBinding {
    PresentationBinding {
        audience: "unused".into(),
        nonce: "unused".into(),
        session_transcripts: vec![transcript],
    }
}

fn mdoc_query(doc_type: &str, namespace: &str, elements: &[&str]) -> ValidatedDcqlQuery {
    let credential =
        elements.iter().fold(CredentialQueryBuilder::mdoc("mdoc", doc_type), |query, element| {
            query.mdoc_claim(namespace, element)
        });
    DcqlQueryBuilder::new().credential(credential).build().unwrap()
}

fn verify_real(
    vector: &RealResponse,
    query: &ValidatedDcqlQuery,
) -> Result<VerifiedResponse, RejectedResponse> {
    let trust = anchors(vector.anchor);
    let clock = FixedClock(vector.now.unix_timestamp());
    let vp_token = json!({"mdoc": [base64url_encode(read(vector.file))]});
    verify_vp_token(
        &vp_token,
        query,
        &binding(vector.transcript.clone()),
        &VerifyContext::new(&trust, &clock),
    )
}

fn first_reason(result: Result<VerifiedResponse, RejectedResponse>) -> Reason {
    result.unwrap_err().reasons[0].reason
}

#[test]
fn real_wallet_responses_answer_a_query_for_what_they_disclose() {
    for vector in real_responses() {
        let query = mdoc_query(vector.doc_type, vector.namespace, vector.disclosed);
        let verified = verify_real(&vector, &query).unwrap_or_else(|e| panic!("{}: {e}", vector.file));
        let credential = &verified.credentials["mdoc"][0];
        assert_eq!(credential.credential_type, vector.doc_type);
        let mut names: Vec<&String> =
            credential.claims[vector.namespace].as_object().unwrap().keys().collect();
        names.sort();
        assert_eq!(names, vector.disclosed, "{}", vector.file);
        assert!(credential.issuer.is_some());
    }
}

#[test]
fn rejects_real_responses_missing_a_requested_element() {
    for vector in real_responses() {
        let mut wanted = vector.disclosed.to_vec();
        wanted.push(vector.absent);
        let query = mdoc_query(vector.doc_type, vector.namespace, &wanted);
        assert_eq!(first_reason(verify_real(&vector, &query)), Reason::MissingClaim, "{}", vector.file);
    }
}

#[test]
fn rejects_real_responses_disclosing_more_than_asked() {
    for vector in real_responses().into_iter().filter(|vector| vector.disclosed.len() > 1) {
        let query = mdoc_query(vector.doc_type, vector.namespace, &vector.disclosed[..1]);
        assert_eq!(first_reason(verify_real(&vector, &query)), Reason::UnrequestedClaim, "{}", vector.file);
    }
}

#[test]
fn rejects_real_responses_under_a_foreign_transcript_or_anchor() {
    for mut vector in real_responses() {
        let query = mdoc_query(vector.doc_type, vector.namespace, vector.disclosed);
        let original = vector.transcript.clone();
        vector.transcript =
            SessionTranscript::openid4vp("x509_hash:other", "nonce", None, "https://other.example");
        assert_eq!(
            first_reason(verify_real(&vector, &query)),
            Reason::WrongSessionTranscript,
            "{}",
            vector.file
        );
        vector.transcript = original;
        vector.anchor = "dk-digst/issuer_cert.pem";
        assert_eq!(first_reason(verify_real(&vector, &query)), Reason::UntrustedIssuer, "{}", vector.file);
    }
}

// ---------------------------------------------------------------- Danish age proof alias

fn digst() -> (Value, TrustAnchors, FixedClock, PresentationBinding) {
    let vp_token = json!({"age_mdoc": [text("dk-digst/oid4vp_device_response.b64").trim()]});
    let transcript =
        SessionTranscript::openid4vp_draft18("clientId", "responseUrl", "nonce", "hQUmE4m-r5PRefxM4Afvbw");
    let clock = FixedClock(datetime!(2025-05-28 12:13:43 UTC).unix_timestamp());
    (vp_token, anchors("dk-digst/issuer_cert.pem"), clock, binding(transcript))
}

/// The pilot wallet's OpenID4VP age proof (docType `eu.europa.ec.eudi.pseudonym.age_over_18.1`,
/// pre-1.0 handover, embedded device payload, tagged COSE) answers the "age over 18" preset
/// through the alias table and the lenient encoding switch.
#[test]
fn digst_age_proof_answers_age_over_18_through_the_alias_table() {
    let (vp_token, trust, clock, binding) = digst();
    let query = age_over_18_either_format().unwrap();
    let context = VerifyContext {
        aliases: DoctypeAliases::eu_age_proofs(),
        accept_lenient_mdoc_encoding: true,
        ..VerifyContext::new(&trust, &clock)
    };
    let verified = verify_vp_token(&vp_token, &query, &binding, &context).unwrap();
    let credential = &verified.credentials["age_mdoc"][0];
    assert_eq!(credential.credential_type, "eu.europa.ec.eudi.pseudonym.age_over_18.1");
    assert_eq!(credential.requested_type, "eu.europa.ec.av.1");
    assert_eq!(credential.age_over(18), Some(true));

    // Without the alias: another docType. Without leniency: a malformed device signature.
    let strict_aliases = VerifyContext { aliases: DoctypeAliases::none(), ..context.clone() };
    let result = verify_vp_token(&vp_token, &query, &binding, &strict_aliases);
    assert_eq!(first_reason(result), Reason::WrongCredentialType);
    let strict_encoding = VerifyContext { accept_lenient_mdoc_encoding: false, ..context.clone() };
    assert_eq!(
        first_reason(verify_vp_token(&vp_token, &query, &binding, &strict_encoding)),
        Reason::MalformedPresentation
    );
    // The embedded payload must still be this session's.
    let other = digst_binding("nonce2");
    assert_eq!(
        first_reason(verify_vp_token(&vp_token, &query, &other, &context)),
        Reason::WrongSessionTranscript
    );
}

fn digst_binding(nonce: &str) -> PresentationBinding {
    binding(SessionTranscript::openid4vp_draft18("clientId", "responseUrl", nonce, "hQUmE4m-r5PRefxM4Afvbw"))
}
