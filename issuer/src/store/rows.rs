//! What both SQL back ends share: how a row reads back into the contract's types, how a
//! database error becomes a [`StoreError`], and the redemption rules (OpenID4VCI 1.0 §6.1), so
//! that SQLite and PostgreSQL cannot drift apart on the order of the checks.

use segl_credential::clock::UnixTime;

use super::{AccessGrant, Offer, OfferState, RedeemError, Redemption, SecretHash, StoreError};

/// An `offers` row as selected by both back ends, in this column order:
/// id, tenant, credential_configuration_ids (JSON), claims (JSON), tx_code_hash,
/// tx_code_attempts, state, created_at, expires_at, subject.
pub(super) type OfferRow =
    (String, String, String, String, Option<Vec<u8>>, i64, String, i64, i64, Option<String>);

/// The column list matching [`OfferRow`] (unqualified, for `FROM offers`); a literal, so that
/// whole statements are put together with `concat!` at compile time.
macro_rules! offer_columns {
    () => {
        "id, tenant, credential_configuration_ids, claims, tx_code_hash, tx_code_attempts, state, \
         created_at, expires_at, subject"
    };
}
pub(super) use offer_columns;

/// An access grant row: offer id, tenant, configuration ids (JSON), claims (JSON), token expiry,
/// DPoP key thumbprint, the authentic source's person key, the offer's subject.
pub(super) type GrantRow =
    (String, String, String, String, i64, Option<String>, Option<Vec<u8>>, Option<String>);

/// The columns and joins of a [`GrantRow`], for a token `t`: the offer, and its person of the
/// authentic source if any; a literal like [`offer_columns`].
macro_rules! grant_select {
    () => {
        "SELECT o.id, o.tenant, o.credential_configuration_ids, o.claims, t.expires_at, t.dpop_jkt, \
         s.person_key, o.subject FROM access_tokens t JOIN offers o ON o.tenant = t.tenant AND o.id = t.offer_id \
         LEFT JOIN offer_sources s ON s.tenant = o.tenant AND s.offer_id = o.id"
    };
}
pub(super) use grant_select;

/// The stored name of an offer state.
pub(super) fn state_name(state: OfferState) -> &'static str {
    match state {
        OfferState::Pending => "pending",
        OfferState::Redeemed => "redeemed",
        OfferState::Locked => "locked",
    }
}

fn parse_state(name: &str) -> Result<OfferState, StoreError> {
    match name {
        "pending" => Ok(OfferState::Pending),
        "redeemed" => Ok(OfferState::Redeemed),
        "locked" => Ok(OfferState::Locked),
        other => Err(StoreError::Database(format!("offers.state holds unknown value {other:?}"))),
    }
}

/// Serialises the configuration ids for the `credential_configuration_ids` column.
pub(super) fn ids_json(ids: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(ids)
        .map_err(|e| StoreError::Database(format!("credential_configuration_ids not serialisable: {e}")))
}

/// Serialises the claims for the `claims` column.
pub(super) fn claims_json(claims: &serde_json::Value) -> Result<String, StoreError> {
    serde_json::to_string(claims).map_err(|e| StoreError::Database(format!("claims not serialisable: {e}")))
}

fn parse_ids(json: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(json).map_err(|e| {
        StoreError::Database(format!("offers.credential_configuration_ids is not a JSON array: {e}"))
    })
}

fn parse_claims(json: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(json).map_err(|e| StoreError::Database(format!("offers.claims is not JSON: {e}")))
}

fn parse_hash(bytes: &[u8], column: &str) -> Result<SecretHash, StoreError> {
    <[u8; 32]>::try_from(bytes).map(SecretHash).map_err(|_| {
        StoreError::Database(format!("{column} holds {} bytes, not a SHA-256 digest", bytes.len()))
    })
}

/// An offer row decoded, with the parts only the redemption needs.
pub(super) struct StoredOffer {
    /// The offer as the contract shows it.
    pub offer: Offer,
    /// The stored transaction code digest.
    pub tx_code: Option<SecretHash>,
    /// Wrong transaction codes tried so far.
    pub attempts: i64,
}

/// Decodes an [`OfferRow`].
pub(super) fn decode_offer(row: OfferRow) -> Result<StoredOffer, StoreError> {
    let (id, tenant, ids, claims, tx_code, attempts, state, created_at, expires_at, subject) = row;
    let tx_code = tx_code.as_deref().map(|b| parse_hash(b, "offers.tx_code_hash")).transpose()?;
    let offer = Offer {
        id,
        tenant,
        credential_configuration_ids: parse_ids(&ids)?,
        claims: parse_claims(&claims)?,
        tx_code_required: tx_code.is_some(),
        created_at,
        expires_at,
        state: parse_state(&state)?,
        subject,
    };
    Ok(StoredOffer { offer, tx_code, attempts })
}

/// Decodes a [`GrantRow`].
pub(super) fn decode_grant(row: GrantRow) -> Result<AccessGrant, StoreError> {
    let (offer_id, tenant, ids, claims, expires_at, dpop_jkt, person, subject) = row;
    let person = person
        .map(|key| super::source::key32(&key, "person key").map(crate::source::PersonKey))
        .transpose()?;
    Ok(AccessGrant {
        offer_id,
        tenant,
        credential_configuration_ids: parse_ids(&ids)?,
        claims: parse_claims(&claims)?,
        expires_at,
        dpop_jkt,
        person,
        subject,
    })
}

/// The grant a successful redemption returns.
pub(super) fn grant_for(offer: Offer, expires_at: UnixTime, dpop_jkt: Option<String>) -> AccessGrant {
    AccessGrant {
        offer_id: offer.id,
        tenant: offer.tenant,
        credential_configuration_ids: offer.credential_configuration_ids,
        claims: offer.claims,
        expires_at,
        dpop_jkt,
        person: None,
        subject: offer.subject,
    }
}

/// Maps a sqlx error; a unique-key violation becomes [`StoreError::Duplicate`] naming `what`.
pub(super) fn db_error(error: sqlx::Error, what: &'static str) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Duplicate(what),
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::Database(format!("{what} refers to a row that does not exist: {db}"))
        }
        _ => StoreError::Database(format!("{what}: {error}")),
    }
}

/// What a redemption attempt does to the offer, decided from the locked row.
pub(super) enum Verdict {
    /// Refuse without changing anything.
    Refuse(RedeemError),
    /// A wrong transaction code: store the new attempt count (and lock), then fail.
    WrongTxCode {
        /// The attempt count to store.
        attempts: i64,
        /// Whether the offer locks now.
        lock: bool,
        /// The error to return once the count is committed.
        error: RedeemError,
    },
    /// Mark the offer redeemed and grant the access token.
    Redeem,
}

/// Applies the redemption rules in their fixed order (unknown codes are the caller's: no row):
/// locked, already redeemed, expired, transaction code required / not expected / wrong.
///
/// OpenID4VCI 1.0 §3.5: the pre-authorized code is short-lived and single-use; §6.1: "the
/// Authorization Server MUST check the Transaction Code" when the offer required one, and a
/// wrong one is `invalid_grant`. The attempt limit is what keeps a short numeric code from
/// being guessed.
pub(super) fn judge(stored: &StoredOffer, redemption: &Redemption<'_>) -> Verdict {
    match stored.offer.state {
        OfferState::Locked => return Verdict::Refuse(RedeemError::Locked),
        OfferState::Redeemed => return Verdict::Refuse(RedeemError::AlreadyRedeemed),
        OfferState::Pending => {}
    }
    if redemption.now >= stored.offer.expires_at {
        return Verdict::Refuse(RedeemError::Expired);
    }
    match (&stored.tx_code, &redemption.tx_code) {
        (None, None) => Verdict::Redeem,
        (Some(_), None) => Verdict::Refuse(RedeemError::TxCodeRequired),
        (None, Some(_)) => Verdict::Refuse(RedeemError::TxCodeNotExpected),
        (Some(expected), Some(presented)) => {
            if expected.matches(presented) {
                return Verdict::Redeem;
            }
            let attempts = stored.attempts.saturating_add(1);
            let max = i64::from(redemption.max_tx_code_attempts);
            let lock = attempts >= max;
            let error = if lock {
                RedeemError::Locked
            } else {
                RedeemError::WrongTxCode { attempts_left: u32::try_from(max - attempts).unwrap_or(0) }
            };
            Verdict::WrongTxCode { attempts, lock, error }
        }
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    fn stored(state: OfferState, tx: Option<&str>, attempts: i64) -> StoredOffer {
        StoredOffer {
            offer: Offer {
                id: "o".into(),
                tenant: "t".into(),
                credential_configuration_ids: vec![],
                claims: serde_json::json!({}),
                tx_code_required: tx.is_some(),
                created_at: 0,
                expires_at: 100,
                state,
                subject: None,
            },
            tx_code: tx.map(SecretHash::of),
            attempts,
        }
    }

    fn attempt(tx: Option<&str>, now: UnixTime) -> Redemption<'static> {
        Redemption {
            tenant: "t",
            code: SecretHash::of("c"),
            tx_code: tx.map(SecretHash::of),
            max_tx_code_attempts: 3,
            now,
            access_token: SecretHash::of("at"),
            access_token_expires_at: 200,
            dpop_jkt: None,
            client_id: None,
        }
    }

    #[test]
    fn state_is_checked_before_expiry_and_tx_code() {
        let locked = stored(OfferState::Locked, Some("1"), 3);
        assert!(matches!(judge(&locked, &attempt(None, 500)), Verdict::Refuse(RedeemError::Locked)));
        let redeemed = stored(OfferState::Redeemed, None, 0);
        assert!(matches!(
            judge(&redeemed, &attempt(Some("x"), 500)),
            Verdict::Refuse(RedeemError::AlreadyRedeemed)
        ));
        let pending = stored(OfferState::Pending, Some("1"), 0);
        assert!(matches!(judge(&pending, &attempt(None, 100)), Verdict::Refuse(RedeemError::Expired)));
        assert!(matches!(judge(&pending, &attempt(None, 99)), Verdict::Refuse(RedeemError::TxCodeRequired)));
    }

    #[test]
    fn wrong_codes_count_down_then_lock() {
        let r = attempt(Some("2"), 0);
        match judge(&stored(OfferState::Pending, Some("1"), 0), &r) {
            Verdict::WrongTxCode {
                attempts: 1,
                lock: false,
                error: RedeemError::WrongTxCode { attempts_left: 2 },
            } => {}
            _ => panic!("first wrong code"),
        }
        match judge(&stored(OfferState::Pending, Some("1"), 2), &r) {
            Verdict::WrongTxCode { attempts: 3, lock: true, error: RedeemError::Locked } => {}
            _ => panic!("third wrong code"),
        }
        assert!(matches!(
            judge(&stored(OfferState::Pending, Some("1"), 2), &attempt(Some("1"), 0)),
            Verdict::Redeem
        ));
    }

    #[test]
    fn corrupt_rows_are_errors_not_panics() {
        assert!(parse_hash(&[1, 2, 3], "x").is_err());
        assert!(parse_state("open").is_err());
        assert!(parse_ids("{}").is_err());
    }
}
