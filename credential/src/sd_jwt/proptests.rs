//! Property tests: the parsers never panic on hostile input, the disclosure encoding decodes to
//! what was encoded, and concealing then processing gives back the original claims.

use proptest::prelude::*;
use serde_json::{Map, Value};

use super::disclosure::write_py_json;
use super::issue::{DisclosurePolicy, RngSalts, conceal};
use super::process::process;
use super::{ClaimPath, Disclosure, PathElement, SdJwt};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        // Every finite float: the disclosure encoding writes Python's shortest round-trip
        // `repr`, and serde_json (with `float_roundtrip`) reads it back exactly.
        any::<f64>()
            .prop_filter("finite (JSON has no NaN or infinity)", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z\u{e0}-\u{ff}]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every path to every node under `value`.
fn all_paths(value: &Value, path: &mut ClaimPath, out: &mut Vec<ClaimPath>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                path.push(PathElement::Key(key.clone()));
                out.push(path.clone());
                all_paths(item, path, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                path.push(PathElement::Index(index));
                out.push(path.clone());
                all_paths(item, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

proptest! {
    #[test]
    fn parsers_never_panic(text in "\\PC{0,200}") {
        let _ = SdJwt::parse(&text);
        let _ = Disclosure::parse(0, &text);
        let _ = text.parse::<ClaimPath>();
    }

    #[test]
    fn python_encoding_decodes_to_the_same_value(value in json_value()) {
        let mut text = String::new();
        write_py_json(&value, &mut text);
        prop_assert!(text.is_ascii());
        let decoded: Value = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(decoded, value);
    }

    #[test]
    fn conceal_then_process_round_trips(
        claims in prop::collection::btree_map("[a-z]{1,5}", json_value(), 1..5),
        keep in prop::collection::vec(any::<bool>(), 64),
        seed in any::<u64>(),
    ) {
        let claims: Map<String, Value> = claims.into_iter().collect();
        let mut paths = Vec::new();
        all_paths(&Value::Object(claims.clone()), &mut ClaimPath::root(), &mut paths);
        let chosen = paths.into_iter().zip(keep.iter().cycle()).filter(|(_, k)| **k).map(|(p, _)| p);
        let policy = DisclosurePolicy::new(chosen).unwrap();
        let mut rng = <rand_chacha::ChaCha20Rng as rand::SeedableRng>::seed_from_u64(seed);
        let concealed = conceal(claims.clone(), &policy, 2, &mut RngSalts(&mut rng)).unwrap();
        let mut disclosures: Vec<Disclosure> = concealed
            .disclosures
            .iter()
            .enumerate()
            .map(|(i, d)| Disclosure::parse(i, &d.encoded).unwrap())
            .collect();
        let processed = process(concealed.payload, &mut disclosures).unwrap();
        prop_assert_eq!(processed.claims, claims);
        let landed: Vec<ClaimPath> = concealed.disclosures.iter().map(|d| d.path.clone()).collect();
        prop_assert_eq!(processed.landed, landed);
    }
}
