//! Reads a credential from a file or standard input and tells which format it is in.

use std::io::Read as _;
use std::path::Path;

use base64::Engine as _;

/// The largest credential file the CLI reads (16 MiB); real credentials are a few kilobytes.
const MAX_INPUT: u64 = 16 << 20;

/// A credential as read from the user, classified by its encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialInput {
    /// An SD-JWT in compact form (`<jwt>~<disclosures>~[<kb-jwt>]`).
    SdJwt(String),
    /// An mdoc `IssuerSigned` structure as CBOR bytes.
    IssuerSigned(Vec<u8>),
    /// An mdoc `DeviceResponse` as CBOR bytes.
    DeviceResponse(Vec<u8>),
}

/// Why the input could not be read or recognised.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file or standard input could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path given (`-` for standard input).
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The input is larger than the CLI accepts.
    #[error("input is larger than {MAX_INPUT} bytes")]
    TooLarge,
    /// Neither an SD-JWT nor mdoc CBOR in binary, hex or base64url form.
    #[error("not a recognised credential: {0}")]
    Unrecognised(String),
}

/// Reads `path` (or standard input for `-`) and classifies it.
pub fn read(path: &str) -> Result<CredentialInput, InputError> {
    let io = |source| InputError::Io { path: path.to_owned(), source };
    let mut bytes = Vec::new();
    if path == "-" {
        std::io::stdin().take(MAX_INPUT + 1).read_to_end(&mut bytes).map_err(io)?;
    } else {
        std::fs::File::open(Path::new(path))
            .map_err(io)?
            .take(MAX_INPUT + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
    }
    if bytes.len() as u64 > MAX_INPUT {
        return Err(InputError::TooLarge);
    }
    classify(bytes)
}

/// Decides the format: compact SD-JWT text, or mdoc CBOR given as binary, hex or base64url.
pub fn classify(bytes: Vec<u8>) -> Result<CredentialInput, InputError> {
    let cbor = match std::str::from_utf8(&bytes) {
        Ok(text) => {
            let text = text.trim();
            if text.starts_with("ey") && text.contains('~') {
                return Ok(CredentialInput::SdJwt(text.to_owned()));
            }
            if text.len() % 2 == 0 && !text.is_empty() && text.bytes().all(|b| b.is_ascii_hexdigit()) {
                hex::decode(text).map_err(|e| InputError::Unrecognised(format!("hex: {e}")))?
            } else if !text.is_empty()
                && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
            {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(text.trim_end_matches('='))
                    .map_err(|e| InputError::Unrecognised(format!("base64url: {e}")))?
            } else {
                bytes
            }
        }
        Err(_) => bytes,
    };
    classify_cbor(cbor)
}

fn classify_cbor(cbor: Vec<u8>) -> Result<CredentialInput, InputError> {
    let value = segl_credential::cbor::decode(&cbor)
        .map_err(|e| InputError::Unrecognised(format!("neither an SD-JWT nor CBOR ({e})")))?;
    let has_key = |name: &str| {
        value.as_map().is_some_and(|entries| entries.iter().any(|(key, _)| key.as_text() == Some(name)))
    };
    if has_key("issuerAuth") {
        Ok(CredentialInput::IssuerSigned(cbor))
    } else if has_key("documents") || (has_key("version") && has_key("status")) {
        Ok(CredentialInput::DeviceResponse(cbor))
    } else {
        Err(InputError::Unrecognised("CBOR map is neither an IssuerSigned nor a DeviceResponse".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_sd_jwt_text() {
        let input = classify(b"eyJhbGciOiJFUzI1NiJ9.e30.AA~WyJ4Il0~\n".to_vec()).unwrap();
        assert_eq!(input, CredentialInput::SdJwt("eyJhbGciOiJFUzI1NiJ9.e30.AA~WyJ4Il0~".into()));
    }

    #[test]
    fn recognises_cbor_in_three_encodings() {
        // {"version": "1.0", "status": 0}
        let cbor = hex::decode("a26776657273696f6e63312e3066737461747573 00".replace(' ', "")).unwrap();
        let expected = CredentialInput::DeviceResponse(cbor.clone());
        assert_eq!(classify(cbor.clone()).unwrap(), expected);
        assert_eq!(classify(hex::encode(&cbor).into_bytes()).unwrap(), expected);
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&cbor);
        assert_eq!(classify(b64.into_bytes()).unwrap(), expected);
    }

    #[test]
    fn refuses_other_input() {
        assert!(classify(b"hello world".to_vec()).is_err());
        assert!(classify(vec![0xa1, 0x01, 0x02]).is_err());
        assert!(classify(Vec::new()).is_err());
    }
}
