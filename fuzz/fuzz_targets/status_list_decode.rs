//! Status list token decoding must never panic or blow up memory: the JWT and CWT token paths on
//! raw input, and the list codec (JSON `lst`, CBOR `lst`, zlib inflate under a cap, index reads)
//! on hostile content.
#![no_main]

use std::sync::LazyLock;

use segl_credential::clock::FixedClock;
use segl_credential::keys::{Signer as _, SoftwareSigner};
use segl_credential::status_list::{CompressedStatusList, StatusListVerifier};
use segl_credential::x509::IssuerKeySource;

static SIGNER: LazyLock<Option<SoftwareSigner>> = LazyLock::new(|| SoftwareSigner::from_scalar(&[3; 32]).ok());
const CAP: usize = 1 << 20;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some(signer) = SIGNER.as_ref() else { return };
    let clock = FixedClock(1_800_000_000);
    let verifier = StatusListVerifier::new(IssuerKeySource::Key(signer.public_key()), &clock);
    let _ = verifier.verify_cwt(data, "https://example.com/statuslists/1");
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = verifier.verify_jwt(text, "https://example.com/statuslists/1");
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(text)
            && let Ok(compressed) = CompressedStatusList::from_json(&json)
        {
            read_all(&compressed);
        }
    }
    if let Some((&bits, lst)) = data.split_first() {
        let cbor = ciborium::Value::Map(vec![
            (ciborium::Value::Text("bits".into()), ciborium::Value::Integer(bits.into())),
            (ciborium::Value::Text("lst".into()), ciborium::Value::Bytes(lst.to_vec())),
        ]);
        if let Ok(compressed) = CompressedStatusList::from_cbor(&cbor) {
            read_all(&compressed);
        }
    }
});

fn read_all(compressed: &CompressedStatusList) {
    if let Ok(list) = compressed.decompress(CAP) {
        for index in [0, 1, list.len() / 2, list.len().saturating_sub(1), list.len(), u64::MAX] {
            let _ = list.get(index);
        }
    }
}
