use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::*;

const EXAMPLE: &str = include_str!("../../examples/segl.toml");

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn load(text: &str) -> Result<Config, ConfigError> {
    Config::from_sources(Some(text), &BTreeMap::new(), &Overrides::default())
}

fn invalid_key(result: Result<Config, ConfigError>) -> String {
    match result {
        Err(ConfigError::Invalid { key, .. }) => key,
        other => panic!("expected an Invalid error, got {other:?}"),
    }
}

#[test]
fn embedded_default_has_one_tenant_with_the_four_builtins() {
    let config = Config::from_sources(None, &BTreeMap::new(), &Overrides::default()).unwrap();
    assert_eq!(config.listen, "127.0.0.1:8080".parse::<SocketAddr>().unwrap());
    assert_eq!(config.public_url, "http://127.0.0.1:8080");
    assert_eq!(config.tenants.len(), 1);
    let tenant = &config.tenants[0];
    assert_eq!(tenant.id, "default");
    assert_eq!(
        tenant.builtin_configuration_ids(),
        [
            "eu.europa.ec.eudi.pid_vc_sd_jwt",
            "eu.europa.ec.eudi.pid_mso_mdoc",
            "proof_of_age",
            "proof_of_age_vc_sd_jwt"
        ]
    );
    assert_eq!(config.issuer_id(tenant), "http://127.0.0.1:8080/default");
    assert_eq!(config.database_url(), "sqlite://./segl-data/segl.db?mode=rwc");
}

#[test]
fn example_file_loads_with_every_key() {
    let config = load(EXAMPLE).unwrap();
    assert_eq!(config.listen, "0.0.0.0:8080".parse::<SocketAddr>().unwrap());
    assert_eq!(config.public_url, "https://issuer.example.dk");
    assert_eq!(config.data_dir, PathBuf::from("/var/lib/segl"));
    assert_eq!(config.database_url(), "postgres://segl@db.internal/segl");
    assert_eq!(
        (config.offer_lifetime_secs, config.token_lifetime_secs, config.nonce_lifetime_secs),
        (900, 600, 300)
    );
    assert_eq!(config.max_tx_code_attempts, 5);
    let ids: Vec<&str> = config.tenants.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["dk", "alder"]);
    let dk = config.tenant("dk").unwrap();
    assert_eq!(config.issuer_id(dk), "https://issuer.example.dk/dk");
    assert_eq!(dk.name.get("da").map(String::as_str), Some("Eksempel PID-udsteder"));
    assert_eq!(dk.proof_of_age.as_ref().unwrap().age_over, [15, 16, 18, 21, 65]);
    let fuldmagt = &dk.attestations[0];
    assert_eq!(fuldmagt.claims.len(), 6);
    assert_eq!(fuldmagt.claims[3].claim_type, ClaimType::Date);
    assert!(!fuldmagt.claims[5].selectively_disclosable);
    assert_eq!(
        fuldmagt.configuration_ids(),
        [("sd_jwt", "dk.fuldmagt_vc_sd_jwt".to_owned()), ("mdoc", "dk.fuldmagt_mso_mdoc".to_owned())]
    );
    let Some(SigningKeyConfig::Pkcs11(hsm)) = &dk.signing_key else { panic!("dk has no signing_key") };
    assert_eq!((hsm.key_label.as_deref(), hsm.pin_env.as_str()), (Some("issuer-dk"), "DK_HSM_PIN"));
    let alder = config.tenant("alder").unwrap();
    assert_eq!(alder.signing_key, None);
    assert_eq!(alder.builtin_configuration_ids(), ["proof_of_age"]);
    assert_eq!(alder.proof_of_age, Some(AgeOptions::default()));
}

#[test]
fn example_file_loads_from_disk() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/segl.toml");
    let config = Config::load(Some(&path), &BTreeMap::new(), &Overrides::default()).unwrap();
    assert_eq!(config.tenants.len(), 2);
    let missing =
        Config::load(Some(Path::new("/nonexistent/segl.toml")), &BTreeMap::new(), &Overrides::default());
    assert!(matches!(missing, Err(ConfigError::Read { .. })));
}

#[test]
fn layers_apply_in_order_defaults_file_env_overrides() {
    let file =
        "public_url = \"https://file.example\"\nnonce_lifetime_secs = 100\ntoken_lifetime_secs = 200\n";
    let environment = env(&[
        ("SEGL_PUBLIC_URL", "https://env.example/"),
        ("SEGL_NONCE_LIFETIME_SECS", "120"),
        ("SEGL_CONFIG", "/etc/segl.toml"),
        // `segl verifier serve`'s variables are that command's to check.
        ("SEGL_VERIFIER_API_TOKEN", "verifier-token"),
        ("PATH", "/usr/bin"),
    ]);
    let config = Config::from_sources(Some(file), &environment, &Overrides::default()).unwrap();
    assert_eq!(config.public_url, "https://env.example", "env beats file; trailing slash dropped");
    assert_eq!(config.nonce_lifetime_secs, 120, "env beats file");
    assert_eq!(config.token_lifetime_secs, 200, "file beats default");
    assert_eq!(config.offer_lifetime_secs, 900, "default kept");

    let overrides = Overrides {
        public_url: Some("https://cli.example".into()),
        listen: Some("[::]:9000".parse().unwrap()),
        data_dir: Some("/tmp/segl".into()),
        database_url: Some("sqlite://x.db".into()),
        metrics_listen: None,
    };
    let config = Config::from_sources(Some(file), &environment, &overrides).unwrap();
    assert_eq!(config.public_url, "https://cli.example", "command line beats env");
    assert_eq!(config.listen.port(), 9000);
    assert_eq!(config.database_url(), "sqlite://x.db");
}

#[test]
fn environment_errors_name_the_variable() {
    for (name, value) in [
        ("SEGL_PUBLIK_URL", "https://typo.example"),
        ("SEGL_LISTEN", "not an address"),
        ("SEGL_METRICS_LISTEN", "9100"),
        ("SEGL_MAX_TX_CODE_ATTEMPTS", "-1"),
        ("SEGL_OFFER_LIFETIME_SECS", "ten"),
    ] {
        match Config::from_sources(None, &env(&[(name, value)]), &Overrides::default()) {
            Err(ConfigError::Env { name: reported, .. }) => assert_eq!(reported, name),
            other => panic!("{name}: expected Env error, got {other:?}"),
        }
    }
    let zero = Config::from_sources(None, &env(&[("SEGL_MAX_TX_CODE_ATTEMPTS", "0")]), &Overrides::default());
    assert_eq!(invalid_key(zero), "max_tx_code_attempts");
}

#[test]
fn metrics_listen_comes_from_env_or_command_line() {
    let config =
        Config::from_sources(None, &env(&[("SEGL_METRICS_LISTEN", "127.0.0.1:9100")]), &Overrides::default())
            .unwrap();
    assert_eq!(config.metrics_listen, Some("127.0.0.1:9100".parse().unwrap()));
    let overrides =
        Overrides { metrics_listen: Some("127.0.0.1:9200".parse().unwrap()), ..Overrides::default() };
    let config = Config::from_sources(None, &BTreeMap::new(), &overrides).unwrap();
    assert_eq!(config.metrics_listen, Some("127.0.0.1:9200".parse().unwrap()));
    let default = Config::from_sources(None, &BTreeMap::new(), &Overrides::default()).unwrap();
    assert_eq!(default.metrics_listen, None, "by default /metrics is on `listen`");
    // The log format is read by the command line, not refused as a typo.
    assert!(Config::from_sources(None, &env(&[("SEGL_LOG_FORMAT", "json")]), &Overrides::default()).is_ok());
}

#[test]
fn rejects_metrics_listen_equal_to_listen() {
    let same =
        Config::from_sources(None, &env(&[("SEGL_METRICS_LISTEN", "127.0.0.1:8080")]), &Overrides::default());
    assert_eq!(invalid_key(same), "metrics_listen");
}

#[test]
fn unknown_keys_are_rejected_at_every_level() {
    for text in [
        "lisen = \"0.0.0.0:1\"",
        "[[tenants]]\nid = \"a\"\nname = { en = \"A\" }\ncolour = \"red\"",
        "[[tenants]]\nid = \"a\"\nname = { en = \"A\" }\n[tenants.proof_of_age]\nage_under = [3]",
        "[[tenants]]\nid = \"a\"\nname = { en = \"A\" }\n[tenants.pid]\n",
        "[[tenants]]\nid = \"a\"\nname = { en = \"A\" }\n[[tenants.attestations]]\nid = \"x\"\nname = { en = \"X\" }\n\
         [tenants.attestations.sd_jwt]\nvct = \"urn:x\"\n[[tenants.attestations.claims]]\nname = \"n\"\ntype = \"string\"\nlabel = \"?\"",
    ] {
        match load(text) {
            Err(ConfigError::Parse { message, .. }) => {
                assert!(message.contains("unknown field"), "{text}: {message}")
            }
            other => panic!("{text}: expected a parse error, got {other:?}"),
        }
    }
}

#[test]
fn unknown_claim_type_is_a_parse_error_naming_the_value() {
    let text = "[[tenants]]\nid = \"a\"\nname = { en = \"A\" }\n[[tenants.attestations]]\nid = \"x\"\n\
                name = { en = \"X\" }\n[tenants.attestations.sd_jwt]\nvct = \"urn:x\"\n\
                [[tenants.attestations.claims]]\nname = \"n\"\ntype = \"text\"";
    match load(text) {
        Err(ConfigError::Parse { message, .. }) => {
            assert!(message.contains("unknown variant `text`"), "{message}");
            assert!(message.contains("type"), "{message}");
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn public_url_rules() {
    for ok in [
        "https://h.example",
        "https://h.example:8443/base",
        "http://127.0.0.1:8080",
        "http://127.0.0.1",
        "http://[::1]:1",
    ] {
        assert!(load(&format!("public_url = \"{ok}\"")).is_ok(), "{ok}");
    }
    for bad in
        ["http://issuer.example", "ftp://h", "https://h/?q=1", "https://h/#f", "not a url", "https://u:p@h"]
    {
        assert_eq!(invalid_key(load(&format!("public_url = \"{bad}\""))), "public_url", "{bad}");
    }
}

#[test]
fn value_checks_name_the_key() {
    let tenant = "[[tenants]]\nid = \"a\"\nname = { en = \"A\" }\n";
    let cases = [
        ("token_lifetime_secs = 0".to_owned(), "token_lifetime_secs"),
        ("nonce_lifetime_secs = 7200".to_owned(), "nonce_lifetime_secs"),
        ("database_url = \"mysql://x\"".to_owned(), "database_url"),
        (format!("{tenant}{tenant}"), "tenants[1].id"),
        ("[[tenants]]\nid = \"Big\"\nname = { en = \"A\" }".to_owned(), "tenants[0].id"),
        ("[[tenants]]\nid = \".well-known\"\nname = { en = \"A\" }".to_owned(), "tenants[0].id"),
        ("[[tenants]]\nid = \"a\"\nname = {}".to_owned(), "tenants[0].name"),
        ("[[tenants]]\nid = \"a\"\nname = { EN = \"A\" }".to_owned(), "tenants[0].name.EN"),
        (format!("{tenant}issuing_country = \"Denmark\""), "tenants[0].issuing_country"),
        (format!("{tenant}[tenants.proof_of_age]\nage_over = [18, 100]"), "tenants[0].proof_of_age.age_over"),
        (format!("{tenant}[tenants.proof_of_age]\nage_over = [0]"), "tenants[0].proof_of_age.age_over"),
        (format!("{tenant}[tenants.proof_of_age]\nage_over = [21, 21]"), "tenants[0].proof_of_age.age_over"),
        (
            format!("{tenant}[tenants.proof_of_age]\nvalidity_days = 365"),
            "tenants[0].proof_of_age.validity_days",
        ),
        (
            format!("{tenant}[tenants.proof_of_age_vc_sd_jwt]\nvct = \"\""),
            "tenants[0].proof_of_age_vc_sd_jwt.vct",
        ),
        (format!("{tenant}[tenants.pid_mso_mdoc]\nbatch_size = 0"), "tenants[0].pid_mso_mdoc.batch_size"),
        (
            format!("{tenant}[tenants.authentic_source]\npersonal_administrative_number = true"),
            "tenants[0].authentic_source.personal_administrative_number",
        ),
        (
            format!("{tenant}[tenants.authentic_source]\ndeferred_interval_secs = 0"),
            "tenants[0].authentic_source.deferred_interval_secs",
        ),
        (
            format!("{tenant}[tenants.authentic_source]\ndeferred_lifetime_secs = 59"),
            "tenants[0].authentic_source.deferred_lifetime_secs",
        ),
    ];
    for (text, key) in cases {
        assert_eq!(invalid_key(load(&text)), key, "{text}");
    }
}

fn attestation(body: &str) -> String {
    format!(
        "[[tenants]]\nid = \"a\"\nname = {{ en = \"A\" }}\n[tenants.pid_vc_sd_jwt]\n[[tenants.attestations]]\n\
         id = \"x\"\nname = {{ en = \"X\" }}\n{body}"
    )
}

#[test]
fn attestation_checks_name_the_key() {
    let claim = "[[tenants.attestations.claims]]\nname = \"n\"\ntype = \"string\"\n";
    let cases = [
        (attestation(claim), "tenants[0].attestations[0]"),
        (
            attestation("[tenants.attestations.sd_jwt]\nvct = \"urn:x\"\n"),
            "tenants[0].attestations[0].claims",
        ),
        (
            attestation(&format!("[tenants.attestations.sd_jwt]\nvct = \"urn:x\"\n{claim}{claim}")),
            "tenants[0].attestations[0].claims[1].name",
        ),
        (
            attestation(
                "[tenants.attestations.sd_jwt]\nvct = \"urn:x\"\n[[tenants.attestations.claims]]\nname = \"exp\"\ntype = \"integer\"",
            ),
            "tenants[0].attestations[0].claims[0].name",
        ),
        (
            attestation(&format!(
                "[tenants.attestations.sd_jwt]\nconfiguration_id = \"eu.europa.ec.eudi.pid_vc_sd_jwt\"\nvct = \"urn:x\"\n{claim}"
            )),
            "tenants[0].attestations[0].sd_jwt.configuration_id",
        ),
        (
            attestation(&format!(
                "background_color = \"blue\"\n[tenants.attestations.sd_jwt]\nvct = \"urn:x\"\n{claim}"
            )),
            "tenants[0].attestations[0].background_color",
        ),
        (
            attestation(&format!("[tenants.attestations.mdoc]\ndoctype = \"has space\"\n{claim}")),
            "tenants[0].attestations[0].mdoc.doctype",
        ),
    ];
    for (text, key) in cases {
        assert_eq!(invalid_key(load(&text)), key, "{text}");
    }
}

#[test]
fn validate_after_changes_catches_them() {
    let mut config = Config::default();
    config.validate().unwrap();
    config.tenants.push(TenantConfig::default());
    assert!(matches!(config.validate(), Err(ConfigError::Invalid { key, .. }) if key == "tenants[1].id"));
}

#[test]
fn embedded_default_tenant_offers_a_configured_attestation() {
    let tenant = TenantConfig::default();
    assert_eq!(tenant.attestations.len(), 1, "config/default_attestations.toml did not parse");
    assert_eq!(tenant.attestations[0].id, "dk_fuldmagt");
    let config = Config::from_sources(None, &Default::default(), &Overrides::default()).unwrap();
    let ids = config.tenants[0].builtin_configuration_ids();
    assert_eq!(ids.len(), 4);
    let ids: Vec<String> =
        config.tenants[0].attestations[0].configuration_ids().into_iter().map(|(_, id)| id).collect();
    assert_eq!(ids, vec!["dk.fuldmagt_vc_sd_jwt".to_owned(), "dk.fuldmagt_mso_mdoc".to_owned()]);
}

#[test]
fn status_list_keys_default_layer_and_are_checked() {
    let config = Config::from_sources(None, &env(&[]), &Overrides::default()).unwrap();
    assert_eq!(
        (config.status_list_size, config.status_list_bits, config.status_list_ttl_secs),
        (1_048_576, 2, 3600)
    );
    assert_eq!(config.status_list_regeneration_secs, 300);
    let file = "status_list_size = 4096\nstatus_list_bits = 1\nstatus_list_ttl_secs = 60";
    let environment = env(&[("SEGL_STATUS_LIST_BITS", "4"), ("SEGL_STATUS_LIST_REGENERATION_SECS", "5")]);
    let config = Config::from_sources(Some(file), &environment, &Overrides::default()).unwrap();
    assert_eq!((config.status_list_size, config.status_list_bits), (4096, 4), "env beats file");
    assert_eq!((config.status_list_ttl_secs, config.status_list_regeneration_secs), (60, 5));
    for (name, value, key) in [
        ("SEGL_STATUS_LIST_BITS", "3", "status_list_bits"),
        ("SEGL_STATUS_LIST_SIZE", "8", "status_list_size"),
        ("SEGL_STATUS_LIST_SIZE", "33554432", "status_list_size"),
        ("SEGL_STATUS_LIST_TTL_SECS", "0", "status_list_ttl_secs"),
        ("SEGL_STATUS_LIST_REGENERATION_SECS", "0", "status_list_regeneration_secs"),
    ] {
        let result = Config::from_sources(None, &env(&[(name, value)]), &Overrides::default());
        assert_eq!(invalid_key(result), key, "{name}={value}");
    }
}

const HSM_TENANT: &str = r#"
[[tenants]]
id = "dk"
name = { en = "HSM issuer" }
[tenants.signing_key]
source = "pkcs11"
module = "/usr/lib/softhsm/libsofthsm2.so"
token_label = "segl"
key_label = "issuer-dk"
pin_env = "SEGL_HSM_PIN_IS_RESERVED"
certificate_chain = "/etc/segl/issuer-dk-chain.pem"
"#;

#[test]
fn reads_a_pkcs11_signing_key() {
    let text = HSM_TENANT.replace("SEGL_HSM_PIN_IS_RESERVED", "HSM_PIN");
    let config = load(&text).unwrap();
    let Some(SigningKeyConfig::Pkcs11(hsm)) = &config.tenants[0].signing_key else {
        panic!("no signing_key")
    };
    assert_eq!(hsm.module, Path::new("/usr/lib/softhsm/libsofthsm2.so"));
    assert_eq!(hsm.token_label, "segl");
    assert_eq!(hsm.key_label.as_deref(), Some("issuer-dk"));
    assert_eq!(hsm.key_id, None);
    assert_eq!(hsm.pin_env, "HSM_PIN");
    assert_eq!(hsm.max_sessions, 4);
    assert_eq!(Config::default().tenants[0].signing_key, None);
}

#[test]
fn rejects_bad_pkcs11_signing_keys() {
    let ok = HSM_TENANT.replace("SEGL_HSM_PIN_IS_RESERVED", "HSM_PIN");
    assert_eq!(invalid_key(load(HSM_TENANT)), "tenants[0].signing_key.pin_env");
    let cases = [
        (ok.replace("/usr/lib/softhsm/", ""), "tenants[0].signing_key.module"),
        (ok.replace("key_label = \"issuer-dk\"", ""), "tenants[0].signing_key"),
        (
            ok.replace("key_label = \"issuer-dk\"", "key_label = \"a\"\nkey_id = \"01\""),
            "tenants[0].signing_key",
        ),
        (ok.replace("key_label = \"issuer-dk\"", "key_id = \"zz\""), "tenants[0].signing_key.key_id"),
        (ok.replace("\"HSM_PIN\"", "\"hsm pin\""), "tenants[0].signing_key.pin_env"),
        (ok.replace("\"/etc/segl/", "\"etc/segl/"), "tenants[0].signing_key.certificate_chain"),
        (ok.replace("token_label = \"segl\"", "token_label = \"\""), "tenants[0].signing_key.token_label"),
        (format!("{ok}max_sessions = 0\n"), "tenants[0].signing_key.max_sessions"),
    ];
    for (text, key) in cases {
        assert_eq!(invalid_key(load(&text)), key, "{text}");
    }
    // Unknown keys and sources are parse errors, not silently ignored.
    for text in [format!("{ok}pin = \"1234\"\n"), ok.replace("\"pkcs11\"", "\"file\"")] {
        assert!(matches!(load(&text), Err(ConfigError::Parse { .. })), "{text}");
    }
}

#[test]
fn dpop_keys_default_layer_and_are_checked() {
    let config = Config::from_sources(None, &BTreeMap::new(), &Overrides::default()).unwrap();
    assert_eq!(config.dpop_proof_window_secs, 60);
    assert_eq!((config.tenants[0].dpop, config.tenants[0].dpop_nonce), (DpopMode::Optional, true));

    let example = load(EXAMPLE).unwrap();
    assert_eq!(example.tenants[0].dpop, DpopMode::Required);

    let text = "dpop_proof_window_secs = 30\n[[tenants]]\nid = \"t\"\nname = { en = \"T\" }\ndpop = \"required\"\ndpop_nonce = false\n";
    let config = load(text).unwrap();
    assert_eq!(config.dpop_proof_window_secs, 30);
    assert_eq!((config.tenants[0].dpop, config.tenants[0].dpop_nonce), (DpopMode::Required, false));
    let from_env = Config::from_sources(
        Some(text),
        &env(&[("SEGL_DPOP_PROOF_WINDOW_SECS", "90")]),
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(from_env.dpop_proof_window_secs, 90);

    assert_eq!(invalid_key(load("dpop_proof_window_secs = 0")), "dpop_proof_window_secs");
    assert_eq!(invalid_key(load("dpop_proof_window_secs = 601")), "dpop_proof_window_secs");
    let unknown = load("[[tenants]]\nid = \"t\"\nname = { en = \"T\" }\ndpop = \"sometimes\"\n");
    assert!(
        matches!(&unknown, Err(ConfigError::Parse { message, .. }) if message.contains("sometimes")),
        "{unknown:?}"
    );
}

#[test]
fn reads_rate_limits_from_file_and_environment() {
    let defaults = Config::default();
    assert_eq!((defaults.rate_limit_per_ip, defaults.rate_limit_per_client), (200, 20));
    assert_eq!(defaults.rate_limit_ip_header, None);
    let text = "rate_limit_per_ip = 50\nrate_limit_ip_header = \"X-Forwarded-For\"\n";
    let config = load(text).unwrap();
    assert_eq!(
        (config.rate_limit_per_ip, config.rate_limit_ip_header.as_deref()),
        (50, Some("X-Forwarded-For"))
    );
    let environment = env(&[("SEGL_RATE_LIMIT_PER_IP", "0"), ("SEGL_RATE_LIMIT_PER_CLIENT", "5")]);
    let from_env = Config::from_sources(Some(text), &environment, &Overrides::default()).unwrap();
    assert_eq!((from_env.rate_limit_per_ip, from_env.rate_limit_per_client), (0, 5));
}

/// A rate-limit header that is no HTTP header name, and rates above a million per second.
#[test]
fn rejects_unusable_rate_limit_settings() {
    assert_eq!(invalid_key(load("rate_limit_ip_header = \"X Forwarded\"")), "rate_limit_ip_header");
    assert_eq!(invalid_key(load("rate_limit_per_ip = 1000001")), "rate_limit_per_ip");
    assert_eq!(invalid_key(load("rate_limit_per_client = 2000000")), "rate_limit_per_client");
}

#[test]
fn authentic_source_defaults_and_file_values() {
    let default = Config::default();
    let settings = default.tenants[0].authentic_source;
    assert_eq!(settings, crate::source::SourceSettings::default());
    assert_eq!(settings.identifier, crate::source::IdentifierKind::Opaque);
    assert!(!settings.personal_administrative_number);
    assert_eq!(settings.protected_persons, crate::source::ProtectedPersons::Withhold);
    assert_eq!((settings.deferred_interval_secs, settings.deferred_lifetime_secs), (60, 604_800));
    let dk = load(EXAMPLE).unwrap().tenant("dk").unwrap().authentic_source;
    assert_eq!(dk.identifier, crate::source::IdentifierKind::Cpr);
    let text =
        "[[tenants]]\nid = \"a\"\nname = { en = \"A\" }\n[tenants.authentic_source]\nidentifier = \"ssn\"\n";
    assert!(load(text).is_err());
}
