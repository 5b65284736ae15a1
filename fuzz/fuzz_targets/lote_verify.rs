//! A List of Trusted Entities (ETSI TS 119 602, JWS) fetched from an operator is outside input:
//! `LoteVerifier::verify` must never panic. The fuzzer's text is verified as a whole JWS, and its
//! bytes also become the payload of a LoTE correctly signed by an operator certificate under the
//! anchor, so the document, date, sequence and entity checks run on hostile content; an accepted
//! list's per-service anchor lookup is exercised too.
#![no_main]

use std::sync::LazyLock;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use segl_credential::keys::SoftwareSigner;
use segl_credential::x509::{DevPkiOptions, TrustAnchors, generate_dev_pki};
use segl_trust_list::lote::{self, LoteVerifier};

const NOW: i64 = 1_800_000_000;

static OPERATOR: LazyLock<Option<(SoftwareSigner, LoteVerifier)>> = LazyLock::new(|| {
    let options = DevPkiOptions {
        ca_common_name: "Fuzz Scheme Operator CA".into(),
        issuer_common_name: "Fuzz Scheme Operator".into(),
        country: Some("DK".into()),
        dns_names: vec![],
        uris: vec![],
        mdoc_ds_eku: false,
        not_before: NOW - 86_400,
        not_after: NOW + 86_400,
    };
    let pki = generate_dev_pki(&options, &mut ChaCha20Rng::seed_from_u64(4)).ok()?;
    let mut anchors = TrustAnchors::new();
    anchors.add_der(&pki.ca_der).ok()?;
    Some((pki.issuer_signer, LoteVerifier::new(anchors)))
});

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((signer, verifier)) = OPERATOR.as_ref() else { return };
    let signed = lote::sign(data, signer, NOW - 60).ok();
    let text = std::str::from_utf8(data).ok();
    for jws in [text, signed.as_deref()].into_iter().flatten() {
        for previous in [None, Some(1)] {
            if let Ok(accepted) = verifier.verify(jws, NOW, previous) {
                let _ = accepted.anchors_for("http://uri.etsi.org/19602/SvcType/PID/Issuance");
            }
        }
    }
});
