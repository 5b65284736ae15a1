//! Disclosures (RFC 9901 §4.2): creating them, parsing them, and their digests.
//!
//! Encoding choice. RFC 9901 §4.2.1 lets the issuer serialise the disclosure array any way it
//! likes, because the digest is taken over the base64url string as sent and the verifier never
//! re-serialises. Segl writes the array the way the RFC's reference implementation (Python
//! `json.dumps` defaults) does: `", "` between elements, `": "` between a member name and its
//! value, and every character outside printable ASCII escaped as `\uXXXX` (lower-case hex,
//! surrogate pairs above U+FFFF). Two reasons: the published vectors (RFC 9901, SD-JWT VC) are
//! reproduced byte for byte, which is the only way to test issuance against them; and an
//! all-ASCII disclosure is immune to Unicode normalisation or transcoding by intermediaries,
//! while still decoding to exactly the same strings (`"K\u00f6ln"` is `"Köln"`).

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use super::{SdJwtError, sha256_b64url};
use crate::jose::base64url_decode;

/// How many characters of a disclosure's encoded text an error quotes.
const PREFIX_LEN: usize = 24;

/// The start of an encoded disclosure, for error messages (never the whole value: it may hold
/// personal data).
pub(crate) fn prefix(encoded: &str) -> String {
    encoded.chars().take(PREFIX_LEN).collect()
}

/// A parsed disclosure: `[salt, name, value]` (object property) or `[salt, value]` (array
/// element), with its encoded form and digest.
#[derive(Debug, Clone, PartialEq)]
pub struct Disclosure {
    encoded: String,
    digest: String,
    salt: String,
    name: Option<String>,
    value: Value,
}

impl Disclosure {
    /// Creates an object-property disclosure `[salt, name, value]` (RFC 9901 §4.2.1).
    pub fn property(salt: &str, name: &str, value: &Value) -> Self {
        let mut json = String::with_capacity(64);
        json.push('[');
        write_py_string(salt, &mut json);
        json.push_str(", ");
        write_py_string(name, &mut json);
        json.push_str(", ");
        write_py_json(value, &mut json);
        json.push(']');
        Self::finish(json, salt, Some(name.to_owned()), value.clone())
    }

    /// Creates an array-element disclosure `[salt, value]` (RFC 9901 §4.2.2).
    pub fn element(salt: &str, value: &Value) -> Self {
        let mut json = String::with_capacity(64);
        json.push('[');
        write_py_string(salt, &mut json);
        json.push_str(", ");
        write_py_json(value, &mut json);
        json.push(']');
        Self::finish(json, salt, None, value.clone())
    }

    /// Encodes a disclosure, and returns only its base64url text and digest: the issuer's hot
    /// path, which has no use for the parsed form.
    pub(crate) fn encode(salt: &str, name: Option<&str>, value: &Value) -> (String, String) {
        let mut json = String::with_capacity(64);
        json.push('[');
        write_py_string(salt, &mut json);
        json.push_str(", ");
        if let Some(name) = name {
            write_py_string(name, &mut json);
            json.push_str(", ");
        }
        write_py_json(value, &mut json);
        json.push(']');
        let encoded = URL_SAFE_NO_PAD.encode(json.as_bytes());
        let digest = sha256_b64url(encoded.as_bytes());
        (encoded, digest)
    }

    fn finish(json: String, salt: &str, name: Option<String>, value: Value) -> Self {
        let encoded = URL_SAFE_NO_PAD.encode(json.as_bytes());
        let digest = sha256_b64url(encoded.as_bytes());
        Disclosure { encoded, digest, salt: salt.to_owned(), name, value }
    }

    /// Parses a received disclosure (the `index`-th of the presentation, named in errors).
    /// RFC 9901 §7.1 step 3: it MUST be base64url of a JSON array of two or three elements whose
    /// first element (the salt) is a string and, for three elements, whose second (the claim
    /// name) is a string that is neither `_sd` nor `...`.
    pub fn parse(index: usize, encoded: &str) -> Result<Self, SdJwtError> {
        let bad = |reason: &str| SdJwtError::MalformedDisclosure {
            index,
            prefix: prefix(encoded),
            reason: reason.to_owned(),
        };
        let bytes = base64url_decode(encoded).map_err(|_| bad("not base64url"))?;
        let array: Vec<Value> = serde_json::from_slice(&bytes).map_err(|_| bad("not a JSON array"))?;
        let mut items = array.into_iter();
        let (salt, name, value) = match (items.next(), items.next(), items.next(), items.next()) {
            (Some(salt), Some(value), None, None) => (salt, None, value),
            (Some(salt), Some(name), Some(value), None) => (salt, Some(name), value),
            _ => return Err(bad("must have two or three elements")),
        };
        let Value::String(salt) = salt else { return Err(bad("salt is not a string")) };
        let name = match name {
            None => None,
            Some(Value::String(name)) => {
                // RFC 9901 §7.1 step 3.2.2: "If the claim name is _sd or ..., the SD-JWT MUST be
                // rejected."
                if name == "_sd" || name == "..." {
                    return Err(SdJwtError::ForbiddenClaimName { index, prefix: prefix(encoded), name });
                }
                Some(name)
            }
            Some(_) => return Err(bad("claim name is not a string")),
        };
        Ok(Disclosure {
            encoded: encoded.to_owned(),
            digest: sha256_b64url(encoded.as_bytes()),
            salt,
            name,
            value,
        })
    }

    /// The base64url text, exactly as issued or received.
    pub fn encoded(&self) -> &str {
        &self.encoded
    }

    /// base64url(SHA-256(ASCII(encoded))), the value embedded in `_sd` or `...` (RFC 9901 §4.2.3).
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The salt.
    pub fn salt(&self) -> &str {
        &self.salt
    }

    /// The claim name for an object-property disclosure, `None` for an array element.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The disclosed value.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// Moves the value out (leaving `null`), for processing without a copy.
    pub(crate) fn take_value(&mut self) -> Value {
        std::mem::take(&mut self.value)
    }
}

/// Writes `value` as Python's `json.dumps(value)` would (default separators, `ensure_ascii`).
pub(crate) fn write_py_json(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => write_py_number(number, out),
        Value::String(text) => write_py_string(text, out),
        Value::Array(items) => {
            out.push('[');
            for (position, item) in items.iter().enumerate() {
                if position > 0 {
                    out.push_str(", ");
                }
                write_py_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (position, (key, item)) in map.iter().enumerate() {
                if position > 0 {
                    out.push_str(", ");
                }
                write_py_string(key, out);
                out.push_str(": ");
                write_py_json(item, out);
            }
            out.push('}');
        }
    }
}

/// A JSON string with Python's `ensure_ascii` escaping: `\"`, `\\`, `\b`, `\f`, `\n`, `\r`,
/// `\t`, and `\uXXXX` for everything else outside `' '..='~'`.
fn write_py_string(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// Numbers as Python prints them: integers as is; floats in `repr` form (shortest round-trip
/// digits, positional for decimal exponents in `-4..16`, else `1e+16` / `1e-05` style).
fn write_py_number(number: &serde_json::Number, out: &mut String) {
    if let Some(n) = number.as_i64() {
        let _ = write!(out, "{n}");
        return;
    }
    if let Some(n) = number.as_u64() {
        let _ = write!(out, "{n}");
        return;
    }
    let Some(float) = number.as_f64() else {
        let _ = write!(out, "{number}");
        return;
    };
    // `{:e}` gives the shortest round-trip digits: "-1.2345e-7".
    let scientific = format!("{float:e}");
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        out.push_str(&scientific);
        return;
    };
    let Ok(exponent) = exponent.parse::<i32>() else {
        out.push_str(&scientific);
        return;
    };
    let (sign, mantissa) = mantissa.strip_prefix('-').map_or(("", mantissa), |m| ("-", m));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    out.push_str(sign);
    if (-4..16).contains(&exponent) {
        let point = exponent + 1; // digits before the decimal point
        if point <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
            out.push_str(&digits);
        } else {
            let point = point as usize;
            if digits.len() <= point {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', point - digits.len()));
                out.push_str(".0");
            } else {
                let (whole, fraction) = digits.split_at(point);
                out.push_str(whole);
                out.push('.');
                out.push_str(fraction);
            }
        }
    } else {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let _ = write!(out, "e{}{:02}", if exponent < 0 { '-' } else { '+' }, exponent.unsigned_abs());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn py(value: Value) -> String {
        let mut out = String::new();
        write_py_json(&value, &mut out);
        out
    }

    #[test]
    fn python_json_dumps_layout() {
        assert_eq!(
            py(json!(["s", "n", {"a": [1, true, null], "b": {}}])),
            r#"["s", "n", {"a": [1, true, null], "b": {}}]"#
        );
        assert_eq!(
            py(json!("Möbius 港 \u{1F600} \"q\" \\ \n\t\u{7f}")),
            r#""M\u00f6bius \u6e2f \ud83d\ude00 \"q\" \\ \n\t\u007f""#
        );
    }

    #[test]
    fn python_float_repr() {
        for (float, expected) in [
            (1.0, "1.0"),
            (0.5, "0.5"),
            (-2.25, "-2.25"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123456789012345.0, "123456789012345.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.25e-7, "1.25e-07"),
            (0.0, "0.0"),
        ] {
            assert_eq!(py(json!(float)), expected, "{float}");
        }
    }

    #[test]
    fn float_repr_reads_back_exactly() {
        // Without serde_json's `float_roundtrip` this one read back one ULP off (the proptest
        // `conceal_then_process_round_trips` found it): a disclosed value must be the issued one.
        for float in [1.5011127503141647e78, 2.2250738585072014e-308, 1.7976931348623157e308, 5e-324] {
            let text = py(json!(float));
            assert_eq!(serde_json::from_str::<f64>(&text).unwrap(), float, "{text}");
        }
    }

    #[test]
    fn reproduces_rfc_encoding_of_non_ascii() {
        // RFC 9901 §4.2.1: the `\u00f6` variant is what json.dumps produces.
        let disclosure = Disclosure::property("_26bc4LT-ac6q2KI6cBW5es", "family_name", &json!("Möbius"));
        assert_eq!(
            disclosure.encoded(),
            "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNXHUwMGY2Yml1cyJd"
        );
        assert_eq!(disclosure.digest(), "BwU3T4PB1Wk6TbA1HUOm9XenJYLZfYtJGn8hMl77zwg");
        let parsed = Disclosure::parse(0, disclosure.encoded()).unwrap();
        assert_eq!(parsed, disclosure);
    }

    #[test]
    fn rejects_malformed_disclosure_shape() {
        for json in
            [r#"["s"]"#, r#"["s","n","v","x"]"#, r#"[1,"v"]"#, r#"["s",2,"v"]"#, r#"{"a":1}"#, "[\"s\""]
        {
            let encoded = URL_SAFE_NO_PAD.encode(json);
            assert!(
                matches!(
                    Disclosure::parse(3, &encoded),
                    Err(SdJwtError::MalformedDisclosure { index: 3, .. })
                ),
                "{json}"
            );
        }
        assert!(matches!(Disclosure::parse(0, "!!"), Err(SdJwtError::MalformedDisclosure { .. })));
    }

    #[test]
    fn rejects_forbidden_disclosed_claim_names() {
        for name in ["_sd", "..."] {
            let encoded = Disclosure::property("salt", name, &json!(1)).encoded().to_owned();
            assert!(matches!(
                Disclosure::parse(0, &encoded),
                Err(SdJwtError::ForbiddenClaimName { name: n, .. }) if n == name
            ));
        }
    }
}
