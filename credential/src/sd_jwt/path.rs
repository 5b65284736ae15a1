//! Claims path pointers (OpenID4VCI/OpenID4VP "claims path pointer", DIGEST §1.11): how a
//! disclosure policy, a presentation selection and a verifier's report name a claim.

use std::fmt;

use serde_json::{Map, Value};

/// One step of a [`ClaimPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathElement {
    /// A string: the member of that name of an object.
    Key(String),
    /// `null`: every element of an array.
    AllElements,
    /// A non-negative integer: the array element at that index.
    Index(usize),
}

impl PathElement {
    fn to_json(&self) -> Value {
        match self {
            PathElement::Key(key) => Value::from(key.as_str()),
            PathElement::AllElements => Value::Null,
            PathElement::Index(index) => Value::from(*index),
        }
    }

    /// True when this (possibly wildcard) element selects the concrete element `other`.
    fn selects(&self, other: &PathElement) -> bool {
        match (self, other) {
            (PathElement::AllElements, PathElement::Index(_) | PathElement::AllElements) => true,
            _ => self == other,
        }
    }
}

/// A claims path pointer: a non-empty array of `string | null | non-negative integer`
/// (OpenID4VP 1.0 §7, DIGEST §1.11). Strings select object members, `null` selects all elements
/// of an array, an integer selects one element.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClaimPath(Vec<PathElement>);

/// Why a JSON value is not a claims path pointer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid claims path pointer: {0}")]
pub struct ClaimPathError(pub String);

impl ClaimPath {
    /// The empty path (the claim set itself); only meaningful as a starting point for
    /// [`ClaimPath::child`]. [`ClaimPath::from_json`] never returns it.
    pub fn root() -> Self {
        ClaimPath(Vec::new())
    }

    /// A path from its elements.
    pub fn new(elements: Vec<PathElement>) -> Self {
        ClaimPath(elements)
    }

    /// Shorthand for a path of object member names only, e.g. `ClaimPath::keys(["address",
    /// "country"])`.
    pub fn keys<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ClaimPath(names.into_iter().map(|name| PathElement::Key(name.into())).collect())
    }

    /// Parses a claims path pointer from its JSON form. DIGEST §1.11: a non-empty array whose
    /// elements are strings, `null`, or non-negative integers.
    pub fn from_json(value: &Value) -> Result<Self, ClaimPathError> {
        let items = value.as_array().ok_or_else(|| ClaimPathError("not a JSON array".into()))?;
        if items.is_empty() {
            return Err(ClaimPathError("empty array".into()));
        }
        items
            .iter()
            .enumerate()
            .map(|(position, item)| match item {
                Value::String(key) => Ok(PathElement::Key(key.clone())),
                Value::Null => Ok(PathElement::AllElements),
                Value::Number(number) => {
                    number.as_u64().and_then(|n| usize::try_from(n).ok()).map(PathElement::Index).ok_or_else(
                        || ClaimPathError(format!("element {position} is not a non-negative integer")),
                    )
                }
                _ => Err(ClaimPathError(format!("element {position} is not a string, null or integer"))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(ClaimPath)
    }

    /// The JSON form (an array), as used in DCQL and type metadata.
    pub fn to_json(&self) -> Value {
        Value::Array(self.0.iter().map(PathElement::to_json).collect())
    }

    /// The elements, outermost first.
    pub fn elements(&self) -> &[PathElement] {
        &self.0
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for the root path.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// This path extended by one element.
    pub fn child(&self, element: PathElement) -> Self {
        let mut elements = Vec::with_capacity(self.0.len() + 1);
        elements.extend_from_slice(&self.0);
        elements.push(element);
        ClaimPath(elements)
    }

    pub(crate) fn push(&mut self, element: PathElement) {
        self.0.push(element);
    }

    pub(crate) fn pop(&mut self) -> Option<PathElement> {
        self.0.pop()
    }

    /// True when this pattern (which may contain `null`) selects exactly the concrete `path`.
    pub fn matches(&self, path: &ClaimPath) -> bool {
        self.0.len() == path.0.len() && self.0.iter().zip(&path.0).all(|(a, b)| a.selects(b))
    }

    /// True when this pattern selects `path` or one of its ancestors: disclosing a claim means
    /// disclosing everything under it.
    pub fn covers(&self, path: &ClaimPath) -> bool {
        self.0.len() <= path.0.len() && self.0.iter().zip(&path.0).all(|(a, b)| a.selects(b))
    }

    /// True when `path` is an ancestor of (or equal to) something this pattern selects: the
    /// disclosure at `path` must be revealed for the selected claim to be reachable.
    pub fn is_reached_through(&self, path: &ClaimPath) -> bool {
        path.0.len() <= self.0.len() && self.0.iter().zip(&path.0).all(|(a, b)| a.selects(b))
    }

    /// The values this pattern selects in `claims`, following DIGEST §1.11: a key on a
    /// non-object or an index on a non-array selects nothing, a missing key drops that branch.
    pub fn select<'v>(&self, claims: &'v Map<String, Value>) -> Vec<&'v Value> {
        let mut current: Vec<&'v Value> = Vec::new();
        let mut elements = self.0.iter();
        match elements.next() {
            Some(PathElement::Key(key)) => current.extend(claims.get(key)),
            _ => return current,
        }
        for element in elements {
            let mut next = Vec::new();
            for value in current {
                match (element, value) {
                    (PathElement::Key(key), Value::Object(map)) => next.extend(map.get(key)),
                    (PathElement::Index(index), Value::Array(items)) => next.extend(items.get(*index)),
                    (PathElement::AllElements, Value::Array(items)) => next.extend(items.iter()),
                    _ => {}
                }
            }
            current = next;
        }
        current
    }
}

impl fmt::Display for ClaimPath {
    /// The JSON array form, e.g. `["address","country"]` or `["nationalities",null]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

impl serde::Serialize for ClaimPath {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(&self.to_json(), serializer)
    }
}

impl<'de> serde::Deserialize<'de> for ClaimPath {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        ClaimPath::from_json(&value).map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for ClaimPath {
    type Err = ClaimPathError;

    /// Parses the JSON text of a claims path pointer, e.g. `["address", "country"]`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let value: Value = serde_json::from_str(text).map_err(|e| ClaimPathError(e.to_string()))?;
        ClaimPath::from_json(&value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_displays() {
        let path: ClaimPath = r#"["nationalities", null, 2, "x"]"#.parse().unwrap();
        assert_eq!(
            path.elements(),
            &[
                PathElement::Key("nationalities".into()),
                PathElement::AllElements,
                PathElement::Index(2),
                PathElement::Key("x".into())
            ]
        );
        assert_eq!(path.to_string(), r#"["nationalities",null,2,"x"]"#);
        assert_eq!(ClaimPath::from_json(&path.to_json()).unwrap(), path);
    }

    #[test]
    fn rejects_malformed_paths() {
        for bad in [json!([]), json!("a"), json!([-1]), json!([1.5]), json!([true]), json!([{}])] {
            assert!(ClaimPath::from_json(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn wildcard_matching() {
        let pattern: ClaimPath = r#"["a", null]"#.parse().unwrap();
        let concrete: ClaimPath = r#"["a", 3]"#.parse().unwrap();
        assert!(pattern.matches(&concrete));
        assert!(!pattern.matches(&ClaimPath::keys(["a"])));
        assert!(pattern.is_reached_through(&ClaimPath::keys(["a"])));
        assert!(pattern.covers(&concrete.child(PathElement::Key("b".into()))));
        assert!(!ClaimPath::keys(["b"]).covers(&concrete));
    }

    #[test]
    fn selects_values() {
        let claims = json!({"a": [{"b": 1}, {"b": 2}, {"c": 3}], "d": "x"});
        let claims = claims.as_object().unwrap();
        let pattern: ClaimPath = r#"["a", null, "b"]"#.parse().unwrap();
        assert_eq!(pattern.select(claims), vec![&json!(1), &json!(2)]);
        assert!(ClaimPath::keys(["d", "e"]).select(claims).is_empty());
        assert_eq!(ClaimPath::from_json(&json!(["a", 2, "c"])).unwrap().select(claims), vec![&json!(3)]);
    }
}
