//! X.509 certificate chain parsing and path validation against a fixed anchor set must never
//! panic. Input: certificates each prefixed by a big-endian u16 length (leaf first); the whole
//! input is also tried as one DER certificate and as PEM text.
#![no_main]

use std::sync::LazyLock;

use segl_credential::x509::{TrustAnchors, pem_to_der};

static ANCHORS: LazyLock<TrustAnchors> = LazyLock::new(|| {
    let mut anchors = TrustAnchors::new();
    let _ = anchors.add_pem(include_str!("../../test-vectors/mdoc-real/animo-paradym_iaca_root.pem"));
    let _ = anchors.add_pem(include_str!("../../examples/dev-ca.pem"));
    anchors
});

const NOW: i64 = 1_750_000_000;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut chain = Vec::new();
    let mut rest = data;
    while let Some((&[high, low], tail)) = rest.split_first_chunk::<2>() {
        let len = usize::from(u16::from_be_bytes([high, low])).min(tail.len());
        let (cert, tail) = tail.split_at(len);
        chain.push(cert.to_vec());
        rest = tail;
    }
    let _ = ANCHORS.validate(&chain, NOW);
    let _ = ANCHORS.validate(&[data.to_vec()], NOW);
    let mut anchors = TrustAnchors::new();
    let _ = anchors.add_der(data);
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(ders) = pem_to_der(text)
    {
        let _ = ANCHORS.validate(&ders, NOW);
    }
});
