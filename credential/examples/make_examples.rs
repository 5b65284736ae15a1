//! Regenerates the example credentials in `examples/` that the README's first command verifies:
//! a development CA, and a PID as SD-JWT VC and as mdoc plus an mdoc age proof, all issued by
//! Segl's own code with a development issuer certificate.
//!
//! `cargo run -p segl-credential --example make_examples -- examples`

// A generator run by a developer: failing loudly is right.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use ciborium::Value;
use rand::SeedableRng as _;
use segl_credential::jose::{KeyReference, base64url_encode};
use segl_credential::keys::{Signer as _, SoftwareSigner};
use segl_credential::mdoc::{IssuerSignedBuilder, Validity, full_date};
use segl_credential::sd_jwt::{self, ClaimPath, DisclosurePolicy, IssueOptions, VcClaims};
use segl_credential::status_list::{StatusClaim, StatusReference};
use segl_credential::x509::{DevPkiOptions, generate_dev_pki};
use serde_json::json;

/// 2026-11-18T00:00:00Z: when the examples were issued.
const ISSUED: i64 = 1_795_046_400;
const YEAR: i64 = 365 * 86_400;
const ISSUER: &str = "http://127.0.0.1:8080";
const PID: &str = "eu.europa.ec.eudi.pid.1";
const AV: &str = "eu.europa.ec.av.1";

fn main() {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "examples".into()));
    std::fs::create_dir_all(&out).unwrap();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2026);
    let pki = generate_dev_pki(
        &DevPkiOptions {
            ca_common_name: "Segl Development CA".into(),
            issuer_common_name: "Segl Development PID Provider".into(),
            country: Some("DK".into()),
            dns_names: vec!["localhost".into()],
            uris: vec![ISSUER.into()],
            mdoc_ds_eku: true,
            not_before: ISSUED - 30 * 86_400,
            not_after: ISSUED + 10 * YEAR,
        },
        &mut rng,
    )
    .unwrap();
    let holder = SoftwareSigner::generate(&mut rng).unwrap();
    let status =
        StatusClaim { status_list: StatusReference { idx: 4711, uri: format!("{ISSUER}/status-lists/1") } };

    let claims = json!({
        "given_name": "Freja", "family_name": "Nielsen", "birthdate": "1990-04-12",
        "place_of_birth": {"locality": "Aarhus", "country": "DK"},
        "nationalities": ["DK"],
        "address": {"street_address": "Nørregade", "house_number": "7", "postal_code": "8000", "locality": "Aarhus C", "country": "DK"},
        "issuing_authority": "Segl Development PID Provider", "issuing_country": "DK",
        "date_of_expiry": "2036-11-18", "date_of_issuance": "2026-11-18"
    });
    let serde_json::Value::Object(claims) = claims else { unreachable!() };
    let mut paths: Vec<ClaimPath> = claims.keys().map(|name| ClaimPath::keys([name.as_str()])).collect();
    paths.extend(
        ["street_address", "house_number", "postal_code", "locality", "country"]
            .map(|member| ClaimPath::keys(["address", member])),
    );
    let policy = DisclosurePolicy::new(paths).unwrap();
    let vc = VcClaims {
        iss: Some(ISSUER),
        vct: "urn:eudi:pid:1",
        vct_integrity: None,
        iat: Some(ISSUED),
        nbf: Some(ISSUED),
        exp: Some(ISSUED + YEAR),
        holder_key: Some(holder.public_key()),
        status: Some(&status),
    };
    let options = IssueOptions { key_reference: KeyReference::X5c, decoys_per_object: 2 };
    let sd_jwt = sd_jwt::issue_vc(&vc, claims, &policy, &options, &pki.issuer_signer, &mut rng).unwrap();

    let validity =
        Validity { signed: ISSUED, valid_from: ISSUED, valid_until: ISSUED + YEAR, expected_update: None };
    let pid_mdoc = IssuerSignedBuilder::new(PID, validity)
        .element(PID, "family_name", Value::from("Nielsen"))
        .element(PID, "given_name", Value::from("Freja"))
        .element(PID, "birth_date", full_date("1990-04-12").unwrap())
        .element(PID, "nationality", Value::Array(vec![Value::from("DK")]))
        .element(PID, "issuing_authority", Value::from("Segl Development PID Provider"))
        .element(PID, "issuing_country", Value::from("DK"))
        .status(status.status_list.clone())
        .issue(holder.public_key(), &pki.issuer_signer, &mut rng)
        .unwrap();
    let age_validity = Validity { valid_until: ISSUED + 90 * 86_400, ..validity };
    let age_proof = IssuerSignedBuilder::new(AV, age_validity)
        .element(AV, "age_over_18", Value::Bool(true))
        .element(AV, "age_over_21", Value::Bool(true))
        .issue(holder.public_key(), &pki.issuer_signer, &mut rng)
        .unwrap();

    let write = |name: &str, text: &str| std::fs::write(out.join(name), text).unwrap();
    write("dev-ca.pem", &pki.ca_pem);
    write("pid.sd-jwt", &format!("{sd_jwt}\n"));
    write("pid.mdoc", &format!("{}\n", base64url_encode(&pid_mdoc)));
    write("age-proof.mdoc", &format!("{}\n", hex::encode(&age_proof)));
    let mut holder_jwk = holder.public_key().to_jwk();
    holder_jwk["kid"] = json!("example-holder");
    write("holder-public.jwk", &format!("{}\n", serde_json::to_string_pretty(&holder_jwk).unwrap()));
    println!("wrote examples to {}", out.display());
}
