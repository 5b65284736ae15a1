//! Development certificates for an example configuration: every certificate file the TOML
//! names that does not exist yet is generated (P-256, via
//! [`segl_credential::x509::generate_dev_pki`]). For development and tests only.
//!
//! - The operator's `certificate` and `key` get a signing certificate issued by a development
//!   CA, written beside it as `<stem>-ca.pem` (the certificate a relying party pins, or passes
//!   to `xmlsec1 --trusted-pem`).
//! - A service certificate file gets a development CA (the anchor the list announces), and
//!   beside it `<stem>-signer.pem` / `<stem>-signer.key.pem`: an issuer certificate under that
//!   CA (with the mdoc DS key purpose) to sign test credentials with.

use std::path::{Path, PathBuf};

use rand_core::CryptoRngCore;
use segl_credential::clock::UnixTime;
use segl_credential::x509::{DevPkiOptions, generate_dev_pki};

use crate::TrustListError;
use crate::config::TrustListConfig;
use crate::model::display_name;

/// Generates every missing certificate file named by the TOML at `config_path`, valid from
/// `not_before` to `not_after`; returns the files written.
pub fn ensure_dev_certificates(
    config_path: &Path,
    not_before: UnixTime,
    not_after: UnixTime,
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<PathBuf>, TrustListError> {
    let config = TrustListConfig::load(config_path)?;
    let base = config_path.parent().unwrap_or(Path::new("."));
    let mut written = Vec::new();
    let options = |ca: String, issuer: String, mdoc: bool| DevPkiOptions {
        ca_common_name: ca,
        issuer_common_name: issuer,
        country: Some(config.scheme.territory.clone()).filter(|t| t.len() == 2),
        dns_names: Vec::new(),
        uris: Vec::new(),
        mdoc_ds_eku: mdoc,
        not_before,
        not_after,
    };
    let generation = |e: segl_credential::x509::X509Error| TrustListError::Operator(e.to_string());

    let cert_path = base.join(&config.operator.certificate);
    let key_path = base.join(&config.operator.key);
    if !cert_path.exists() || !key_path.exists() {
        let operator = display_name(&english_first(&config.operator.name));
        let pki = generate_dev_pki(
            &options(
                format!("{operator} trust-list CA (dev)"),
                format!("{operator} trust-list signer (dev)"),
                false,
            ),
            rng,
        )
        .map_err(generation)?;
        write(&cert_path, pki.issuer_pem.as_bytes(), &mut written)?;
        write(&key_path, pki.issuer_key_pem.as_bytes(), &mut written)?;
        write(&sibling(&cert_path, "-ca.pem"), pki.ca_pem.as_bytes(), &mut written)?;
    }
    for entity in &config.entities {
        let name = display_name(&english_first(&entity.name));
        for service in &entity.services {
            for entry in &service.certificates {
                if entry.trim_start().starts_with("-----BEGIN") {
                    continue;
                }
                let path = base.join(entry);
                if path.exists() {
                    continue;
                }
                let pki = generate_dev_pki(
                    &options(format!("{name} CA (dev)"), format!("{name} signer (dev)"), true),
                    rng,
                )
                .map_err(generation)?;
                write(&path, pki.ca_pem.as_bytes(), &mut written)?;
                write(&sibling(&path, "-signer.pem"), pki.issuer_pem.as_bytes(), &mut written)?;
                write(&sibling(&path, "-signer.key.pem"), pki.issuer_key_pem.as_bytes(), &mut written)?;
            }
        }
    }
    Ok(written)
}

/// `dir/name.pem` -> `dir/name<suffix>`.
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!("{stem}{suffix}"))
}

fn english_first(names: &std::collections::BTreeMap<String, String>) -> Vec<crate::model::LangString> {
    names
        .iter()
        .map(|(lang, value)| crate::model::LangString { lang: lang.clone(), value: value.clone() })
        .collect()
}

fn write(path: &Path, bytes: &[u8], written: &mut Vec<PathBuf>) -> Result<(), TrustListError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(TrustListError::io(parent))?;
    }
    std::fs::write(path, bytes).map_err(TrustListError::io(path))?;
    written.push(path.to_path_buf());
    Ok(())
}
