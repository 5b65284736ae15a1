//! First start and every start after: the data directory holds the verifier's development
//! access certificate (for `x509_san_dns:<host>` of the public URL) with its key, and the API
//! token of the shop's backend. Generated when missing, loaded when present; private files are
//! written owner-only (0600) and never overwritten.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand_core::CryptoRngCore;
use segl_credential::clock::UnixTime;
use segl_credential::jose::base64url_encode;
use segl_credential::keys::SoftwareSigner;
use segl_credential::x509::{DevPkiOptions, generate_dev_pki, pem_to_der};
use segl_verifier::flow::VerifierIdentity;
use segl_verifier::request::ClientId;
use zeroize::Zeroizing;

/// How long generated development certificates are valid.
const DEV_CERT_DAYS: i64 = 3 * 365;
/// The access certificate file (PEM, leaf).
pub const ACCESS_CERT_FILE: &str = "access-certificate.pem";
/// The access certificate's private key (PKCS#8 PEM, 0600).
pub const ACCESS_KEY_FILE: &str = "access-key.pem";
/// The development CA that signed the access certificate (what a test wallet trusts).
pub const ACCESS_CA_FILE: &str = "access-ca.pem";
/// The API token file (0600).
pub const API_TOKEN_FILE: &str = "api-token";

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
    /// A stored key or certificate is unusable.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// The verifier's signing identity for `public_url`: `x509_san_dns:<host>` with the access
/// certificate in `data_dir`, generated (with a development CA) at first start.
pub fn access_identity(
    data_dir: &Path,
    public_url: &str,
    now: UnixTime,
    rng: &mut impl CryptoRngCore,
) -> Result<VerifierIdentity, BootstrapError> {
    let invalid = |path: &Path, reason: String| BootstrapError::Invalid { path: path.to_owned(), reason };
    let host = url::Url::parse(public_url)
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
        .ok_or_else(|| invalid(data_dir, format!("public URL {public_url:?} has no host")))?;
    create_dir(data_dir)?;
    let cert_path = data_dir.join(ACCESS_CERT_FILE);
    let key_path = data_dir.join(ACCESS_KEY_FILE);
    if !cert_path.exists() || !key_path.exists() {
        let options = DevPkiOptions {
            ca_common_name: "Segl Verifier Development CA".into(),
            issuer_common_name: format!("Segl verifier {host}"),
            country: Some("DK".into()),
            dns_names: vec![host.clone()],
            uris: vec![],
            mdoc_ds_eku: false,
            not_before: now - 86_400,
            not_after: now + DEV_CERT_DAYS * 86_400,
        };
        let pki = generate_dev_pki(&options, rng).map_err(|e| invalid(data_dir, e.to_string()))?;
        write_public(&data_dir.join(ACCESS_CA_FILE), pki.ca_pem.as_bytes())?;
        write_private(&key_path, pki.issuer_key_pem.as_bytes())?;
        write_public(&cert_path, pki.issuer_pem.as_bytes())?;
        tracing::warn!(
            host = %host,
            ca = %data_dir.join(ACCESS_CA_FILE).display(),
            "generated a DEVELOPMENT access certificate; wallets must trust its CA explicitly"
        );
    }
    let key_pem = Zeroizing::new(read_text(&key_path)?);
    let chain = pem_to_der(&read_text(&cert_path)?).map_err(|e| invalid(&cert_path, e.to_string()))?;
    let client_id = ClientId::x509_san_dns(&chain, &host).map_err(|e| invalid(&cert_path, e.to_string()))?;
    let signer = SoftwareSigner::from_pem(&key_pem)
        .map_err(|e| invalid(&key_path, e.to_string()))?
        .with_key_id("verifier-access")
        .with_certificate_chain(chain);
    VerifierIdentity::signed(client_id, Arc::new(signer)).map_err(|e| invalid(&cert_path, e.to_string()))
}

/// The API token and where it came from.
pub struct LoadedToken {
    /// The token.
    pub token: Zeroizing<String>,
    /// The file it was read from or generated into; `None` when it came from the environment.
    pub file: Option<PathBuf>,
    /// True when this start generated it (the caller prints it once).
    pub generated: bool,
}

impl std::fmt::Debug for LoadedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedToken").field("file", &self.file).field("generated", &self.generated).finish()
    }
}

/// The API token: `from_env` (`SEGL_VERIFIER_API_TOKEN`) when set, else `data_dir/api-token`,
/// generated there (256 random bits, base64url) at first start.
pub fn api_token(
    data_dir: &Path,
    from_env: Option<&str>,
    rng: &mut impl CryptoRngCore,
) -> Result<LoadedToken, BootstrapError> {
    if let Some(token) = from_env.map(str::trim).filter(|token| !token.is_empty()) {
        return Ok(LoadedToken { token: Zeroizing::new(token.to_owned()), file: None, generated: false });
    }
    create_dir(data_dir)?;
    let path = data_dir.join(API_TOKEN_FILE);
    if path.exists() {
        let token = Zeroizing::new(read_text(&path)?.trim().to_owned());
        if token.is_empty() {
            return Err(BootstrapError::Invalid { path, reason: "empty API token file".into() });
        }
        return Ok(LoadedToken { token, file: Some(path), generated: false });
    }
    let mut bytes = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(bytes.as_mut_slice());
    let token = Zeroizing::new(base64url_encode(bytes.as_slice()));
    write_private(&path, token.as_bytes())?;
    Ok(LoadedToken { token, file: Some(path), generated: true })
}

fn create_dir(dir: &Path) -> Result<(), BootstrapError> {
    std::fs::create_dir_all(dir).map_err(|source| BootstrapError::Io { path: dir.to_owned(), source })
}

fn read_text(path: &Path) -> Result<String, BootstrapError> {
    std::fs::read_to_string(path).map_err(|source| BootstrapError::Io { path: path.to_owned(), source })
}

fn write_public(path: &Path, bytes: &[u8]) -> Result<(), BootstrapError> {
    std::fs::write(path, bytes).map_err(|source| BootstrapError::Io { path: path.to_owned(), source })
}

/// Writes a secret file readable by the owner only, refusing to overwrite one.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), BootstrapError> {
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
    #![allow(clippy::unwrap_used)]
    use super::*;
    use rand::SeedableRng as _;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("segl-verifier-bootstrap-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn generates_once_then_loads_the_same_identity_and_token() {
        let dir = temp_dir("once");
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let now = 1_800_000_000;
        let first = access_identity(&dir, "https://verifier.example:8443/", now, &mut rng).unwrap();
        let again = access_identity(&dir, "https://verifier.example:8443/", now, &mut rng).unwrap();
        assert_eq!(first.client_id().unwrap().to_string(), "x509_san_dns:verifier.example");
        assert_eq!(format!("{first:?}"), format!("{again:?}"));
        let token = api_token(&dir, None, &mut rng).unwrap();
        assert!(token.generated);
        let loaded = api_token(&dir, None, &mut rng).unwrap();
        assert!(!loaded.generated);
        assert_eq!(*token.token, *loaded.token);
        let from_env = api_token(&dir, Some(" env-token "), &mut rng).unwrap();
        assert_eq!(from_env.token.as_str(), "env-token");
        #[cfg(unix)]
        for file in [ACCESS_KEY_FILE, API_TOKEN_FILE] {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.join(file)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
