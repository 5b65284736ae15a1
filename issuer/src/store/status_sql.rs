//! The SQL of the status-list use cases, written once for both back ends: the statements (in
//! PostgreSQL's `$n` form, which SQLite also numbers) and [`status_methods`], the method bodies
//! each back end instantiates on its own pool.

use super::status::StatusTarget;

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
    /// Walks the unique index `(tenant, list_id, idx)` upwards from `$3` and stops at the first
    /// gap, so a nearly full list costs the distance to the next free entry, not a full scan.
    pub const FREE_FROM: &str = "SELECT c.idx + 1 FROM credentials c \
         WHERE c.tenant = $1 AND c.list_id = $2 AND c.idx >= $3 AND c.idx + 1 < $4 AND NOT EXISTS \
         (SELECT 1 FROM credentials d WHERE d.tenant = c.tenant AND d.list_id = c.list_id AND d.idx = c.idx + 1) \
         ORDER BY c.idx LIMIT 1";
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
                    ALLOCATION_ROUNDS, RANDOM_PROBES, StatusSlot, candidate, signed,
                };
                use $crate::store::status_sql::sql;
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
                use $crate::store::status::signed;
                use $crate::store::status_sql::sql;
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
                use $crate::store::status::{signed, unsigned};
                use $crate::store::status_sql::sql;
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
                let next: Option<(i64,)> = sqlx::query_as(&$sql(sql::FREE_FROM))
                    .bind(tenant)
                    .bind(list_id)
                    .bind(start)
                    .bind(size)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(fail)?;
                next.map(|(n,)| unsigned(n, "status list index")).transpose()
            }

            /// [`crate::store::Store::change_status`].
            pub(super) async fn change(
                &self,
                change: &$crate::store::status::StatusChange<'_>,
            ) -> Result<$crate::store::status::StatusChangeOutcome, $crate::store::status::StatusChangeError>
            {
                use $crate::store::status::{parse_status, plan_change};
                use $crate::store::status_sql::{sql, target_column};
                let fail = |e| $crate::store::rows::db_error(e, "status change");
                let mut conn = self.pool.acquire().await.map_err(fail)?;
                let mut tx = sqlx::Connection::begin_with(&mut *conn, $begin).await.map_err(fail)?;
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
                use $crate::store::status::{CREDENTIAL_COLUMNS, CredentialRow, decode_credential};
                use $crate::store::status_sql::target_column;
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
                use $crate::store::status::{StatusAuditEntry, parse_status};
                use $crate::store::status_sql::sql;
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
                use $crate::store::status::decode_head;
                use $crate::store::status_sql::sql;
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
                use $crate::store::status::{parse_status, unsigned};
                use $crate::store::status_sql::sql;
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
