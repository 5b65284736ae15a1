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
