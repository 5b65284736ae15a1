//! RFC 3339 / xsd:dateTime in UTC with a `Z`, the form both bindings use.

use segl_credential::clock::UnixTime;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::TrustListError;

/// Formats Unix seconds as `YYYY-MM-DDThh:mm:ssZ`.
pub(crate) fn format(unix: UnixTime) -> Result<String, TrustListError> {
    let bad = |reason: String| TrustListError::Time { value: unix.to_string(), reason };
    OffsetDateTime::from_unix_timestamp(unix)
        .map_err(|e| bad(e.to_string()))?
        .format(&Rfc3339)
        .map_err(|e| bad(e.to_string()))
}

/// Parses an RFC 3339 date-time (any offset) into Unix seconds.
pub(crate) fn parse(text: &str) -> Result<UnixTime, TrustListError> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map(OffsetDateTime::unix_timestamp)
        .map_err(|e| TrustListError::Time { value: text.to_owned(), reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trips_utc() {
        let text = super::format(1_767_225_600).unwrap();
        assert_eq!(text, "2026-01-01T00:00:00Z");
        assert_eq!(super::parse(&text).unwrap(), 1_767_225_600);
        assert_eq!(super::parse("2026-01-01T01:00:00+01:00").unwrap(), 1_767_225_600);
        assert!(super::parse("2026-01-01").is_err());
    }
}
