//! The store's side of credential lifecycle (Token Status List, draft-ietf-oauth-status-list,
//! DIGEST §4): what an issued credential's entry is, which status changes are legal, and the
//! rows both SQL back ends share.

use segl_credential::clock::UnixTime;

use super::StoreError;

/// A credential's status as the issuer manages it (DIGEST §4 "Values": 0 VALID, 1 INVALID,
/// 2 SUSPENDED).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialStatus {
    /// `0x00`: valid.
    Valid,
    /// `0x01`: revoked; final.
    Invalid,
    /// `0x02`: suspended; may become valid again.
    Suspended,
}

impl CredentialStatus {
    /// The stored (and API) name: `valid`, `invalid`, `suspended`.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialStatus::Valid => "valid",
            CredentialStatus::Invalid => "invalid",
            CredentialStatus::Suspended => "suspended",
        }
    }

    /// Parses a stored or requested name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "valid" => Some(CredentialStatus::Valid),
            "invalid" => Some(CredentialStatus::Invalid),
            "suspended" => Some(CredentialStatus::Suspended),
            _ => None,
        }
    }

    /// The status list value (DIGEST §4 "Values").
    pub fn value(self) -> u8 {
        match self {
            CredentialStatus::Valid => 0,
            CredentialStatus::Invalid => 1,
            CredentialStatus::Suspended => 2,
        }
    }

    /// Whether a credential may go from `self` to `to`. INVALID is final ("revoked"); any other
    /// change is allowed.
    pub fn may_become(self, to: CredentialStatus) -> bool {
        self != CredentialStatus::Invalid || to == CredentialStatus::Invalid
    }
}

impl std::fmt::Display for CredentialStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a tenant's status lists are shaped; applies to lists created from now on (a list keeps
/// the size and bits it was created with).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListShape {
    /// Entries per list.
    pub size: u64,
    /// Bits per entry (1, 2, 4 or 8).
    pub bits: u8,
}

/// A credential about to be minted, asking for its status list entry.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCredential {
    /// Opaque, unguessable credential id (the admin API's handle).
    pub id: String,
    /// Owning tenant.
    pub tenant: String,
    /// The offer it is issued under (its `subject`, if any, is copied to the credential).
    pub offer_id: String,
    /// The configuration issued.
    pub credential_configuration_id: String,
    /// When.
    pub issued_at: UnixTime,
    /// A random number the entry is chosen with (the store draws its candidates from it, so the
    /// store itself holds no hidden randomness).
    pub random: u64,
}

/// Where a credential's status lives: list number and index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusSlot {
    /// The list's number within the tenant (1, 2, ...).
    pub list_id: i64,
    /// The entry's index in that list.
    pub idx: u64,
}

/// An issued credential as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialRecord {
    /// Credential id.
    pub id: String,
    /// Owning tenant.
    pub tenant: String,
    /// Its status list entry.
    pub slot: StatusSlot,
    /// The offer it was issued under.
    pub offer_id: String,
    /// The offer's subject, if the authority named one.
    pub subject: Option<String>,
    /// The configuration issued.
    pub credential_configuration_id: String,
    /// Its current status.
    pub status: CredentialStatus,
    /// When it was issued.
    pub issued_at: UnixTime,
}

/// Which credentials a status change applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusTarget<'a> {
    /// One credential by id.
    Credential(&'a str),
    /// Every credential issued under one offer.
    Offer(&'a str),
    /// Every credential issued under offers naming this subject.
    Subject(&'a str),
}

/// A requested status change, with its audit record.
#[derive(Debug, Clone)]
pub struct StatusChange<'a> {
    /// The tenant.
    pub tenant: &'a str,
    /// Which credentials.
    pub target: StatusTarget<'a>,
    /// The new status.
    pub to: CredentialStatus,
    /// Who asked (audit).
    pub actor: &'a str,
    /// Why (audit).
    pub reason: &'a str,
    /// When.
    pub at: UnixTime,
}

/// What a status change did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusChangeOutcome {
    /// The credentials whose status changed (each with one audit row).
    pub changed: Vec<String>,
    /// Credentials that already had the requested status.
    pub unchanged: Vec<String>,
    /// Credentials of a group change (offer, subject) left alone because they are INVALID,
    /// which is final.
    pub skipped_final: Vec<String>,
}

/// One audited status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusAuditEntry {
    /// The credential.
    pub credential_id: String,
    /// The status before.
    pub from: CredentialStatus,
    /// The status after.
    pub to: CredentialStatus,
    /// Who.
    pub actor: String,
    /// Why.
    pub reason: String,
    /// When.
    pub at: UnixTime,
}

/// A status list's head: what its token is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusListHead {
    /// The list's number.
    pub id: i64,
    /// Entries.
    pub size: u64,
    /// Bits per entry.
    pub bits: u8,
    /// Grows with every status change of one of its entries.
    pub version: i64,
}

/// Why a status change was refused. Every refusal leaves the store as it was.
#[derive(Debug, thiserror::Error)]
pub enum StatusChangeError {
    /// No credential of this tenant has this id.
    #[error("unknown credential `{0}`")]
    UnknownCredential(String),
    /// The offer or subject has no credentials.
    #[error("no credentials issued {0}")]
    NothingIssued(String),
    /// The change is not allowed (INVALID is final).
    #[error("credential `{credential_id}` is {from}; it cannot become {to} (revocation is final)")]
    IllegalTransition {
        /// The credential.
        credential_id: String,
        /// Its status.
        from: CredentialStatus,
        /// The refused status.
        to: CredentialStatus,
    },
    /// The credential's list has one bit per entry, which cannot say SUSPENDED.
    #[error("credential `{0}` is on a 1-bit status list, which cannot express suspension")]
    SuspensionUnsupported(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A `credentials` row in this column order (see [`CREDENTIAL_COLUMNS`]).
pub(super) type CredentialRow = (String, String, i64, i64, String, Option<String>, String, String, i64);

/// The column list matching [`CredentialRow`] (unqualified, for `FROM credentials`).
pub(super) const CREDENTIAL_COLUMNS: &str =
    "id, tenant, list_id, idx, offer_id, subject, credential_configuration_id, status, issued_at";

/// Decodes a stored status name.
pub(super) fn parse_status(name: &str) -> Result<CredentialStatus, StoreError> {
    CredentialStatus::parse(name)
        .ok_or_else(|| StoreError::Database(format!("credentials.status holds unknown value {name:?}")))
}

/// A non-negative stored integer as `u64`.
pub(super) fn unsigned(value: i64, column: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Database(format!("{column} holds negative value {value}")))
}

/// A `u64` as the database's `BIGINT`.
pub(super) fn signed(value: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Database(format!("{what} {value} exceeds a BIGINT")))
}

/// Decodes a [`CredentialRow`].
pub(super) fn decode_credential(row: CredentialRow) -> Result<CredentialRecord, StoreError> {
    let (id, tenant, list_id, idx, offer_id, subject, credential_configuration_id, status, issued_at) = row;
    Ok(CredentialRecord {
        id,
        tenant,
        slot: StatusSlot { list_id, idx: unsigned(idx, "credentials.idx")? },
        offer_id,
        subject,
        credential_configuration_id,
        status: parse_status(&status)?,
        issued_at,
    })
}

/// Decodes a `status_lists` head row `(id, size, bits, version)`.
pub(super) fn decode_head(row: (i64, i64, i64, i64)) -> Result<StatusListHead, StoreError> {
    let (id, size, bits, version) = row;
    let bits = u8::try_from(bits)
        .ok()
        .filter(|b| [1, 2, 4, 8].contains(b))
        .ok_or_else(|| StoreError::Database(format!("status_lists.bits holds {bits}")))?;
    Ok(StatusListHead { id, size: unsigned(size, "status_lists.size")?, bits, version })
}

/// The `k`-th candidate index of an allocation seeded with `random` (SplitMix64 steps), in
/// `0..size`. Uniform enough: `size` is at most 2^32, far below 2^64.
pub(super) fn candidate(random: u64, k: u64, size: u64) -> u64 {
    let mut z = random.wrapping_add(k.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    z.checked_rem(size).unwrap_or(0)
}

/// Random probes before an allocation falls back to scanning for a free entry.
pub(super) const RANDOM_PROBES: u64 = 4;

/// Rounds (probe, scan, roll over) an allocation tries before it gives up.
pub(super) const ALLOCATION_ROUNDS: usize = 64;

/// One credential a status change rewrites: id, list number, status before.
pub(super) type Update = (String, i64, CredentialStatus);

/// Sorts the rows a status change locked into changed / unchanged / skipped, or refuses the
/// whole change. `bits` is each row's list width.
pub(super) fn plan_change(
    rows: &[(String, i64, CredentialStatus, u8)],
    change: &StatusChange<'_>,
) -> Result<(Vec<Update>, StatusChangeOutcome), StatusChangeError> {
    if rows.is_empty() {
        return Err(match change.target {
            StatusTarget::Credential(id) => StatusChangeError::UnknownCredential(id.to_owned()),
            StatusTarget::Offer(id) => StatusChangeError::NothingIssued(format!("under offer `{id}`")),
            StatusTarget::Subject(_) => StatusChangeError::NothingIssued("to this subject".to_owned()),
        });
    }
    let single = matches!(change.target, StatusTarget::Credential(_));
    let mut outcome = StatusChangeOutcome::default();
    let mut updates = Vec::new();
    for (id, list_id, from, bits) in rows {
        if *from == change.to {
            outcome.unchanged.push(id.clone());
        } else if !from.may_become(change.to) {
            if single {
                return Err(StatusChangeError::IllegalTransition {
                    credential_id: id.clone(),
                    from: *from,
                    to: change.to,
                });
            }
            outcome.skipped_final.push(id.clone());
        } else if change.to == CredentialStatus::Suspended && *bits < 2 {
            return Err(StatusChangeError::SuspensionUnsupported(id.clone()));
        } else {
            outcome.changed.push(id.clone());
            updates.push((id.clone(), *list_id, *from));
        }
    }
    Ok((updates, outcome))
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn invalid_is_final() {
        use CredentialStatus::*;
        for from in [Valid, Suspended, Invalid] {
            assert!(from.may_become(Invalid));
        }
        assert!(Valid.may_become(Suspended) && Suspended.may_become(Valid));
        assert!(!Invalid.may_become(Valid) && !Invalid.may_become(Suspended));
    }

    #[test]
    fn candidates_stay_in_range_and_differ() {
        let picks: Vec<u64> = (0..RANDOM_PROBES).map(|k| candidate(42, k, 1 << 20)).collect();
        assert!(picks.iter().all(|&p| p < 1 << 20));
        assert_ne!(picks[0], picks[1]);
        assert_eq!(candidate(7, 0, 1), 0);
        assert_eq!(candidate(7, 0, 0), 0);
    }

    #[test]
    fn corrupt_rows_are_errors() {
        assert!(parse_status("revoked").is_err());
        assert!(decode_head((1, 16, 3, 0)).is_err());
        assert!(unsigned(-1, "x").is_err());
    }
}

/// The statements both back ends run, in PostgreSQL's `$n` placeholders; SQLite runs them
/// through [`for_sqlite`] (`?n`, which it numbers the same way). `is_full` compares with
/// `TRUE`/`FALSE`, which SQLite reads as 1/0.
pub(super) mod sql {
    /// The lowest-numbered list of a tenant that is not full.
    pub const OPEN_LIST: &str =
        "SELECT id, size FROM status_lists WHERE tenant = $1 AND is_full = FALSE ORDER BY id LIMIT 1";
    /// Creates the next list; of concurrent creators one inserts, the others do nothing.
    pub const NEW_LIST: &str = "INSERT INTO status_lists (tenant, id, size, bits, is_full, version, created_at) \
         SELECT $1, COALESCE(MAX(id), 0) + 1, $2, $3, FALSE, 0, $4 FROM status_lists WHERE tenant = $1 \
         ON CONFLICT (tenant, id) DO NOTHING";
    /// Takes entry `idx` unless someone holds it; the unique key makes this the atomic step.
    pub const TAKE: &str = "INSERT INTO credentials (tenant, id, list_id, idx, offer_id, subject, \
         credential_configuration_id, status, issued_at) \
         SELECT $1, $2, $3, $4, $5, o.subject, $6, 'valid', $7 FROM offers o WHERE o.tenant = $1 AND o.id = $5 \
         ON CONFLICT (tenant, list_id, idx) DO NOTHING";
    /// Whether the offer exists (an allocation for an unknown offer is refused, not retried).
    pub const OFFER_EXISTS: &str = "SELECT 1 FROM offers WHERE tenant = $1 AND id = $2";
    /// The first free entry at or after `$3` (the entry after a taken one, when that is free).
    pub const FREE_FROM: &str = "SELECT MIN(c.idx + 1) FROM credentials c \
         WHERE c.tenant = $1 AND c.list_id = $2 AND c.idx >= $3 AND c.idx + 1 < $4 AND NOT EXISTS \
         (SELECT 1 FROM credentials d WHERE d.tenant = c.tenant AND d.list_id = c.list_id AND d.idx = c.idx + 1)";
    /// Whether entry `$3` is taken.
    pub const TAKEN: &str = "SELECT 1 FROM credentials WHERE tenant = $1 AND list_id = $2 AND idx = $3";
    /// Marks a list full: allocation moves on to the next.
    pub const MARK_FULL: &str = "UPDATE status_lists SET is_full = TRUE WHERE tenant = $1 AND id = $2";
    /// A list's head.
    pub const HEAD: &str = "SELECT id, size, bits, version FROM status_lists WHERE tenant = $1 AND id = $2";
    /// A list's entries that are not VALID.
    pub const NOT_VALID: &str =
        "SELECT idx, status FROM credentials WHERE tenant = $1 AND list_id = $2 AND status <> 'valid'";
    /// Sets one credential's status.
    pub const SET_STATUS: &str = "UPDATE credentials SET status = $1 WHERE tenant = $2 AND id = $3";
    /// Appends one audit row.
    pub const AUDIT: &str = "INSERT INTO status_changes (tenant, credential_id, from_status, to_status, actor, \
         reason, at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    /// Bumps a list's version (its token must be regenerated).
    pub const BUMP: &str = "UPDATE status_lists SET version = version + 1 WHERE tenant = $1 AND id = $2";
    /// A credential's audit trail, oldest first.
    pub const HISTORY: &str = "SELECT credential_id, from_status, to_status, actor, reason, at \
         FROM status_changes WHERE tenant = $1 AND credential_id = $2 ORDER BY seq";

    /// The rows a status change applies to (`column` is `id`, `offer_id` or `subject`), with
    /// their list's width, in a fixed order (so concurrent changes lock rows in one order).
    pub fn targets(column: &str, lock: bool) -> String {
        format!(
            "SELECT c.id, c.list_id, c.status, l.bits FROM credentials c \
             JOIN status_lists l ON l.tenant = c.tenant AND l.id = c.list_id \
             WHERE c.tenant = $1 AND c.{column} = $2 ORDER BY c.id{}",
            if lock { " FOR UPDATE OF c" } else { "" }
        )
    }

    /// A statement in SQLite's numbered placeholders (`$3` becomes `?3`).
    pub fn for_sqlite(statement: &str) -> String {
        statement.replace('$', "?")
    }
}

/// The column a [`StatusTarget`] selects on, and its value.
pub(super) fn target_column<'a>(target: &StatusTarget<'a>) -> (&'static str, &'a str) {
    match target {
        StatusTarget::Credential(id) => ("id", id),
        StatusTarget::Offer(id) => ("offer_id", id),
        StatusTarget::Subject(subject) => ("subject", subject),
    }
}

/// The status methods of one SQL back end, written once: `$store` has a `pool` field,
/// `$sql` turns a statement of [`sql`] into the back end's dialect, `$begin` opens a
/// transaction that serialises writers (SQLite `BEGIN IMMEDIATE`; PostgreSQL a plain one with
/// row locks, `$lock`).
macro_rules! status_methods {
    ($store:ty, sql = $sql:path, begin = $begin:literal, lock = $lock:literal) => {
        impl $store {
            /// [`crate::store::Store::allocate_status`].
            pub(super) async fn allocate(
                &self,
                new: &$crate::store::status::NewCredential,
                shape: $crate::store::status::ListShape,
            ) -> Result<$crate::store::status::StatusSlot, $crate::store::StoreError> {
                use $crate::store::rows::db_error;
                use $crate::store::status::{
                    ALLOCATION_ROUNDS, RANDOM_PROBES, StatusSlot, candidate, signed, sql,
                };
                let fail = |e| db_error(e, "status allocation");
                let known: Option<(i32,)> = sqlx::query_as(&$sql(sql::OFFER_EXISTS))
                    .bind(&new.tenant)
                    .bind(&new.offer_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(fail)?;
                if known.is_none() {
                    return Err($crate::store::StoreError::Database(format!(
                        "credential for unknown offer {}",
                        new.offer_id
                    )));
                }
                let mut probe = 0u64;
                for _ in 0..ALLOCATION_ROUNDS {
                    let open: Option<(i64, i64)> = sqlx::query_as(&$sql(sql::OPEN_LIST))
                        .bind(&new.tenant)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(fail)?;
                    let Some((list_id, size)) = open else {
                        sqlx::query(&$sql(sql::NEW_LIST))
                            .bind(&new.tenant)
                            .bind(signed(shape.size, "status_list_size")?)
                            .bind(i64::from(shape.bits))
                            .bind(new.issued_at)
                            .execute(&self.pool)
                            .await
                            .map_err(fail)?;
                        continue;
                    };
                    let size_u = $crate::store::status::unsigned(size, "status_lists.size")?;
                    // Uniform random probes first; they succeed at once while the list is sparse.
                    let mut choice = None;
                    while probe < RANDOM_PROBES && choice.is_none() {
                        let idx = candidate(new.random, probe, size_u);
                        probe += 1;
                        if self.take(new, list_id, idx).await? {
                            choice = Some(idx);
                        }
                    }
                    if let Some(idx) = choice {
                        return Ok(StatusSlot { list_id, idx });
                    }
                    // Then the first free entry from a random start, wrapping once.
                    let start = candidate(new.random, probe, size_u);
                    probe += 1;
                    let mut free = self.free_from(&new.tenant, list_id, start, size).await?;
                    if free.is_none() {
                        free = self.free_from(&new.tenant, list_id, 0, size).await?;
                    }
                    match free {
                        Some(idx) => {
                            if self.take(new, list_id, idx).await? {
                                return Ok(StatusSlot { list_id, idx });
                            }
                        }
                        None => {
                            sqlx::query(&$sql(sql::MARK_FULL))
                                .bind(&new.tenant)
                                .bind(list_id)
                                .execute(&self.pool)
                                .await
                                .map_err(fail)?;
                        }
                    }
                }
                Err($crate::store::StoreError::Database(format!(
                    "no free status list entry found in {ALLOCATION_ROUNDS} rounds"
                )))
            }

            /// Inserts the credential at `idx`; false when another holds that entry.
            async fn take(
                &self,
                new: &$crate::store::status::NewCredential,
                list_id: i64,
                idx: u64,
            ) -> Result<bool, $crate::store::StoreError> {
                use $crate::store::status::{signed, sql};
                let done = sqlx::query(&$sql(sql::TAKE))
                    .bind(&new.tenant)
                    .bind(&new.id)
                    .bind(list_id)
                    .bind(signed(idx, "status list index")?)
                    .bind(&new.offer_id)
                    .bind(&new.credential_configuration_id)
                    .bind(new.issued_at)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| $crate::store::rows::db_error(e, "credential"))?;
                Ok(done.rows_affected() == 1)
            }

            /// The first free entry at or after `start` (`start` itself when free).
            async fn free_from(
                &self,
                tenant: &str,
                list_id: i64,
                start: u64,
                size: i64,
            ) -> Result<Option<u64>, $crate::store::StoreError> {
                use $crate::store::status::{signed, sql, unsigned};
                let fail = |e| $crate::store::rows::db_error(e, "status allocation");
                let start = signed(start, "status list index")?;
                let taken: Option<(i32,)> = sqlx::query_as(&$sql(sql::TAKEN))
                    .bind(tenant)
                    .bind(list_id)
                    .bind(start)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(fail)?;
                if taken.is_none() && start < size {
                    return Ok(Some(unsigned(start, "status list index")?));
                }
                let (next,): (Option<i64>,) = sqlx::query_as(&$sql(sql::FREE_FROM))
                    .bind(tenant)
                    .bind(list_id)
                    .bind(start)
                    .bind(size)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(fail)?;
                next.map(|n| unsigned(n, "status list index")).transpose()
            }

            /// [`crate::store::Store::change_status`].
            pub(super) async fn change(
                &self,
                change: &$crate::store::status::StatusChange<'_>,
            ) -> Result<$crate::store::status::StatusChangeOutcome, $crate::store::status::StatusChangeError>
            {
                use $crate::store::status::{parse_status, plan_change, sql, target_column};
                let fail = |e| $crate::store::rows::db_error(e, "status change");
                let mut tx = self.pool.begin_with($begin).await.map_err(fail)?;
                let (column, value) = target_column(&change.target);
                let rows: Vec<(String, i64, String, i64)> =
                    sqlx::query_as(&$sql(&sql::targets(column, $lock)))
                        .bind(change.tenant)
                        .bind(value)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(fail)?;
                let mut decoded = Vec::with_capacity(rows.len());
                for (id, list_id, status, bits) in rows {
                    let bits = u8::try_from(bits).unwrap_or(0);
                    decoded.push((id, list_id, parse_status(&status)?, bits));
                }
                // A refusal returns here: dropping `tx` rolls back, nothing was written.
                let (updates, outcome) = plan_change(&decoded, change)?;
                let mut lists = Vec::new();
                for (id, list_id, from) in &updates {
                    sqlx::query(&$sql(sql::SET_STATUS))
                        .bind(change.to.as_str())
                        .bind(change.tenant)
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .map_err(fail)?;
                    sqlx::query(&$sql(sql::AUDIT))
                        .bind(change.tenant)
                        .bind(id)
                        .bind(from.as_str())
                        .bind(change.to.as_str())
                        .bind(change.actor)
                        .bind(change.reason)
                        .bind(change.at)
                        .execute(&mut *tx)
                        .await
                        .map_err(fail)?;
                    if !lists.contains(list_id) {
                        lists.push(*list_id);
                    }
                }
                for list_id in lists {
                    sqlx::query(&$sql(sql::BUMP))
                        .bind(change.tenant)
                        .bind(list_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(fail)?;
                }
                tx.commit().await.map_err(fail)?;
                Ok(outcome)
            }

            /// [`crate::store::Store::credentials_where`].
            pub(super) async fn credentials_by(
                &self,
                tenant: &str,
                target: &$crate::store::status::StatusTarget<'_>,
            ) -> Result<Vec<$crate::store::status::CredentialRecord>, $crate::store::StoreError> {
                use $crate::store::status::{
                    CREDENTIAL_COLUMNS, CredentialRow, decode_credential, target_column,
                };
                let (column, value) = target_column(target);
                let statement = format!(
                    "SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE tenant = $1 AND {column} = $2 \
                     ORDER BY issued_at, id"
                );
                let rows: Vec<CredentialRow> = sqlx::query_as(&$sql(&statement))
                    .bind(tenant)
                    .bind(value)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| $crate::store::rows::db_error(e, "credentials"))?;
                rows.into_iter().map(decode_credential).collect()
            }

            /// [`crate::store::Store::status_history`].
            pub(super) async fn history(
                &self,
                tenant: &str,
                credential_id: &str,
            ) -> Result<Vec<$crate::store::status::StatusAuditEntry>, $crate::store::StoreError> {
                use $crate::store::status::{StatusAuditEntry, parse_status, sql};
                let rows: Vec<(String, String, String, String, String, i64)> =
                    sqlx::query_as(&$sql(sql::HISTORY))
                        .bind(tenant)
                        .bind(credential_id)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(|e| $crate::store::rows::db_error(e, "status history"))?;
                rows.into_iter()
                    .map(|(credential_id, from, to, actor, reason, at)| {
                        Ok(StatusAuditEntry {
                            credential_id,
                            from: parse_status(&from)?,
                            to: parse_status(&to)?,
                            actor,
                            reason,
                            at,
                        })
                    })
                    .collect()
            }

            /// [`crate::store::Store::status_list_head`].
            pub(super) async fn head(
                &self,
                tenant: &str,
                list_id: i64,
            ) -> Result<Option<$crate::store::status::StatusListHead>, $crate::store::StoreError> {
                use $crate::store::status::{decode_head, sql};
                let row: Option<(i64, i64, i64, i64)> = sqlx::query_as(&$sql(sql::HEAD))
                    .bind(tenant)
                    .bind(list_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| $crate::store::rows::db_error(e, "status list"))?;
                row.map(decode_head).transpose()
            }

            /// [`crate::store::Store::status_list_entries`].
            pub(super) async fn entries(
                &self,
                tenant: &str,
                list_id: i64,
            ) -> Result<Vec<(u64, $crate::store::status::CredentialStatus)>, $crate::store::StoreError> {
                use $crate::store::status::{parse_status, sql, unsigned};
                let rows: Vec<(i64, String)> = sqlx::query_as(&$sql(sql::NOT_VALID))
                    .bind(tenant)
                    .bind(list_id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| $crate::store::rows::db_error(e, "status list"))?;
                rows.into_iter()
                    .map(|(idx, status)| Ok((unsigned(idx, "credentials.idx")?, parse_status(&status)?)))
                    .collect()
            }
        }
    };
}
pub(super) use status_methods;
