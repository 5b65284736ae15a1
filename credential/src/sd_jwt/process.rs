//! Replacing digests by disclosed claims (RFC 9901 §7.1 steps 3–5): the structural core shared
//! by the verifier and by the holder (who needs to know where each disclosure lands).

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::disclosure::prefix;
use super::{ClaimPath, Disclosure, MAX_DEPTH, MAX_DISCLOSURES, PathElement, SD_ALG, SdJwtError};

/// The processed claims and, per disclosure (by position), the path where it landed.
pub(crate) struct Processed {
    pub claims: Map<String, Value>,
    pub landed: Vec<ClaimPath>,
}

/// Substitutes `disclosures` into `payload`, enforcing every structural rule of RFC 9901 §7.1.
/// Disclosure values are moved out of `disclosures` into the result.
pub(crate) fn process(
    mut payload: Map<String, Value>,
    disclosures: &mut [Disclosure],
) -> Result<Processed, SdJwtError> {
    if disclosures.len() > MAX_DISCLOSURES {
        return Err(SdJwtError::TooManyDisclosures { count: disclosures.len(), max: MAX_DISCLOSURES });
    }
    // RFC 9901 §7.1 step 3.1: the hash algorithm is `_sd_alg`, sha-256 when absent; Segl
    // supports only sha-256.
    match payload.remove("_sd_alg") {
        None => {}
        Some(Value::String(alg)) if alg == SD_ALG => {}
        Some(other) => return Err(SdJwtError::UnsupportedSdAlg(other.to_string())),
    }
    let mut by_digest = HashMap::with_capacity(disclosures.len());
    for (index, disclosure) in disclosures.iter().enumerate() {
        if by_digest.insert(disclosure.digest().to_owned(), index).is_some() {
            return Err(SdJwtError::DuplicateDisclosure { index, prefix: prefix(disclosure.encoded()) });
        }
    }
    let mut walker =
        Walker { disclosures, by_digest, seen: HashSet::new(), landed: Vec::new(), path: ClaimPath::root() };
    walker.landed.resize(walker.disclosures.len(), None);
    let claims = walker.object(payload)?;
    // RFC 9901 §7.1 step 5: "If any Disclosure was not referenced by digest value in the
    // Issuer-signed JWT (directly or recursively via other Disclosures), the SD-JWT MUST be
    // rejected."
    let mut landed = Vec::with_capacity(walker.landed.len());
    for (index, path) in walker.landed.into_iter().enumerate() {
        match path {
            Some(path) => landed.push(path),
            None => {
                let encoded = walker.disclosures.get(index).map(Disclosure::encoded).unwrap_or_default();
                return Err(SdJwtError::UnreferencedDisclosure { index, prefix: prefix(encoded) });
            }
        }
    }
    Ok(Processed { claims, landed })
}

struct Walker<'d> {
    disclosures: &'d mut [Disclosure],
    by_digest: HashMap<String, usize>,
    seen: HashSet<String>,
    landed: Vec<Option<ClaimPath>>,
    path: ClaimPath,
}

impl Walker<'_> {
    fn value(&mut self, value: Value) -> Result<Value, SdJwtError> {
        match value {
            Value::Object(map) => self.object(map).map(Value::Object),
            Value::Array(items) => self.array(items).map(Value::Array),
            other => Ok(other),
        }
    }

    fn check_depth(&self) -> Result<(), SdJwtError> {
        if self.path.len() >= MAX_DEPTH {
            return Err(SdJwtError::TooDeep { path: self.path.clone(), max: MAX_DEPTH });
        }
        Ok(())
    }

    fn object(&mut self, map: Map<String, Value>) -> Result<Map<String, Value>, SdJwtError> {
        self.check_depth()?;
        let mut out = Map::with_capacity(map.len());
        let mut sd = None;
        for (key, value) in map {
            if key == "_sd" {
                sd = Some(value);
                continue;
            }
            self.path.push(PathElement::Key(key));
            let value = self.value(value)?;
            if let Some(PathElement::Key(key)) = self.path.pop() {
                out.insert(key, value);
            }
        }
        let Some(sd) = sd else { return Ok(out) };
        let Value::Array(digests) = sd else {
            return Err(SdJwtError::InvalidDigests {
                path: self.path.clone(),
                reason: "`_sd` is not an array".into(),
            });
        };
        for digest in digests {
            let Value::String(digest) = digest else {
                return Err(SdJwtError::InvalidDigests {
                    path: self.path.clone(),
                    reason: "`_sd` holds a non-string".into(),
                });
            };
            let Some(index) = self.mark_seen(digest)? else { continue };
            let Some(disclosure) = self.disclosures.get_mut(index) else { continue };
            let Some(name) = disclosure.name().map(str::to_owned) else {
                // RFC 9901 §7.1 step 3.2.2: an `_sd` digest must refer to an object-property
                // (three-element) disclosure.
                return Err(SdJwtError::DisclosureKindMismatch {
                    index,
                    prefix: prefix(disclosure.encoded()),
                    kind: "array element",
                    path: self.path.clone(),
                });
            };
            // RFC 9901 §7.1 step 3.2.2: "If the claim name already exists at the level of the
            // _sd key, the SD-JWT MUST be rejected."
            if out.contains_key(&name) {
                return Err(SdJwtError::ClaimExists {
                    index,
                    prefix: prefix(disclosure.encoded()),
                    path: self.path.child(PathElement::Key(name)),
                });
            }
            let value = disclosure.take_value();
            self.path.push(PathElement::Key(name));
            let value = self.value(value)?;
            if let Some(slot) = self.landed.get_mut(index) {
                *slot = Some(self.path.clone());
            }
            if let Some(PathElement::Key(name)) = self.path.pop() {
                out.insert(name, value);
            }
        }
        Ok(out)
    }

    fn array(&mut self, items: Vec<Value>) -> Result<Vec<Value>, SdJwtError> {
        self.check_depth()?;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let digest = match item {
                Value::Object(map) if map.len() == 1 && map.contains_key("...") => {
                    match map.into_iter().next() {
                        Some((_, Value::String(digest))) => digest,
                        _ => {
                            return Err(SdJwtError::InvalidDigests {
                                path: self.path.child(PathElement::Index(out.len())),
                                reason: "`...` is not a string".into(),
                            });
                        }
                    }
                }
                other => {
                    self.path.push(PathElement::Index(out.len()));
                    let value = self.value(other)?;
                    self.path.pop();
                    out.push(value);
                    continue;
                }
            };
            // RFC 9901 §7.1 step 3.3.2: an undisclosed or decoy digest removes the element.
            let Some(index) = self.mark_seen(digest)? else { continue };
            let Some(disclosure) = self.disclosures.get_mut(index) else { continue };
            if disclosure.name().is_some() {
                // RFC 9901 §7.1 step 3.3.2: "If the Disclosure is not a JSON-encoded array of two
                // elements, the SD-JWT MUST be rejected."
                return Err(SdJwtError::DisclosureKindMismatch {
                    index,
                    prefix: prefix(disclosure.encoded()),
                    kind: "object property",
                    path: self.path.child(PathElement::Index(out.len())),
                });
            }
            let value = disclosure.take_value();
            self.path.push(PathElement::Index(out.len()));
            let value = self.value(value)?;
            if let Some(slot) = self.landed.get_mut(index) {
                *slot = Some(self.path.clone());
            }
            self.path.pop();
            out.push(value);
        }
        Ok(out)
    }

    /// Records a digest and returns the presented disclosure it refers to, if any. RFC 9901
    /// §7.1 step 4: "If any digest value is encountered more than once in the Issuer-signed JWT
    /// payload (directly or recursively via other Disclosures), the SD-JWT MUST be rejected."
    fn mark_seen(&mut self, digest: String) -> Result<Option<usize>, SdJwtError> {
        let index = self.by_digest.get(&digest).copied();
        if self.seen.contains(&digest) {
            return Err(SdJwtError::DuplicateDigest { digest, path: self.path.clone() });
        }
        self.seen.insert(digest);
        Ok(index)
    }
}
