use serde_json::{Value, json};

use super::*;

fn parse(value: Value) -> Result<ValidatedDcqlQuery, DcqlError> {
    DcqlQuery::parse(&value.to_string())
}

fn one_sd_jwt(extra: Value) -> Value {
    let mut credential = json!({
        "id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:eudi:pid:1"]},
        "claims": [{"id": "a", "path": ["family_name"]}, {"id": "b", "path": ["address", "country"]}]
    });
    if let (Some(target), Value::Object(extra)) = (credential.as_object_mut(), extra) {
        target.extend(extra);
    }
    json!({"credentials": [credential]})
}

#[test]
fn defaults_apply_and_round_trip_without_them() {
    let query = parse(one_sd_jwt(json!({}))).unwrap();
    let credential = &query.query().credentials[0];
    assert!(!credential.multiple);
    assert!(credential.require_cryptographic_holder_binding);
    assert_eq!(credential.format, CredentialFormat::DcSdJwt);
    assert_eq!(query.to_json(), one_sd_jwt(json!({})));
}

#[test]
fn presets_validate_and_have_the_expected_shape() {
    let age = age_over_18_either_format().unwrap();
    assert_eq!(
        age.to_json(),
        json!({
            "credentials": [
                {"id": "age_mdoc", "format": "mso_mdoc", "meta": {"doctype_value": "eu.europa.ec.av.1"},
                 "claims": [{"path": ["eu.europa.ec.av.1", "age_over_18"]}]},
                {"id": "age_sd_jwt", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:eudi:age_verification:1"]},
                 "claims": [{"path": ["age_equal_or_over", "18"]}]}
            ],
            "credential_sets": [{"options": [["age_mdoc"], ["age_sd_jwt"]]}]
        })
    );
    let pid = pid_core().unwrap();
    assert_eq!(pid.query().credentials.len(), 2);
    assert_eq!(
        pid.query().credentials[1].claims.as_ref().unwrap()[2].mdoc_element(),
        Some((PID_DOCTYPE, "birth_date"))
    );
}

#[test]
fn builder_makes_claim_sets_and_options() {
    let query = DcqlQueryBuilder::new()
        .credential(
            CredentialQueryBuilder::sd_jwt("pid", [PID_VCT])
                .claim(ClaimQuery::new("[\"family_name\"]".parse().unwrap()).with_id("a"))
                .claim(ClaimQuery::new("[\"birthdate\"]".parse().unwrap()).with_id("b"))
                .claim_set(["a", "b"])
                .claim_set(["a"])
                .multiple(true)
                .trusted_authority("aki", ["s9tIpPmhxdiuNkHMEWNpYim8S8Y"]),
        )
        .build()
        .unwrap();
    let credential = &query.query().credentials[0];
    let options = credential.claim_options();
    assert_eq!(options.len(), 2);
    assert_eq!(options[0].len(), 2);
    assert_eq!(options[1][0].id.as_deref(), Some("a"));
    assert_eq!(query.to_json()["credentials"][0]["multiple"], json!(true));
}

#[test]
fn claim_options_without_claims_is_one_empty_option() {
    let query =
        parse(json!({"credentials": [{"id": "x", "format": "mso_mdoc", "meta": {"doctype_value": "d"}}]}))
            .unwrap();
    let options = query.query().credentials[0].claim_options();
    assert_eq!(options.len(), 1);
    assert!(options[0].is_empty());
}

#[test]
fn rejects_bad_ids() {
    for id in ["", "a b", "ü", "a.b", "a/b"] {
        let query = one_sd_jwt(json!({"id": id}));
        assert!(matches!(parse(query), Err(DcqlError::InvalidId { what: "credential", .. })), "{id:?}");
    }
    let bad_claim = one_sd_jwt(json!({"claims": [{"id": "a!", "path": ["x"]}]}));
    assert!(matches!(parse(bad_claim), Err(DcqlError::InvalidId { what: "claim", .. })));
}

#[test]
fn rejects_duplicate_ids() {
    let credential = one_sd_jwt(json!({}))["credentials"][0].clone();
    let twice = json!({"credentials": [credential.clone(), credential]});
    assert_eq!(parse(twice), Err(DcqlError::DuplicateCredentialId("pid".into())));
    let claims = one_sd_jwt(json!({"claims": [{"id": "a", "path": ["x"]}, {"id": "a", "path": ["y"]}]}));
    assert!(matches!(parse(claims), Err(DcqlError::DuplicateClaimId { .. })));
}

#[test]
fn rejects_claim_sets_naming_unknown_or_missing_ids() {
    let unknown = one_sd_jwt(json!({"claim_sets": [["a", "z"]]}));
    assert!(matches!(parse(unknown), Err(DcqlError::InvalidClaimSets { .. })));
    let without_ids = one_sd_jwt(json!({"claims": [{"path": ["x"]}], "claim_sets": [["a"]]}));
    assert!(matches!(parse(without_ids), Err(DcqlError::InvalidClaim { .. })));
    let empty_set = one_sd_jwt(json!({"claim_sets": [[]]}));
    assert!(matches!(parse(empty_set), Err(DcqlError::InvalidClaimSets { .. })));
    let no_claims = json!({"credentials": [{"id": "x", "format": "mso_mdoc", "meta": {"doctype_value": "d"},
        "claim_sets": [["a"]]}]});
    assert!(matches!(parse(no_claims), Err(DcqlError::InvalidClaimSets { .. })));
    let empty_claims = one_sd_jwt(json!({"claims": []}));
    assert!(matches!(parse(empty_claims), Err(DcqlError::InvalidClaimSets { .. })));
}

#[test]
fn rejects_empty_and_malformed_paths() {
    let empty = one_sd_jwt(json!({"claims": [{"path": []}]}));
    assert!(matches!(parse(empty), Err(DcqlError::Json(_))));
    for path in [json!(["ns"]), json!(["ns", "el", "x"]), json!(["ns", 0]), json!([null, "el"])] {
        let query = json!({"credentials": [{"id": "m", "format": "mso_mdoc", "meta": {"doctype_value": "d"},
            "claims": [{"path": path}]}]});
        assert!(matches!(parse(query), Err(DcqlError::InvalidClaim { .. })), "{path}");
    }
}

#[test]
fn rejects_meta_that_does_not_fit_the_format() {
    for meta in
        [json!({}), json!({"vct_values": []}), json!({"doctype_value": "d"}), json!({"vct_values": [""]})]
    {
        assert!(matches!(parse(one_sd_jwt(json!({"meta": meta}))), Err(DcqlError::InvalidMeta { .. })));
    }
    let mdoc = json!({"credentials": [{"id": "m", "format": "mso_mdoc", "meta": {"vct_values": ["x"]}}]});
    assert!(matches!(parse(mdoc), Err(DcqlError::InvalidMeta { .. })));
    let no_meta = json!({"credentials": [{"id": "m", "format": "mso_mdoc"}]});
    assert!(matches!(parse(no_meta), Err(DcqlError::Json(_))));
}

#[test]
fn rejects_unsupported_formats_and_unknown_members() {
    let w3c = json!({"credentials": [{"id": "w", "format": "jwt_vc_json", "meta": {}}]});
    assert!(
        matches!(parse(w3c), Err(DcqlError::UnsupportedFormat { format, .. }) if format == "jwt_vc_json")
    );
    assert!(matches!(
        parse(one_sd_jwt(json!({"requir_cryptographic_holder_binding": false}))),
        Err(DcqlError::Json(_))
    ));
    assert!(matches!(parse(json!({"credentials": []})), Err(DcqlError::NoCredentials)));
}

#[test]
fn rejects_bad_values_intent_to_retain_and_trusted_authorities() {
    for values in [json!([]), json!([1.5]), json!([{"a": 1}]), json!([null])] {
        let query = one_sd_jwt(json!({"claims": [{"path": ["x"], "values": values}]}));
        assert!(matches!(parse(query), Err(DcqlError::InvalidClaim { .. })), "{values}");
    }
    let retain = one_sd_jwt(json!({"claims": [{"path": ["x"], "intent_to_retain": true}]}));
    assert!(matches!(parse(retain), Err(DcqlError::InvalidClaim { .. })));
    for authorities in
        [json!([]), json!([{"type": "aki", "values": []}]), json!([{"type": "", "values": ["x"]}])]
    {
        let query = one_sd_jwt(json!({"trusted_authorities": authorities}));
        assert!(matches!(parse(query), Err(DcqlError::InvalidTrustedAuthorities { .. })), "{authorities}");
    }
}

#[test]
fn rejects_bad_credential_sets() {
    let base = one_sd_jwt(json!({}));
    for sets in
        [json!([]), json!([{"options": []}]), json!([{"options": [[]]}]), json!([{"options": [["nope"]]}])]
    {
        let mut query = base.clone();
        query["credential_sets"] = sets.clone();
        assert!(matches!(parse(query), Err(DcqlError::InvalidCredentialSet { .. })), "{sets}");
    }
}

#[test]
fn rejects_oversized_queries() {
    let claims: Vec<Value> = (0..=dcql::MAX_ENTRIES).map(|i| json!({"path": [format!("c{i}")]})).collect();
    assert!(matches!(parse(one_sd_jwt(json!({"claims": claims}))), Err(DcqlError::TooLarge { .. })));
}
