//! Element values and dates (ISO/IEC 18013-5 §7.2.1, RFC 8943, RFC 8949 §3.4.1): helpers that build
//! `full-date` (tag 1004) and `tdate` (tag 0) values, parse `tdate`, and turn any element value
//! into JSON for display.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ciborium::Value;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use super::MdocError;
use crate::clock::UnixTime;

/// CBOR tag of a `tdate` (RFC 8949 §3.4.1, standard date/time string).
pub const TAG_TDATE: u64 = 0;
/// CBOR tag of a `full-date` (RFC 8943, `"YYYY-MM-DD"`).
pub const TAG_FULL_DATE: u64 = 1004;

/// A `full-date` element value, `#6.1004("YYYY-MM-DD")` (ISO 18013-5 §7.2.1, e.g. `birth_date`).
/// The text must be a real calendar date.
pub fn full_date(date: &str) -> Result<Value, MdocError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(date, format)
        .map_err(|_| MdocError::InvalidValue(format!("`{date}` is not a YYYY-MM-DD date")))?;
    Ok(Value::Tag(TAG_FULL_DATE, Box::new(Value::Text(date.to_owned()))))
}

/// A `full-date` value from a calendar date.
pub fn full_date_from(date: Date) -> Value {
    Value::Tag(
        TAG_FULL_DATE,
        Box::new(Value::Text(format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day()))),
    )
}

/// A `tdate` value, `#6.0("YYYY-MM-DDTHH:MM:SSZ")`: RFC 3339 in UTC without fractional seconds, as
/// ISO 18013-5 §9.1.2.4 requires for `validityInfo`.
pub fn tdate(time: UnixTime) -> Result<Value, MdocError> {
    Ok(Value::Tag(TAG_TDATE, Box::new(Value::Text(tdate_text(time)?))))
}

/// The RFC 3339 text of a `tdate` (UTC, `Z`, whole seconds).
pub fn tdate_text(time: UnixTime) -> Result<String, MdocError> {
    let moment = OffsetDateTime::from_unix_timestamp(time)
        .map_err(|_| MdocError::InvalidValue(format!("time {time} is out of range")))?;
    let (year, month, day) = moment.to_calendar_date();
    if !(0..=9999).contains(&year) {
        return Err(MdocError::InvalidValue(format!("time {time} is outside years 0000-9999")));
    }
    let (hour, minute, second) = moment.to_hms();
    Ok(format!("{year:04}-{:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z", u8::from(month)))
}

/// Reads a `tdate` (`#6.0(tstr)`, RFC 3339) into Unix seconds. Fractional seconds are truncated and
/// offsets other than `Z` are converted: ISO requires neither, but deployed issuers send both
/// (the Google wallet vector has fractional seconds), and the instant stays unambiguous.
pub fn parse_tdate(value: &Value) -> Option<UnixTime> {
    match value {
        Value::Tag(TAG_TDATE, inner) => match inner.as_ref() {
            Value::Text(text) => {
                OffsetDateTime::parse(text, &Rfc3339).ok().map(OffsetDateTime::unix_timestamp)
            }
            _ => None,
        },
        _ => None,
    }
}

/// Converts an element value to JSON for display (`segl credential verify`): `full-date` and
/// `tdate` become their strings, byte strings base64url (no padding), other tags their content,
/// maps with non-text keys use the key's JSON text. Integers beyond ±2^63 become strings.
pub fn to_json(value: &Value) -> serde_json::Value {
    use serde_json::Value as Json;
    match value {
        Value::Integer(integer) => {
            let wide = i128::from(*integer);
            if let Ok(small) = i64::try_from(wide) {
                Json::from(small)
            } else if let Ok(unsigned) = u64::try_from(wide) {
                Json::from(unsigned)
            } else {
                Json::from(wide.to_string())
            }
        }
        Value::Bytes(bytes) => Json::from(URL_SAFE_NO_PAD.encode(bytes)),
        Value::Float(float) => serde_json::Number::from_f64(*float).map_or(Json::Null, Json::Number),
        Value::Text(text) => Json::from(text.as_str()),
        Value::Bool(flag) => Json::from(*flag),
        Value::Null => Json::Null,
        Value::Tag(_, inner) => to_json(inner),
        Value::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => Json::Object(
            entries
                .iter()
                .map(|(key, child)| {
                    let key = match key {
                        Value::Text(text) => text.clone(),
                        other => to_json(other).to_string(),
                    };
                    (key, to_json(child))
                })
                .collect(),
        ),
        _ => Json::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_date_is_tag_1004_and_checked() {
        assert_eq!(
            full_date("2007-03-25").unwrap(),
            Value::Tag(1004, Box::new(Value::Text("2007-03-25".into())))
        );
        assert!(full_date("2007-02-30").is_err());
        assert!(full_date("25.03.2007").is_err());
        assert_eq!(full_date_from(time::macros::date!(2001 - 02 - 03)), full_date("2001-02-03").unwrap());
    }

    #[test]
    fn tdate_round_trips_without_fraction() {
        let value = tdate(1_750_409_129).unwrap();
        assert_eq!(value, Value::Tag(0, Box::new(Value::Text("2025-06-20T08:45:29Z".into()))));
        assert_eq!(parse_tdate(&value), Some(1_750_409_129));
        let fractional = Value::Tag(0, Box::new(Value::Text("2025-02-19T23:36:58.210399Z".into())));
        assert_eq!(parse_tdate(&fractional), Some(1_740_008_218));
        assert_eq!(parse_tdate(&Value::Text("2025-06-20T08:45:29Z".into())), None);
        assert!(tdate(i64::MAX).is_err());
    }

    #[test]
    fn json_display_forms() {
        let map = Value::Map(vec![
            (Value::Text("d".into()), full_date("2000-01-31").unwrap()),
            (Value::Text("b".into()), Value::Bytes(vec![0xfb, 0xff])),
            (Value::Integer(1.into()), Value::Array(vec![Value::Bool(true), Value::Null])),
        ]);
        assert_eq!(to_json(&map), serde_json::json!({"d": "2000-01-31", "b": "-_8", "1": [true, null]}));
    }
}
