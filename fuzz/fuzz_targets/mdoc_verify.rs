//! mdoc decoding and verification of an IssuerSigned or DeviceResponse from outside must never
//! panic, whatever the bytes (signatures will mostly fail; every structure before them is parsed).
#![no_main]

use std::sync::LazyLock;

use segl_credential::keys::{PublicKey, Signer as _, SoftwareSigner};
use segl_credential::mdoc::{self, SessionTranscript, VerifyOptions};
use segl_credential::x509::IssuerKeySource;

static KEY: LazyLock<Option<PublicKey>> =
    LazyLock::new(|| SoftwareSigner::from_scalar(&[7; 32]).ok().map(|signer| signer.public_key().clone()));
static TRANSCRIPT: LazyLock<SessionTranscript> =
    LazyLock::new(|| SessionTranscript::openid4vp("x509_san_dns:fuzz.example", "nonce", None, "https://fuzz.example"));

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some(key) = KEY.as_ref() else { return };
    let options = VerifyOptions { accept_tagged_cose: true, accept_embedded_device_payload: true, ..VerifyOptions::default() };
    let _ = mdoc::verify_issuer_signed(data, IssuerKeySource::Key(key), &options, 1_800_000_000);
    let _ = mdoc::verify_device_response(data, IssuerKeySource::Key(key), &TRANSCRIPT, &options, 1_800_000_000);
    let _ = SessionTranscript::from_cbor(data);
});
