//! `segl credential verify`: checks a credential and reports `{"valid", "format", "claims",
//! "errors"}`.

use segl_credential::clock::{Clock as _, SystemClock, UnixTime};
use segl_credential::keys::PublicKey;
use segl_credential::mdoc::{self, SessionTranscript, VerifyOptions};
use segl_credential::x509::{IssuerKeySource, TrustAnchors};
use serde_json::{Map, Value as Json};

use crate::credential::VerifyArgs;
use crate::input::{self, CredentialInput};
use crate::keys;

/// The one JSON object `verify` prints.
#[derive(Debug, serde::Serialize)]
pub struct Report {
    /// True only when every check passed.
    pub valid: bool,
    /// `dc+sd-jwt`, `sd-jwt` or `mso_mdoc` (`unknown` when the input was not recognised).
    pub format: &'static str,
    /// The verified claims: the processed payload (SD-JWT) or `{namespace: {element: value}}`
    /// (mdoc). Empty when verification failed.
    pub claims: Json,
    /// What failed, one entry per problem.
    pub errors: Vec<String>,
}

impl Report {
    fn failed(format: &'static str, error: String) -> Self {
        Report { valid: false, format, claims: Json::Object(Map::new()), errors: vec![error] }
    }
}

/// What the user told us to trust.
struct Trust {
    key: Option<PublicKey>,
    anchors: TrustAnchors,
}

impl Trust {
    fn load(args: &VerifyArgs) -> Result<Self, String> {
        let key =
            args.issuer_key.as_deref().map(keys::load_public_key).transpose().map_err(|e| e.to_string())?;
        let mut anchors = TrustAnchors::new();
        for path in &args.trust_anchors {
            let pem =
                std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            anchors.add_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        if key.is_none() && anchors.is_empty() {
            return Err("nothing to trust: pass --trust-anchor PEM or --issuer-key FILE".into());
        }
        Ok(Trust { key, anchors })
    }

    fn source(&self) -> IssuerKeySource<'_> {
        match &self.key {
            Some(key) => IssuerKeySource::Key(key),
            None => IssuerKeySource::Anchors(&self.anchors),
        }
    }
}

/// Verifies the credential named in `args`.
pub fn run(args: &VerifyArgs) -> Report {
    let input = match input::read(&args.file) {
        Ok(input) => input,
        Err(error) => return Report::failed("unknown", error.to_string()),
    };
    let format = match &input {
        CredentialInput::SdJwt(_) => "sd-jwt",
        CredentialInput::IssuerSigned(_) | CredentialInput::DeviceResponse(_) => "mso_mdoc",
    };
    let trust = match Trust::load(args) {
        Ok(trust) => trust,
        Err(error) => return Report::failed(format, error),
    };
    let now = args.now.unwrap_or_else(|| SystemClock.now());
    let outcome = match &input {
        CredentialInput::SdJwt(text) => return crate::sd_jwt::verify(text, &trust.source(), args, now),
        CredentialInput::IssuerSigned(bytes) => verify_issuer_signed(bytes, &trust, now),
        CredentialInput::DeviceResponse(bytes) => verify_device_response(bytes, &trust, args, now),
    };
    match outcome {
        Ok(claims) => Report { valid: true, format, claims, errors: Vec::new() },
        Err(error) => Report::failed(format, error),
    }
}

fn verify_issuer_signed(bytes: &[u8], trust: &Trust, now: UnixTime) -> Result<Json, String> {
    mdoc::verify_issuer_signed(bytes, trust.source(), &VerifyOptions::default(), now)
        .map(|document| document.namespaces_json())
        .map_err(|e| e.to_string())
}

fn verify_device_response(
    bytes: &[u8],
    trust: &Trust,
    args: &VerifyArgs,
    now: UnixTime,
) -> Result<Json, String> {
    let transcript_hex = args
        .session_transcript
        .as_deref()
        .ok_or("a DeviceResponse is bound to a session: pass --session-transcript HEX")?;
    let transcript_bytes =
        hex::decode(transcript_hex.trim()).map_err(|e| format!("--session-transcript is not hex: {e}"))?;
    let transcript = SessionTranscript::from_cbor(&transcript_bytes).map_err(|e| e.to_string())?;
    let documents =
        mdoc::verify_device_response(bytes, trust.source(), &transcript, &VerifyOptions::default(), now)
            .map_err(|e| e.to_string())?;
    // Documents of different types use different namespaces, so one map holds them all.
    let mut claims = Map::new();
    for document in documents {
        if let Json::Object(namespaces) = document.namespaces_json() {
            claims.extend(namespaces);
        }
    }
    Ok(Json::Object(claims))
}
