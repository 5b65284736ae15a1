//! The credential request's one write transaction ([`crate::store::Store::reserve_credentials`]):
//! spend the proofs' nonces, give every credential of the batch its status list entry and
//! record the issuance together, so a batch of ten costs a handful of statements instead of about
//! three per credential. Written once for both SQL back ends as [`reserve_method`].

use segl_credential::clock::UnixTime;

use super::status::ListShape;
use super::{NewIssuance, SecretHash, StoreError};

/// What one credential request reserves before minting.
#[derive(Debug, Clone)]
pub struct Reservation<'a> {
    /// The tenant whose credential endpoint was called.
    pub tenant: &'a str,
    /// The offer the access token was granted for. It must exist: with an `issuance` the
    /// reservation is refused, and nothing spent, when it does not.
    pub offer_id: &'a str,
    /// The offer's subject (read with the access grant), copied to every credential.
    pub subject: Option<&'a str>,
    /// The configuration to issue.
    pub credential_configuration_id: &'a str,
    /// The distinct `c_nonce`s the proofs carry (each checked by the service); every one must
    /// be unspent.
    pub nonces: &'a [ProofNonce],
    /// One entry request per credential, in the order the slots are returned.
    pub credentials: &'a [EntryRequest],
    /// The shape of a list created if the tenant's lists are full.
    pub shape: ListShape,
    /// The time of the request (nonce expiry, `issued_at`).
    pub now: UnixTime,
    /// The issuance to record with the entries (its `notification_id` must be new), or `None`
    /// when nothing is issued yet (a deferred request spends its nonces only).
    pub issuance: Option<&'a NewIssuance>,
}

/// A `c_nonce` to spend: its digest, and when it expires (a spent nonce is kept until then and
/// refused as a replay).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProofNonce {
    /// SHA-256 of the nonce.
    pub hash: SecretHash,
    /// When the nonce expires.
    pub expires_at: UnixTime,
}

/// One credential of a [`Reservation`]: its new id and the random number its entry is drawn with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRequest {
    /// Opaque, unguessable credential id.
    pub id: String,
    /// The random number the store draws entry candidates from (it holds no randomness itself).
    pub random: u64,
}

/// Why a reservation was refused. A refusal leaves the store unchanged.
#[derive(Debug, thiserror::Error)]
pub enum ReserveError {
    /// A nonce was spent before or has expired (OpenID4VCI 1.0 §8.3.1.2 `invalid_nonce`).
    #[error("a proof's nonce is expired or already used")]
    InvalidNonce,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[cfg(test)]
impl<'a> Reservation<'a> {
    /// A reservation of `tenant` at `now` that allocates no entry and records no issuance: tests
    /// spend nonces with it (and record issuances, with `issuance` set), the one way the store
    /// does either.
    pub(crate) fn bare(tenant: &'a str, nonces: &'a [ProofNonce], now: UnixTime) -> Self {
        Reservation {
            tenant,
            offer_id: "any",
            subject: None,
            credential_configuration_id: "any",
            nonces,
            credentials: &[],
            shape: ListShape { size: 16, bits: 2 },
            now,
            issuance: None,
        }
    }
}

/// Spends `nonce` of `tenant` at `now` through a bare reservation: true if it was unspent and
/// unexpired (and is spent now), false if the store refused it.
#[cfg(test)]
pub(crate) async fn spend_nonce<S: super::Store>(
    store: &S,
    tenant: &str,
    nonce: ProofNonce,
    now: UnixTime,
) -> bool {
    match store.reserve_credentials(&Reservation::bare(tenant, &[nonce], now)).await {
        Ok(slots) => slots.is_empty(),
        Err(ReserveError::InvalidNonce) => false,
        Err(error) => panic!("spending a nonce: {error}"),
    }
}

/// The statements of a reservation, in PostgreSQL's `$n` placeholders.
pub(super) mod sql {
    /// Spends one nonce; of concurrent spenders exactly one inserts the row.
    pub const SPEND_NONCE: &str = "INSERT INTO spent_nonces (tenant, nonce_hash, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (tenant, nonce_hash) DO NOTHING";
    /// Records an issuance (its `notification_id` for OpenID4VCI 1.0 §11).
    pub const RECORD_ISSUANCE: &str = "INSERT INTO issuances (tenant, id, offer_id, credential_configuration_id, \
         count, notification_id, issued_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";

    /// Takes several entries of list `$6` in one statement: `rows` rows of `(id, idx)` from
    /// `$7` on; taken entries are skipped, and the ids of the rows inserted come back.
    pub fn take_many(rows: usize) -> String {
        let values: Vec<String> = (0..rows)
            .map(|row| {
                let id = 7 + 2 * row;
                format!("($1, ${id}, $6, ${}, $2, $3, $4, 'valid', $5)", id + 1)
            })
            .collect();
        format!(
            "INSERT INTO credentials (tenant, id, list_id, idx, offer_id, subject, credential_configuration_id, \
             status, issued_at) VALUES {} ON CONFLICT (tenant, list_id, idx) DO NOTHING RETURNING id",
            values.join(", ")
        )
    }
}

/// Distinct candidates for the credentials still without an entry, in ascending index order
/// (concurrent transactions then meet taken entries in one order): `(credential, index)`.
pub(super) fn round_candidates(
    credentials: &[EntryRequest],
    taken: &[Option<u64>],
    round: u64,
    size: u64,
) -> Vec<(usize, u64)> {
    let mut picks: Vec<(usize, u64)> = credentials
        .iter()
        .zip(taken)
        .enumerate()
        .filter(|(_, (_, slot))| slot.is_none())
        .map(|(position, (credential, _))| {
            (position, super::status::candidate(credential.random, round, size))
        })
        .collect();
    picks.sort_by_key(|&(_, idx)| idx);
    // Two credentials drawing the same index: the second tries again next round.
    picks.dedup_by_key(|&mut (_, idx)| idx);
    picks
}

/// The `reserve` method of one SQL back end (`$store` has a `pool`; `$sql` turns a statement
/// into the back end's dialect; `$begin` opens a transaction that serialises writers where the
/// back end needs it; `$lock` locks the open list's row for the transaction where `$begin` does
/// not serialise: PostgreSQL).
///
/// Why the lock: two transactions inserting several entries each, round after round, can each
/// wait on an entry the other inserted first (a deadlock PostgreSQL breaks only after a second).
/// Holding the list row makes reservations of one tenant take their turns. The lock is `FOR NO
/// KEY UPDATE`, not `FOR UPDATE`: a credential row's foreign key to its list takes `FOR KEY
/// SHARE` on that row, which `FOR UPDATE` would block while the inserter holds an entry the
/// reservation waits for (a deadlock again). The one-by-one allocation runs in single
/// statements and never waits while holding an entry.
macro_rules! reserve_method {
    ($store:ty, sql = $sql:path, begin = $begin:literal, lock = $lock:literal) => {
        impl $store {
            /// [`crate::store::Store::reserve_credentials`]: the nonces, up to `RANDOM_PROBES`
            /// rounds of multi-row entry inserts and the issuance in one transaction; credentials
            /// still without an entry (a missing, full or nearly full list) then go through the
            /// one-by-one allocation, which creates and rolls over lists.
            pub(super) async fn reserve(
                &self,
                r: &$crate::store::reserve::Reservation<'_>,
            ) -> Result<Vec<$crate::store::status::StatusSlot>, $crate::store::reserve::ReserveError> {
                use $crate::store::reserve::{ReserveError, round_candidates, sql};
                use $crate::store::rows::db_error;
                use $crate::store::status::{NewCredential, RANDOM_PROBES, StatusSlot, signed, unsigned};
                let fail = |e| ReserveError::Store(db_error(e, "reservation"));
                let mut conn = self.pool.acquire().await.map_err(fail)?;
                let mut tx = sqlx::Connection::begin_with(&mut *conn, $begin).await.map_err(fail)?;
                for nonce in r.nonces {
                    if nonce.expires_at <= r.now {
                        return Err(ReserveError::InvalidNonce);
                    }
                    let done = sqlx::query(&$sql(sql::SPEND_NONCE))
                        .bind(r.tenant)
                        .bind(&nonce.hash.0[..])
                        .bind(nonce.expires_at)
                        .execute(&mut *tx)
                        .await
                        .map_err(fail)?;
                    if done.rows_affected() != 1 {
                        // Dropping `tx` rolls back: no nonce is spent.
                        return Err(ReserveError::InvalidNonce);
                    }
                }
                // Before the entries: its foreign key refuses an offer that is gone.
                if let Some(issuance) = r.issuance {
                    sqlx::query(&$sql(sql::RECORD_ISSUANCE))
                        .bind(&issuance.tenant)
                        .bind(&issuance.id)
                        .bind(&issuance.offer_id)
                        .bind(&issuance.credential_configuration_id)
                        .bind(i64::from(issuance.count))
                        .bind(&issuance.notification_id)
                        .bind(issuance.issued_at)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| ReserveError::Store(db_error(e, "issuance")))?;
                }
                let mut taken: Vec<Option<u64>> = vec![None; r.credentials.len()];
                let open_list = format!(
                    "{}{}",
                    $sql($crate::store::status_sql::sql::OPEN_LIST),
                    if $lock { " FOR NO KEY UPDATE" } else { "" }
                );
                let open: Option<(i64, i64)> =
                    sqlx::query_as(&open_list).bind(r.tenant).fetch_optional(&mut *tx).await.map_err(fail)?;
                let mut list = None;
                if let Some((list_id, size)) = open.filter(|_| !r.credentials.is_empty()) {
                    list = Some(list_id);
                    let size = unsigned(size, "status_lists.size")?;
                    for round in 0..RANDOM_PROBES {
                        let picks = round_candidates(r.credentials, &taken, round, size);
                        if picks.is_empty() {
                            break;
                        }
                        let statement = $sql(&sql::take_many(picks.len()));
                        let mut insert = sqlx::query_as::<_, (String,)>(&statement)
                            .bind(r.tenant)
                            .bind(r.offer_id)
                            .bind(r.subject)
                            .bind(r.credential_configuration_id)
                            .bind(r.now)
                            .bind(list_id);
                        for &(position, idx) in &picks {
                            let id = r.credentials.get(position).map(|c| c.id.as_str()).unwrap_or_default();
                            insert = insert.bind(id).bind(signed(idx, "status list index")?);
                        }
                        let inserted = insert.fetch_all(&mut *tx).await.map_err(fail)?;
                        for &(position, idx) in &picks {
                            let id = r.credentials.get(position).map(|c| c.id.as_str()).unwrap_or_default();
                            if inserted.iter().any(|(done,)| done == id) {
                                if let Some(slot) = taken.get_mut(position) {
                                    *slot = Some(idx);
                                }
                            }
                        }
                    }
                }
                tx.commit().await.map_err(fail)?;
                // The one-by-one allocation below takes the connection again (SQLite has one).
                drop(conn);
                let mut slots = Vec::with_capacity(r.credentials.len());
                for (credential, idx) in r.credentials.iter().zip(taken) {
                    let slot = match (list, idx) {
                        (Some(list_id), Some(idx)) => StatusSlot { list_id, idx },
                        _ => {
                            let new = NewCredential {
                                id: credential.id.clone(),
                                tenant: r.tenant.to_owned(),
                                offer_id: r.offer_id.to_owned(),
                                credential_configuration_id: r.credential_configuration_id.to_owned(),
                                issued_at: r.now,
                                random: credential.random,
                            };
                            self.allocate(&new, r.shape).await?
                        }
                    };
                    slots.push(slot);
                }
                Ok(slots)
            }
        }
    };
}
pub(super) use reserve_method;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_many_numbers_every_row() {
        let statement = sql::take_many(2);
        assert!(statement.contains("($1, $7, $6, $8, $2, $3, $4, 'valid', $5), ($1, $9, $6, $10,"));
        assert!(statement.ends_with("RETURNING id"));
    }

    #[test]
    fn candidates_are_sorted_distinct_and_skip_placed_credentials() {
        let credentials: Vec<EntryRequest> =
            (0..5).map(|n| EntryRequest { id: format!("c{n}"), random: n }).collect();
        let taken = [None, Some(3), None, None, None];
        let picks = round_candidates(&credentials, &taken, 0, 1 << 20);
        assert_eq!(picks.len(), 4);
        assert!(picks.iter().all(|&(position, _)| position != 1));
        assert!(picks.windows(2).all(|pair| pair[0].1 < pair[1].1));
        // A one-entry list: every credential draws index 0, only one may try it.
        assert_eq!(round_candidates(&credentials, &[None; 5], 0, 1).len(), 1);
    }
}
