//! Request Object tests: the verifier signs, the wallet-side checks accept exactly what they
//! should, and the encrypted-response key round-trips through the object.

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use segl_credential::jose::{CompactJws, KeyReference, base64url_encode, header, sign_compact};
use segl_credential::keys::{Signer, SoftwareSigner};
use segl_credential::mdoc::SessionTranscript;
use segl_credential::x509::{DevPki, DevPkiOptions, TrustAnchors, generate_dev_pki};
use serde_json::{Value, json};

use super::*;
use crate::response::jwe::{ContentEncryption, EncryptionParams, ResponseDecryptionKey, encrypt_compact};

const NOW: i64 = 1_780_000_000;
const RESPONSE_URI: &str = "https://verifier.example/response";

fn pki(rng: &mut ChaCha20Rng) -> DevPki {
    let options = DevPkiOptions {
        ca_common_name: "Access CA".into(),
        issuer_common_name: "Verifier".into(),
        country: Some("DK".into()),
        dns_names: vec!["verifier.example".into()],
        uris: vec![],
        mdoc_ds_eku: false,
        not_before: NOW - 86_400,
        not_after: NOW + 365 * 86_400,
    };
    generate_dev_pki(&options, rng).unwrap()
}

struct Fixture {
    pki: DevPki,
    anchors: TrustAnchors,
    rng: ChaCha20Rng,
}

fn fixture() -> Fixture {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let pki = pki(&mut rng);
    let mut anchors = TrustAnchors::new();
    anchors.add_der(&pki.ca_der).unwrap();
    Fixture { pki, anchors, rng }
}

fn request(client_id: ClientId, rng: &mut ChaCha20Rng) -> AuthorizationRequest {
    let nonce = AuthorizationRequest::random_nonce(rng);
    AuthorizationRequest::new(client_id, RESPONSE_URI, &nonce, pid_core().unwrap()).unwrap()
}

fn expectations<'a>(f: &'a Fixture, client_id: &'a str) -> WalletExpectations<'a> {
    WalletExpectations {
        anchors: &f.anchors,
        now: NOW + 10,
        invocation_client_id: client_id,
        audience: object::SELF_ISSUED_AUDIENCE,
        wallet_nonce: None,
    }
}

#[test]
fn signs_an_x509_hash_request_the_wallet_accepts() {
    let mut f = fixture();
    let signer = &f.pki.issuer_signer;
    let client_id = ClientId::x509_hash(signer.certificate_chain()).unwrap();
    let request = request(client_id.clone(), &mut f.rng).with_state("s-1").unwrap();
    let jws = request.sign(signer, NOW).unwrap();

    let parsed = CompactJws::parse(&jws).unwrap();
    assert_eq!(parsed.typ().unwrap(), Some("oauth-authz-req+jwt"));
    assert_eq!(parsed.header()["alg"], "ES256");
    assert_eq!(parsed.x5c().unwrap().unwrap(), signer.certificate_chain());

    let client_id_text = client_id.to_string();
    let verified = verify_request_object(&jws, &expectations(&f, &client_id_text)).unwrap();
    assert_eq!(verified.client_id, client_id);
    assert_eq!(verified.response_mode, ResponseMode::DirectPost);
    assert_eq!(verified.response_uri, RESPONSE_URI);
    assert_eq!(verified.state.as_deref(), Some("s-1"));
    assert_eq!(verified.dcql_query, pid_core().unwrap());
    assert_eq!(verified.encryption_jwk, None);
    let claims = &verified.claims;
    assert_eq!(claims["response_type"], "vp_token");
    assert_eq!(claims["aud"], "https://self-issued.me/v2");
    assert_eq!((claims["iat"].as_i64(), claims["exp"].as_i64()), (Some(NOW), Some(NOW + 300)));
    assert!(claims["client_metadata"].get("jwks").is_none());
    assert!(claims["client_metadata"]["vp_formats_supported"].get("mso_mdoc").is_some());
}

#[test]
fn signs_an_x509_san_dns_request_the_wallet_accepts() {
    let mut f = fixture();
    let signer = &f.pki.issuer_signer;
    let client_id = ClientId::x509_san_dns(signer.certificate_chain(), "verifier.example").unwrap();
    assert_eq!(client_id.to_string(), "x509_san_dns:verifier.example");
    let jws = request(client_id.clone(), &mut f.rng).sign(signer, NOW).unwrap();
    assert!(verify_request_object(&jws, &expectations(&f, &client_id.to_string())).is_ok());
}

#[test]
fn encrypted_request_carries_the_key_and_binds_its_thumbprint() {
    let mut f = fixture();
    let signer = &f.pki.issuer_signer;
    let key = ResponseDecryptionKey::generate("resp-1", &mut f.rng).unwrap();
    let client_id = ClientId::x509_hash(signer.certificate_chain()).unwrap();
    let request = request(client_id.clone(), &mut f.rng).encrypted(&key);
    let jws = request.sign(signer, NOW).unwrap();
    let verified = verify_request_object(&jws, &expectations(&f, &client_id.to_string())).unwrap();
    assert_eq!(verified.response_mode, ResponseMode::DirectPostJwt);
    let metadata = &verified.claims["client_metadata"];
    assert_eq!(metadata["encrypted_response_enc_values_supported"], json!(["A128GCM", "A256GCM"]));
    let jwk = verified.encryption_jwk.clone().unwrap();
    assert_eq!(jwk, key.public_jwk());

    // The wallet encrypts to the JWK it read; the verifier decrypts with its session key.
    let wallet_key = segl_credential::keys::PublicKey::from_jwk(&jwk).unwrap();
    let params = EncryptionParams {
        kid: Some("resp-1"),
        enc: ContentEncryption::A256Gcm,
        apu: None,
        apv: None,
        deflate: false,
    };
    let payload = json!({"vp_token": {"pid_sd_jwt": ["x~"]}, "state": null}).to_string();
    let jwe = encrypt_compact(&wallet_key, &params, payload.as_bytes(), &mut f.rng).unwrap();
    assert_eq!(
        Value::Object(key.decrypt_json(&jwe).unwrap()),
        serde_json::from_str::<Value>(&payload).unwrap()
    );

    // The mdoc handover takes the key's thumbprint.
    assert_eq!(request.encryption_thumbprint(), Some(&key.jwk_thumbprint()));
    let binding = request.presentation_binding();
    assert_eq!(binding.audience, client_id.to_string());
    assert_eq!(binding.nonce, verified.nonce);
    assert_eq!(
        binding.session_transcripts,
        vec![SessionTranscript::openid4vp(
            &client_id.to_string(),
            &verified.nonce,
            Some(&key.jwk_thumbprint()),
            RESPONSE_URI
        )]
    );
}

#[test]
fn rejects_a_request_object_without_the_wallet_nonce_echo() {
    let mut f = fixture();
    let signer = &f.pki.issuer_signer;
    let client_id = ClientId::x509_hash(signer.certificate_chain()).unwrap();
    let id = client_id.to_string();
    let jws = request(client_id, &mut f.rng).sign_for_post(signer, NOW, "wn-42").unwrap();
    let mut expect = expectations(&f, &id);
    expect.wallet_nonce = Some("wn-42");
    assert_eq!(verify_request_object(&jws, &expect).unwrap().claims["wallet_nonce"], "wn-42");
    expect.wallet_nonce = Some("wn-43");
    assert!(matches!(
        verify_request_object(&jws, &expect),
        Err(RequestObjectError::Claim { claim: "wallet_nonce", .. })
    ));
}

#[test]
fn invocation_url_encodes_client_id_and_request_uri() {
    let client_id = ClientId::X509Hash([0u8; 32]);
    let url = invocation_url("haip-vp://", &client_id, "https://v.example/req/123", RequestUriMethod::Post);
    assert_eq!(
        url,
        format!(
            "haip-vp://?client_id=x509_hash%3A{}&request_uri=https%3A%2F%2Fv.example%2Freq%2F123&request_uri_method=post",
            base64url_encode([0u8; 32])
        )
    );
    let get = invocation_url("openid4vp://", &client_id, "https://v.example/r", RequestUriMethod::Get);
    assert!(get.starts_with("openid4vp://?client_id=") && !get.contains("request_uri_method"));
}

#[test]
fn rejects_a_client_id_that_does_not_name_the_certificate() {
    let mut f = fixture();
    let signer = &f.pki.issuer_signer;
    let wrong_hash = ClientId::X509Hash([1u8; 32]);
    let err = request(wrong_hash, &mut f.rng).sign(signer, NOW).unwrap_err();
    assert!(matches!(err, RequestObjectError::ClientId(ClientIdError::CertificateMismatch { .. })));
    assert!(matches!(
        ClientId::x509_san_dns(signer.certificate_chain(), "other.example"),
        Err(ClientIdError::CertificateMismatch { .. })
    ));
    let redirect = ClientId::redirect_uri(RESPONSE_URI).unwrap();
    assert!(matches!(
        request(redirect, &mut f.rng).sign(signer, NOW),
        Err(RequestObjectError::UnsignedPrefix(_))
    ));
}

#[test]
fn rejects_bad_request_parameters() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let client_id = ClientId::X509Hash([0u8; 32]);
    let nonce = AuthorizationRequest::random_nonce(&mut rng);
    let new =
        |id: ClientId, uri: &str, nonce: &str| AuthorizationRequest::new(id, uri, nonce, pid_core().unwrap());
    let claim = |r: Result<AuthorizationRequest, RequestObjectError>| match r {
        Err(RequestObjectError::Claim { claim, .. }) => claim,
        other => panic!("{other:?}"),
    };
    assert_eq!(claim(new(client_id.clone(), RESPONSE_URI, "short")), "nonce");
    assert_eq!(claim(new(client_id.clone(), RESPONSE_URI, &format!("{nonce} x"))), "nonce");
    assert_eq!(claim(new(client_id.clone(), "http://verifier.example/r", &nonce)), "response_uri");
    let dns = ClientId::X509SanDns("other.example".into());
    assert_eq!(claim(new(dns, RESPONSE_URI, &nonce)), "response_uri");
    let redirect = ClientId::redirect_uri("https://verifier.example/cb").unwrap();
    assert_eq!(claim(new(redirect, RESPONSE_URI, &nonce)), "response_uri");
}

#[test]
fn rejects_wrong_typ_audience_expiry_and_client_id() {
    let mut f = fixture();
    let signer = &f.pki.issuer_signer;
    let client_id = ClientId::x509_hash(signer.certificate_chain()).unwrap();
    let id = client_id.to_string();
    let request = request(client_id, &mut f.rng);
    let jws = request.sign(signer, NOW).unwrap();

    let mut expect = expectations(&f, "x509_san_dns:verifier.example");
    assert!(matches!(verify_request_object(&jws, &expect), Err(RequestObjectError::ClientIdMismatch { .. })));
    expect.invocation_client_id = &id;
    expect.audience = "https://wallet.example";
    assert!(matches!(
        verify_request_object(&jws, &expect),
        Err(RequestObjectError::Claim { claim: "aud", .. })
    ));
    expect.audience = object::SELF_ISSUED_AUDIENCE;
    expect.now = NOW + 300;
    assert!(matches!(verify_request_object(&jws, &expect), Err(RequestObjectError::Expired { .. })));

    // Same claims, signed as a plain JWT.
    expect.now = NOW + 10;
    let payload = serde_json::to_vec(&request.claims(NOW, None).unwrap()).unwrap();
    let plain = sign_compact(header("JWT", signer, KeyReference::X5c).unwrap(), &payload, signer).unwrap();
    assert_eq!(
        verify_request_object(&plain, &expect).unwrap_err(),
        RequestObjectError::Typ(Some("JWT".into()))
    );
    let no_x5c =
        sign_compact(header("oauth-authz-req+jwt", signer, KeyReference::None).unwrap(), &payload, signer)
            .unwrap();
    assert_eq!(verify_request_object(&no_x5c, &expect).unwrap_err(), RequestObjectError::MissingX5c);
}

#[test]
fn rejects_a_forged_signature_and_an_untrusted_chain() {
    let mut f = fixture();
    let signer = &f.pki.issuer_signer;
    let client_id = ClientId::x509_hash(signer.certificate_chain()).unwrap();
    let id = client_id.to_string();
    let request = request(client_id, &mut f.rng);

    // Another key presenting the verifier's certificate.
    let impostor = SoftwareSigner::generate(&mut f.rng)
        .unwrap()
        .with_certificate_chain(signer.certificate_chain().to_vec());
    let forged = request.sign(&impostor, NOW).unwrap();
    assert!(matches!(
        verify_request_object(&forged, &expectations(&f, &id)),
        Err(RequestObjectError::Jose(_))
    ));

    // A chain from an anchor the wallet does not know.
    let other = pki(&mut f.rng);
    let other_id = ClientId::x509_hash(other.issuer_signer.certificate_chain()).unwrap();
    let jws = self::request(other_id.clone(), &mut f.rng).sign(&other.issuer_signer, NOW).unwrap();
    let other_text = other_id.to_string();
    assert!(matches!(
        verify_request_object(&jws, &expectations(&f, &other_text)),
        Err(RequestObjectError::Chain(_))
    ));
}

#[test]
fn rejects_a_self_signed_access_certificate() {
    let mut f = fixture();
    let ca_signer =
        SoftwareSigner::generate(&mut f.rng).unwrap().with_certificate_chain(vec![f.pki.ca_der.clone()]);
    let client_id = ClientId::x509_hash(ca_signer.certificate_chain()).unwrap();
    assert_eq!(
        request(client_id, &mut f.rng).sign(&ca_signer, NOW).unwrap_err(),
        RequestObjectError::SelfSignedLeaf
    );
}

#[test]
fn unsigned_url_is_only_for_redirect_uri() {
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let client_id = ClientId::redirect_uri(RESPONSE_URI).unwrap();
    let request = request(client_id, &mut rng);
    let url = request.unsigned_url("openid4vp://").unwrap();
    let query = url.strip_prefix("openid4vp://?").unwrap();
    let pairs: std::collections::BTreeMap<String, String> =
        url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    assert_eq!(pairs["client_id"], format!("redirect_uri:{RESPONSE_URI}"));
    assert_eq!(pairs["response_type"], "vp_token");
    assert_eq!(pairs["response_mode"], "direct_post");
    assert_eq!(pairs["response_uri"], RESPONSE_URI);
    assert_eq!(DcqlQuery::parse(&pairs["dcql_query"]).unwrap(), pid_core().unwrap());
    assert!(serde_json::from_str::<Value>(&pairs["client_metadata"]).unwrap().is_object());
    assert!(!pairs.contains_key("iat") && !pairs.contains_key("aud"));

    let signed = self::request(ClientId::X509Hash([0u8; 32]), &mut rng);
    assert!(matches!(
        signed.unsigned_url("openid4vp://"),
        Err(RequestObjectError::Claim { claim: "client_id", .. })
    ));
}

#[test]
fn rejects_an_object_issued_in_the_future() {
    let mut f = fixture();
    let signer = &f.pki.issuer_signer;
    let client_id = ClientId::x509_hash(signer.certificate_chain()).unwrap();
    let id = client_id.to_string();
    let jws = request(client_id, &mut f.rng).sign(signer, NOW + 3_600).unwrap();
    assert!(matches!(
        verify_request_object(&jws, &expectations(&f, &id)),
        Err(RequestObjectError::Claim { claim: "iat", .. })
    ));
}
