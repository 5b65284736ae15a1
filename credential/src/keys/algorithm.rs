//! The signature algorithms Segl accepts, by their JOSE names and COSE ids.

use super::KeyError;

/// An elliptic curve Segl can verify signatures on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Curve {
    /// NIST P-256 (secp256r1), the HAIP 1.0 baseline.
    P256,
    /// NIST P-384, used by some certificate authorities.
    P384,
    /// NIST P-521, used by some certificate authorities.
    P521,
}

impl Curve {
    /// The JWK `crv` name (RFC 7518 §6.2.1.1).
    pub fn jwk_name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }

    /// The length in bytes of one coordinate.
    pub fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    /// The curve for a JWK `crv` name.
    pub fn from_jwk_name(name: &str) -> Result<Self, KeyError> {
        match name {
            "P-256" => Ok(Curve::P256),
            "P-384" => Ok(Curve::P384),
            "P-521" => Ok(Curve::P521),
            other => Err(KeyError::Malformed(format!("unsupported curve {other}"))),
        }
    }
}

/// An asymmetric signature algorithm on Segl's allow-list. There is deliberately no `none` and
/// no HMAC variant: RFC 9901 §7.1 and HAIP forbid them for issuer and holder signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// ECDSA on P-256 with SHA-256 (JOSE `ES256`, COSE -7; fully specified `ESP256` -9).
    Es256,
    /// ECDSA on P-384 with SHA-384 (JOSE `ES384`, COSE -35).
    Es384,
    /// ECDSA on P-521 with SHA-512 (JOSE `ES512`, COSE -36).
    Es512,
}

impl Algorithm {
    /// The JOSE `alg` name (RFC 7518 §3.1).
    pub fn jose_name(self) -> &'static str {
        match self {
            Algorithm::Es256 => "ES256",
            Algorithm::Es384 => "ES384",
            Algorithm::Es512 => "ES512",
        }
    }

    /// The COSE algorithm id Segl writes (RFC 9053 §2.1).
    pub fn cose_id(self) -> i64 {
        match self {
            Algorithm::Es256 => -7,
            Algorithm::Es384 => -35,
            Algorithm::Es512 => -36,
        }
    }

    /// The curve the algorithm signs on.
    pub fn curve(self) -> Curve {
        match self {
            Algorithm::Es256 => Curve::P256,
            Algorithm::Es384 => Curve::P384,
            Algorithm::Es512 => Curve::P521,
        }
    }

    /// Parses a JOSE `alg`, refusing anything off the allow-list (`none`, `HS256`, RSA, ...).
    pub fn from_jose_name(name: &str) -> Result<Self, KeyError> {
        match name {
            "ES256" => Ok(Algorithm::Es256),
            "ES384" => Ok(Algorithm::Es384),
            "ES512" => Ok(Algorithm::Es512),
            other => Err(KeyError::UnsupportedAlgorithm(other.to_owned())),
        }
    }

    /// Parses a COSE algorithm id. `-9` (ESP256, RFC 9864) is ES256 restricted to P-256, which
    /// is how Segl uses ES256 anyway.
    pub fn from_cose_id(id: i64) -> Result<Self, KeyError> {
        match id {
            -7 | -9 => Ok(Algorithm::Es256),
            -35 => Ok(Algorithm::Es384),
            -36 => Ok(Algorithm::Es512),
            other => Err(KeyError::UnsupportedAlgorithm(other.to_string())),
        }
    }

    /// The fixed-size signature verification algorithm in aws-lc-rs.
    pub(crate) fn fixed_verification(self) -> &'static aws_lc_rs::signature::EcdsaVerificationAlgorithm {
        use aws_lc_rs::signature as s;
        match self {
            Algorithm::Es256 => &s::ECDSA_P256_SHA256_FIXED,
            Algorithm::Es384 => &s::ECDSA_P384_SHA384_FIXED,
            Algorithm::Es512 => &s::ECDSA_P521_SHA512_FIXED,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_none_and_hmac() {
        for name in ["none", "HS256", "HS512", "RS256", "es256", ""] {
            assert_eq!(Algorithm::from_jose_name(name), Err(KeyError::UnsupportedAlgorithm(name.to_owned())));
        }
    }

    #[test]
    fn cose_ids_round_trip() {
        for alg in [Algorithm::Es256, Algorithm::Es384, Algorithm::Es512] {
            assert_eq!(Algorithm::from_cose_id(alg.cose_id()), Ok(alg));
            assert_eq!(Algorithm::from_jose_name(alg.jose_name()), Ok(alg));
        }
        assert_eq!(Algorithm::from_cose_id(-9), Ok(Algorithm::Es256));
        assert!(Algorithm::from_cose_id(5).is_err());
    }
}
