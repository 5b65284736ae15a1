//! Loads the issuer key a user passes with `--issuer-key`: a JWK, a PEM public key, or a PEM
//! certificate whose key is taken.

use std::path::Path;

use segl_credential::keys::PublicKey;

/// Why the key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path given.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The contents are not a usable public key.
    #[error("{path}: {reason}")]
    Invalid {
        /// The path given.
        path: String,
        /// What was wrong.
        reason: String,
    },
}

/// Reads a public key from a JWK (JSON), a `PUBLIC KEY` PEM or a `CERTIFICATE` PEM.
pub fn load_public_key(path: &Path) -> Result<PublicKey, KeyFileError> {
    let shown = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|source| KeyFileError::Io { path: shown.clone(), source })?;
    let invalid = |reason: String| KeyFileError::Invalid { path: shown.clone(), reason };
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        let jwk: serde_json::Value =
            serde_json::from_str(trimmed).map_err(|e| invalid(format!("not JSON: {e}")))?;
        let mut public = jwk.clone();
        if let Some(object) = public.as_object_mut() {
            // A private JWK is fine as input here: the user owns it; only its public half is used.
            object.remove("d");
        }
        return PublicKey::from_jwk(&public).map_err(|e| invalid(e.to_string()));
    }
    let (label, der) =
        der::pem::decode_vec(trimmed.as_bytes()).map_err(|e| invalid(format!("not PEM: {e}")))?;
    match label {
        "PUBLIC KEY" => PublicKey::from_spki_der(&der).map_err(|e| invalid(e.to_string())),
        "CERTIFICATE" => {
            use der::{Decode as _, Encode as _};
            let certificate =
                x509_cert::Certificate::from_der(&der).map_err(|e| invalid(format!("certificate: {e}")))?;
            let spki = certificate
                .tbs_certificate
                .subject_public_key_info
                .to_der()
                .map_err(|e| invalid(format!("certificate key: {e}")))?;
            PublicKey::from_spki_der(&spki).map_err(|e| invalid(e.to_string()))
        }
        other => Err(invalid(format!("unexpected PEM label {other}"))),
    }
}
