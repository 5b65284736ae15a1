//! The process's log subscriber: human-readable text (the default) or one JSON object per line
//! for log collectors. Both go to standard error; the filter is an `EnvFilter` directive
//! (`info`, `segl_issuer=debug,warn`, ...).

use std::str::FromStr;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines (tracing's `fmt` format).
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, the event's fields at the top
    /// level (`message`, `request_id`, `status`, ...) and the current `span` with its fields.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.trim() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("unknown log format `{other}`: use `text` or `json`")),
        }
    }
}

/// Installs the global subscriber writing `format` to standard error, filtered by the
/// `EnvFilter` directives in the variable `filter_env` (default `info`). A second call does
/// nothing (the first subscriber stays).
pub fn init(format: LogFormat, filter_env: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env(filter_env)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => {
            builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init()
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_formats() {
        assert_eq!("json".parse(), Ok(LogFormat::Json));
        assert_eq!("text".parse(), Ok(LogFormat::Text));
    }

    #[test]
    fn rejects_unknown_formats() {
        assert!("xml".parse::<LogFormat>().unwrap_err().contains("xml"));
    }
}
