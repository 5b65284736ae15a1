//! The verifier load: presentations verified per second by the verifier library
//! (`segl_verifier::response::verify_vp_token`), in process, on `threads` threads, for a PID
//! presented as an SD-JWT VC with a KB-JWT or as an mdoc DeviceResponse, each chained through
//! trust anchors to a development CA.
//!
//! Every check costs three ES256 verifications whatever the format (the issuer's signature, the
//! CA's signature on the issuer certificate, the holder's KB-JWT or device signature), so the
//! bare cost is three plain ES256 verifications, measured on one thread in the same run; the
//! ratio is that cost over the measured cost of one check per CPU second.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ciborium::Value as Cbor;
use segl_credential::clock::{Clock as _, FixedClock, SystemClock, UnixTime};
use segl_credential::jose::{KeyReference, base64url_encode};
use segl_credential::keys::{Algorithm, Signer as _, SoftwareSigner};
use segl_credential::mdoc::{
    IssuerSignedBuilder, Presentation, SessionTranscript, Validity, build_device_response,
};
use segl_credential::sd_jwt::{self, ClaimPath, DisclosurePolicy, IssueOptions, KeyBindingInput, VcClaims};
use segl_credential::x509::{DevPki, DevPkiOptions, TrustAnchors, generate_dev_pki};
use segl_verifier::request::{
    CredentialQueryBuilder, DcqlQueryBuilder, PID_DOCTYPE, PID_VCT, ValidatedDcqlQuery,
};
use segl_verifier::response::{PresentationBinding, VerifyContext, verify_vp_token};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::process;

const CLIENT_ID: &str = "x509_san_dns:shop.segl.example";
const RESPONSE_URI: &str = "https://shop.segl.example/response";
const NONCE: &str = "kq3Ygm7cVZ1rRrj0pS1yC5Y5l3UcXn8JxkZ2dQw4hVA";
/// ES256 verifications in one presentation check (issuer, certificate chain, holder).
pub const VERIFICATIONS_PER_CHECK: f64 = 3.0;

/// The presentation format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// `dc+sd-jwt` with a KB-JWT.
    SdJwtVc,
    /// `mso_mdoc` DeviceResponse over the OpenID4VP handover.
    MsoMdoc,
}

impl Format {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Format::SdJwtVc => "dc+sd-jwt",
            Format::MsoMdoc => "mso_mdoc",
        }
    }
}

/// One verifier run's settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// What is presented.
    pub format: Format,
    /// Verifying threads.
    pub threads: usize,
    /// How long they verify.
    pub duration: Duration,
    /// How long to measure the bare ES256 verification first.
    pub crypto_budget: Duration,
}

/// A verifier run's results.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The format presented.
    pub format: Format,
    /// PID claims disclosed in each presentation.
    pub disclosed_claims: usize,
    /// Bytes of one presentation.
    pub presentation_bytes: usize,
    /// Verifying threads.
    pub threads: usize,
    /// Wall-clock time, seconds.
    pub elapsed_seconds: f64,
    /// Presentations verified (every one accepted; a refusal fails the run).
    pub presentations: u64,
    /// Presentations per second of wall-clock time.
    pub presentations_per_second: f64,
    /// CPU seconds this process spent verifying.
    pub cpu_seconds: f64,
    /// Presentations per CPU second: throughput per fully used core.
    pub presentations_per_cpu_second: f64,
    /// Mean time of one bare ES256 verification (aws-lc-rs, message and key prepared), µs.
    pub bare_verify_us: f64,
    /// Three bare verifications: the cryptography one check cannot avoid, µs.
    pub bare_check_us: f64,
    /// One check per CPU second, µs (`1e6 / presentations_per_cpu_second`).
    pub check_us: f64,
    /// `bare_check_us / check_us`: the share of a check that is signature verification.
    pub of_bare_cost: f64,
}

/// Errors of a run.
#[derive(Debug, thiserror::Error)]
pub enum VerifyRunError {
    /// Building the fixture (keys, certificates, credentials) failed.
    #[error("setting up: {0}")]
    Setup(String),
    /// The verifier refused a presentation it must accept.
    #[error("the verifier refused the presentation: {0}")]
    Refused(String),
    /// `/proc` could not be read.
    #[error(transparent)]
    Process(#[from] process::ProcError),
}

fn setup<E: std::fmt::Display>(error: E) -> VerifyRunError {
    VerifyRunError::Setup(error.to_string())
}

/// What every verifying thread shares: the anchors, the query, the binding and the token.
struct Fixture {
    anchors: TrustAnchors,
    clock: FixedClock,
    query: ValidatedDcqlQuery,
    binding: PresentationBinding,
    vp_token: Value,
    presentation_bytes: usize,
    disclosed: usize,
}

impl Fixture {
    fn check(&self) -> Result<(), VerifyRunError> {
        let context = VerifyContext::new(&self.anchors, &self.clock);
        verify_vp_token(&self.vp_token, &self.query, &self.binding, &context)
            .map(|_| ())
            .map_err(|rejected| VerifyRunError::Refused(rejected.to_string()))
    }
}

/// The PID's claims a shop asks for (an age and identity check), by SD-JWT VC name and mdoc
/// element name.
const REQUESTED: [(&str, &str); 6] = [
    ("family_name", "family_name"),
    ("given_name", "given_name"),
    ("birthdate", "birth_date"),
    ("nationalities", "nationality"),
    ("place_of_birth", "place_of_birth"),
    ("address", "resident_address"),
];

fn pki(now: UnixTime) -> Result<DevPki, VerifyRunError> {
    let options = DevPkiOptions {
        ca_common_name: "Segl Bench CA".into(),
        issuer_common_name: "Segl Bench PID Provider".into(),
        country: Some("DK".into()),
        dns_names: vec!["issuer.segl.example".into()],
        uris: vec!["https://issuer.segl.example".into()],
        mdoc_ds_eku: true,
        not_before: now - 86_400,
        not_after: now + 365 * 86_400,
    };
    generate_dev_pki(&options, &mut rand::rngs::OsRng).map_err(setup)
}

/// The 15 PID claims of the SD-JWT VC (DIGEST §6.2 names), every one selectively disclosable.
fn sd_jwt_claims() -> Map<String, Value> {
    let claims = json!({
        "family_name": "Østergaard", "given_name": "Karen Marie", "birthdate": "1987-03-21",
        "place_of_birth": {"locality": "Aarhus", "country": "DK"}, "nationalities": ["DK"],
        "address": {"street_address": "Nørregade 12", "postal_code": "1165", "locality": "København K",
                    "country": "DK"},
        "sex": 2, "email": "karen.ostergaard@example.dk", "phone_number": "+4512345678",
        "issuing_authority": "Digitaliseringsstyrelsen", "issuing_country": "DK",
        "date_of_expiry": "2035-06-14", "date_of_issuance": "2025-06-15",
        "document_number": "DK-PID-000184275", "birth_family_name": "Hansen"
    });
    claims.as_object().cloned().unwrap_or_default()
}

fn sd_jwt_token(
    pki: &DevPki,
    holder: &SoftwareSigner,
    now: UnixTime,
) -> Result<(Value, usize), VerifyRunError> {
    let claims = sd_jwt_claims();
    let paths: Vec<ClaimPath> = claims.keys().map(|name| ClaimPath::keys([name.as_str()])).collect();
    let policy = DisclosurePolicy::new(paths).map_err(setup)?;
    let vc = VcClaims {
        iss: Some("https://issuer.segl.example"),
        vct: PID_VCT,
        iat: Some(now - 60),
        exp: Some(now + 86_400),
        holder_key: Some(holder.public_key()),
        ..VcClaims::default()
    };
    // As the issuer mints them: x5c header, two decoys per object.
    let options = IssueOptions { key_reference: KeyReference::X5c, decoys_per_object: 2 };
    let issued = sd_jwt::issue_vc(&vc, claims, &policy, &options, &pki.issuer_signer, &mut rand::rngs::OsRng)
        .map_err(setup)?;
    let selection: Vec<ClaimPath> = REQUESTED.iter().map(|(name, _)| ClaimPath::keys([*name])).collect();
    let input = KeyBindingInput { audience: CLIENT_ID, nonce: NONCE, issued_at: now - 2, signer: holder };
    let presentation = sd_jwt::present(&issued, &selection, Some(&input)).map_err(setup)?;
    let bytes = presentation.len();
    Ok((json!({ "pid": [presentation] }), bytes))
}

fn mdoc_token(
    pki: &DevPki,
    holder: &SoftwareSigner,
    now: UnixTime,
    transcript: &SessionTranscript,
) -> Result<(Value, usize), VerifyRunError> {
    let text = |s: &str| Cbor::Text(s.into());
    let date = |s: &str| segl_credential::mdoc::full_date(s).map_err(setup);
    let validity =
        Validity { signed: now - 60, valid_from: now - 60, valid_until: now + 86_400, expected_update: None };
    let place = Cbor::Map(vec![(text("country"), text("DK")), (text("locality"), text("Aarhus"))]);
    let ns = PID_DOCTYPE;
    let builder = IssuerSignedBuilder::new(ns, validity)
        .element(ns, "family_name", text("Østergaard"))
        .element(ns, "given_name", text("Karen Marie"))
        .element(ns, "birth_date", date("1987-03-21")?)
        .element(ns, "place_of_birth", place)
        .element(ns, "nationality", Cbor::Array(vec![text("DK")]))
        .element(ns, "resident_address", text("Nørregade 12, 1165 København K"))
        .element(ns, "resident_country", text("DK"))
        .element(ns, "sex", Cbor::from(2u64))
        .element(ns, "email_address", text("karen.ostergaard@example.dk"))
        .element(ns, "mobile_phone_number", text("+4512345678"))
        .element(ns, "issuing_authority", text("Digitaliseringsstyrelsen"))
        .element(ns, "issuing_country", text("DK"))
        .element(ns, "expiry_date", date("2035-06-14")?)
        .element(ns, "issuance_date", date("2025-06-15")?)
        .element(ns, "document_number", text("DK-PID-000184275"));
    let issuer_signed =
        builder.issue(holder.public_key(), &pki.issuer_signer, &mut rand::rngs::OsRng).map_err(setup)?;
    let disclose: Vec<(&str, &str)> = REQUESTED.iter().map(|(_, element)| (ns, *element)).collect();
    let presentation =
        Presentation { issuer_signed: &issuer_signed, disclose: &disclose, device_key: holder };
    let response = base64url_encode(build_device_response(&[presentation], transcript).map_err(setup)?);
    let bytes = response.len();
    Ok((json!({ "pid": [response] }), bytes))
}

fn query(format: Format) -> Result<ValidatedDcqlQuery, VerifyRunError> {
    let credential = match format {
        Format::SdJwtVc => {
            REQUESTED.iter().fold(CredentialQueryBuilder::sd_jwt("pid", [PID_VCT]), |query, (name, _)| {
                query.claim_path([*name])
            })
        }
        Format::MsoMdoc => {
            REQUESTED.iter().fold(CredentialQueryBuilder::mdoc("pid", PID_DOCTYPE), |query, (_, name)| {
                query.mdoc_claim(PID_DOCTYPE, name)
            })
        }
    };
    DcqlQueryBuilder::new().credential(credential).build().map_err(setup)
}

fn fixture(format: Format) -> Result<Fixture, VerifyRunError> {
    let now = SystemClock.now();
    let pki = pki(now)?;
    let mut anchors = TrustAnchors::new();
    anchors.add_der(&pki.ca_der).map_err(setup)?;
    let holder = SoftwareSigner::generate(&mut rand::rngs::OsRng).map_err(setup)?;
    let binding = PresentationBinding::redirect(CLIENT_ID, NONCE, None, RESPONSE_URI);
    let (vp_token, presentation_bytes) = match format {
        Format::SdJwtVc => sd_jwt_token(&pki, &holder, now)?,
        Format::MsoMdoc => {
            let transcript =
                binding.session_transcripts.first().cloned().ok_or_else(|| setup("no transcript"))?;
            mdoc_token(&pki, &holder, now, &transcript)?
        }
    };
    let fixture = Fixture {
        anchors,
        clock: FixedClock(now),
        query: query(format)?,
        binding,
        vp_token,
        presentation_bytes,
        disclosed: REQUESTED.len(),
    };
    // Setup check: the verifier accepts it.
    fixture.check()?;
    Ok(fixture)
}

/// One bare ES256 verification (aws-lc-rs through segl-credential's `PublicKey::verify`, the key
/// and a presentation-sized message prepared), µs of this thread's CPU time, measured for about
/// `budget`.
pub fn bare_verify_us(budget: Duration) -> Result<f64, VerifyRunError> {
    let signer = SoftwareSigner::generate(&mut rand::rngs::OsRng).map_err(setup)?;
    let message = vec![0x5a_u8; 1024];
    let signature = signer.sign(&message).map_err(setup)?;
    let key = signer.public_key().clone();
    let clock = crate::crypto::CpuClock::start();
    let mut count = 0u64;
    while count < 50 || clock.wall() < budget {
        key.verify(Algorithm::Es256, &message, &signature).map_err(setup)?;
        count += 1;
    }
    Ok(clock.seconds() * 1e6 / count as f64)
}

/// Runs the verifier load: the bare cost first, then `threads` threads verifying the same
/// presentation (a fresh context each time, as a verifier serving requests would) until the
/// time is up. Blocking: call it from a plain thread.
pub fn run(options: &Options) -> Result<Report, VerifyRunError> {
    if options.threads == 0 {
        return Err(VerifyRunError::Setup("--threads must be at least 1".into()));
    }
    let fixture = Arc::new(fixture(options.format)?);
    let bare_verify_us = bare_verify_us(options.crypto_budget)?;
    let ticks = process::ticks_per_second();
    let before = process::snapshot(None, ticks)?;
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers: Vec<_> = (0..options.threads)
        .map(|_| {
            let (fixture, stop) = (Arc::clone(&fixture), Arc::clone(&stop));
            std::thread::spawn(move || -> Result<u64, VerifyRunError> {
                let mut done = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    fixture.check()?;
                    done += 1;
                }
                Ok(done)
            })
        })
        .collect();
    std::thread::sleep(options.duration);
    stop.store(true, Ordering::Relaxed);
    let mut presentations = 0u64;
    for worker in workers {
        presentations += worker.join().map_err(|_| setup("a verifying thread panicked"))??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_seconds = process::snapshot(None, ticks)?.cpu_seconds - before.cpu_seconds;
    let per_cpu_second = if cpu_seconds > 0.0 { presentations as f64 / cpu_seconds } else { 0.0 };
    let check_us = if per_cpu_second > 0.0 { 1e6 / per_cpu_second } else { f64::INFINITY };
    let bare_check_us = VERIFICATIONS_PER_CHECK * bare_verify_us;
    Ok(Report {
        format: options.format,
        disclosed_claims: fixture.disclosed,
        presentation_bytes: fixture.presentation_bytes,
        threads: options.threads,
        elapsed_seconds: elapsed,
        presentations,
        presentations_per_second: presentations as f64 / elapsed,
        cpu_seconds,
        presentations_per_cpu_second: per_cpu_second,
        bare_verify_us,
        bare_check_us,
        check_us,
        of_bare_cost: bare_check_us / check_us,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn both_formats_verify_and_report_a_ratio() {
        for format in [Format::SdJwtVc, Format::MsoMdoc] {
            let options = Options {
                format,
                threads: 1,
                duration: Duration::from_millis(200),
                crypto_budget: Duration::from_millis(20),
            };
            let report = run(&options).unwrap();
            assert!(report.presentations > 0, "{report:?}");
            assert_eq!(report.disclosed_claims, 6);
            assert!(report.bare_check_us > 0.0 && report.of_bare_cost > 0.0, "{report:?}");
        }
    }

    #[test]
    fn rejects_zero_threads() {
        let options = Options {
            format: Format::SdJwtVc,
            threads: 0,
            duration: Duration::ZERO,
            crypto_budget: Duration::ZERO,
        };
        assert!(
            matches!(run(&options), Err(VerifyRunError::Setup(message)) if message.contains("--threads"))
        );
    }
}
