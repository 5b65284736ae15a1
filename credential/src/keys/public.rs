//! Public keys for verification, with their JWK (RFC 7517), COSE_Key (RFC 9052 §7) and
//! SubjectPublicKeyInfo encodings.

use aws_lc_rs::signature::{ParsedPublicKey, VerificationAlgorithm};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use coset::{CoseKey, CoseKeyBuilder, Label, iana};
use serde_json::{Map, Value};

use super::{Algorithm, Curve, KeyError};

/// An elliptic-curve public key, parsed and validated once so every verification after that is
/// a single aws-lc-rs call.
#[derive(Clone)]
pub struct PublicKey {
    curve: Curve,
    /// Uncompressed SEC1 point `04 || x || y`.
    point: Box<[u8]>,
    parsed: ParsedPublicKey,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKey")
            .field("curve", &self.curve)
            .field("point", &hex::encode(&self.point))
            .finish()
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.curve == other.curve && self.point == other.point
    }
}

impl Eq for PublicKey {}

impl PublicKey {
    /// A key from an uncompressed SEC1 point on `curve`; the point is checked to be on the curve.
    pub fn from_uncompressed_point(curve: Curve, point: &[u8]) -> Result<Self, KeyError> {
        let expected = 1 + 2 * curve.coordinate_len();
        if point.len() != expected || point.first() != Some(&0x04) {
            return Err(KeyError::Malformed(format!(
                "expected an uncompressed {} point of {expected} bytes",
                curve.jwk_name()
            )));
        }
        let algorithm = match curve {
            Curve::P256 => Algorithm::Es256,
            Curve::P384 => Algorithm::Es384,
            Curve::P521 => Algorithm::Es512,
        };
        let parsed = ParsedPublicKey::new(algorithm.fixed_verification(), point)
            .map_err(|_| KeyError::Malformed("point is not on the curve".into()))?;
        Ok(PublicKey { curve, point: point.into(), parsed })
    }

    /// A key from its affine coordinates.
    pub fn from_coordinates(curve: Curve, x: &[u8], y: &[u8]) -> Result<Self, KeyError> {
        let len = curve.coordinate_len();
        if x.len() != len || y.len() != len {
            return Err(KeyError::Malformed(format!("{} coordinates must be {len} bytes", curve.jwk_name())));
        }
        let mut point = Vec::with_capacity(1 + 2 * len);
        point.push(0x04);
        point.extend_from_slice(x);
        point.extend_from_slice(y);
        Self::from_uncompressed_point(curve, &point)
    }

    /// A key from a DER SubjectPublicKeyInfo (as found in a certificate), EC keys only.
    pub fn from_spki_der(spki: &[u8]) -> Result<Self, KeyError> {
        use der::Decode as _;
        let info = spki::SubjectPublicKeyInfoRef::from_der(spki)
            .map_err(|e| KeyError::Malformed(format!("SubjectPublicKeyInfo: {e}")))?;
        Self::from_spki(&info)
    }

    /// A key from a parsed SubjectPublicKeyInfo, EC keys only.
    pub fn from_spki(info: &spki::SubjectPublicKeyInfoRef<'_>) -> Result<Self, KeyError> {
        const EC_PUBLIC_KEY: const_oid::ObjectIdentifier =
            const_oid::ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
        const P256: const_oid::ObjectIdentifier =
            const_oid::ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
        const P384: const_oid::ObjectIdentifier = const_oid::ObjectIdentifier::new_unwrap("1.3.132.0.34");
        const P521: const_oid::ObjectIdentifier = const_oid::ObjectIdentifier::new_unwrap("1.3.132.0.35");
        if info.algorithm.oid != EC_PUBLIC_KEY {
            return Err(KeyError::Malformed(format!(
                "not an EC public key (algorithm {})",
                info.algorithm.oid
            )));
        }
        let curve_oid = info
            .algorithm
            .parameters_oid()
            .map_err(|_| KeyError::Malformed("EC key without a named curve".into()))?;
        let curve = match curve_oid {
            oid if oid == P256 => Curve::P256,
            oid if oid == P384 => Curve::P384,
            oid if oid == P521 => Curve::P521,
            other => return Err(KeyError::Malformed(format!("unsupported curve {other}"))),
        };
        let point = info
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| KeyError::Malformed("public key bit string is not octet aligned".into()))?;
        if curve == Curve::P256 && point.len() == 33 {
            return Self::from_compressed_p256(point);
        }
        Self::from_uncompressed_point(curve, point)
    }

    fn from_compressed_p256(point: &[u8]) -> Result<Self, KeyError> {
        use p256::elliptic_curve::sec1::ToEncodedPoint as _;
        let key = p256::PublicKey::from_sec1_bytes(point)
            .map_err(|_| KeyError::Malformed("invalid compressed P-256 point".into()))?;
        Self::from_uncompressed_point(Curve::P256, key.to_encoded_point(false).as_bytes())
    }

    /// A key from a public JWK (RFC 7517). A JWK that carries a private `d` is refused: a
    /// key sent by a wallet or found in a credential must never embed private material.
    pub fn from_jwk(jwk: &Value) -> Result<Self, KeyError> {
        let object = jwk.as_object().ok_or_else(|| KeyError::Malformed("JWK is not a JSON object".into()))?;
        if object.contains_key("d") {
            return Err(KeyError::PrivateKeyMaterial);
        }
        let member = |name: &str| -> Result<&str, KeyError> {
            object
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| KeyError::Malformed(format!("JWK member `{name}` missing or not a string")))
        };
        if member("kty")? != "EC" {
            return Err(KeyError::Malformed("JWK `kty` must be EC".into()));
        }
        let curve = Curve::from_jwk_name(member("crv")?)?;
        let x = decode_coordinate(member("x")?, "x")?;
        let y = decode_coordinate(member("y")?, "y")?;
        Self::from_coordinates(curve, &x, &y)
    }

    /// A key from a COSE_Key (RFC 9053 §7.1): EC2 with `x` and `y` coordinates.
    pub fn from_cose_key(key: &CoseKey) -> Result<Self, KeyError> {
        if key.kty != coset::KeyType::Assigned(iana::KeyType::EC2) {
            return Err(KeyError::Malformed("COSE_Key kty must be EC2 (2)".into()));
        }
        let param = |label: iana::Ec2KeyParameter| {
            key.params.iter().find(|(l, _)| *l == Label::Int(label as i64)).map(|(_, v)| v)
        };
        if param(iana::Ec2KeyParameter::D).is_some() {
            return Err(KeyError::PrivateKeyMaterial);
        }
        let curve = match param(iana::Ec2KeyParameter::Crv).and_then(|v| v.as_integer()) {
            Some(c) if c == (iana::EllipticCurve::P_256 as i64).into() => Curve::P256,
            Some(c) if c == (iana::EllipticCurve::P_384 as i64).into() => Curve::P384,
            Some(c) if c == (iana::EllipticCurve::P_521 as i64).into() => Curve::P521,
            _ => return Err(KeyError::Malformed("COSE_Key crv missing or unsupported".into())),
        };
        let x = param(iana::Ec2KeyParameter::X)
            .and_then(|v| v.as_bytes())
            .ok_or_else(|| KeyError::Malformed("COSE_Key x missing or not a bstr".into()))?;
        match param(iana::Ec2KeyParameter::Y) {
            Some(ciborium::Value::Bytes(y)) => Self::from_coordinates(curve, x, y),
            Some(ciborium::Value::Bool(odd)) if curve == Curve::P256 && x.len() == 32 => {
                let mut compressed = Vec::with_capacity(33);
                compressed.push(if *odd { 0x03 } else { 0x02 });
                compressed.extend_from_slice(x);
                Self::from_compressed_p256(&compressed)
            }
            _ => Err(KeyError::Malformed("COSE_Key y missing or not a bstr".into())),
        }
    }

    /// The curve the key lives on.
    pub fn curve(&self) -> Curve {
        self.curve
    }

    /// The uncompressed SEC1 point `04 || x || y`.
    pub fn uncompressed_point(&self) -> &[u8] {
        &self.point
    }

    fn coordinates(&self) -> (&[u8], &[u8]) {
        let len = self.curve.coordinate_len();
        (&self.point[1..=len], &self.point[1 + len..])
    }

    /// The public JWK, members in RFC 7638 order (`crv`, `kty`, `x`, `y`).
    pub fn to_jwk(&self) -> Value {
        let (x, y) = self.coordinates();
        let mut jwk = Map::new();
        jwk.insert("kty".into(), Value::from("EC"));
        jwk.insert("crv".into(), Value::from(self.curve.jwk_name()));
        jwk.insert("x".into(), Value::from(URL_SAFE_NO_PAD.encode(x)));
        jwk.insert("y".into(), Value::from(URL_SAFE_NO_PAD.encode(y)));
        Value::Object(jwk)
    }

    /// The COSE_Key form used in an mdoc MSO's `deviceKeyInfo` and in CWT confirmation claims.
    pub fn to_cose_key(&self) -> CoseKey {
        let (x, y) = self.coordinates();
        let curve = match self.curve {
            Curve::P256 => iana::EllipticCurve::P_256,
            Curve::P384 => iana::EllipticCurve::P_384,
            Curve::P521 => iana::EllipticCurve::P_521,
        };
        CoseKeyBuilder::new_ec2_pub_key(curve, x.to_vec(), y.to_vec()).build()
    }

    /// The RFC 7638 JWK thumbprint (SHA-256), as used in OpenID4VP handovers and DPoP `jkt`.
    pub fn jwk_thumbprint(&self) -> [u8; 32] {
        let (x, y) = self.coordinates();
        let canonical = format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            self.curve.jwk_name(),
            URL_SAFE_NO_PAD.encode(x),
            URL_SAFE_NO_PAD.encode(y)
        );
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        out
    }

    /// Verifies a fixed-size (`r || s`) JOSE or COSE signature made with `algorithm`.
    pub fn verify(&self, algorithm: Algorithm, message: &[u8], signature: &[u8]) -> Result<(), KeyError> {
        if algorithm.curve() != self.curve {
            return Err(KeyError::AlgorithmKeyMismatch {
                algorithm: algorithm.jose_name(),
                curve: self.curve.jwk_name(),
            });
        }
        self.parsed.verify_sig(message, signature).map_err(|_| KeyError::BadSignature)
    }

    /// Verifies a DER (ASN.1) ECDSA signature with the given aws-lc-rs algorithm, as X.509
    /// certificates carry them.
    pub fn verify_asn1(
        &self,
        algorithm: &'static dyn VerificationAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), KeyError> {
        aws_lc_rs::signature::UnparsedPublicKey::new(algorithm, &self.point)
            .verify(message, signature)
            .map_err(|_| KeyError::BadSignature)
    }
}

fn decode_coordinate(text: &str, name: &str) -> Result<Vec<u8>, KeyError> {
    URL_SAFE_NO_PAD.decode(text).map_err(|_| KeyError::Malformed(format!("JWK `{name}` is not base64url")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RFC9901_HOLDER: &str = r#"{"kty":"EC","crv":"P-256","x":"TCAER19Zvu3OHF4j4W4vfSVoHIP1ILilDls7vCeGemc","y":"ZxjiWWbZMQGHVWKVQ4hbSIirsVfuecCE6t4jT9F2HZQ"}"#;

    #[test]
    fn jwk_round_trips() {
        let jwk: Value = serde_json::from_str(RFC9901_HOLDER).unwrap();
        let key = PublicKey::from_jwk(&jwk).unwrap();
        assert_eq!(key.to_jwk(), jwk);
        let cose = key.to_cose_key();
        assert_eq!(PublicKey::from_cose_key(&cose).unwrap(), key);
    }

    #[test]
    fn rfc7638_thumbprint_example() {
        // RFC 7638 §3.1 uses an RSA key; this checks the EC form against an independently
        // computed value (Python: sha256 of the canonical JSON).
        let jwk: Value = serde_json::from_str(RFC9901_HOLDER).unwrap();
        let key = PublicKey::from_jwk(&jwk).unwrap();
        let canonical = r#"{"crv":"P-256","kty":"EC","x":"TCAER19Zvu3OHF4j4W4vfSVoHIP1ILilDls7vCeGemc","y":"ZxjiWWbZMQGHVWKVQ4hbSIirsVfuecCE6t4jT9F2HZQ"}"#;
        let expected = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
        assert_eq!(key.jwk_thumbprint().as_slice(), expected.as_ref());
    }

    #[test]
    fn rejects_private_jwk_and_off_curve_points() {
        let mut jwk: Value = serde_json::from_str(RFC9901_HOLDER).unwrap();
        jwk["d"] = json!("AAAA");
        assert_eq!(PublicKey::from_jwk(&jwk), Err(KeyError::PrivateKeyMaterial));
        let off_curve = json!({"kty":"EC","crv":"P-256","x":URL_SAFE_NO_PAD.encode([1u8;32]),"y":URL_SAFE_NO_PAD.encode([2u8;32])});
        assert!(matches!(PublicKey::from_jwk(&off_curve), Err(KeyError::Malformed(_))));
        assert!(matches!(PublicKey::from_jwk(&json!({"kty":"oct"})), Err(KeyError::Malformed(_))));
    }
}
