//! Issuance (RFC 9901 §4–5): turning a claim set and a disclosure policy into an issuer-signed
//! JWT with digests, plus its disclosures, in the compact form `<JWT>~<D1>~...~<Dn>~`.

use rand_core::CryptoRngCore;
use serde_json::{Map, Value};

use super::disclosure::Disclosure;
use super::{ClaimPath, MAX_DEPTH, PathElement, SD_ALG, SdJwtError, sha256_b64url};
use crate::jose::{self, KeyReference, base64url_encode};
use crate::keys::Signer;

/// Where salts come from. RFC 9901 §4.2.1: a salt MUST be unique per disclosure and have at
/// least 128 bits of entropy; production uses [`RngSalts`]. Tests implement it to replay the
/// published vectors' salts. `path` is the claim being concealed (for a decoy: the object or
/// array it is added to); salts are requested children first, then parents.
pub trait SaltSource {
    /// A fresh salt for the disclosure of the claim at `path`.
    fn salt(&mut self, path: &ClaimPath) -> Result<String, SdJwtError>;
}

/// The default salt source: base64url of 16 bytes from a cryptographic RNG (128 bits).
pub struct RngSalts<'r, R: CryptoRngCore>(pub &'r mut R);

impl<R: CryptoRngCore> SaltSource for RngSalts<'_, R> {
    fn salt(&mut self, _path: &ClaimPath) -> Result<String, SdJwtError> {
        let mut bytes = [0u8; 16];
        self.0.try_fill_bytes(&mut bytes).map_err(|e| SdJwtError::Salt(e.to_string()))?;
        Ok(base64url_encode(bytes))
    }
}

/// Which claims are selectively disclosable: a set of claim paths. A path may end in an array
/// index or `null` (every element); a claim whose value is itself an object or array may be
/// disclosable and also contain disclosable members (recursive disclosures, RFC 9901 §4.2.6).
/// Paths that do not occur in a given claim set are ignored, so one policy serves credentials
/// with and without optional claims.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DisclosurePolicy {
    paths: Vec<ClaimPath>,
}

impl DisclosurePolicy {
    /// Nothing is selectively disclosable.
    pub fn none() -> Self {
        Self::default()
    }

    /// A policy from claim paths. Each must start with a claim name, and must not name a claim
    /// SD-JWT reserves (`_sd`, `_sd_alg`, `...`).
    pub fn new(paths: impl IntoIterator<Item = ClaimPath>) -> Result<Self, SdJwtError> {
        let paths: Vec<ClaimPath> = paths.into_iter().collect();
        for path in &paths {
            let reason = match path.elements().first() {
                None => Some("the path is empty"),
                Some(PathElement::Key(_)) => None,
                Some(_) => Some("the claim set is an object: a path starts with a claim name"),
            };
            if let Some(reason) = reason {
                return Err(SdJwtError::NotSelectivelyDisclosable {
                    path: path.clone(),
                    reason: reason.into(),
                });
            }
            if path.elements().iter().any(|e| matches!(e, PathElement::Key(k) if is_reserved(k))) {
                return Err(SdJwtError::ReservedClaimName { path: path.clone() });
            }
        }
        Ok(DisclosurePolicy { paths })
    }

    /// The paths, as given.
    pub fn paths(&self) -> &[ClaimPath] {
        &self.paths
    }

    fn selects(&self, path: &ClaimPath) -> bool {
        self.paths.iter().any(|pattern| pattern.matches(path))
    }
}

fn is_reserved(name: &str) -> bool {
    matches!(name, "_sd" | "_sd_alg" | "...")
}

/// How to issue: the key reference in the header and how many decoy digests to add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssueOptions {
    /// `x5c` (HAIP, ARF), `kid`, or none.
    pub key_reference: KeyReference,
    /// Decoy digests added to every `_sd` array that holds at least one real digest (RFC 9901
    /// §4.2.5), hiding how many claims an object has.
    pub decoys_per_object: usize,
}

impl Default for IssueOptions {
    fn default() -> Self {
        IssueOptions { key_reference: KeyReference::X5c, decoys_per_object: 0 }
    }
}

/// One disclosure made at issuance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedDisclosure {
    /// The claim it discloses.
    pub path: ClaimPath,
    /// The base64url disclosure.
    pub encoded: String,
    /// Its digest, as embedded in the payload.
    pub digest: String,
}

/// The unsigned result of concealing: the payload with digests, and the disclosures (children
/// before parents).
#[derive(Debug, Clone, PartialEq)]
pub struct Concealed {
    /// The JWT claims set, with `_sd`, `...` and `_sd_alg`.
    pub payload: Map<String, Value>,
    /// The disclosures.
    pub disclosures: Vec<IssuedDisclosure>,
}

/// Replaces the claims `policy` selects by digests (RFC 9901 §4.2): `_sd` arrays (sorted, with
/// `decoys_per_object` decoys each) for object members, `{"...": digest}` for array elements,
/// and `_sd_alg: "sha-256"` when anything was concealed.
pub fn conceal(
    claims: Map<String, Value>,
    policy: &DisclosurePolicy,
    decoys_per_object: usize,
    salts: &mut dyn SaltSource,
) -> Result<Concealed, SdJwtError> {
    let mut concealer =
        Concealer { policy, decoys_per_object, salts, path: ClaimPath::root(), disclosures: Vec::new() };
    let mut payload = concealer.object(claims)?;
    if !concealer.disclosures.is_empty() {
        payload.insert("_sd_alg".into(), Value::from(SD_ALG));
    }
    Ok(Concealed { payload, disclosures: concealer.disclosures })
}

struct Concealer<'a> {
    policy: &'a DisclosurePolicy,
    decoys_per_object: usize,
    salts: &'a mut dyn SaltSource,
    path: ClaimPath,
    disclosures: Vec<IssuedDisclosure>,
}

impl Concealer<'_> {
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

    /// Makes the disclosure for the claim at the current path and returns its digest.
    fn disclose(&mut self, name: Option<&str>, value: &Value) -> Result<String, SdJwtError> {
        let salt = self.salts.salt(&self.path)?;
        let (encoded, digest) = Disclosure::encode(&salt, name, value);
        self.disclosures.push(IssuedDisclosure { path: self.path.clone(), encoded, digest: digest.clone() });
        Ok(digest)
    }

    fn object(&mut self, map: Map<String, Value>) -> Result<Map<String, Value>, SdJwtError> {
        self.check_depth()?;
        let mut digests = Vec::new();
        let mut plain = Map::with_capacity(map.len());
        for (key, value) in map {
            // RFC 9901 §4.2.1 / §7.1: `_sd` and `...` cannot be claim names, and `_sd_alg` is
            // the SD-JWT's own; an input carrying them would be misread by every verifier.
            if is_reserved(&key) {
                return Err(SdJwtError::ReservedClaimName { path: self.path.child(PathElement::Key(key)) });
            }
            self.path.push(PathElement::Key(key));
            let value = self.value(value)?;
            if self.policy.selects(&self.path) {
                let name = match self.path.elements().last() {
                    Some(PathElement::Key(name)) => name.clone(),
                    _ => String::new(),
                };
                digests.push(self.disclose(Some(&name), &value)?);
                self.path.pop();
            } else if let Some(PathElement::Key(key)) = self.path.pop() {
                plain.insert(key, value);
            }
        }
        if digests.is_empty() {
            return Ok(plain);
        }
        for _ in 0..self.decoys_per_object {
            digests.push(sha256_b64url(self.salts.salt(&self.path)?.as_bytes()));
        }
        // RFC 9901 §4.2.4.1: the issuer MUST hide the original order of the claims; sorting
        // the digests does.
        digests.sort_unstable();
        let mut out = Map::with_capacity(plain.len() + 1);
        out.insert("_sd".into(), Value::Array(digests.into_iter().map(Value::String).collect()));
        out.extend(plain);
        Ok(out)
    }

    fn array(&mut self, items: Vec<Value>) -> Result<Vec<Value>, SdJwtError> {
        self.check_depth()?;
        let mut out = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            self.path.push(PathElement::Index(index));
            let value = self.value(item)?;
            if self.policy.selects(&self.path) {
                let digest = self.disclose(None, &value)?;
                let mut entry = Map::with_capacity(1);
                entry.insert("...".into(), Value::String(digest));
                out.push(Value::Object(entry));
            } else {
                out.push(value);
            }
            self.path.pop();
        }
        Ok(out)
    }
}

/// Issues an SD-JWT with header `typ` (RFC 9901 §4, §5.1) from `claims`: conceals what `policy`
/// selects, signs with `signer` (header `alg` from the signer, `x5c`/`kid` per `options`), and
/// returns `<JWT>~<D1>~...~<Dn>~`. Salts come from `rng`.
pub fn issue(
    typ: &str,
    claims: Map<String, Value>,
    policy: &DisclosurePolicy,
    options: &IssueOptions,
    signer: &dyn Signer,
    rng: &mut impl CryptoRngCore,
) -> Result<String, SdJwtError> {
    issue_with_salts(typ, claims, policy, options, signer, &mut RngSalts(rng))
}

/// [`issue`] with an explicit salt source.
pub fn issue_with_salts(
    typ: &str,
    claims: Map<String, Value>,
    policy: &DisclosurePolicy,
    options: &IssueOptions,
    signer: &dyn Signer,
    salts: &mut dyn SaltSource,
) -> Result<String, SdJwtError> {
    let concealed = conceal(claims, policy, options.decoys_per_object, salts)?;
    let header = jose::header(typ, signer, options.key_reference).map_err(SdJwtError::Signing)?;
    let payload = serde_json::to_vec(&concealed.payload).map_err(|e| SdJwtError::Malformed(e.to_string()))?;
    let jwt = jose::sign_compact(header, &payload, signer).map_err(SdJwtError::Signing)?;
    let length = jwt.len() + 1 + concealed.disclosures.iter().map(|d| d.encoded.len() + 1).sum::<usize>();
    let mut out = String::with_capacity(length);
    out.push_str(&jwt);
    out.push('~');
    for disclosure in &concealed.disclosures {
        out.push_str(&disclosure.encoded);
        out.push('~');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng as _;
    use serde_json::json;

    fn rng() -> rand_chacha::ChaCha20Rng {
        rand_chacha::ChaCha20Rng::seed_from_u64(7)
    }

    fn conceal_json(claims: Value, paths: &[&str], decoys: usize) -> Concealed {
        let policy = DisclosurePolicy::new(paths.iter().map(|p| p.parse().unwrap())).unwrap();
        let Value::Object(claims) = claims else { unreachable!() };
        conceal(claims, &policy, decoys, &mut RngSalts(&mut rng())).unwrap()
    }

    #[test]
    fn conceals_members_elements_and_nested() {
        let concealed = conceal_json(
            json!({"a": 1, "b": {"c": 2, "d": 3}, "e": ["x", "y"]}),
            &[r#"["a"]"#, r#"["b"]"#, r#"["b","c"]"#, r#"["e",null]"#],
            0,
        );
        let payload = &concealed.payload;
        assert_eq!(payload["_sd"].as_array().unwrap().len(), 2);
        assert!(payload.get("a").is_none() && payload.get("b").is_none());
        assert_eq!(payload["e"][0].as_object().unwrap().keys().collect::<Vec<_>>(), ["..."]);
        assert_eq!(payload["_sd_alg"], "sha-256");
        let paths: Vec<String> = concealed.disclosures.iter().map(|d| d.path.to_string()).collect();
        // Children before parents.
        assert_eq!(paths, [r#"["a"]"#, r#"["b","c"]"#, r#"["b"]"#, r#"["e",0]"#, r#"["e",1]"#]);
        let sd: Vec<&str> = payload["_sd"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        let mut sorted = sd.clone();
        sorted.sort_unstable();
        assert_eq!(sd, sorted);
    }

    #[test]
    fn salts_have_128_bits_and_decoys_are_added() {
        let concealed = conceal_json(json!({"a": 1, "b": 2}), &[r#"["a"]"#], 3);
        assert_eq!(concealed.payload["_sd"].as_array().unwrap().len(), 4);
        let disclosure = Disclosure::parse(0, &concealed.disclosures[0].encoded).unwrap();
        assert_eq!(crate::jose::base64url_decode(disclosure.salt()).unwrap().len(), 16);
    }

    #[test]
    fn nothing_concealed_means_no_sd_members() {
        let concealed = conceal_json(json!({"a": 1}), &[r#"["zzz"]"#], 3);
        assert_eq!(concealed.payload, *json!({"a": 1}).as_object().unwrap());
        assert!(concealed.disclosures.is_empty());
    }

    #[test]
    fn rejects_reserved_claim_names_in_input() {
        let Value::Object(claims) = json!({"x": {"_sd": []}}) else { unreachable!() };
        let result = conceal(claims, &DisclosurePolicy::none(), 0, &mut RngSalts(&mut rng()));
        assert!(matches!(result, Err(SdJwtError::ReservedClaimName { .. })));
        assert!(DisclosurePolicy::new([ClaimPath::keys(["_sd_alg"])]).is_err());
        assert!(DisclosurePolicy::new([r#"[null]"#.parse().unwrap()]).is_err());
    }
}
