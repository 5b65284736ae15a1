//! The authorization code flow's use cases (OpenID4VCI 1.0 §5, RFC 6749 §4.1, RFC 9126): the
//! single-use steps of a login in progress and the authorization codes, with their SQL written
//! once for both back ends ([`authorization_methods`]).

use segl_credential::clock::UnixTime;

use super::{NewOffer, SecretHash, StoreError};

/// A single-use step of a login in progress, stored until taken or expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizationStep {
    /// A pushed authorization request (RFC 9126), keyed by its `request_uri`.
    PushedRequest,
    /// A login at the upstream identity provider, keyed by the state sent there.
    Login,
}

impl AuthorizationStep {
    /// The stored name of the step.
    pub(super) fn name(self) -> &'static str {
        match self {
            AuthorizationStep::PushedRequest => "par",
            AuthorizationStep::Login => "login",
        }
    }
}

/// An authorization code to store with the offer it authorizes (the login's claims and the
/// configurations authorized; stored as already redeemed, so no pre-authorized code opens it).
#[derive(Debug, Clone)]
pub struct NewAuthorizationCode<'a> {
    /// The offer row the code's access token will point to.
    pub offer: &'a NewOffer,
    /// Digest of the code.
    pub code: SecretHash,
    /// The wallet the code was issued to.
    pub client_id: &'a str,
    /// The `redirect_uri` of the authorization request (the token request must repeat it).
    pub redirect_uri: &'a str,
    /// The PKCE `code_challenge` (S256, RFC 7636 §4.2).
    pub code_challenge: &'a str,
    /// When the code stops being redeemable.
    pub expires_at: UnixTime,
}

/// One attempt to redeem an authorization code at the token endpoint (RFC 6749 §4.1.3).
#[derive(Debug, Clone)]
pub struct CodeRedemption<'a> {
    /// The tenant whose token endpoint was called.
    pub tenant: &'a str,
    /// Digest of the presented `code`.
    pub code: SecretHash,
    /// The presented `client_id`.
    pub client_id: &'a str,
    /// The presented `redirect_uri`.
    pub redirect_uri: &'a str,
    /// BASE64URL(SHA-256(`code_verifier`)): must equal the stored challenge.
    pub code_challenge: &'a str,
    /// The time of the request.
    pub now: UnixTime,
    /// Digest of the access token to grant on success.
    pub access_token: SecretHash,
    /// When that access token expires.
    pub access_token_expires_at: UnixTime,
    /// The DPoP key thumbprint the token is bound to, `None` for a Bearer token.
    pub dpop_jkt: Option<String>,
}

/// Why an authorization code was not redeemed. Only [`CodeRedeemError::Reused`] changes stored
/// state: the access tokens issued from the code are revoked (RFC 6749 §4.1.2).
#[derive(Debug, thiserror::Error)]
pub enum CodeRedeemError {
    /// No code of this tenant has this value.
    #[error("unknown authorization code")]
    UnknownCode,
    /// The code expired.
    #[error("authorization code expired")]
    Expired,
    /// The code was redeemed before; the tokens issued from it are now revoked.
    #[error("authorization code already used; the tokens issued from it are revoked")]
    Reused,
    /// The code was issued to another client.
    #[error("authorization code was issued to another client")]
    ClientMismatch,
    /// The `redirect_uri` differs from the authorization request's.
    #[error("redirect_uri does not match the authorization request")]
    RedirectUriMismatch,
    /// The `code_verifier` does not match the `code_challenge` (RFC 7636 §4.6).
    #[error("code_verifier does not match the code_challenge")]
    PkceMismatch,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A stored code as read back: offer id, client id, redirect URI, challenge, used, expiry.
pub(super) type CodeRow = (String, String, String, String, bool, i64);

/// The redemption rules, in order, on a stored code: used (which revokes), expired, client,
/// redirect URI, then PKCE (constant-time).
pub(super) fn judge_code(row: &CodeRow, redemption: &CodeRedemption<'_>) -> Result<(), CodeRedeemError> {
    let (_, client_id, redirect_uri, challenge, used, expires_at) = row;
    if *used {
        return Err(CodeRedeemError::Reused);
    }
    if redemption.now >= *expires_at {
        return Err(CodeRedeemError::Expired);
    }
    if client_id != redemption.client_id {
        return Err(CodeRedeemError::ClientMismatch);
    }
    if redirect_uri != redemption.redirect_uri {
        return Err(CodeRedeemError::RedirectUriMismatch);
    }
    if !SecretHash::of(challenge).matches(&SecretHash::of(redemption.code_challenge)) {
        return Err(CodeRedeemError::PkceMismatch);
    }
    Ok(())
}

/// The statements both back ends run, in PostgreSQL's `$n` placeholders.
pub(super) mod sql {
    /// Stores a step.
    pub const PUT_STEP: &str = "INSERT INTO authorization_steps (tenant, step, key_hash, payload, expires_at) \
         VALUES ($1, $2, $3, $4, $5)";
    /// Takes a step: deleting it is what makes it single use, also across nodes.
    pub const TAKE_STEP: &str = "DELETE FROM authorization_steps WHERE tenant = $1 AND step = $2 AND \
         key_hash = $3 RETURNING payload, expires_at";
    /// Stores the offer an authorization code authorizes, already redeemed.
    pub const INSERT_OFFER: &str = "INSERT INTO offers (tenant, id, credential_configuration_ids, claims, \
         code_hash, tx_code_hash, tx_code_attempts, state, created_at, expires_at, subject) \
         VALUES ($1, $2, $3, $4, $5, NULL, 0, 'redeemed', $6, $7, $8)";
    /// Stores a code.
    pub const INSERT_CODE: &str = "INSERT INTO authorization_codes (tenant, code_hash, offer_id, client_id, \
         redirect_uri, code_challenge, used, expires_at) VALUES ($1, $2, $3, $4, $5, $6, FALSE, $7)";
    /// Reads a code ([`super::CodeRow`]).
    pub const CODE: &str = "SELECT offer_id, client_id, redirect_uri, code_challenge, used, expires_at \
         FROM authorization_codes WHERE tenant = $1 AND code_hash = $2";
    /// Marks a code used.
    pub const USE_CODE: &str =
        "UPDATE authorization_codes SET used = TRUE WHERE tenant = $1 AND code_hash = $2";
    /// Revokes every access token of an offer.
    pub const REVOKE: &str = "DELETE FROM access_tokens WHERE tenant = $1 AND offer_id = $2";
    /// Grants an access token.
    pub const GRANT: &str = "INSERT INTO access_tokens (tenant, token_hash, offer_id, expires_at, dpop_jkt) \
         VALUES ($1, $2, $3, $4, $5)";
}

/// The authorization methods of one SQL back end, written once: `$sql` turns a statement of
/// [`sql`] into the back end's dialect, `$begin` opens a transaction that serialises writers and
/// `$lock` is appended to the code's read (PostgreSQL `FOR UPDATE`).
macro_rules! authorization_methods {
    ($store:ty, sql = $sql:path, begin = $begin:literal, lock = $lock:literal) => {
        impl $store {
            /// [`crate::store::Store::put_authorization_step`].
            pub(super) async fn put_step(
                &self,
                tenant: &str,
                step: $crate::store::authorization::AuthorizationStep,
                key: &$crate::store::SecretHash,
                payload: &serde_json::Value,
                expires_at: segl_credential::clock::UnixTime,
            ) -> Result<(), $crate::store::StoreError> {
                use $crate::store::authorization::sql;
                sqlx::query(&$sql(sql::PUT_STEP))
                    .bind(tenant)
                    .bind(step.name())
                    .bind(&key.0[..])
                    .bind(payload.to_string())
                    .bind(expires_at)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| $crate::store::rows::db_error(e, "authorization step"))?;
                Ok(())
            }

            /// [`crate::store::Store::take_authorization_step`].
            pub(super) async fn take_step(
                &self,
                tenant: &str,
                step: $crate::store::authorization::AuthorizationStep,
                key: &$crate::store::SecretHash,
                now: segl_credential::clock::UnixTime,
            ) -> Result<Option<serde_json::Value>, $crate::store::StoreError> {
                use $crate::store::authorization::sql;
                let fail = |e| $crate::store::rows::db_error(e, "authorization step");
                let row: Option<(String, i64)> = sqlx::query_as(&$sql(sql::TAKE_STEP))
                    .bind(tenant)
                    .bind(step.name())
                    .bind(&key.0[..])
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(fail)?;
                match row {
                    Some((payload, expires_at)) if now < expires_at => serde_json::from_str(&payload)
                        .map(Some)
                        .map_err(|e| $crate::store::StoreError::Database(format!("authorization step: {e}"))),
                    _ => Ok(None),
                }
            }

            /// [`crate::store::Store::issue_authorization_code`].
            pub(super) async fn issue_code(
                &self,
                code: &$crate::store::authorization::NewAuthorizationCode<'_>,
            ) -> Result<(), $crate::store::StoreError> {
                use $crate::store::authorization::sql;
                use $crate::store::rows;
                let fail = |e| rows::db_error(e, "authorization code");
                let offer = code.offer;
                let mut conn = self.pool.acquire().await.map_err(fail)?;
                let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(fail)?;
                sqlx::query(&$sql(sql::INSERT_OFFER))
                    .bind(&offer.tenant)
                    .bind(&offer.id)
                    .bind(rows::ids_json(&offer.credential_configuration_ids)?)
                    .bind(rows::claims_json(&offer.claims)?)
                    .bind(&offer.pre_authorized_code.0[..])
                    .bind(offer.created_at)
                    .bind(offer.expires_at)
                    .bind(&offer.subject)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| rows::db_error(e, "offer"))?;
                sqlx::query(&$sql(sql::INSERT_CODE))
                    .bind(&offer.tenant)
                    .bind(&code.code.0[..])
                    .bind(&offer.id)
                    .bind(code.client_id)
                    .bind(code.redirect_uri)
                    .bind(code.code_challenge)
                    .bind(code.expires_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?;
                tx.commit().await.map_err(fail)?;
                Ok(())
            }

            /// [`crate::store::Store::redeem_authorization_code`].
            pub(super) async fn redeem_code(
                &self,
                r: &$crate::store::authorization::CodeRedemption<'_>,
            ) -> Result<$crate::store::AccessGrant, $crate::store::authorization::CodeRedeemError> {
                use $crate::store::authorization::{CodeRedeemError, CodeRow, judge_code, sql};
                use $crate::store::rows;
                let fail = |e| CodeRedeemError::Store(rows::db_error(e, "authorization code"));
                let mut conn = self.pool.acquire().await.map_err(fail)?;
                let mut tx = sqlx::Connection::begin_with(&mut *conn, $begin).await.map_err(fail)?;
                let read = format!("{}{}", $sql(sql::CODE), if $lock { " FOR UPDATE" } else { "" });
                let row: Option<CodeRow> = sqlx::query_as(&read)
                    .bind(r.tenant)
                    .bind(&r.code.0[..])
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(fail)?;
                let Some(row) = row else {
                    return Err(CodeRedeemError::UnknownCode);
                };
                match judge_code(&row, r) {
                    Err(CodeRedeemError::Reused) => {
                        // RFC 6749 §4.1.2: "SHOULD revoke (when possible) all tokens previously
                        // issued based on that authorization code".
                        sqlx::query(&$sql(sql::REVOKE))
                            .bind(r.tenant)
                            .bind(&row.0)
                            .execute(&mut *tx)
                            .await
                            .map_err(fail)?;
                        tx.commit().await.map_err(fail)?;
                        return Err(CodeRedeemError::Reused);
                    }
                    // Dropping `tx` rolls back: nothing was written.
                    Err(other) => return Err(other),
                    Ok(()) => {}
                }
                sqlx::query(&$sql(sql::USE_CODE))
                    .bind(r.tenant)
                    .bind(&r.code.0[..])
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?;
                sqlx::query(&$sql(sql::GRANT))
                    .bind(r.tenant)
                    .bind(&r.access_token.0[..])
                    .bind(&row.0)
                    .bind(r.access_token_expires_at)
                    .bind(&r.dpop_jkt)
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?;
                let grant: rows::GrantRow = sqlx::query_as(&$sql(concat!(
                    $crate::store::rows::grant_select!(),
                    " WHERE t.tenant = $1 AND t.token_hash = $2"
                )))
                .bind(r.tenant)
                .bind(&r.access_token.0[..])
                .fetch_one(&mut *tx)
                .await
                .map_err(fail)?;
                tx.commit().await.map_err(fail)?;
                Ok(rows::decode_grant(grant)?)
            }
        }
    };
}

pub(super) use authorization_methods;
