//! SD-JWT parsing and verification must never panic. The fuzzer's text is used twice: verified
//! as a whole (signature checks fail early on hostile input), and with its first `~` component
//! taken as the JWT *payload* of a correctly signed issuer JWT, so disclosure processing, digest
//! matching, time and KB-JWT checks all run on hostile content.
#![no_main]

use std::sync::LazyLock;

use segl_credential::clock::FixedClock;
use segl_credential::jose::{self, KeyReference};
use segl_credential::keys::{Signer as _, SoftwareSigner};
use segl_credential::sd_jwt::{self, ExpectedTyp, KeyBindingPolicy, VerifyOptions};
use segl_credential::x509::IssuerKeySource;

static SIGNER: LazyLock<Option<SoftwareSigner>> = LazyLock::new(|| SoftwareSigner::from_scalar(&[5; 32]).ok());

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some(signer) = SIGNER.as_ref() else { return };
    let Ok(text) = std::str::from_utf8(data) else { return };
    let clock = FixedClock(1_800_000_000);
    let options = VerifyOptions {
        issuer_key: IssuerKeySource::Key(signer.public_key()),
        clock: &clock,
        skew: 60,
        typ: ExpectedTyp::Any,
        key_binding: KeyBindingPolicy::IfPresent { audience: Some("aud"), nonce: Some("n"), max_age: 300 },
    };
    let _ = sd_jwt::verify(text, &options);
    let _ = sd_jwt::SdJwt::parse(text);

    let (payload, rest) = text.split_once('~').unwrap_or((text, ""));
    let Ok(header) = jose::header("dc+sd-jwt", signer, KeyReference::None) else { return };
    let Ok(jwt) = jose::sign_compact(header, payload.as_bytes(), signer) else { return };
    let _ = sd_jwt::verify(&format!("{jwt}~{rest}"), &options);
});
