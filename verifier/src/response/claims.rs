//! Does what came back answer the Credential Query, and nothing more (OpenID4VP 1.0 §6.3,
//! §6.4.1; DIGEST §7.7 step 3)? Shared by both formats: an mdoc's elements are seen as the
//! claims `{namespace: {element: value}}` with paths `[namespace, element]`.
//!
//! Age thresholds follow the ISO 18013-5 `age_over_NN` rule: a wallet asked for `age_over_18`
//! whose credential lacks it returns the nearest statement that still decides the question, so
//! `age_over_NN: true` with NN ≥ 18 means over 18, and `age_over_NN: false` with NN ≤ 18 means
//! not. SD-JWT VC age proofs (`age_equal_or_over: {"NN": bool}`) are read the same way.

use segl_credential::sd_jwt::{ClaimPath, PathElement};
use serde_json::{Map, Value};

use super::reason::{Failure, Reason, fail};
use crate::request::{AGE_EQUAL_OR_OVER, ClaimQuery, CredentialQuery};

const AGE_OVER_PREFIX: &str = "age_over_";

/// The age threshold a claim path asks about, and how its siblings are named: `[.., ns,
/// "age_over_NN"]` (mdoc) or `[.., "age_equal_or_over", "NN"]` (SD-JWT VC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AgeStyle {
    AgeOverPrefix,
    EqualOrOverMember,
}

fn threshold(name: &str, style: AgeStyle) -> Option<u8> {
    let digits = match style {
        AgeStyle::AgeOverPrefix => name.strip_prefix(AGE_OVER_PREFIX)?,
        AgeStyle::EqualOrOverMember => name,
    };
    if digits.is_empty() || digits.len() > 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// `(parent path, threshold, style)` when `path` names an age threshold.
fn age_path(path: &ClaimPath) -> Option<(&[PathElement], u8, AgeStyle)> {
    let (last, parent) = path.elements().split_last()?;
    let PathElement::Key(name) = last else { return None };
    if let Some(age) = threshold(name, AgeStyle::AgeOverPrefix) {
        return Some((parent, age, AgeStyle::AgeOverPrefix));
    }
    match parent.last() {
        Some(PathElement::Key(container)) if container == AGE_EQUAL_OR_OVER => {
            threshold(name, AgeStyle::EqualOrOverMember).map(|age| (parent, age, AgeStyle::EqualOrOverMember))
        }
        _ => None,
    }
}

/// The ISO nearest-statement rule over the boolean members of `object`: the exact threshold if
/// present, else the nearest `true` at or above `age`, else the nearest `false` at or below it;
/// `None` when nothing decides.
fn decide_age(object: &Map<String, Value>, age: u8, style: AgeStyle) -> Option<bool> {
    let statements =
        object.iter().filter_map(|(name, value)| Some((threshold(name, style)?, value.as_bool()?)));
    let mut nearest_true_above: Option<u8> = None;
    let mut nearest_false_below: Option<u8> = None;
    for (threshold, over) in statements {
        if threshold == age {
            return Some(over);
        }
        if over && threshold > age && nearest_true_above.is_none_or(|t| threshold < t) {
            nearest_true_above = Some(threshold);
        }
        if !over && threshold < age && nearest_false_below.is_none_or(|t| threshold > t) {
            nearest_false_below = Some(threshold);
        }
    }
    nearest_true_above.map(|_| true).or(nearest_false_below.map(|_| false))
}

/// The objects a (possibly wildcarded) parent path selects in `claims`; the root for `[]`.
fn parents<'c>(parent: &[PathElement], claims: &'c Map<String, Value>) -> Vec<&'c Map<String, Value>> {
    if parent.is_empty() {
        return vec![claims];
    }
    ClaimPath::new(parent.to_vec()).select(claims).into_iter().filter_map(Value::as_object).collect()
}

/// Whether the holder is at least `age`, from age statements at `path`'s parent (see the module
/// docs); `None` when `path` is not an age path or nothing there decides.
fn infer_age(path: &ClaimPath, claims: &Map<String, Value>) -> Option<bool> {
    let (parent, age, style) = age_path(path)?;
    parents(parent, claims).into_iter().find_map(|object| decide_age(object, age, style))
}

/// Whether the holder is at least `age` years old according to `claims`: mdoc namespaces'
/// `age_over_NN` elements or the SD-JWT VC `age_equal_or_over` member, by the ISO rule.
pub(crate) fn age_over(claims: &Map<String, Value>, age: u8) -> Option<bool> {
    let sd_jwt = claims.get(AGE_EQUAL_OR_OVER).and_then(Value::as_object);
    let from_sd_jwt = sd_jwt.and_then(|object| decide_age(object, age, AgeStyle::EqualOrOverMember));
    from_sd_jwt.or_else(|| {
        claims
            .values()
            .filter_map(Value::as_object)
            .find_map(|ns| decide_age(ns, age, AgeStyle::AgeOverPrefix))
    })
}

enum Outcome {
    Present,
    Missing,
    ValueMismatch,
}

/// Whether `claim` is answered in `claims`, and with an accepted value (§6.4.1: "If values is
/// provided, the claim value MUST match one of the values").
///
/// An empty array does not answer a claim. A wallet may disclose an SD-JWT array claim (say
/// `nationalities`) while withholding every selectively disclosable element; the processed
/// claims then hold `[]` (RFC 9901 §7.1 removes undisclosed elements), a container that says
/// nothing about the holder. OpenID4VP 1.0 §7.1 makes an empty selection an error (so
/// `["nationalities", null]` over `[]` selects nothing), and a query for `["nationalities"]` asks
/// for the claim's value, not for the presence of its container: both are treated as the claim
/// missing (`missing_claim`). The verifier cannot tell such an array from one issued empty, and
/// for the relying party both carry no value, so an issued `[]` is treated the same.
fn evaluate(claim: &ClaimQuery, claims: &Map<String, Value>) -> Outcome {
    let mut found: Vec<Value> = claim
        .path
        .select(claims)
        .into_iter()
        .filter(|value| !matches!(value, Value::Array(elements) if elements.is_empty()))
        .cloned()
        .collect();
    if found.is_empty() {
        match infer_age(&claim.path, claims) {
            Some(over) => found.push(Value::Bool(over)),
            None => return Outcome::Missing,
        }
    }
    match &claim.values {
        Some(accepted) if !found.iter().any(|value| accepted.contains(value)) => Outcome::ValueMismatch,
        _ => Outcome::Present,
    }
}

/// Whether disclosing `disclosed` was asked for by `claim`: it is the claim, lies under it
/// (disclosing a claim reveals everything beneath), lies on the way to it, or is an age
/// statement standing in for a missing requested threshold (the ISO rule).
fn asked_for(claim: &ClaimQuery, disclosed: &ClaimPath, claims: &Map<String, Value>) -> bool {
    if claim.path.covers(disclosed) || claim.path.is_reached_through(disclosed) {
        return true;
    }
    let Some((parent, _, style)) = age_path(&claim.path) else { return false };
    let Some((last, disclosed_parent)) = disclosed.elements().split_last() else { return false };
    let same_parent = ClaimPath::new(parent.to_vec()).matches(&ClaimPath::new(disclosed_parent.to_vec()));
    let is_age_statement = matches!(last, PathElement::Key(name) if threshold(name, style).is_some());
    same_parent && is_age_statement && claim.path.select(claims).is_empty()
}

/// Checks that `claims` (everything the presentation shows) satisfies one acceptable claim set
/// of `query`, and that every path in `disclosed` (what the holder chose to reveal) belongs to
/// that set. Returns the index of the claim set that matched.
pub(crate) fn check(
    query: &CredentialQuery,
    claims: &Map<String, Value>,
    disclosed: &[ClaimPath],
) -> Result<usize, Failure> {
    let options = query.claim_options();
    let all: Vec<&ClaimQuery> = query.claims.iter().flatten().collect();
    // "The Wallet MUST NOT return claims that were not requested" — first against every claim
    // of the query, so over-disclosure is named as such.
    if let Some(extra) = disclosed.iter().find(|path| !all.iter().any(|claim| asked_for(claim, path, claims)))
    {
        return Err(fail(Reason::UnrequestedClaim, format!("{extra} was disclosed but not requested")));
    }
    let mut first_problem = None;
    for (index, option) in options.iter().enumerate() {
        let mut problem = None;
        for claim in option {
            match evaluate(claim, claims) {
                Outcome::Present => {}
                Outcome::Missing => {
                    problem = Some(fail(Reason::MissingClaim, format!("{} is missing", claim.path)));
                    break;
                }
                Outcome::ValueMismatch => {
                    problem = Some(fail(
                        Reason::ClaimValueMismatch,
                        format!("{} has a value outside `values`", claim.path),
                    ));
                    break;
                }
            }
        }
        match problem {
            None => {
                if let Some(extra) =
                    disclosed.iter().find(|path| !option.iter().any(|claim| asked_for(claim, path, claims)))
                {
                    return Err(fail(
                        Reason::UnrequestedClaim,
                        format!("{extra} is outside the claim set the presentation satisfies"),
                    ));
                }
                return Ok(index);
            }
            Some(problem) => {
                first_problem.get_or_insert(problem);
            }
        }
    }
    Err(first_problem.unwrap_or_else(|| fail(Reason::MissingClaim, "no claim set")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn age_rule_decides_from_the_nearest_statement() {
        let ns = object(json!({"age_over_16": true, "age_over_21": true, "age_over_65": false}));
        assert_eq!(decide_age(&ns, 18, AgeStyle::AgeOverPrefix), Some(true));
        assert_eq!(decide_age(&ns, 65, AgeStyle::AgeOverPrefix), Some(false));
        assert_eq!(decide_age(&ns, 70, AgeStyle::AgeOverPrefix), Some(false));
        let undecided = object(json!({"age_over_16": true, "age_over_21": false}));
        assert_eq!(decide_age(&undecided, 18, AgeStyle::AgeOverPrefix), None);
        let exact = object(json!({"age_over_18": false, "age_over_21": true}));
        assert_eq!(decide_age(&exact, 18, AgeStyle::AgeOverPrefix), Some(false));
        let sd = object(json!({"21": true}));
        assert_eq!(decide_age(&sd, 18, AgeStyle::EqualOrOverMember), Some(true));
    }

    #[test]
    fn age_names_are_strict() {
        for name in ["age_over_", "age_over_1x", "age_over_123", "age_over_+1", "age_over"] {
            assert_eq!(threshold(name, AgeStyle::AgeOverPrefix), None, "{name}");
        }
        assert_eq!(threshold("age_over_05", AgeStyle::AgeOverPrefix), Some(5));
    }

    #[test]
    fn age_over_reads_both_formats() {
        assert_eq!(age_over(&object(json!({"eu.europa.ec.av.1": {"age_over_21": true}})), 18), Some(true));
        assert_eq!(age_over(&object(json!({"age_equal_or_over": {"18": false}})), 18), Some(false));
        assert_eq!(age_over(&object(json!({"given_name": "x"})), 18), None);
    }
}
