//! The structures behind the issuer signature: the fuzzer's bytes become the MSO and the
//! IssuerSignedItems of an IssuerSigned that is correctly signed, so MSO decoding, digest and
//! validity checks run on hostile content. Must never panic.
#![no_main]

use std::sync::LazyLock;

use ciborium::Value;
use segl_credential::keys::{Signer as _, SoftwareSigner};
use segl_credential::mdoc::{self, VerifyOptions};
use segl_credential::x509::IssuerKeySource;
use segl_credential::{cbor, cose};

static SIGNER: LazyLock<Option<SoftwareSigner>> =
    LazyLock::new(|| SoftwareSigner::from_scalar(&[9; 32]).ok().map(|s| s.with_certificate_chain(vec![vec![0x30, 0x00]])));

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some(signer) = SIGNER.as_ref() else { return };
    // Layout: u16 MSO length, the MSO bytes, then items each prefixed by a one-byte length.
    let Some((&[high, low], rest)) = data.split_first_chunk::<2>() else { return };
    let mso_len = usize::from(u16::from_be_bytes([high, low]));
    let Some((mso, mut rest)) = (mso_len <= rest.len()).then(|| rest.split_at(mso_len)) else { return };
    let mut items = Vec::new();
    while let Some((&len, tail)) = rest.split_first() {
        let len = usize::from(len).min(tail.len());
        let (item, tail) = tail.split_at(len);
        items.push(Value::Tag(24, Box::new(Value::Bytes(item.to_vec()))));
        rest = tail;
    }
    let Ok(payload) = cbor::encode(&Value::Tag(24, Box::new(Value::Bytes(mso.to_vec())))) else { return };
    let header = cose::x5chain_header(signer.certificate_chain());
    let Ok(sign1) = cose::sign1(Default::default(), header, payload, signer) else { return };
    let Ok(issuer_auth) = coset::AsCborValue::to_cbor_value(sign1) else { return };
    let issuer_signed = Value::Map(vec![
        (Value::Text("nameSpaces".into()), Value::Map(vec![(Value::Text("eu.europa.ec.av.1".into()), Value::Array(items))])),
        (Value::Text("issuerAuth".into()), issuer_auth),
    ]);
    let Ok(bytes) = cbor::encode(&issuer_signed) else { return };
    let _ = mdoc::verify_issuer_signed(&bytes, IssuerKeySource::Key(signer.public_key()), &VerifyOptions::default(), 1_800_000_000);
});
