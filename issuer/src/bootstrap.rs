//! First start and every start after: the data directory holds each tenant's development CA,
//! issuer certificate and keys, the secret its offer codes derive from, and the admin token.
//! Generated when missing, loaded when present, private files written owner-only.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand_core::CryptoRngCore;
use segl_credential::clock::{Clock, FixedClock, UnixTime};
use segl_credential::jose::base64url_encode;
use segl_credential::jwe::DecryptionKey;
use segl_credential::keys::pkcs11::{KeySelector, Pkcs11Config, Pkcs11Signer};
use segl_credential::keys::{Signer, SoftwareSigner};
use segl_credential::x509::{DevPkiOptions, generate_dev_pki, pem_to_der};
use zeroize::Zeroizing;

use crate::catalog::Catalog;
use crate::config::{Config, Pkcs11KeyConfig, SigningKeyConfig, TenantConfig};
use crate::service::dpop::DpopPolicy;
use crate::service::encryption::EncryptionPolicy;
use crate::service::signed_metadata::SignedMetadata;
use crate::service::tenant::{OfferKey, Tenant};
use crate::service::wallet_trust::AttestationSettings;
use crate::source::SourceKeys;
use crate::store::{ListShape, SecretHash};

/// How long generated development certificates are valid.
const DEV_CERT_DAYS: i64 = 3 * 365;

/// Why the data directory could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A stored key or certificate is unusable (damaged file, wrong format).
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A tenant's wallet providers (certificate files, keys, trust list) cannot be used.
    #[error("tenant {tenant}: wallet providers: {reason}")]
    WalletProviders {
        /// The tenant id.
        tenant: String,
        /// What is wrong.
        reason: String,
    },
    /// A tenant's configured signing key cannot be used (token, PIN, key or certificate).
    #[error("tenant {tenant}: signing key: {reason}")]
    SigningKey {
        /// The tenant id.
        tenant: String,
        /// What is wrong (never the PIN).
        reason: String,
    },
    /// A tenant's upstream login cannot be set up (client secret variable unset, HTTP client).
    #[error("tenant {tenant}: login: {reason}")]
    Login {
        /// The tenant id.
        tenant: String,
        /// What is wrong (never the secret).
        reason: String,
    },
}

/// The admin API's bearer token: its digest (for constant-time checks) and where it came from.
#[derive(Debug)]
pub struct AdminToken {
    /// SHA-256 of the token.
    pub hash: SecretHash,
    /// The file it was read from or generated into; `None` when it came from `SEGL_ADMIN_TOKEN`.
    pub file: Option<PathBuf>,
    /// True when this start generated it.
    pub generated: bool,
}

/// The admin token: `from_env` (`SEGL_ADMIN_TOKEN`) when set, else `data_dir/admin-token`,
/// generated there at first start.
pub fn admin_token(
    data_dir: &Path,
    from_env: Option<&str>,
    rng: &mut impl CryptoRngCore,
) -> Result<AdminToken, BootstrapError> {
    if let Some(token) = from_env.filter(|token| !token.trim().is_empty()) {
        return Ok(AdminToken { hash: SecretHash::of(token.trim()), file: None, generated: false });
    }
    let path = data_dir.join("admin-token");
    if path.exists() {
        let token = Zeroizing::new(read_text(&path)?);
        return Ok(AdminToken { hash: SecretHash::of(token.trim()), file: Some(path), generated: false });
    }
    let token = Zeroizing::new(crate::service::token::new_secret(rng));
    write_private(&path, token.as_bytes())?;
    Ok(AdminToken { hash: SecretHash::of(&token), file: Some(path), generated: true })
}

/// Loads (or, at first start, generates) every tenant's keys and certificates.
pub fn tenants(
    config: &Config,
    now: UnixTime,
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<Arc<Tenant>>, BootstrapError> {
    tenants_with_clock(config, Arc::new(FixedClock(now)), rng)
}

/// [`tenants`] with the deployment's clock, which wallet provider trust lists are judged by.
pub fn tenants_with_clock(
    config: &Config,
    clock: Arc<dyn Clock>,
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<Arc<Tenant>>, BootstrapError> {
    config.tenants.iter().map(|tenant| load_tenant(config, tenant, &clock, rng).map(Arc::new)).collect()
}

fn load_tenant(
    config: &Config,
    tenant: &TenantConfig,
    clock: &Arc<dyn Clock>,
    rng: &mut impl CryptoRngCore,
) -> Result<Tenant, BootstrapError> {
    let now = clock.now();
    let dir = config.data_dir.join("tenants").join(&tenant.id);
    std::fs::create_dir_all(&dir).map_err(|source| BootstrapError::Io { path: dir.clone(), source })?;
    let issuer_id = config.issuer_id(tenant);
    let signer: Arc<dyn Signer> = match &tenant.signing_key {
        Some(SigningKeyConfig::Pkcs11(hsm)) => Arc::new(open_pkcs11(tenant, hsm)?),
        None => Arc::new(development_signer(&dir, tenant, &issuer_id, &config.public_url, now, rng)?),
    };

    let request_key = request_encryption_key(&dir, tenant, rng)?;
    let offer_key_path = dir.join("offer-key");
    if !offer_key_path.exists() {
        let mut secret = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(secret.as_mut_slice());
        write_private(&offer_key_path, hex::encode(secret.as_slice()).as_bytes())?;
    }
    let offer_key_hex = Zeroizing::new(read_text(&offer_key_path)?);
    let mut offer_key = [0u8; 32];
    hex::decode_to_slice(offer_key_hex.trim(), &mut offer_key).map_err(|_| BootstrapError::Invalid {
        path: offer_key_path.clone(),
        reason: "expected 64 hex digits".into(),
    })?;

    let catalog = Catalog::from_tenant(tenant);
    let authorization = crate::service::authorize::setup::tenant_authorization(tenant, &catalog, |name| {
        std::env::var(name).ok()
    })
    .map_err(|reason| BootstrapError::Login { tenant: tenant.id.clone(), reason })?;
    Ok(Tenant {
        id: tenant.id.clone(),
        issuer_id,
        catalog,
        signer,
        offer_key: OfferKey::new(offer_key),
        status_lists: ListShape { size: config.status_list_size, bits: config.status_list_bits },
        dpop: DpopPolicy { mode: tenant.dpop, nonce_required: tenant.dpop_nonce },
        source_settings: tenant.authentic_source,
        source_keys: SourceKeys::load_or_generate(&dir, rng)?,
        encryption: EncryptionPolicy::new(&tenant.encryption, request_key),
        signed_metadata: SignedMetadata::default(),
        authorization,
        attestation: AttestationSettings::from_config(
            tenant,
            i64::try_from(config.dpop_proof_window_secs).unwrap_or(i64::MAX),
            Arc::clone(clock),
        )
        .map_err(|reason| BootstrapError::WalletProviders { tenant: tenant.id.clone(), reason })?,
    })
}

/// The tenant's `credential_request_encryption` key (`request-encryption-key`: the P-256
/// scalar in hex, owner-only), generated at first start; `None` while request encryption is
/// off. Its `kid` is the RFC 7638 thumbprint, the same on every node sharing the directory.
fn request_encryption_key(
    dir: &Path,
    tenant: &TenantConfig,
    rng: &mut impl CryptoRngCore,
) -> Result<Option<DecryptionKey>, BootstrapError> {
    if !tenant.encryption.request.enabled() {
        return Ok(None);
    }
    let path = dir.join("request-encryption-key");
    let invalid = |reason: String| BootstrapError::Invalid { path: path.clone(), reason };
    if !path.exists() {
        let key = DecryptionKey::generate("new", rng).map_err(|e| invalid(e.to_string()))?;
        let scalar = key.private_scalar().map_err(|e| invalid(e.to_string()))?;
        write_private(&path, hex::encode(scalar.as_slice()).as_bytes())?;
    }
    let text = Zeroizing::new(read_text(&path)?);
    let scalar =
        Zeroizing::new(hex::decode(text.trim()).map_err(|_| invalid("expected 64 hex digits".into()))?);
    let unnamed = DecryptionKey::from_scalar("", &scalar).map_err(|e| invalid(e.to_string()))?;
    let kid = base64url_encode(unnamed.jwk_thumbprint());
    DecryptionKey::from_scalar(kid, &scalar).map(Some).map_err(|e| invalid(e.to_string()))
}

/// The development key and certificate in the tenant's directory, generated at first start.
fn development_signer(
    dir: &Path,
    tenant: &TenantConfig,
    issuer_id: &str,
    public_url: &str,
    now: UnixTime,
    rng: &mut impl CryptoRngCore,
) -> Result<SoftwareSigner, BootstrapError> {
    let cert_path = dir.join("issuer.pem");
    let key_path = dir.join("issuer-key.pem");
    if !cert_path.exists() || !key_path.exists() {
        generate_tenant_pki(dir, tenant, issuer_id, public_url, now, rng)?;
    }
    let key_pem = Zeroizing::new(read_text(&key_path)?);
    let chain = pem_to_der(&read_text(&cert_path)?)
        .map_err(|e| BootstrapError::Invalid { path: cert_path.clone(), reason: e.to_string() })?;
    Ok(SoftwareSigner::from_pem(&key_pem)
        .map_err(|e| BootstrapError::Invalid { path: key_path.clone(), reason: e.to_string() })?
        .with_key_id(format!("{}-issuer", tenant.id))
        .with_certificate_chain(chain))
}

/// The tenant's key in a PKCS#11 token, with the PIN from the environment variable the
/// configuration names and the certificate chain from its PEM file.
fn open_pkcs11(tenant: &TenantConfig, hsm: &Pkcs11KeyConfig) -> Result<Pkcs11Signer, BootstrapError> {
    let fail = |reason: String| BootstrapError::SigningKey { tenant: tenant.id.clone(), reason };
    let pin = Zeroizing::new(
        std::env::var(&hsm.pin_env)
            .map_err(|_| fail(format!("environment variable {} (pin_env) is not set", hsm.pin_env)))?,
    );
    let key = match (&hsm.key_label, &hsm.key_id) {
        (Some(label), _) => KeySelector::Label(label.clone()),
        (None, Some(id)) => KeySelector::Id(hex::decode(id).map_err(|_| fail("key_id is not hex".into()))?),
        (None, None) => return Err(fail("neither key_label nor key_id is set".into())),
    };
    let chain_text = read_text(&hsm.certificate_chain)?;
    let chain = pem_to_der(&chain_text).map_err(|e| BootstrapError::Invalid {
        path: hsm.certificate_chain.clone(),
        reason: e.to_string(),
    })?;
    let config = Pkcs11Config {
        max_sessions: usize::try_from(hsm.max_sessions).unwrap_or(1),
        ..Pkcs11Config::new(&hsm.module, &hsm.token_label, key, pin)
    };
    let signer = Pkcs11Signer::open(&config).map_err(|e| fail(e.to_string()))?;
    let signer = signer.with_certificate_chain(chain).map_err(|e| BootstrapError::Invalid {
        path: hsm.certificate_chain.clone(),
        reason: e.to_string(),
    })?;
    tracing::info!(tenant = %tenant.id, module = %hsm.module.display(), token = %hsm.token_label, "issuer key in a PKCS#11 token");
    Ok(signer.with_key_id(format!("{}-issuer", tenant.id)))
}

fn generate_tenant_pki(
    dir: &Path,
    tenant: &TenantConfig,
    issuer_id: &str,
    public_url: &str,
    now: UnixTime,
    rng: &mut impl CryptoRngCore,
) -> Result<(), BootstrapError> {
    let host = url::Url::parse(public_url).ok().and_then(|url| url.host_str().map(str::to_owned));
    let name = tenant.name.get("en").or_else(|| tenant.name.values().next()).cloned().unwrap_or_default();
    let options = DevPkiOptions {
        ca_common_name: format!("Segl Development CA ({})", tenant.id),
        issuer_common_name: if name.is_empty() { format!("Segl issuer {}", tenant.id) } else { name },
        country: tenant.issuing_country.clone().or(Some("DK".into())),
        dns_names: host.into_iter().collect(),
        uris: vec![issuer_id.to_owned()],
        mdoc_ds_eku: true,
        not_before: now - 86_400,
        not_after: now + DEV_CERT_DAYS * 86_400,
    };
    let pki = generate_dev_pki(&options, rng)
        .map_err(|e| BootstrapError::Invalid { path: dir.to_owned(), reason: e.to_string() })?;
    write_public(&dir.join("ca.pem"), pki.ca_pem.as_bytes())?;
    write_private(&dir.join("ca-key.pem"), pki.ca_key_pem.as_bytes())?;
    write_private(&dir.join("issuer-key.pem"), pki.issuer_key_pem.as_bytes())?;
    write_public(&dir.join("issuer.pem"), pki.issuer_pem.as_bytes())?;
    tracing::warn!(
        tenant = %tenant.id,
        ca = %dir.join("ca.pem").display(),
        "generated a DEVELOPMENT CA and issuer certificate; wallets and verifiers must trust ca.pem explicitly"
    );
    Ok(())
}

pub(crate) fn read_text(path: &Path) -> Result<String, BootstrapError> {
    std::fs::read_to_string(path).map_err(|source| BootstrapError::Io { path: path.to_owned(), source })
}

fn write_public(path: &Path, bytes: &[u8]) -> Result<(), BootstrapError> {
    std::fs::write(path, bytes).map_err(|source| BootstrapError::Io { path: path.to_owned(), source })
}

/// Writes a secret file readable by the owner only, refusing to overwrite one.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), BootstrapError> {
    let io = |source| BootstrapError::Io { path: path.to_owned(), source };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng as _;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("segl-bootstrap-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn generates_once_then_loads_the_same_keys() {
        let dir = temp_dir("keys");
        let config = Config { data_dir: dir.clone(), ..Config::default() };
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let first = tenants(&config, 1_800_000_000, &mut rng).unwrap();
        let second = tenants(&config, 1_800_000_100, &mut rng).unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].issuer_id, "http://127.0.0.1:8080/default");
        assert_eq!(first[0].signer.public_key(), second[0].signer.public_key());
        assert_eq!(first[0].offer_key.code_for("x"), second[0].offer_key.code_for("x"));
        assert_eq!(first[0].signer.certificate_chain().len(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode =
                std::fs::metadata(dir.join("tenants/default/issuer-key.pem")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // The chain validates to the stored CA.
        let mut anchors = segl_credential::x509::TrustAnchors::new();
        anchors.add_pem(&std::fs::read_to_string(dir.join("tenants/default/ca.pem")).unwrap()).unwrap();
        let validated = anchors.validate(first[0].signer.certificate_chain(), 1_800_000_000).unwrap();
        assert_eq!(validated.uris, vec!["http://127.0.0.1:8080/default".to_owned()]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn admin_token_from_env_or_generated_file() {
        let dir = temp_dir("admin");
        std::fs::create_dir_all(&dir).unwrap();
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2);
        let from_env = admin_token(&dir, Some("s3cret"), &mut rng).unwrap();
        assert!(from_env.hash.matches(&SecretHash::of("s3cret")));
        assert!(from_env.file.is_none());
        let generated = admin_token(&dir, None, &mut rng).unwrap();
        assert!(generated.generated);
        let again = admin_token(&dir, None, &mut rng).unwrap();
        assert!(!again.generated);
        assert!(again.hash.matches(&generated.hash));
        let token = std::fs::read_to_string(dir.join("admin-token")).unwrap();
        assert!(generated.hash.matches(&SecretHash::of(&token)));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rejects_a_damaged_offer_key_file() {
        let dir = temp_dir("damaged");
        let config = Config { data_dir: dir.clone(), ..Config::default() };
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        tenants(&config, 1_800_000_000, &mut rng).unwrap();
        std::fs::write(dir.join("tenants/default/offer-key"), "zz").unwrap();
        let error = tenants(&config, 1_800_000_000, &mut rng).unwrap_err();
        assert!(matches!(error, BootstrapError::Invalid { .. }), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
