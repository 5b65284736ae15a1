use std::collections::BTreeMap;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{Value, json};

use segl_credential::keys::{Signer, SoftwareSigner};

use super::*;
use crate::catalog::{AGE_MDOC_ID, AGE_SD_JWT_ID, PID_MDOC_ID, PID_SD_JWT_ID};
use crate::config::{Config, Overrides, TenantConfig};

const ISSUER: &str = "https://issuer.example.dk/dk";

fn example() -> (Config, Catalog) {
    let text = include_str!("../../../examples/segl.toml");
    let config = Config::from_sources(Some(text), &BTreeMap::new(), &Overrides::default()).unwrap();
    let catalog = Catalog::from_tenant(config.tenant("dk").unwrap());
    (config, catalog)
}

#[test]
fn credential_issuer_metadata_names_the_issuer_and_its_endpoints() {
    let (config, catalog) = example();
    let issuer = config.issuer_id(config.tenant("dk").unwrap());
    assert_eq!(issuer, ISSUER);
    let metadata = credential_issuer_metadata(&issuer, &catalog);
    // OpenID4VCI §12.2.2: credential_issuer MUST equal the identifier exactly.
    assert_eq!(metadata["credential_issuer"], ISSUER);
    assert_eq!(metadata["credential_endpoint"], "https://issuer.example.dk/dk/credential");
    assert_eq!(metadata["nonce_endpoint"], "https://issuer.example.dk/dk/nonce");
    assert_eq!(metadata["notification_endpoint"], "https://issuer.example.dk/dk/notification");
    assert_eq!(metadata["batch_credential_issuance"], json!({"batch_size": 30}));
    assert_eq!(
        metadata["display"],
        json!([{"name": "Eksempel PID-udsteder", "locale": "da"}, {"name": "Example PID issuer", "locale": "en"}])
    );
    assert!(metadata.get("authorization_servers").is_none());
    let configurations = metadata["credential_configurations_supported"].as_object().unwrap();
    let ids: Vec<&String> = configurations.keys().collect();
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
    for (id, entry) in configurations {
        assert_eq!(entry["scope"], id.as_str(), "HAIP: a scope for every configuration");
        assert_eq!(
            entry["proof_types_supported"],
            json!({"jwt": {"proof_signing_alg_values_supported": ["ES256"]}})
        );
        let display = entry["credential_metadata"]["display"].as_array().unwrap();
        let locales: Vec<&str> = display.iter().map(|d| d["locale"].as_str().unwrap()).collect();
        assert_eq!(locales, ["da", "en"], "{id}");
        match entry["format"].as_str().unwrap() {
            "dc+sd-jwt" => {
                assert!(entry["vct"].is_string() && entry.get("doctype").is_none(), "{id}");
                assert_eq!(entry["cryptographic_binding_methods_supported"], json!(["jwk"]));
                assert_eq!(entry["credential_signing_alg_values_supported"], json!(["ES256"]));
            }
            "mso_mdoc" => {
                assert!(entry["doctype"].is_string() && entry.get("vct").is_none(), "{id}");
                assert_eq!(entry["cryptographic_binding_methods_supported"], json!(["cose_key"]));
                assert_eq!(entry["credential_signing_alg_values_supported"], json!([-7, -9]));
            }
            other => panic!("{id}: format {other}"),
        }
    }
}

fn claim(entry: &Value, path: Value) -> &Value {
    entry["credential_metadata"]["claims"]
        .as_array()
        .unwrap()
        .iter()
        .find(|claim| claim["path"] == path)
        .unwrap_or_else(|| panic!("no claim {path}"))
}

#[test]
fn configuration_entries_follow_the_digest_example() {
    let (_, catalog) = example();
    let metadata = credential_issuer_metadata(ISSUER, &catalog);
    let configurations = &metadata["credential_configurations_supported"];

    let pid = &configurations[PID_SD_JWT_ID];
    assert_eq!(pid["format"], "dc+sd-jwt");
    assert_eq!(pid["vct"], "urn:eudi:pid:1");
    assert_eq!(
        claim(pid, json!(["given_name"])),
        &json!({"path": ["given_name"], "mandatory": true,
                "display": [{"name": "Fornavn", "locale": "da"}, {"name": "Given name", "locale": "en"}]})
    );
    assert_eq!(claim(pid, json!(["address", "country"]))["mandatory"], false);
    assert_eq!(claim(pid, json!(["birthdate"]))["mandatory"], true);
    assert_eq!(pid["credential_metadata"]["display"][1]["name"], "Person identification data (PID)");

    let pid_mdoc = &configurations[PID_MDOC_ID];
    assert_eq!(pid_mdoc["doctype"], "eu.europa.ec.eudi.pid.1");
    assert_eq!(claim(pid_mdoc, json!(["eu.europa.ec.eudi.pid.1", "family_name"]))["mandatory"], true);
    assert_eq!(
        claim(pid_mdoc, json!(["eu.europa.ec.eudi.pid.1", "birth_date"]))["display"][0]["name"],
        "Fødselsdato"
    );

    let age = &configurations[AGE_MDOC_ID];
    assert_eq!(age["doctype"], "eu.europa.ec.av.1");
    let paths: Vec<&Value> =
        age["credential_metadata"]["claims"].as_array().unwrap().iter().map(|c| &c["path"]).collect();
    assert_eq!(paths.len(), 5);
    assert_eq!(paths[2], &json!(["eu.europa.ec.av.1", "age_over_18"]));

    let age_sd = &configurations[AGE_SD_JWT_ID];
    assert_eq!(claim(age_sd, json!(["age_equal_or_over", "21"]))["display"][1]["name"], "Aged 21 or over");

    let fuldmagt = &configurations["dk.fuldmagt_mso_mdoc"];
    assert_eq!(fuldmagt["doctype"], "dk.fuldmagt.1");
    assert_eq!(claim(fuldmagt, json!(["dk.fuldmagt.1", "principal"]))["mandatory"], true);
    let display = &configurations["dk.fuldmagt_vc_sd_jwt"]["credential_metadata"]["display"][0];
    assert_eq!(display["name"], "Digital fuldmagt");
    assert_eq!(display["background_color"], "#0b3d91");
    assert_eq!(display["text_color"], "#ffffff");
}

#[test]
fn no_batch_member_when_every_batch_size_is_one() {
    let mut tenant =
        TenantConfig { proof_of_age: None, proof_of_age_vc_sd_jwt: None, ..TenantConfig::default() };
    for options in [&mut tenant.pid_vc_sd_jwt, &mut tenant.pid_mso_mdoc].into_iter().flatten() {
        options.batch_size = 1;
    }
    let metadata = credential_issuer_metadata(ISSUER, &Catalog::from_tenant(&tenant));
    assert!(metadata.get("batch_credential_issuance").is_none());
}

#[test]
fn authorization_server_metadata_for_pre_authorized_flow() {
    let metadata = authorization_server_metadata(ISSUER);
    assert_eq!(metadata["issuer"], ISSUER);
    assert_eq!(metadata["token_endpoint"], "https://issuer.example.dk/dk/token");
    assert_eq!(metadata["pre-authorized_grant_anonymous_access_supported"], true);
    assert_eq!(
        metadata["grant_types_supported"],
        json!(["urn:ietf:params:oauth:grant-type:pre-authorized_code"])
    );
    assert_eq!(metadata["dpop_signing_alg_values_supported"], json!(["ES256"]));
}

#[test]
fn jwt_vc_issuer_metadata_lists_public_keys_only() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let signer = SoftwareSigner::generate(&mut rng).unwrap();
    let metadata = jwt_vc_issuer_metadata(ISSUER, &[(signer.public_key(), Some("k1"))]);
    assert_eq!(metadata["issuer"], ISSUER);
    let key = &metadata["jwks"]["keys"][0];
    assert_eq!(key["kty"], "EC");
    assert_eq!(key["crv"], "P-256");
    assert_eq!(key["kid"], "k1");
    assert!(key.get("d").is_none());
    assert_eq!(segl_credential::keys::PublicKey::from_jwk(key).unwrap(), *signer.public_key());
}

#[test]
fn type_metadata_for_sd_jwt_configurations_only() {
    let (_, catalog) = example();
    let pid = type_metadata(catalog.get(PID_SD_JWT_ID).unwrap()).unwrap();
    assert_eq!(pid["vct"], "urn:eudi:pid:1");
    assert_eq!(pid["name"], "Person identification data (PID)");
    assert_eq!(pid["display"][0]["locale"], "da");
    assert_eq!(pid["display"][0]["rendering"]["simple"]["background_color"], "#12325c");
    let claims = pid["claims"].as_array().unwrap();
    assert_eq!(
        claims[0],
        json!({"path": ["family_name"], "display": [{"locale": "da", "label": "Efternavn"}, {"locale": "en", "label": "Family name"}],
               "sd": "always", "mandatory": true})
    );
    assert!(claims.iter().any(|c| c["path"] == json!(["address", "locality"])));

    let fuldmagt = type_metadata(catalog.get("dk.fuldmagt_vc_sd_jwt").unwrap()).unwrap();
    assert_eq!(fuldmagt["vct"], "urn:dk:attestation:fuldmagt:1");
    let source =
        fuldmagt["claims"].as_array().unwrap().iter().find(|c| c["path"] == json!(["source"])).unwrap();
    assert_eq!(source["sd"], "never");
    assert!(type_metadata(catalog.get(PID_MDOC_ID).unwrap()).is_none());
}

#[test]
fn well_known_paths_map_to_document_and_tenant() {
    let base = "https://issuer.example.dk";
    assert_eq!(
        resolve_well_known("/.well-known/openid-credential-issuer/dk", base),
        Some((Document::CredentialIssuer, "dk"))
    );
    assert_eq!(
        resolve_well_known("/.well-known/oauth-authorization-server/alder", base),
        Some((Document::AuthorizationServer, "alder"))
    );
    assert_eq!(
        resolve_well_known("/.well-known/jwt-vc-issuer/dk", base),
        Some((Document::JwtVcIssuer, "dk"))
    );
    for bad in [
        "/.well-known/openid-credential-issuer",
        "/.well-known/openid-credential-issuer/",
        "/.well-known/openid-credential-issuer/dk/extra",
        "/.well-known/openid-credential-issuerdk",
        "/dk/.well-known/openid-credential-issuer",
        "/.well-known/openid-configuration/dk",
    ] {
        assert_eq!(resolve_well_known(bad, base), None, "{bad}");
    }
    // A public URL with a path: the path follows the well-known segment.
    let prefixed = "https://h.example/segl";
    assert_eq!(
        resolve_well_known("/.well-known/openid-credential-issuer/segl/dk", prefixed),
        Some((Document::CredentialIssuer, "dk"))
    );
    assert_eq!(resolve_well_known("/.well-known/openid-credential-issuer/dk", prefixed), None);

    // And the URLs built for an issuer id resolve back.
    for document in Document::ALL {
        let url = document.url("https://h.example/segl/dk").unwrap();
        let path = url.strip_prefix("https://h.example").unwrap();
        assert_eq!(resolve_well_known(path, prefixed), Some((document, "dk")), "{url}");
    }
    assert_eq!(
        Document::CredentialIssuer.url(ISSUER).unwrap(),
        "https://issuer.example.dk/.well-known/openid-credential-issuer/dk"
    );
    assert_eq!(
        Document::JwtVcIssuer.url(ISSUER).unwrap(),
        segl_credential::sd_jwt::jwt_vc_issuer_metadata_url(ISSUER).unwrap()
    );
}
