//! The compact SD-JWT form (RFC 9901 §4) and presentation by the holder (§5.2, §4.3).

use serde_json::{Map, Value};

use super::key_binding::{KeyBindingInput, create_kb_jwt};
use super::process::{Processed, process};
use super::{ClaimPath, Disclosure, MAX_DISCLOSURES, SdJwtError};
use crate::jose::CompactJws;

/// The largest compact SD-JWT Segl parses (issuer JWT, disclosures and KB-JWT together).
pub const MAX_SD_JWT_LEN: usize = 2 << 20;

/// A compact SD-JWT split into its parts, nothing verified: `<JWT>~<D1>~...~<Dn>~[<KB-JWT>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdJwt<'a> {
    issuer_jwt: &'a str,
    disclosures: Vec<&'a str>,
    key_binding_jwt: Option<&'a str>,
    sd_hash_input: &'a str,
}

impl<'a> SdJwt<'a> {
    /// Splits a compact SD-JWT. RFC 9901 §4: the issuer-signed JWT, then each disclosure
    /// followed by `~`, then an optional KB-JWT; the `~` after the last disclosure is always
    /// there. Empty disclosures (`~~`) and more than [`MAX_DISCLOSURES`] are refused.
    pub fn parse(compact: &'a str) -> Result<Self, SdJwtError> {
        if compact.len() > MAX_SD_JWT_LEN {
            return Err(SdJwtError::Malformed(format!("longer than {MAX_SD_JWT_LEN} bytes")));
        }
        let last = compact.rfind('~').ok_or_else(|| SdJwtError::Malformed("no `~` separator".into()))?;
        let (sd_hash_input, key_binding) = compact.split_at(last + 1);
        let mut parts = compact[..last].split('~');
        let issuer_jwt = parts.next().filter(|jwt| !jwt.is_empty());
        let issuer_jwt =
            issuer_jwt.ok_or_else(|| SdJwtError::Malformed("the issuer-signed JWT is empty".into()))?;
        let mut disclosures = Vec::new();
        for (index, disclosure) in parts.enumerate() {
            if index >= MAX_DISCLOSURES {
                return Err(SdJwtError::TooManyDisclosures {
                    count: compact[..last].split('~').count() - 1,
                    max: MAX_DISCLOSURES,
                });
            }
            if disclosure.is_empty() {
                return Err(SdJwtError::MalformedDisclosure {
                    index,
                    prefix: String::new(),
                    reason: "empty disclosure (`~~`)".into(),
                });
            }
            disclosures.push(disclosure);
        }
        let key_binding_jwt = (!key_binding.is_empty()).then_some(key_binding);
        Ok(SdJwt { issuer_jwt, disclosures, key_binding_jwt, sd_hash_input })
    }

    /// The issuer-signed JWT.
    pub fn issuer_jwt(&self) -> &'a str {
        self.issuer_jwt
    }

    /// The disclosures, in presentation order.
    pub fn disclosures(&self) -> &[&'a str] {
        &self.disclosures
    }

    /// The KB-JWT, if one is appended.
    pub fn key_binding_jwt(&self) -> Option<&'a str> {
        self.key_binding_jwt
    }

    /// `<JWT>~<D1>~...~<Dn>~`: what `sd_hash` covers (RFC 9901 §4.3.1).
    pub fn sd_hash_input(&self) -> &'a str {
        self.sd_hash_input
    }

    /// Parses the disclosures (checking their shape) and substitutes them into the payload,
    /// without checking the issuer's signature.
    pub(crate) fn process_unverified(&self) -> Result<(Processed, Vec<Disclosure>), SdJwtError> {
        let jws = CompactJws::parse(self.issuer_jwt).map_err(SdJwtError::IssuerJwt)?;
        let payload = jws.payload_json().map_err(SdJwtError::IssuerJwt)?;
        self.process_payload(payload)
    }

    pub(crate) fn process_payload(
        &self,
        payload: Map<String, Value>,
    ) -> Result<(Processed, Vec<Disclosure>), SdJwtError> {
        let mut disclosures = self
            .disclosures
            .iter()
            .enumerate()
            .map(|(index, encoded)| Disclosure::parse(index, encoded))
            .collect::<Result<Vec<_>, _>>()?;
        let processed = process(payload, &mut disclosures)?;
        Ok((processed, disclosures))
    }
}

/// Builds a presentation (RFC 9901 §5.2) from an issued SD-JWT: keeps the disclosures needed to
/// reveal every claim in `selection` — the claim's own disclosure, those of its parents (so
/// disclosing `["address","country"]` includes `address` when `address` is itself
/// selectively disclosable) and those of everything under it; `null` selects all array
/// elements — then appends a KB-JWT when `key_binding` is given. Every selected path must exist
/// in the credential.
pub fn present(
    sd_jwt: &str,
    selection: &[ClaimPath],
    key_binding: Option<&KeyBindingInput<'_>>,
) -> Result<String, SdJwtError> {
    let parsed = SdJwt::parse(sd_jwt)?;
    if parsed.key_binding_jwt.is_some() {
        return Err(SdJwtError::Malformed("the SD-JWT to present already carries a KB-JWT".into()));
    }
    let (processed, _) = parsed.process_unverified()?;
    for path in selection {
        if path.select(&processed.claims).is_empty() {
            return Err(SdJwtError::ClaimNotFound { path: path.clone() });
        }
    }
    let mut out = String::with_capacity(sd_jwt.len());
    out.push_str(parsed.issuer_jwt);
    out.push('~');
    for (encoded, landed) in parsed.disclosures.iter().zip(&processed.landed) {
        if selection.iter().any(|wanted| wanted.is_reached_through(landed) || wanted.covers(landed)) {
            out.push_str(encoded);
            out.push('~');
        }
    }
    if let Some(input) = key_binding {
        let kb_jwt = create_kb_jwt(&out, input)?;
        out.push_str(&kb_jwt);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_compact_forms() {
        let parsed = SdJwt::parse("h.p.s~d1~d2~").unwrap();
        assert_eq!(parsed.issuer_jwt(), "h.p.s");
        assert_eq!(parsed.disclosures(), ["d1", "d2"]);
        assert_eq!(parsed.key_binding_jwt(), None);
        assert_eq!(parsed.sd_hash_input(), "h.p.s~d1~d2~");
        let with_kb = SdJwt::parse("h.p.s~d1~k.b.j").unwrap();
        assert_eq!(with_kb.disclosures(), ["d1"]);
        assert_eq!(with_kb.key_binding_jwt(), Some("k.b.j"));
        assert_eq!(with_kb.sd_hash_input(), "h.p.s~d1~");
        assert_eq!(SdJwt::parse("h.p.s~").unwrap().disclosures().len(), 0);
    }

    #[test]
    fn rejects_malformed_compact_forms() {
        assert!(matches!(SdJwt::parse("h.p.s"), Err(SdJwtError::Malformed(_))));
        assert!(matches!(SdJwt::parse("~d~"), Err(SdJwtError::Malformed(_))));
        assert!(matches!(SdJwt::parse("h.p.s~d~~"), Err(SdJwtError::MalformedDisclosure { index: 1, .. })));
    }

    #[test]
    fn rejects_too_many_disclosures() {
        let compact = format!("h.p.s~{}", "d~".repeat(MAX_DISCLOSURES + 1));
        assert!(matches!(SdJwt::parse(&compact), Err(SdJwtError::TooManyDisclosures { count: 1001, .. })));
    }
}
