//! The shop backend's API token: kept as its SHA-256 digest and compared in constant time.

use subtle::ConstantTimeEq as _;

use crate::store::IdHash;

/// A bearer token check.
#[derive(Clone)]
pub struct ApiToken {
    hash: [u8; 32],
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiToken(<secret>)")
    }
}

impl ApiToken {
    /// The check for `token` (surrounding whitespace ignored).
    pub fn new(token: &str) -> Self {
        Self { hash: IdHash::of(token.trim()).0 }
    }

    /// Whether `presented` is the token. Digests of equal length are compared in constant
    /// time, so neither the token's length nor its content leaks by timing.
    pub fn matches(&self, presented: &str) -> bool {
        IdHash::of(presented).0.ct_eq(&self.hash).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_only_the_token() {
        let token = ApiToken::new("s3cret\n");
        assert!(token.matches("s3cret"));
        assert!(!token.matches("s3cre"));
        assert!(!token.matches(""));
    }
}
