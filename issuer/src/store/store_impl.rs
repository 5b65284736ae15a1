//! The [`Store`](crate::store::Store) implementation, written once for both SQL back ends as
//! [`store_impl`]: the use cases of its own, and the forwarding to the methods the other shared
//! macros (`authorization_methods!`, `status_methods!`, `source_methods!`, `notification_method!`,
//! `reserve_method!`) give each back end.

/// What [`Store::purge_expired`](crate::store::Store::purge_expired) deletes, each with the name its
/// errors give: the rows whose `expires_at` has passed, in one transaction.
pub(super) const PURGES: [(&str, &str); 7] = [
    ("DELETE FROM spent_nonces WHERE expires_at <= $1", "purge spent nonces"),
    ("DELETE FROM access_tokens WHERE expires_at <= $1", "purge access tokens"),
    ("DELETE FROM dpop_proofs WHERE expires_at <= $1", "purge DPoP proofs"),
    ("DELETE FROM authorization_steps WHERE expires_at <= $1", "purge authorization steps"),
    ("DELETE FROM authorization_codes WHERE expires_at <= $1", "purge authorization codes"),
    ("DELETE FROM client_attestation_pops WHERE expires_at <= $1", "purge client attestation PoPs"),
    ("DELETE FROM deferred_transactions WHERE expires_at <= $1", "purge deferred transactions"),
];

/// A table of things that may be used once per owner until they expire (a DPoP proof's `jti`
/// per key, a client attestation PoP's `jti` per client): its statements and the name its errors
/// give.
pub(super) struct SeenOnce {
    /// Drops the owner's (`$2`) expired rows (`$3`: now) of tenant `$1`.
    pub drop_expired: &'static str,
    /// Adds `(tenant, owner, jti_hash, expires_at)`, or nothing when the row exists.
    pub insert: &'static str,
    /// What the table holds, for errors.
    pub what: &'static str,
}

/// DPoP proofs (RFC 9449 §11.1), by key thumbprint.
pub(super) const DPOP_PROOFS: SeenOnce = SeenOnce {
    drop_expired: "DELETE FROM dpop_proofs WHERE tenant = $1 AND jkt = $2 AND expires_at <= $3",
    insert: "INSERT INTO dpop_proofs (tenant, jkt, jti_hash, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant, jkt, jti_hash) DO NOTHING",
    what: "DPoP proof",
};

/// Client attestation PoPs (Attestation-Based Client Authentication), by attested client id.
pub(super) const CLIENT_ATTESTATION_POPS: SeenOnce = SeenOnce {
    drop_expired: "DELETE FROM client_attestation_pops \
                   WHERE tenant = $1 AND client_id = $2 AND expires_at <= $3",
    insert: "INSERT INTO client_attestation_pops (tenant, client_id, jti_hash, expires_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (tenant, client_id, jti_hash) DO NOTHING",
    what: "client attestation PoP",
};

/// `impl Store for $store`. `$store` has a `pool` (the connections writes take) and `$reads` (the
/// connections reads take: the same pool on PostgreSQL, the read connections on SQLite); `$sql`
/// turns a statement in PostgreSQL's `$n` placeholders into the back end's dialect; `$begin` opens
/// a transaction that takes the write lock where the back end needs it; `$redeem_lock` ends the
/// redemption's read of the offer (`" FOR UPDATE"` on PostgreSQL). The store types of
/// [`crate::store`] must be in scope where it is invoked.
macro_rules! store_impl {
    (
        $store:ty,
        sql = $sql:path,
        begin = $begin:literal,
        reads = $reads:ident,
        redeem_lock = $redeem_lock:literal
    ) => {
        impl Store for $store {
            async fn create_offer(&self, offer: &NewOffer) -> Result<(), StoreError> {
                sqlx::query(&$sql(
                    "INSERT INTO offers (tenant, id, credential_configuration_ids, claims, code_hash, \
                     tx_code_hash, tx_code_attempts, state, created_at, expires_at, subject) \
                     VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9, $10)",
                ))
                .bind(&offer.tenant)
                .bind(&offer.id)
                .bind(rows::ids_json(&offer.credential_configuration_ids)?)
                .bind(rows::claims_json(&offer.claims)?)
                .bind(&offer.pre_authorized_code.0[..])
                .bind(offer.tx_code.as_ref().map(|h| h.0.to_vec()))
                .bind(rows::state_name(OfferState::Pending))
                .bind(offer.created_at)
                .bind(offer.expires_at)
                .bind(&offer.subject)
                .execute(&self.pool)
                .await
                .map_err(|e| rows::db_error(e, "offer"))?;
                Ok(())
            }

            async fn offer(&self, tenant: &str, id: &str) -> Result<Option<Offer>, StoreError> {
                let sql =
                    concat!("SELECT ", rows::offer_columns!(), " FROM offers WHERE tenant = $1 AND id = $2");
                let row: Option<OfferRow> = sqlx::query_as(&$sql(sql))
                    .bind(tenant)
                    .bind(id)
                    .fetch_optional(&self.$reads)
                    .await
                    .map_err(|e| rows::db_error(e, "offer"))?;
                row.map(|r| rows::decode_offer(r).map(|s| s.offer)).transpose()
            }

            async fn redeem_pre_authorized_code(
                &self,
                r: &Redemption<'_>,
            ) -> Result<AccessGrant, RedeemError> {
                let fail = |e| RedeemError::Store(rows::db_error(e, "redemption"));
                let mut conn = self.pool.acquire().await.map_err(fail)?;
                let mut tx = sqlx::Connection::begin_with(&mut *conn, $begin).await.map_err(fail)?;
                // A concurrent redemption of the same code waits until this one commits, then reads the
                // committed state: SQLite's `BEGIN IMMEDIATE` takes the write lock before the read, and
                // PostgreSQL's `FOR UPDATE` locks the row (READ COMMITTED re-checks it).
                let sql = concat!(
                    "SELECT ",
                    rows::offer_columns!(),
                    " FROM offers WHERE tenant = $1 AND code_hash = $2",
                    $redeem_lock
                );
                let row: Option<OfferRow> = sqlx::query_as(&$sql(sql))
                    .bind(r.tenant)
                    .bind(&r.code.0[..])
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(fail)?;
                let Some(row) = row else {
                    return Err(RedeemError::UnknownCode);
                };
                let stored = rows::decode_offer(row)?;
                match rows::judge(&stored, r) {
                    // Dropping `tx` rolls back: nothing was written.
                    Verdict::Refuse(error) => Err(error),
                    Verdict::WrongTxCode { attempts, lock, error } => {
                        let state = if lock { OfferState::Locked } else { OfferState::Pending };
                        sqlx::query(&$sql(
                            "UPDATE offers SET tx_code_attempts = $1, state = $2 \
                             WHERE tenant = $3 AND id = $4",
                        ))
                        .bind(attempts)
                        .bind(rows::state_name(state))
                        .bind(r.tenant)
                        .bind(&stored.offer.id)
                        .execute(&mut *tx)
                        .await
                        .map_err(fail)?;
                        // The count must survive the failed request, or guessing would be free.
                        tx.commit().await.map_err(fail)?;
                        Err(error)
                    }
                    Verdict::Redeem => {
                        sqlx::query(&$sql("UPDATE offers SET state = $1 WHERE tenant = $2 AND id = $3"))
                            .bind(rows::state_name(OfferState::Redeemed))
                            .bind(r.tenant)
                            .bind(&stored.offer.id)
                            .execute(&mut *tx)
                            .await
                            .map_err(fail)?;
                        sqlx::query(&$sql(
                            "INSERT INTO access_tokens (tenant, token_hash, offer_id, expires_at, dpop_jkt, \
                             client_id) VALUES ($1, $2, $3, $4, $5, $6)",
                        ))
                        .bind(r.tenant)
                        .bind(&r.access_token.0[..])
                        .bind(&stored.offer.id)
                        .bind(r.access_token_expires_at)
                        .bind(&r.dpop_jkt)
                        .bind(&r.client_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| RedeemError::Store(rows::db_error(e, "access token")))?;
                        tx.commit().await.map_err(fail)?;
                        Ok(rows::grant_for(stored.offer, r.access_token_expires_at, r.dpop_jkt.clone()))
                    }
                }
            }

            async fn access_grant(
                &self,
                tenant: &str,
                token: &SecretHash,
                now: UnixTime,
            ) -> Result<Option<AccessGrant>, StoreError> {
                let query = concat!(
                    rows::grant_select!(),
                    " WHERE t.tenant = $1 AND t.token_hash = $2 AND t.expires_at > $3"
                );
                let row: Option<GrantRow> = sqlx::query_as(&$sql(query))
                    .bind(tenant)
                    .bind(&token.0[..])
                    .bind(now)
                    .fetch_optional(&self.$reads)
                    .await
                    .map_err(|e| rows::db_error(e, "access token"))?;
                row.map(rows::decode_grant).transpose()
            }

            async fn record_notification(
                &self,
                tenant: &str,
                offer_id: &str,
                notification_id: &str,
                event: &str,
                at: UnixTime,
            ) -> Result<bool, StoreError> {
                self.notification(tenant, offer_id, notification_id, event, at).await
            }

            async fn record_dpop_proof(
                &self,
                tenant: &str,
                jkt: &str,
                jti: &SecretHash,
                expires_at: UnixTime,
                now: UnixTime,
            ) -> Result<bool, StoreError> {
                self.record_once(&$crate::store::store_impl::DPOP_PROOFS, tenant, jkt, jti, expires_at, now)
                    .await
            }

            async fn record_client_attestation_pop(
                &self,
                tenant: &str,
                client_id: &str,
                jti: &SecretHash,
                expires_at: UnixTime,
                now: UnixTime,
            ) -> Result<bool, StoreError> {
                let pops = &$crate::store::store_impl::CLIENT_ATTESTATION_POPS;
                self.record_once(pops, tenant, client_id, jti, expires_at, now).await
            }

            async fn put_authorization_step(
                &self,
                tenant: &str,
                step: AuthorizationStep,
                key: &SecretHash,
                payload: &serde_json::Value,
                expires_at: UnixTime,
            ) -> Result<(), StoreError> {
                self.put_step(tenant, step, key, payload, expires_at).await
            }

            async fn take_authorization_step(
                &self,
                tenant: &str,
                step: AuthorizationStep,
                key: &SecretHash,
                now: UnixTime,
            ) -> Result<Option<serde_json::Value>, StoreError> {
                self.take_step(tenant, step, key, now).await
            }

            async fn issue_authorization_code(
                &self,
                code: &NewAuthorizationCode<'_>,
            ) -> Result<(), StoreError> {
                self.issue_code(code).await
            }

            async fn redeem_authorization_code(
                &self,
                redemption: &CodeRedemption<'_>,
            ) -> Result<AccessGrant, CodeRedeemError> {
                self.redeem_code(redemption).await
            }

            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query("SELECT 1").execute(&self.$reads).await.map_err(|e| rows::db_error(e, "ping"))?;
                Ok(())
            }

            async fn purge_expired(&self, now: UnixTime) -> Result<u64, StoreError> {
                let fail = |e| rows::db_error(e, "purge");
                let mut conn = self.pool.acquire().await.map_err(fail)?;
                let mut tx = sqlx::Connection::begin_with(&mut *conn, $begin).await.map_err(fail)?;
                let mut purged = 0;
                for (statement, what) in $crate::store::store_impl::PURGES {
                    let done = sqlx::query(&$sql(statement))
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| rows::db_error(e, what))?;
                    purged += done.rows_affected();
                }
                tx.commit().await.map_err(fail)?;
                Ok(purged)
            }

            async fn allocate_status(
                &self,
                credential: &NewCredential,
                shape: ListShape,
            ) -> Result<StatusSlot, StoreError> {
                self.allocate(credential, shape).await
            }

            async fn reserve_credentials(
                &self,
                reservation: &super::Reservation<'_>,
            ) -> Result<Vec<StatusSlot>, super::ReserveError> {
                self.reserve(reservation).await
            }

            async fn credentials_where(
                &self,
                tenant: &str,
                target: &StatusTarget<'_>,
            ) -> Result<Vec<CredentialRecord>, StoreError> {
                self.credentials_by(tenant, target).await
            }

            async fn change_status(
                &self,
                change: &StatusChange<'_>,
            ) -> Result<StatusChangeOutcome, StatusChangeError> {
                self.change(change).await
            }

            async fn status_history(
                &self,
                tenant: &str,
                credential_id: &str,
            ) -> Result<Vec<StatusAuditEntry>, StoreError> {
                self.history(tenant, credential_id).await
            }

            async fn status_list_head(
                &self,
                tenant: &str,
                list_id: i64,
            ) -> Result<Option<StatusListHead>, StoreError> {
                self.head(tenant, list_id).await
            }

            async fn status_list_entries(
                &self,
                tenant: &str,
                list_id: i64,
            ) -> Result<Vec<(u64, CredentialStatus)>, StoreError> {
                self.entries(tenant, list_id).await
            }
            async fn put_source_records(
                &self,
                tenant: &str,
                records: &[SourceRecord],
                now: UnixTime,
            ) -> Result<u64, StoreError> {
                self.put_records(tenant, records, now).await
            }

            async fn source_record(
                &self,
                tenant: &str,
                person: &PersonKey,
            ) -> Result<Option<SourceRecord>, StoreError> {
                self.record(tenant, person).await
            }

            async fn link_offer_to_person(
                &self,
                tenant: &str,
                offer_id: &str,
                person: &PersonKey,
                now: UnixTime,
            ) -> Result<(), StoreError> {
                self.link(tenant, offer_id, person, now).await
            }

            async fn create_deferred(&self, deferred: &NewDeferred) -> Result<(), StoreError> {
                self.defer(deferred).await
            }

            async fn deferred_transaction(
                &self,
                tenant: &str,
                transaction: &SecretHash,
                now: UnixTime,
            ) -> Result<Option<DeferredTransaction>, StoreError> {
                self.pending_deferred(tenant, transaction, now).await
            }

            async fn finish_deferred(
                &self,
                tenant: &str,
                transaction: &SecretHash,
                now: UnixTime,
            ) -> Result<bool, StoreError> {
                self.finish(tenant, transaction, now).await
            }
        }

        impl $store {
            /// Records `jti` of `owner` in `seen` until `expires_at`, after dropping the owner's
            /// expired rows (which keeps the table small without a scheduled purge): true exactly
            /// once per `jti`, also for concurrent calls from several nodes, where one `INSERT ...
            /// ON CONFLICT DO NOTHING` adds the row and the others change nothing.
            async fn record_once(
                &self,
                seen: &$crate::store::store_impl::SeenOnce,
                tenant: &str,
                owner: &str,
                jti: &SecretHash,
                expires_at: UnixTime,
                now: UnixTime,
            ) -> Result<bool, StoreError> {
                let fail = |e| rows::db_error(e, seen.what);
                let mut conn = self.pool.acquire().await.map_err(fail)?;
                let mut tx = sqlx::Connection::begin_with(&mut *conn, $begin).await.map_err(fail)?;
                sqlx::query(&$sql(seen.drop_expired))
                    .bind(tenant)
                    .bind(owner)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?;
                let done = sqlx::query(&$sql(seen.insert))
                    .bind(tenant)
                    .bind(owner)
                    .bind(&jti.0[..])
                    .bind(expires_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?;
                tx.commit().await.map_err(fail)?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}
pub(super) use store_impl;
