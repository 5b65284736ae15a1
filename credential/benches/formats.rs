//! Issue and verify costs of Segl's credential formats beside the bare ES256 signature they
//! need, so the README can state each format's overhead as a ratio of the signature cost.
//!
//! Every benchmarked operation is run once in setup and its result checked (the issued
//! credential verifies, the verified claims are the ones issued, the signed list reads back),
//! so a broken format cannot report a fast wrong result. Results: `docs/benchmarks.md`.

// A benchmark is not an input path: a failure here should stop the run loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use ciborium::Value as Cbor;
use criterion::{Criterion, criterion_group, criterion_main};
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha20Rng;
use segl_credential::clock::{FixedClock, UnixTime};
use segl_credential::jose::KeyReference;
use segl_credential::keys::{Algorithm, Signer as _, SoftwareSigner};
use segl_credential::mdoc::{
    self, IssuerSignedBuilder, Presentation, SessionTranscript, Validity, build_device_response, full_date,
    tdate, verify_device_response, verify_issuer_signed,
};
use segl_credential::sd_jwt::{
    self, ClaimPath, DisclosurePolicy, ExpectedTyp, IssueOptions, KeyBindingInput, KeyBindingPolicy,
    VcClaims, issue_vc, present,
};
use segl_credential::status_list::{
    Bits, Status, StatusClaim, StatusList, StatusListTokenClaims, StatusListVerifier, StatusReference,
    sign_jwt,
};
use segl_credential::x509::{DevPki, DevPkiOptions, IssuerKeySource, TrustAnchors, generate_dev_pki};
use serde_json::{Map, Value, json};

/// Issuance time of every credential (2025-06-15), and the verification time a day later.
const NOW: UnixTime = 1_750_000_000;
const DAY: i64 = 86_400;
const VERIFY_AT: UnixTime = NOW + DAY;
const STATUS_URI: &str = "https://issuer.segl.example/status/1";
const AUDIENCE: &str = "x509_san_dns:verifier.segl.example";
const NONCE: &str = "n-0S6_WzA2Mj";
const PID_NS: &str = "eu.europa.ec.eudi.pid.1";
const AV_NS: &str = "eu.europa.ec.av.1";

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// The development CA and an issuer certificate (with the mdoc DS EKU) valid around [`NOW`].
fn dev_pki() -> DevPki {
    let options = DevPkiOptions {
        ca_common_name: "Segl Bench CA".into(),
        issuer_common_name: "Segl Bench Issuer".into(),
        country: Some("DK".into()),
        dns_names: vec!["issuer.segl.example".into()],
        uris: vec!["https://issuer.segl.example".into()],
        mdoc_ds_eku: true,
        not_before: NOW - 30 * DAY,
        not_after: NOW + 365 * DAY,
    };
    generate_dev_pki(&options, &mut rng(2)).unwrap()
}

fn bare_es256(c: &mut Criterion) {
    let signer = SoftwareSigner::generate(&mut rng(1)).unwrap();
    let message = [7u8; 600];
    let signature = signer.sign(&message).unwrap();
    signer.public_key().verify(Algorithm::Es256, &message, &signature).unwrap();
    c.bench_function("es256/sign", |b| b.iter(|| signer.sign(black_box(&message)).unwrap()));
    c.bench_function("es256/verify", |b| {
        b.iter(|| signer.public_key().verify(Algorithm::Es256, black_box(&message), &signature).unwrap())
    });
}

// ---------------------------------------------------------------------------------------------
// SD-JWT VC

/// The 15 PID claims (DIGEST §6.2, SD-JWT VC names) of a synthetic Danish person.
fn pid_claims() -> Map<String, Value> {
    let Value::Object(claims) = json!({
        "given_name": "Karen Marie",
        "family_name": "Østergaard",
        "birthdate": "1987-03-21",
        "place_of_birth": {"country": "DK", "locality": "Aarhus"},
        "nationalities": ["DK"],
        "address": {
            "formatted": "Nørregade 12, 2. th., 1165 København K, Danmark",
            "street_address": "Nørregade",
            "house_number": "12, 2. th.",
            "postal_code": "1165",
            "locality": "København K",
            "country": "DK"
        },
        "sex": 2,
        "email": "karen.ostergaard@example.dk",
        "phone_number": "+4512345678",
        "issuing_authority": "Digitaliseringsstyrelsen",
        "issuing_country": "DK",
        "date_of_expiry": "2035-06-14",
        "date_of_issuance": "2025-06-15",
        "document_number": "DK-PID-000184275",
        "birth_family_name": "Jensen"
    }) else {
        unreachable!()
    };
    assert_eq!(claims.len(), 15);
    claims
}

/// Every PID claim selectively disclosable, one disclosure each (top level).
fn pid_paths() -> Vec<ClaimPath> {
    pid_claims().keys().map(|name| ClaimPath::keys([name.as_str()])).collect()
}

struct SdJwtFixture {
    pki: DevPki,
    holder: SoftwareSigner,
    status: StatusClaim,
    claims: Map<String, Value>,
    policy: DisclosurePolicy,
}

impl SdJwtFixture {
    fn new() -> Self {
        SdJwtFixture {
            pki: dev_pki(),
            holder: SoftwareSigner::generate(&mut rng(3)).unwrap(),
            status: StatusClaim { status_list: StatusReference { idx: 412_157, uri: STATUS_URI.into() } },
            claims: pid_claims(),
            policy: DisclosurePolicy::new(pid_paths()).unwrap(),
        }
    }

    fn vc(&self) -> VcClaims<'_> {
        VcClaims {
            iss: Some("https://issuer.segl.example"),
            vct: "urn:eudi:pid:1",
            iat: Some(NOW),
            exp: Some(NOW + 14 * DAY),
            holder_key: Some(self.holder.public_key()),
            status: Some(&self.status),
            ..VcClaims::default()
        }
    }

    fn issue(&self, rng: &mut ChaCha20Rng) -> String {
        let options = IssueOptions::default();
        issue_vc(&self.vc(), self.claims.clone(), &self.policy, &options, &self.pki.issuer_signer, rng)
            .unwrap()
    }

    fn verify_options<'a>(
        &'a self,
        source: IssuerKeySource<'a>,
        clock: &'a FixedClock,
    ) -> sd_jwt::VerifyOptions<'a> {
        sd_jwt::VerifyOptions {
            issuer_key: source,
            clock,
            skew: 60,
            typ: ExpectedTyp::SdJwtVc { accept_legacy_vc_sd_jwt: false },
            key_binding: KeyBindingPolicy::Required { audience: AUDIENCE, nonce: NONCE, max_age: 300 },
        }
    }
}

fn sd_jwt_vc(c: &mut Criterion) {
    let f = SdJwtFixture::new();
    let clock = FixedClock(VERIFY_AT);
    let mut salt_rng = rng(4);

    // Setup check: the issued credential has 15 disclosures, an x5c header, and presenting all of
    // them with a KB-JWT verifies to exactly the issued claims.
    let issued = f.issue(&mut salt_rng);
    assert_eq!(issued.matches('~').count(), 16, "JWT + 15 disclosures");
    let kb =
        KeyBindingInput { audience: AUDIENCE, nonce: NONCE, issued_at: VERIFY_AT - 5, signer: &f.holder };
    let presentation = present(&issued, &pid_paths(), Some(&kb)).unwrap();
    let issuer_key = f.pki.issuer_signer.public_key();
    let mut anchors = TrustAnchors::new();
    anchors.add_der(&f.pki.ca_der).unwrap();
    let by_key = f.verify_options(IssuerKeySource::Key(issuer_key), &clock);
    let by_anchors = f.verify_options(IssuerKeySource::Anchors(&anchors), &clock);
    for options in [&by_key, &by_anchors] {
        let verified = sd_jwt::verify(&presentation, options).unwrap();
        assert_eq!(verified.disclosures.len(), 15);
        for (name, value) in &f.claims {
            assert_eq!(verified.claims.get(name), Some(value), "{name}");
        }
        let kb = verified.key_binding.expect("KB-JWT verified");
        assert_eq!(&kb.holder_key, f.holder.public_key());
    }
    let chain = sd_jwt::verify(&presentation, &by_anchors).unwrap().issuer_chain.expect("chain validated");
    assert_eq!(chain.leaf_key, *issuer_key);
    // A tampered KB-JWT must fail, so the bench really pays for the second signature check.
    // (A character inside the signature, changed to a different one: the signature is randomized,
    // so a fixed replacement could equal the original.)
    let at = presentation.len() - 20;
    let replacement = if &presentation[at..=at] == "A" { "B" } else { "A" };
    let mut tampered = presentation.clone();
    tampered.replace_range(at..=at, replacement);
    assert_ne!(tampered, presentation);
    assert!(sd_jwt::verify(&tampered, &by_key).is_err());
    eprintln!(
        "sd_jwt_vc: issued {} bytes (issuer JWT {} bytes), presentation with KB-JWT {} bytes",
        issued.len(),
        issued.split('~').next().map_or(0, str::len),
        presentation.len()
    );

    let mut group = c.benchmark_group("sd_jwt_vc");
    group.bench_function("issue_pid_15", |b| b.iter(|| f.issue(black_box(&mut salt_rng))));
    group.bench_function("verify_pid_15_kb", |b| {
        b.iter(|| sd_jwt::verify(black_box(&presentation), &by_key).unwrap())
    });
    group.bench_function("verify_pid_15_anchors", |b| {
        b.iter(|| sd_jwt::verify(black_box(&presentation), &by_anchors).unwrap())
    });
    group.finish();
}

// ---------------------------------------------------------------------------------------------
// mdoc

fn validity() -> Validity {
    Validity { signed: NOW, valid_from: NOW, valid_until: NOW + 14 * DAY, expected_update: None }
}

/// The 15-element PID (DIGEST §6.2, mdoc identifiers) of the same synthetic person.
fn mdoc_pid() -> IssuerSignedBuilder {
    let text = |s: &str| Cbor::Text(s.into());
    let place_of_birth = Cbor::Map(vec![(text("country"), text("DK")), (text("locality"), text("Aarhus"))]);
    IssuerSignedBuilder::new(PID_NS, validity())
        .element(PID_NS, "family_name", text("Østergaard"))
        .element(PID_NS, "given_name", text("Karen Marie"))
        .element(PID_NS, "birth_date", full_date("1987-03-21").unwrap())
        .element(PID_NS, "place_of_birth", place_of_birth)
        .element(PID_NS, "nationality", Cbor::Array(vec![text("DK")]))
        .element(PID_NS, "resident_address", text("Nørregade 12, 2. th., 1165 København K, Danmark"))
        .element(PID_NS, "resident_country", text("DK"))
        .element(PID_NS, "sex", Cbor::from(2u64))
        .element(PID_NS, "email_address", text("karen.ostergaard@example.dk"))
        .element(PID_NS, "mobile_phone_number", text("+4512345678"))
        .element(PID_NS, "issuing_authority", text("Digitaliseringsstyrelsen"))
        .element(PID_NS, "issuing_country", text("DK"))
        .element(PID_NS, "expiry_date", full_date("2035-06-14").unwrap())
        .element(PID_NS, "issuance_date", tdate(NOW).unwrap())
        .element(PID_NS, "document_number", text("DK-PID-000184275"))
        .status(StatusReference { idx: 412_157, uri: STATUS_URI.into() })
}

const PID_ELEMENTS: [&str; 15] = [
    "family_name",
    "given_name",
    "birth_date",
    "place_of_birth",
    "nationality",
    "resident_address",
    "resident_country",
    "sex",
    "email_address",
    "mobile_phone_number",
    "issuing_authority",
    "issuing_country",
    "expiry_date",
    "issuance_date",
    "document_number",
];

/// The EU age-verification proof of age: `age_over_18` and two `age_over_NN`.
fn age_proof() -> IssuerSignedBuilder {
    IssuerSignedBuilder::new(AV_NS, validity())
        .element(AV_NS, "age_over_18", Cbor::Bool(true))
        .element(AV_NS, "age_over_21", Cbor::Bool(true))
        .element(AV_NS, "age_over_65", Cbor::Bool(false))
}

fn mdoc_formats(c: &mut Criterion) {
    let pki = dev_pki();
    let issuer = &pki.issuer_signer;
    let device = SoftwareSigner::generate(&mut rng(5)).unwrap();
    let issuer_key = IssuerKeySource::Key(issuer.public_key());
    let options = mdoc::VerifyOptions { expected_doc_type: Some(PID_NS.into()), ..Default::default() };
    let transcript =
        SessionTranscript::openid4vp(AUDIENCE, NONCE, None, "https://verifier.segl.example/response");
    let mut issue_rng = rng(6);
    let pid = mdoc_pid();
    let av = age_proof();

    // Setup checks: both credentials verify with every element, and a DeviceResponse disclosing
    // all 15 PID elements verifies with device authentication.
    let pid_bytes = pid.issue(device.public_key(), issuer, &mut issue_rng).unwrap();
    let doc = verify_issuer_signed(&pid_bytes, issuer_key, &options, VERIFY_AT).unwrap();
    assert_eq!(doc.namespaces.get(PID_NS).map(|ns| ns.len()), Some(15));
    assert_eq!(&doc.device_key, device.public_key());
    let av_bytes = av.issue(device.public_key(), issuer, &mut issue_rng).unwrap();
    let av_options = mdoc::VerifyOptions { expected_doc_type: Some(AV_NS.into()), ..Default::default() };
    let doc = verify_issuer_signed(&av_bytes, issuer_key, &av_options, VERIFY_AT).unwrap();
    assert_eq!(doc.namespaces.get(AV_NS).and_then(|ns| ns.get("age_over_18")), Some(&Cbor::Bool(true)));
    let disclose: Vec<(&str, &str)> = PID_ELEMENTS.iter().map(|e| (PID_NS, *e)).collect();
    let documents = [Presentation { issuer_signed: &pid_bytes, disclose: &disclose, device_key: &device }];
    let response = build_device_response(&documents, &transcript).unwrap();
    let verified = verify_device_response(&response, issuer_key, &transcript, &options, VERIFY_AT).unwrap();
    assert_eq!(verified.len(), 1);
    assert!(verified[0].device_authenticated);
    assert_eq!(verified[0].namespaces.get(PID_NS).map(|ns| ns.len()), Some(15));
    // Another transcript must fail device authentication: the bench pays for that signature.
    let other =
        SessionTranscript::openid4vp(AUDIENCE, "other", None, "https://verifier.segl.example/response");
    assert!(verify_device_response(&response, issuer_key, &other, &options, VERIFY_AT).is_err());
    eprintln!(
        "mdoc: PID IssuerSigned {} bytes, age proof {} bytes, DeviceResponse {} bytes",
        pid_bytes.len(),
        av_bytes.len(),
        response.len()
    );

    let mut group = c.benchmark_group("mdoc");
    group.bench_function("issue_pid_15", |b| {
        b.iter(|| pid.issue(device.public_key(), issuer, black_box(&mut issue_rng)).unwrap())
    });
    group.bench_function("issue_age_proof", |b| {
        b.iter(|| av.issue(device.public_key(), issuer, black_box(&mut issue_rng)).unwrap())
    });
    group.bench_function("verify_device_response_pid", |b| {
        b.iter(|| {
            verify_device_response(black_box(&response), issuer_key, &transcript, &options, VERIFY_AT)
                .unwrap()
        })
    });
    group.finish();
}

// ---------------------------------------------------------------------------------------------
// Token Status List

const LIST_LEN: u64 = 1 << 20;

/// 1 % of 2^20 distinct indices, drawn with a seeded RNG, each with the status to set.
fn revocations(bits: Bits) -> Vec<(u64, Status)> {
    let mut rng = rng(7);
    let count = LIST_LEN / 100;
    let mut picked = vec![false; LIST_LEN as usize];
    let mut out = Vec::with_capacity(count as usize);
    while (out.len() as u64) < count {
        let index = rng.gen_range(0..LIST_LEN);
        if std::mem::replace(&mut picked[index as usize], true) {
            continue;
        }
        // A 2-bit list also suspends: a third of the set entries are SUSPENDED.
        let status =
            if bits == Bits::Two && rng.gen_ratio(1, 3) { Status::Suspended } else { Status::Invalid };
        out.push((index, status));
    }
    out
}

fn build_and_sign(bits: Bits, revoked: &[(u64, Status)], signer: &SoftwareSigner) -> String {
    let mut list = StatusList::new(bits, LIST_LEN).unwrap();
    for &(index, status) in revoked {
        list.set(index, status).unwrap();
    }
    let mut claims = StatusListTokenClaims::new(STATUS_URI, NOW);
    claims.exp = Some(NOW + DAY);
    claims.ttl = Some(43_200);
    sign_jwt(&list, &claims, signer, KeyReference::X5c).unwrap()
}

fn status_list(c: &mut Criterion) {
    let pki = dev_pki();
    let signer = &pki.issuer_signer;
    let clock = FixedClock(NOW + 60);
    let mut group = c.benchmark_group("status_list");
    group.sample_size(10);
    for (bits, name) in [(Bits::One, "1bit"), (Bits::Two, "2bit")] {
        let revoked = revocations(bits);
        // Setup check: the token verifies, and reads back exactly the statuses that were set.
        let token = build_and_sign(bits, &revoked, signer);
        let verifier = StatusListVerifier::new(IssuerKeySource::Key(signer.public_key()), &clock);
        let verified = verifier.verify_jwt(&token, STATUS_URI).unwrap();
        assert_eq!(verified.list.len(), LIST_LEN);
        assert_eq!(verified.list.count_non_valid(), revoked.len() as u64);
        for &(index, status) in &revoked {
            assert_eq!(verified.status(index).unwrap(), status);
        }
        let lst_len = verified.list.compress().unwrap().len();
        eprintln!(
            "status_list {name}: 2^20 entries, {} set; packed {} bytes, zlib {} bytes, JWT {} bytes",
            revoked.len(),
            verified.list.as_bytes().len(),
            lst_len,
            token.len()
        );
        group.bench_function(format!("build_compress_sign_2pow20_{name}"), |b| {
            b.iter(|| build_and_sign(bits, black_box(&revoked), signer))
        });
    }
    group.finish();
}

mod harness {
    #![allow(missing_docs)]
    use super::*;
    criterion_group!(benches, bare_es256, sd_jwt_vc, mdoc_formats, status_list);
}

criterion_main!(harness::benches);
