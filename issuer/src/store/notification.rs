//! Wallet notifications about an issuance (OpenID4VCI 1.0 §11), written once for both SQL back
//! ends as [`notification_method`].

/// The statements, in PostgreSQL's `$n` placeholders.
pub(super) mod sql {
    /// Records an event for an issuance of the offer; nothing when there is no such issuance, and
    /// a repeated event keeps its first record.
    pub const RECORD: &str = "INSERT INTO notifications (tenant, notification_id, event, at) \
         SELECT tenant, notification_id, $1, $2 FROM issuances \
         WHERE tenant = $3 AND offer_id = $4 AND notification_id = $5 \
         ON CONFLICT (tenant, notification_id, event) DO NOTHING";
    /// Whether the offer has an issuance with this notification id.
    pub const KNOWN: &str =
        "SELECT 1 FROM issuances WHERE tenant = $1 AND offer_id = $2 AND notification_id = $3";
}

/// The `notification` method of one SQL back end (`$store` has a `pool`; `$sql` turns a statement
/// into the back end's dialect).
macro_rules! notification_method {
    ($store:ty, sql = $sql:path) => {
        impl $store {
            /// [`crate::store::Store::record_notification`].
            pub(super) async fn notification(
                &self,
                tenant: &str,
                offer_id: &str,
                notification_id: &str,
                event: &str,
                at: segl_credential::clock::UnixTime,
            ) -> Result<bool, $crate::store::StoreError> {
                use $crate::store::notification::sql;
                let fail = |e| $crate::store::rows::db_error(e, "notification");
                sqlx::query(&$sql(sql::RECORD))
                    .bind(event)
                    .bind(at)
                    .bind(tenant)
                    .bind(offer_id)
                    .bind(notification_id)
                    .execute(&self.pool)
                    .await
                    .map_err(fail)?;
                let known: Option<(i32,)> = sqlx::query_as(&$sql(sql::KNOWN))
                    .bind(tenant)
                    .bind(offer_id)
                    .bind(notification_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(fail)?;
                Ok(known.is_some())
            }
        }
    };
}
pub(super) use notification_method;
