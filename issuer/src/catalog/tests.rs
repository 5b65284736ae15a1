//! Each configuration mints a credential with segl-credential that verifies, with the claim
//! names, types and disclosability its format requires.

use std::collections::BTreeMap;

use ciborium::Value as Cbor;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use segl_credential::clock::{FixedClock, UnixTime};
use segl_credential::jose::KeyReference;
use segl_credential::keys::{PublicKey, Signer, SoftwareSigner};
use segl_credential::mdoc::{self, TAG_FULL_DATE, VerifiedDocument};
use segl_credential::sd_jwt::{
    self, ClaimPath, ExpectedTyp, IssueOptions, KeyBindingPolicy, VerifiedSdJwt, VerifyOptions,
};
use segl_credential::x509::{DevPki, DevPkiOptions, IssuerKeySource, generate_dev_pki};

use super::*;
use crate::config::{Config, Overrides, TenantConfig};

/// 2026-05-28T20:26:40Z.
const NOW: UnixTime = 1_780_000_000;

struct Fixture {
    rng: ChaCha20Rng,
    pki: DevPki,
    holder: PublicKey,
}

fn fixture() -> Fixture {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let options = DevPkiOptions {
        ca_common_name: "Segl test CA".into(),
        issuer_common_name: "Segl test issuer".into(),
        country: Some("DK".into()),
        dns_names: vec![],
        uris: vec![],
        mdoc_ds_eku: true,
        not_before: NOW - 86_400,
        not_after: NOW + 400 * 86_400,
    };
    let pki = generate_dev_pki(&options, &mut rng).unwrap();
    let holder = SoftwareSigner::generate(&mut rng).unwrap().public_key().clone();
    Fixture { rng, pki, holder }
}

impl Fixture {
    fn mint_sd_jwt(&mut self, configuration: &CredentialConfiguration, input: &InputClaims) -> String {
        let prepared = configuration.sd_jwt_claims(input, NOW).unwrap();
        let vc = prepared.vc_claims(Some("https://issuer.example/default"), Some(&self.holder), None);
        let options = IssueOptions { key_reference: KeyReference::X5c, decoys_per_object: 0 };
        sd_jwt::issue_vc(
            &vc,
            prepared.claims.clone(),
            &prepared.policy,
            &options,
            &self.pki.issuer_signer,
            &mut self.rng,
        )
        .unwrap()
    }

    fn verify_sd_jwt(&self, presentation: &str) -> VerifiedSdJwt {
        let clock = FixedClock(NOW);
        let options = VerifyOptions {
            issuer_key: IssuerKeySource::Key(self.pki.issuer_signer.public_key()),
            clock: &clock,
            skew: 0,
            typ: ExpectedTyp::SdJwtVc { accept_legacy_vc_sd_jwt: false },
            key_binding: KeyBindingPolicy::Forbidden,
        };
        sd_jwt::verify(presentation, &options).unwrap()
    }

    fn mint_mdoc(
        &mut self,
        configuration: &CredentialConfiguration,
        input: &InputClaims,
    ) -> VerifiedDocument {
        let builder = configuration.mdoc_builder(input, NOW).unwrap();
        let bytes = builder.issue(&self.holder, &self.pki.issuer_signer, &mut self.rng).unwrap();
        let options = mdoc::VerifyOptions {
            expected_doc_type: configuration.doctype().map(str::to_owned),
            ..Default::default()
        };
        mdoc::verify_issuer_signed(
            &bytes,
            IssuerKeySource::Key(self.pki.issuer_signer.public_key()),
            &options,
            NOW,
        )
        .unwrap()
    }
}

fn default_catalog() -> Catalog {
    Catalog::from_tenant(&TenantConfig::default())
}

fn example_catalog(tenant: &str) -> Catalog {
    let text = include_str!("../../examples/segl.toml");
    let config = Config::from_sources(Some(text), &BTreeMap::new(), &Overrides::default()).unwrap();
    Catalog::from_tenant(config.tenant(tenant).unwrap())
}

fn input(value: Value) -> InputClaims {
    match value {
        Value::Object(map) => map,
        _ => unreachable!("test input is an object"),
    }
}

/// A JPEG start of image plus a few bytes, base64.
const PORTRAIT_B64: &str = "/9j/4AAQSkZJRgABAQ==";

fn full_pid() -> InputClaims {
    input(json!({
        "family_name": "Jensen",
        "given_name": "Karen",
        "birth_date": "1990-03-15",
        "birth_place": {"country": "DK", "locality": "Aarhus"},
        "nationality": ["DK", "SE"],
        "portrait": PORTRAIT_B64,
        "resident_address": "Vestergade 12, 8000 Aarhus C",
        "resident_country": "DK",
        "resident_city": "Aarhus",
        "resident_postal_code": "8000",
        "resident_street": "Vestergade",
        "resident_house_number": "12",
        "personal_administrative_number": "150390-1234",
        "family_name_birth": "Hansen",
        "sex": 2,
        "email_address": "karen@example.dk",
        "mobile_phone_number": "+4512345678",
        "expiry_date": "2031-01-01",
        "issuance_date": "2026-01-01",
        "document_number": "P123",
    }))
}

#[test]
fn default_catalog_has_the_four_builtins_and_the_configured_fuldmagt() {
    let catalog = default_catalog();
    let ids: Vec<&str> = catalog.configurations().iter().map(CredentialConfiguration::id).collect();
    assert_eq!(
        ids,
        [
            PID_SD_JWT_ID,
            PID_MDOC_ID,
            AGE_MDOC_ID,
            AGE_SD_JWT_ID,
            "dk.fuldmagt_vc_sd_jwt",
            "dk.fuldmagt_mso_mdoc"
        ]
    );
    assert_eq!(catalog.get(AGE_MDOC_ID).unwrap().batch_size(), 30);
    assert_eq!(catalog.batch_size(), 30);
    assert_eq!(catalog.by_scope("proof_of_age").unwrap().doctype(), Some("eu.europa.ec.av.1"));
    assert!(catalog.get("nope").is_none());
}

#[test]
fn pid_sd_jwt_mints_and_verifies_with_sd_jwt_vc_names() {
    let mut fx = fixture();
    let catalog = default_catalog();
    let pid = catalog.get(PID_SD_JWT_ID).unwrap();
    let credential = fx.mint_sd_jwt(pid, &full_pid());
    let verified = fx.verify_sd_jwt(&credential);
    let claims = &verified.claims;
    assert_eq!(claims["vct"], "urn:eudi:pid:1");
    assert_eq!(claims["birthdate"], "1990-03-15");
    assert_eq!(claims["nationalities"], json!(["DK", "SE"]));
    assert_eq!(claims["place_of_birth"], json!({"country": "DK", "locality": "Aarhus"}));
    assert_eq!(claims["address"]["locality"], "Aarhus");
    assert_eq!(claims["address"]["house_number"], "12");
    assert_eq!(claims["address"]["formatted"], "Vestergade 12, 8000 Aarhus C");
    assert_eq!(claims["birth_family_name"], "Hansen");
    assert_eq!(claims["email"], "karen@example.dk");
    assert_eq!(claims["phone_number"], "+4512345678");
    assert_eq!(claims["date_of_expiry"], "2031-01-01");
    assert_eq!(claims["sex"], 2);
    assert_eq!(claims["picture"], format!("data:image/jpeg;base64,{PORTRAIT_B64}"));
    // Tenant defaults fill the mandatory metadata.
    assert_eq!(claims["issuing_country"], "DK");
    assert_eq!(claims["issuing_authority"], "Segl development issuer");
    assert!(claims.get("birth_date").is_none() && claims.get("resident_city").is_none());
    assert_eq!(claims["iat"], NOW);
    assert_eq!(claims["exp"], NOW + 14 * 86_400);
    assert!(claims.get("cnf").is_some());

    // Every claim is concealed, including nested members and nationality elements.
    let concealed: Vec<String> = verified.disclosures.iter().map(|d| d.path.to_string()).collect();
    for path in [
        ClaimPath::keys(["family_name"]),
        ClaimPath::keys(["address"]),
        ClaimPath::keys(["address", "locality"]),
        ClaimPath::keys(["place_of_birth", "country"]),
        ClaimPath::keys(["picture"]),
        ClaimPath::keys(["issuing_country"]),
    ] {
        assert!(concealed.contains(&path.to_string()), "{path} not disclosable: {concealed:?}");
    }
    assert!(concealed.iter().filter(|p| p.starts_with("[\"nationalities\",")).count() >= 2, "{concealed:?}");

    // A presentation of just the locality reveals nothing else.
    let only_city = sd_jwt::present(&credential, &[ClaimPath::keys(["address", "locality"])], None).unwrap();
    let shown = fx.verify_sd_jwt(&only_city).claims;
    assert_eq!(shown["address"], json!({"locality": "Aarhus"}));
    assert!(shown.get("family_name").is_none() && shown.get("birthdate").is_none());
}

fn element<'a>(document: &'a VerifiedDocument, namespace: &str, name: &str) -> Option<&'a Cbor> {
    document.namespaces.get(namespace).and_then(|elements| elements.get(name))
}

#[test]
fn pid_mdoc_mints_and_verifies_with_mdoc_names_and_types() {
    let mut fx = fixture();
    let catalog = default_catalog();
    let pid = catalog.get(PID_MDOC_ID).unwrap();
    let document = fx.mint_mdoc(pid, &full_pid());
    assert_eq!(document.doc_type, "eu.europa.ec.eudi.pid.1");
    let ns = "eu.europa.ec.eudi.pid.1";
    assert_eq!(
        element(&document, ns, "birth_date"),
        Some(&Cbor::Tag(TAG_FULL_DATE, Box::new(Cbor::Text("1990-03-15".into()))))
    );
    assert_eq!(
        element(&document, ns, "expiry_date"),
        Some(&Cbor::Tag(TAG_FULL_DATE, Box::new(Cbor::Text("2031-01-01".into()))))
    );
    assert_eq!(
        element(&document, ns, "nationality"),
        Some(&Cbor::Array(vec![Cbor::Text("DK".into()), Cbor::Text("SE".into())]))
    );
    assert_eq!(
        element(&document, ns, "place_of_birth"),
        Some(&Cbor::Map(vec![
            (Cbor::Text("country".into()), Cbor::Text("DK".into())),
            (Cbor::Text("locality".into()), Cbor::Text("Aarhus".into())),
        ]))
    );
    assert_eq!(element(&document, ns, "resident_city"), Some(&Cbor::Text("Aarhus".into())));
    assert_eq!(element(&document, ns, "sex"), Some(&Cbor::Integer(2.into())));
    assert!(
        matches!(element(&document, ns, "portrait"), Some(Cbor::Bytes(b)) if b.starts_with(&[0xff, 0xd8, 0xff]))
    );
    assert_eq!(element(&document, ns, "issuing_country"), Some(&Cbor::Text("DK".into())));
    // SD-JWT-only attribute and SD-JWT names are absent.
    for absent in ["resident_house_number", "birthdate", "nationalities", "address"] {
        assert!(element(&document, ns, absent).is_none(), "{absent}");
    }
    assert_eq!(document.validity.valid_from, NOW);
    assert_eq!(document.validity.valid_until, NOW + 14 * 86_400);
}

#[test]
fn pid_input_is_checked_with_errors_naming_the_claim() {
    let catalog = default_catalog();
    let pid = catalog.get(PID_SD_JWT_ID).unwrap();
    let mdoc = catalog.get(PID_MDOC_ID).unwrap();
    let with = |key: &str, value: Value| {
        let mut claims = full_pid();
        claims.insert(key.into(), value);
        claims
    };
    let mut missing = full_pid();
    missing.remove("family_name");
    let cases = [
        (missing, CatalogError::MissingClaim { claim: "family_name".into() }),
        (
            with("favourite_colour", json!("blue")),
            CatalogError::UnknownClaim { claim: "favourite_colour".into() },
        ),
        (with("birthdate", json!("1990-03-15")), CatalogError::UnknownClaim { claim: "birthdate".into() }),
        (
            with("birth_place", json!({"country": "DK", "street": "x"})),
            CatalogError::UnknownClaim { claim: "birth_place.street".into() },
        ),
    ];
    for (claims, expected) in cases {
        assert_eq!(pid.sd_jwt_claims(&claims, NOW).unwrap_err(), expected);
        assert_eq!(mdoc.mdoc_builder(&claims, NOW).unwrap_err(), expected);
    }
    for (key, value) in [
        ("birth_date", json!("15-03-1990")),
        ("birth_date", json!("1990-02-30")),
        ("nationality", json!("DK")),
        ("nationality", json!(["dk"])),
        ("nationality", json!([])),
        ("birth_place", json!({})),
        ("sex", json!(7)),
        ("portrait", json!("not base64!")),
        ("portrait", json!("aGVsbG8=")),
        ("family_name", json!("")),
        ("family_name", json!("x".repeat(151))),
        ("given_name", json!(42)),
        ("issuing_country", json!("DNK")),
    ] {
        match pid.sd_jwt_claims(&with(key, value.clone()), NOW) {
            Err(CatalogError::InvalidClaim { claim, .. }) => {
                assert!(claim.starts_with(key), "{key}={value}: {claim}")
            }
            other => panic!("{key}={value}: expected InvalidClaim, got {other:?}"),
        }
    }
}

#[test]
fn wrong_format_is_refused() {
    let catalog = default_catalog();
    let err = catalog.get(PID_SD_JWT_ID).unwrap().mdoc_builder(&full_pid(), NOW).unwrap_err();
    assert_eq!(err, CatalogError::WrongFormat { configuration: PID_SD_JWT_ID.into(), format: "dc+sd-jwt" });
    let err = catalog.get(AGE_MDOC_ID).unwrap().sd_jwt_claims(&full_pid(), NOW).unwrap_err();
    assert!(matches!(err, CatalogError::WrongFormat { format: "mso_mdoc", .. }));
}

fn today() -> time::Date {
    OffsetDateTime::from_unix_timestamp(NOW).unwrap().date()
}

fn birth_input(birth: time::Date) -> InputClaims {
    input(
        json!({ "birth_date": format!("{:04}-{:02}-{:02}", birth.year(), u8::from(birth.month()), birth.day()) }),
    )
}

#[test]
fn proof_of_age_mdoc_holds_only_age_over_elements_with_coarse_validity() {
    let mut fx = fixture();
    let catalog = default_catalog();
    let age = catalog.get(AGE_MDOC_ID).unwrap();
    let exactly_18 = today().replace_year(today().year() - 18).unwrap();
    let document = fx.mint_mdoc(age, &birth_input(exactly_18));
    assert_eq!(document.doc_type, "eu.europa.ec.av.1");
    assert_eq!(document.namespaces.keys().collect::<Vec<_>>(), ["eu.europa.ec.av.1"]);
    let elements = &document.namespaces["eu.europa.ec.av.1"];
    let expected: BTreeMap<String, Cbor> = [(15, true), (16, true), (18, true), (21, false), (65, false)]
        .into_iter()
        .map(|(age, over)| (format!("age_over_{age}"), Cbor::Bool(over)))
        .collect();
    assert_eq!(elements, &expected, "only age_over_NN, never the birth date");
    // Coarse: the start of the UTC day, the same for every credential of the batch.
    let day_start = NOW - NOW % 86_400;
    assert_eq!(document.validity.signed, day_start);
    assert_eq!(document.validity.valid_from, day_start);
    assert_eq!(document.validity.valid_until, day_start + 90 * 86_400);
    let again = fx.mint_mdoc(age, &birth_input(exactly_18));
    assert_eq!(again.validity, document.validity);

    let one_day_short = exactly_18 + Duration::days(1);
    let document = fx.mint_mdoc(age, &birth_input(one_day_short));
    assert_eq!(element(&document, "eu.europa.ec.av.1", "age_over_18"), Some(&Cbor::Bool(false)));
    assert_eq!(element(&document, "eu.europa.ec.av.1", "age_over_16"), Some(&Cbor::Bool(true)));
}

#[test]
fn proof_of_age_accepts_full_identity_input_but_never_carries_it() {
    let mut fx = fixture();
    let catalog = default_catalog();
    let document = fx.mint_mdoc(catalog.get(AGE_MDOC_ID).unwrap(), &full_pid());
    let names: Vec<&String> = document.namespaces["eu.europa.ec.av.1"].keys().collect();
    assert!(names.iter().all(|name| name.starts_with("age_over_")), "{names:?}");
    assert_eq!(names.len(), 5);

    let age = catalog.get(AGE_SD_JWT_ID).unwrap();
    let credential = fx.mint_sd_jwt(age, &full_pid());
    let verified = fx.verify_sd_jwt(&credential);
    for absent in ["birthdate", "birth_date", "family_name", "iat"] {
        assert!(verified.claims.get(absent).is_none(), "{absent}");
    }
    assert_eq!(age.mdoc_builder(&input(json!({})), NOW).unwrap_err(), age.wrong_format());
    let no_birth = input(json!({"family_name": "Jensen"}));
    let mdoc = catalog.get(AGE_MDOC_ID).unwrap();
    assert_eq!(
        mdoc.mdoc_builder(&no_birth, NOW).unwrap_err(),
        CatalogError::MissingClaim { claim: "birth_date".into() }
    );
    let future = birth_input(today() + Duration::days(1));
    assert!(
        matches!(mdoc.mdoc_builder(&future, NOW), Err(CatalogError::InvalidClaim { claim, .. }) if claim == "birth_date")
    );
    let unknown = input(json!({"birth_date": "2000-01-01", "cpr": "x"}));
    assert_eq!(
        mdoc.mdoc_builder(&unknown, NOW).unwrap_err(),
        CatalogError::UnknownClaim { claim: "cpr".into() }
    );
}

#[test]
fn proof_of_age_sd_jwt_discloses_each_threshold_alone() {
    let mut fx = fixture();
    let catalog = default_catalog();
    let age = catalog.get(AGE_SD_JWT_ID).unwrap();
    let exactly_18 = today().replace_year(today().year() - 18).unwrap();
    let credential = fx.mint_sd_jwt(age, &birth_input(exactly_18));
    let verified = fx.verify_sd_jwt(&credential);
    assert_eq!(verified.claims["vct"], "urn:eudi:age_verification:1");
    assert_eq!(
        verified.claims["age_equal_or_over"],
        json!({"15": true, "16": true, "18": true, "21": false, "65": false})
    );
    let day_start = NOW - NOW % 86_400;
    assert_eq!(verified.claims["nbf"], day_start);
    assert_eq!(verified.claims["exp"], day_start + 90 * 86_400);

    let only_18 =
        sd_jwt::present(&credential, &[ClaimPath::keys(["age_equal_or_over", "18"])], None).unwrap();
    assert_eq!(fx.verify_sd_jwt(&only_18).claims["age_equal_or_over"], json!({"18": true}));

    let short = fx.mint_sd_jwt(age, &birth_input(exactly_18 + Duration::days(1)));
    assert_eq!(fx.verify_sd_jwt(&short).claims["age_equal_or_over"]["18"], false);
}

#[test]
fn age_arithmetic() {
    let date = |y, m, d| time::Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d).unwrap();
    assert!(has_reached_age(date(2008, 5, 28), date(2026, 5, 28), 18));
    assert!(!has_reached_age(date(2008, 5, 29), date(2026, 5, 28), 18));
    assert!(has_reached_age(date(2008, 5, 27), date(2026, 5, 28), 18));
    // Born 29 February: 18 on 1 March of a common year, not on 28 February.
    assert!(!has_reached_age(date(2008, 2, 29), date(2026, 2, 28), 18));
    assert!(has_reached_age(date(2008, 2, 29), date(2026, 3, 1), 18));
    assert!(has_reached_age(date(2004, 2, 29), date(2024, 2, 29), 20));
    assert_eq!(age_thresholds(&[65, 15, 21, 15]), [15, 18, 21, 65]);
    assert_eq!(age_thresholds(&[]), [18]);
}

fn fuldmagt_input() -> InputClaims {
    input(json!({
        "principal": {"id_type": "cpr_uuid", "id": "5f1c0a9e-0000-4000-8000-000000000001", "name": "Karen Jensen"},
        "representative": {"id_type": "cvr", "id": "12345678", "name": "Revisor ApS"},
        "scope": [{"it_system": "https://skat.example", "package": "selvangivelse", "privileges": ["urn:dk:skat:read"]}],
        "valid_from": "2026-09-01",
        "source": "digital-fuldmagt",
    }))
}

#[test]
fn configured_attestation_mints_in_both_formats() {
    let mut fx = fixture();
    let catalog = example_catalog("dk");
    let sd = catalog.get("dk.fuldmagt_vc_sd_jwt").unwrap();
    assert_eq!(sd.vct(), Some("urn:dk:attestation:fuldmagt:1"));
    let credential = fx.mint_sd_jwt(sd, &fuldmagt_input());
    let verified = fx.verify_sd_jwt(&credential);
    assert_eq!(verified.claims["vct"], "urn:dk:attestation:fuldmagt:1");
    assert_eq!(verified.claims["representative"]["id"], "12345678");
    assert_eq!(verified.claims["exp"], NOW + 365 * 86_400);
    // `source` is configured not selectively disclosable: it stays in a plain presentation.
    let bare = sd_jwt::present(&credential, &[], None).unwrap();
    let shown = fx.verify_sd_jwt(&bare).claims;
    assert_eq!(shown["source"], "digital-fuldmagt");
    assert!(shown.get("principal").is_none());

    let mdoc = catalog.get("dk.fuldmagt_mso_mdoc").unwrap();
    let document = fx.mint_mdoc(mdoc, &fuldmagt_input());
    assert_eq!(document.doc_type, "dk.fuldmagt.1");
    let ns = "dk.fuldmagt.1";
    assert_eq!(
        element(&document, ns, "valid_from"),
        Some(&Cbor::Tag(TAG_FULL_DATE, Box::new(Cbor::Text("2026-09-01".into()))))
    );
    let Some(Cbor::Map(principal)) = element(&document, ns, "principal") else {
        panic!("principal is a map")
    };
    assert!(principal.contains(&(Cbor::Text("name".into()), Cbor::Text("Karen Jensen".into()))));
    assert!(matches!(element(&document, ns, "scope"), Some(Cbor::Array(items)) if items.len() == 1));
    assert!(element(&document, ns, "valid_until").is_none());
}

#[test]
fn configured_attestation_input_is_checked() {
    let catalog = example_catalog("dk");
    let sd = catalog.get("dk.fuldmagt_vc_sd_jwt").unwrap();
    let mdoc = catalog.get("dk.fuldmagt_mso_mdoc").unwrap();
    let mut missing = fuldmagt_input();
    missing.remove("principal");
    assert_eq!(
        sd.sd_jwt_claims(&missing, NOW).unwrap_err(),
        CatalogError::MissingClaim { claim: "principal".into() }
    );
    let mut extra = fuldmagt_input();
    extra.insert("cpr".into(), json!("0101001234"));
    assert_eq!(
        mdoc.mdoc_builder(&extra, NOW).unwrap_err(),
        CatalogError::UnknownClaim { claim: "cpr".into() }
    );
    for (key, value) in [
        ("scope", json!("all")),
        ("valid_from", json!("1 September")),
        ("principal", json!(["x"])),
        ("source", json!(true)),
    ] {
        let mut claims = fuldmagt_input();
        claims.insert(key.into(), value);
        assert!(
            matches!(mdoc.mdoc_builder(&claims, NOW), Err(CatalogError::InvalidClaim { ref claim, .. }) if claim == key),
            "{key}"
        );
    }
}

#[test]
fn example_tenant_catalogs() {
    let dk = example_catalog("dk");
    let ids: Vec<&str> = dk.configurations().iter().map(CredentialConfiguration::id).collect();
    assert_eq!(
        ids,
        [
            PID_SD_JWT_ID,
            PID_MDOC_ID,
            AGE_MDOC_ID,
            AGE_SD_JWT_ID,
            "dk.fuldmagt_vc_sd_jwt",
            "dk.fuldmagt_mso_mdoc"
        ]
    );
    let alder = example_catalog("alder");
    assert_eq!(alder.configurations().len(), 1);
    assert_eq!(alder.batch_size(), 30);
}
