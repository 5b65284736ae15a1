//! The wallet's `direct_post` / `direct_post.jwt` form body (OpenID4VP 1.0 §8.2, §8.3).

use serde_json::Value;

use super::FlowError;
use crate::response::jwe::MAX_JWE_LEN;

/// The most form fields accepted in one answer.
pub const MAX_FORM_FIELDS: usize = 16;
/// The longest form value accepted (a `vp_token` or a `response` JWE), in bytes.
pub const MAX_FORM_VALUE_LEN: usize = MAX_JWE_LEN;
/// The longest `state`, `error` or `error_description` accepted.
const MAX_SHORT_VALUE_LEN: usize = 1024;

/// A parsed authorization response POSTed by the wallet to the `response_uri`.
#[derive(Debug, Clone, PartialEq)]
pub enum WalletAnswer {
    /// `direct_post`: `vp_token` (a JSON object keyed by credential query id) and `state`.
    VpToken {
        /// The `vp_token` object.
        vp_token: Value,
        /// The `state`, if sent.
        state: Option<String>,
    },
    /// `direct_post.jwt`: `response`, a compact JWE whose payload holds `vp_token` and
    /// `state`.
    Encrypted {
        /// The compact JWE.
        response: String,
    },
    /// An OAuth error response (RFC 6749 §4.1.2.1, OpenID4VP 1.0 §8.5), e.g. `access_denied`.
    Error {
        /// The `error` code.
        error: String,
        /// The `error_description`, if any.
        description: Option<String>,
        /// The `state`, if sent.
        state: Option<String>,
    },
}

impl WalletAnswer {
    /// Parses the decoded `application/x-www-form-urlencoded` fields. Exactly one of `vp_token`,
    /// `response` and `error` must be present; a parameter may appear once; unknown parameters
    /// are ignored; values are size-capped.
    pub fn from_form(fields: &[(String, String)]) -> Result<WalletAnswer, FlowError> {
        let bad = |reason: String| FlowError::MalformedAnswer(reason);
        if fields.len() > MAX_FORM_FIELDS {
            return Err(bad(format!("more than {MAX_FORM_FIELDS} form fields")));
        }
        let mut vp_token = None;
        let mut response = None;
        let mut state = None;
        let mut error = None;
        let mut description = None;
        for (name, value) in fields {
            let (slot, max) = match name.as_str() {
                "vp_token" => (&mut vp_token, MAX_FORM_VALUE_LEN),
                "response" => (&mut response, MAX_FORM_VALUE_LEN),
                "state" => (&mut state, MAX_SHORT_VALUE_LEN),
                "error" => (&mut error, MAX_SHORT_VALUE_LEN),
                "error_description" => (&mut description, MAX_SHORT_VALUE_LEN),
                _ => continue,
            };
            if value.len() > max {
                return Err(bad(format!("`{name}` is longer than {max} bytes")));
            }
            if slot.replace(value.as_str()).is_some() {
                return Err(bad(format!("`{name}` appears more than once")));
            }
        }
        let state = state.map(str::to_owned);
        match (vp_token, response, error) {
            (Some(vp_token), None, None) => {
                let vp_token: Value = serde_json::from_str(vp_token)
                    .map_err(|e| bad(format!("`vp_token` is not JSON: {e}")))?;
                if !vp_token.is_object() {
                    return Err(bad("`vp_token` is not a JSON object".into()));
                }
                Ok(WalletAnswer::VpToken { vp_token, state })
            }
            (None, Some(response), None) => {
                if state.is_some() {
                    return Err(bad("`state` goes inside the encrypted `response`".into()));
                }
                Ok(WalletAnswer::Encrypted { response: response.to_owned() })
            }
            (None, None, Some(error)) => {
                if error.is_empty() || !error.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
                    return Err(bad("`error` must be printable ASCII".into()));
                }
                Ok(WalletAnswer::Error {
                    error: error.to_owned(),
                    description: description.map(str::to_owned),
                    state,
                })
            }
            (None, None, None) => Err(bad("no `vp_token`, `response` or `error`".into())),
            _ => Err(bad("only one of `vp_token`, `response` and `error` may be sent".into())),
        }
    }
}
