//! Publishing: from the operator's TOML to `lote.json`, `lote.jws` and `trusted-list.xml` in
//! one directory.
//!
//! Sequence numbers: every publication is a new release and gets the previous release's
//! number plus one (TS 119 612 §5.3.2: "incremented at each subsequent release"), read from the
//! `lote.json` already in the directory; a fresh directory starts at 1. Relying parties refuse
//! a lower number than one they accepted before ([`crate::lote::LoteVerifier::verify`]).

use std::path::{Path, PathBuf};

use segl_credential::clock::Clock;
use segl_credential::keys::Signer;

use crate::TrustListError;
use crate::config::TrustListConfig;
use crate::lote::{self, LoteDocument};
use crate::model::{Release, TrustList};
use crate::tsl;

/// The unsigned LoTE JSON (the JWS payload, for reading and schema validation).
pub const LOTE_JSON: &str = "lote.json";
/// The signed LoTE, compact JWS.
pub const LOTE_JWS: &str = "lote.jws";
/// The signed TS 119 612 trusted list.
pub const TRUSTED_LIST_XML: &str = "trusted-list.xml";

/// The documents of one release, in memory.
#[derive(Debug, Clone)]
pub struct Published {
    /// The release (sequence number and dates).
    pub release: Release,
    /// The LoTE JSON bytes (exactly the JWS payload).
    pub lote_json: Vec<u8>,
    /// The compact JWS.
    pub lote_jws: String,
    /// The signed XML trusted list.
    pub trusted_list_xml: String,
}

/// Builds and signs both documents of `list` for `release`.
pub fn render(list: &TrustList, release: &Release, signer: &dyn Signer) -> Result<Published, TrustListError> {
    let lote_json = lote::to_json(&lote::build(list, release)?)?;
    let lote_jws = lote::sign(&lote_json, signer, release.issued)?;
    let trusted_list_xml = tsl::build_signed(list, release, signer, release.issued)?;
    Ok(Published { release: *release, lote_json, lote_jws, trusted_list_xml })
}

/// The sequence number of the release in `dir` (from its `lote.json`), if there is one.
pub fn previous_sequence(dir: &Path) -> Result<Option<u64>, TrustListError> {
    let path = dir.join(LOTE_JSON);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(TrustListError::Io { path, source: e }),
    };
    let document: LoteDocument = serde_json::from_slice(&bytes)
        .map_err(|e| TrustListError::malformed(path.display().to_string(), e.to_string()))?;
    Ok(Some(document.lote.list_and_scheme_information.sequence_number))
}

/// Publishes the list described by the TOML file `config_path` into `out_dir` (created if
/// missing), signed by `signer` (the operator's key with its certificate chain), at the
/// clock's time. Returns what was written.
pub fn publish(
    config_path: &Path,
    out_dir: &Path,
    signer: &dyn Signer,
    clock: &dyn Clock,
) -> Result<Published, TrustListError> {
    let config = TrustListConfig::load(config_path)?;
    let base_dir = config_path.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    let now = clock.now();
    let list = config.to_trust_list(&base_dir, now)?;
    let sequence_number = previous_sequence(out_dir)?.map_or(1, |previous| previous.saturating_add(1));
    let release = Release { sequence_number, issued: now, next_update: config.next_update(now) };
    let published = render(&list, &release, signer)?;
    std::fs::create_dir_all(out_dir).map_err(TrustListError::io(out_dir))?;
    write(&out_dir.join(LOTE_JSON), &published.lote_json)?;
    write(&out_dir.join(LOTE_JWS), published.lote_jws.as_bytes())?;
    write(&out_dir.join(TRUSTED_LIST_XML), published.trusted_list_xml.as_bytes())?;
    Ok(published)
}

/// Loads the operator's signer from the `[operator]` key and certificate files of the TOML.
/// The certificate must be valid at `now` (with digitalSignature) and certify that key.
pub fn operator_signer(
    config: &TrustListConfig,
    base_dir: &Path,
    now: segl_credential::clock::UnixTime,
) -> Result<segl_credential::keys::SoftwareSigner, TrustListError> {
    let key_path = base_dir.join(&config.operator.key);
    let cert_path = base_dir.join(&config.operator.certificate);
    let key_pem = std::fs::read_to_string(&key_path).map_err(TrustListError::io(&key_path))?;
    let cert_pem = std::fs::read_to_string(&cert_path).map_err(TrustListError::io(&cert_path))?;
    let chain = segl_credential::x509::pem_to_der(&cert_pem)
        .map_err(|e| TrustListError::Operator(format!("{}: {e}", cert_path.display())))?;
    let signer = segl_credential::keys::SoftwareSigner::from_pem(&key_pem)
        .map_err(|e| TrustListError::Operator(format!("{}: {e}", key_path.display())))?;
    // The key must be the one the certificate certifies, or every list would fail to verify.
    let leaf = chain
        .first()
        .ok_or_else(|| TrustListError::Operator(format!("{}: no certificate", cert_path.display())))?;
    let mut pinned = segl_credential::x509::TrustAnchors::new();
    pinned.add_der(leaf).map_err(|e| TrustListError::Operator(e.to_string()))?;
    let certified = pinned
        .validate(std::slice::from_ref(leaf), now)
        .map_err(|e| TrustListError::Operator(format!("{}: {e}", cert_path.display())))?;
    if &certified.leaf_key != signer.public_key() {
        return Err(TrustListError::Operator(format!(
            "{} does not hold the key of {}",
            key_path.display(),
            cert_path.display()
        )));
    }
    Ok(signer.with_certificate_chain(chain))
}

/// Writes through a temporary file and a rename, so a reader never sees half a list.
fn write(path: &Path, bytes: &[u8]) -> Result<(), TrustListError> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, bytes).map_err(TrustListError::io(&temporary))?;
    std::fs::rename(&temporary, path).map_err(TrustListError::io(path))
}
