#!/usr/bin/env python3
"""Writes a seed corpus for every fuzz target from the repository's test vectors.

Usage: fuzz/seeds.py OUT_DIR   (one sub-folder per target)
"""
import glob
import json
import os
import struct
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test-vectors")
OUT = sys.argv[1]


def write(target, name, data):
    folder = os.path.join(OUT, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, name), "wb") as handle:
        handle.write(data)


def vectors(pattern):
    return sorted(glob.glob(os.path.join(ROOT, pattern), recursive=True))


cbor_files = vectors("**/*.cbor")
for path in cbor_files:
    name = os.path.relpath(path, ROOT).replace("/", "_")
    data = open(path, "rb").read()
    write("cbor_decode", name, data)
    write("mdoc_verify", name, data)

for path in vectors("sd-jwt/*.json") + vectors("sd-jwt-vc/*.json"):
    name = os.path.basename(path)
    document = json.load(open(path))
    for key in ("sd_jwt_issuance", "presentation", "issuance", "presentation_with_kb"):
        value = document.get(key)
        if isinstance(value, str) and "~" in value:
            write("sd_jwt_verify", f"{name}.{key}", value)
            write("jws_parse", f"{name}.{key}", value.split("~")[0])
    payload, disclosures = document.get("jws_payload"), document.get("disclosures")
    if isinstance(payload, dict) and isinstance(disclosures, list):
        encoded = [d["disclosure"] for d in disclosures if isinstance(d, dict) and "disclosure" in d]
        write("sd_jwt_verify", f"{name}.payload", json.dumps(payload) + "~" + "~".join(encoded) + "~")

for path in vectors("status-list/*"):
    name = os.path.basename(path)
    data = open(path, "rb").read()
    if name.endswith((".jwt", ".cbor", ".json")):
        write("status_list_decode", name, data)
    if name.endswith(".jwt"):
        write("jws_parse", name, data)

try:
    import cbor2
except ImportError:
    cbor2 = None
if cbor2 is not None:
    # mdoc_signed_mso: u16 MSO length, MSO bytes, then one-byte-length-prefixed items.
    for path in cbor_files:
        try:
            value = cbor2.loads(open(path, "rb").read())
        except Exception:
            continue
        documents = value.get("documents", []) if isinstance(value, dict) else []
        signed = [d.get("issuerSigned", {}) for d in documents if isinstance(d, dict)]
        if isinstance(value, dict) and "issuerAuth" in value:
            signed.append(value)
        for index, issuer_signed in enumerate(signed):
            try:
                mso = cbor2.loads(issuer_signed["issuerAuth"][2]).value
                items = [item.value for items in issuer_signed.get("nameSpaces", {}).values() for item in items]
            except Exception:
                continue
            seed = struct.pack(">H", len(mso)) + mso
            for item in items:
                if len(item) < 256:
                    seed += bytes([len(item)]) + item
            write("mdoc_signed_mso", f"{os.path.basename(path)}.{index}", seed)


# --- Verifier, trust-list, issuer and key/certificate targets -------------------------------
import base64
import urllib.parse


def read(path, mode="r"):
    with open(path, mode) as handle:
        return handle.read()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pem_ders(text):
    blocks = text.split("-----BEGIN CERTIFICATE-----")[1:]
    return [base64.b64decode("".join(b.split("-----END CERTIFICATE-----")[0].split())) for b in blocks]


def load_json(path):
    try:
        return json.loads(read(path))
    except (ValueError, UnicodeDecodeError):
        return None


# dcql_parse: every DCQL query in the vectors (bare, or as `dcql_query` of a request).
for path in vectors("oid4vp/examples/**/*.json") + vectors("age-verification/*.json"):
    document = load_json(path)
    if not isinstance(document, dict):
        continue
    name = os.path.relpath(path, ROOT).replace("/", "_")
    if "credentials" in document:
        write("dcql_parse", name, json.dumps(document))
    if isinstance(document.get("dcql_query"), dict):
        write("dcql_parse", name + ".dcql_query", json.dumps(document["dcql_query"]))

# Presentations a wallet could send: SD-JWT(+KB) strings and base64url DeviceResponses.
presentations = []
for path in vectors("sd-jwt/*.json") + vectors("sd-jwt-vc/*.json"):
    document = load_json(path) or {}
    for key in ("presentation", "presentation_with_kb", "sd_jwt_issuance", "issuance"):
        if isinstance(document.get(key), str) and "~" in document[key]:
            presentations.append((os.path.basename(path) + "." + key, document[key]))
for path in vectors("mdoc-real/*device_response*.cbor") + vectors("dk-digst/oid4vp_device_response.cbor") + vectors(
    "age-verification/dcapi_device_response.cbor"
):
    presentations.append((os.path.basename(path), b64url(read(path, "rb"))))
presentations.append(("examples_pid.sd-jwt", read(os.path.join(ROOT, "..", "examples", "pid.sd-jwt")).strip()))

jwe = read(os.path.join(ROOT, "oid4vp/vectors/encrypted_response.jwe")).strip()
for name, presentation in presentations:
    for query_id in ("age_over_18_sd_jwt", "age_over_18_mdoc", "pid", "my_credential"):
        vp_token = {query_id: [presentation]}
        write("vp_token_verify", f"{name}.{query_id}", json.dumps(vp_token))
    write("wallet_answer", name, urllib.parse.urlencode({"vp_token": json.dumps({"q": [presentation]}), "state": "s"}))
    write("dc_api_finish", name, json.dumps({"vp_token": {"q": [presentation]}}))
write("vp_token_verify", "plaintext", read(os.path.join(ROOT, "oid4vp/vectors/encrypted_response_plaintext.json")))
write("wallet_answer", "response", urllib.parse.urlencode({"response": jwe}))
write("wallet_answer", "error", "error=access_denied&error_description=no&state=s")
write("dc_api_finish", "response", json.dumps({"response": jwe}))
for path in vectors("oid4vp/examples/digital_credentials_api/*.json"):
    write("dc_api_finish", os.path.basename(path), read(path))

# jwe_decrypt: the OpenID4VP encrypted response (its key is the target's fixed key) and
# plaintexts for the encrypt-then-open path.
write("jwe_decrypt", "encrypted_response.jwe", jwe)
write("jwe_decrypt", "plaintext", read(os.path.join(ROOT, "oid4vp/vectors/encrypted_response_plaintext.json")))
write("jwe_decrypt", "plaintext_state", json.dumps({"vp_token": {"q": ["x"]}, "state": "state"}))

# JWS-shaped outside input: request objects, LoTEs, proofs.
jws_texts = [("status_list_token.jwt", read(os.path.join(ROOT, "status-list/status_list_token.jwt")).strip())]
for path in vectors("oid4vci/examples/*.jwt.txt") + vectors("oid4vci/examples/*_jwt.txt"):
    jws_texts.append((os.path.basename(path), read(path).strip()))
for name, text in jws_texts:
    write("request_object_verify", name, text)
    write("lote_verify", name, text)
    write("issuer_requests", name, text)
for path in vectors("oid4vp/examples/digital_credentials_api/*.json") + vectors("oid4vp/examples/request/*.json"):
    payload = read(path).encode()
    write("request_object_verify", os.path.basename(path), b64url(b'{"alg":"ES256","typ":"oauth-authz-req+jwt"}') + "." + b64url(payload) + ".AA")
    # The same claims as a payload the target signs with its access certificate.
    document = load_json(path)
    if isinstance(document, dict):
        document.update({"client_id": "x509_san_dns:fuzz.example", "aud": "https://self-issued.me/v2",
                         "response_uri": "https://fuzz.example/response", "response_mode": "direct_post",
                         "exp": 1_800_000_300, "iat": 1_800_000_000, "nonce": "nonce", "wallet_nonce": "wn"})
        write("request_object_verify", os.path.basename(path) + ".payload", json.dumps(document))

# lote_verify: LoTE JSON documents, also wrapped as unsigned-looking JWS.
for path in vectors("trust-lists/etsi-119602/samples-*/*.json"):
    name = os.path.basename(path)
    write("lote_verify", name, read(path))
    write("lote_verify", name + ".jws", b64url(b'{"alg":"ES256","x5c":["AA"]}') + "." + b64url(read(path, "rb")) + ".AA")
    # Dated so that the target's signed-payload mode accepts it at its fixed time (2027-01-15).
    document = load_json(path)
    info = document.get("LoTE", {}).get("ListAndSchemeInformation") if isinstance(document, dict) else None
    if isinstance(info, dict):
        info.update({"ListIssueDateTime": "2027-01-01T00:00:00Z", "NextUpdate": "2027-06-01T00:00:00Z"})
        write("lote_verify", name + ".current", json.dumps(document))

# tsl_read: TS 119 612 / 119 602 XML samples.
for path in vectors("trust-lists/**/*.xml"):
    write("tsl_read", os.path.relpath(path, ROOT).replace("/", "_"), read(path, "rb"))

# Configuration files.
REPO = os.path.join(ROOT, "..")
for path in glob.glob(os.path.join(REPO, "trust-list/examples/*.toml")):
    write("trust_list_config", os.path.basename(path), read(path, "rb"))
for path in glob.glob(os.path.join(REPO, "issuer/examples/*.toml")):
    write("issuer_config", os.path.basename(path), read(path, "rb"))

# issuer_requests: credential requests, token forms, offer JSON.
for path in vectors("oid4vci/examples/credential_request*.json"):
    write("issuer_requests", os.path.basename(path), read(path))
write("issuer_requests", "credential_request_by_id", json.dumps(
    {"credential_configuration_id": "pid_sd_jwt", "proofs": {"jwt": [jws_texts[0][1]]}}))
write("issuer_requests", "token_form", urllib.parse.urlencode({
    "grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code", "pre-authorized_code": "abc", "tx_code": "1234"}))
write("issuer_requests", "offer_request", json.dumps(
    {"credential_configuration_ids": ["pid_sd_jwt"], "claims": {"given_name": "Erika"}, "tx_code": True}))
proof_claims = {"aud": "https://issuer.fuzz.example", "iat": 1_800_000_000, "nonce": "c_nonce"}
write("issuer_proof", "valid", json.dumps(proof_claims))
write("issuer_proof", "iss", json.dumps(dict(proof_claims, iss="wallet", aud=["https://issuer.fuzz.example"])))

# kb_jwt_verify: KB-JWT payloads.
kb = {"aud": "aud", "nonce": "n", "iat": 1_800_000_000, "sd_hash": "Dy-RYwZfaaoC3inJbLslgPvMp09bH-clYP_3qbRqtW4"}
write("kb_jwt_verify", "kb_payload", json.dumps(kb))
write("kb_jwt_verify", "kb_unsecured", read(os.path.join(ROOT, "oid4vp/examples/response/kb_jwt_unsecured.json")))
for name, presentation in presentations:
    if presentation.count("~") and not presentation.endswith("~"):
        write("kb_jwt_verify", name, presentation.rsplit("~", 1)[1])

# x509_validate: every certificate in the vectors, alone and as leaf + root chains.
ders = []
for path in vectors("**/*.pem") + glob.glob(os.path.join(REPO, "examples/*.pem")):
    text = read(path)
    write("x509_validate", os.path.basename(path), text)
    ders.extend(pem_ders(text))
for index, der in enumerate(ders):
    write("x509_validate", f"der{index}", struct.pack(">H", len(der)) + der)
if len(ders) > 1:
    write("x509_validate", "chain", b"".join(struct.pack(">H", len(d)) + d for d in ders[:3]))

# public_key_parse: JWKs, COSE_Keys (device keys of the MSOs), SPKIs.
for path in [os.path.join(ROOT, p) for p in ("oid4vci/examples/issuer_jwks.json", "status-list/example_key.json",
                                             "oid4vp/vectors/encrypted_response_private_jwk.json")] + glob.glob(
        os.path.join(REPO, "examples/*.jwk")):
    document = load_json(path)
    for index, key in enumerate(document.get("keys", [document]) if isinstance(document, dict) else []):
        write("public_key_parse", f"{os.path.basename(path)}.{index}", json.dumps(key))
if cbor2 is not None:
    for path in cbor_files:
        try:
            value = cbor2.loads(read(path, "rb"))
            documents = value.get("documents", []) if isinstance(value, dict) else []
            signed = [d["issuerSigned"] for d in documents] + ([value] if "issuerAuth" in value else [])
            for index, issuer_signed in enumerate(signed):
                mso = cbor2.loads(cbor2.loads(issuer_signed["issuerAuth"][2]).value)
                write("public_key_parse", f"{os.path.basename(path)}.{index}", cbor2.dumps(mso["deviceKeyInfo"]["deviceKey"]))
        except Exception:
            continue

# vp_token_verify, signed-content mode: SD-JWT VC payloads the target signs and binds.
for vct, claims in (
    ("urn:eudi:age_verification:1", {"age_equal_or_over": {"18": True}}),
    ("urn:eudi:pid:1", {"family_name": "Mustermann", "given_name": "Erika", "birthdate": "1964-08-12",
                        "nationalities": ["DE"]}),
):
    payload = dict(claims, iss="https://issuer.fuzz.example", vct=vct, iat=1_799_990_000, exp=1_800_090_000)
    write("vp_token_verify", "signed_" + vct.split(":")[2], json.dumps(payload))
