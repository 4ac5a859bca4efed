//! Personal accounts, links, meters, readings, the export sequence and API keys.

macro_rules! accounts_sql {
    ($store:ident, $tx:ident, $db:ty) => {
        mod account_queries {
            pub const ACCOUNT: &str = "SELECT id, number, address, last_payment_kopecks, \
                                       last_payment_date FROM personal_accounts";
            pub const METER: &str = crate::store::sql::select_meters!();
            pub const READING: &str = crate::store::sql::select_readings!();
        }

        /// Rows of `select` whose `column` is one of `keys`, asked in chunks of at most
        /// `CHUNK` keys (both backends cap the bind parameters of one statement).
        async fn select_in<'a, T, K>(
            conn: &mut <$db as sqlx::Database>::Connection,
            select: &str,
            column: &str,
            keys: &'a [K],
        ) -> crate::store::StoreResult<Vec<T>>
        where
            T: for<'r> sqlx::FromRow<'r, <$db as sqlx::Database>::Row> + Send + Unpin,
            K: sqlx::Encode<'a, $db> + sqlx::Type<$db> + Copy + Send + Sync + 'a,
        {
            let mut found = Vec::with_capacity(keys.len());
            for chunk in keys.chunks(crate::store::sql::CHUNK) {
                let sql = format!(
                    "{select} WHERE {column} IN ({})",
                    crate::store::sql::placeholders($store::NUMBERED, chunk.len())
                );
                let mut query = sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(sql));
                for key in chunk {
                    query = query.bind(*key);
                }
                found.extend(query.fetch_all(&mut *conn).await?);
            }
            Ok(found)
        }

        #[async_trait::async_trait]
        impl crate::store::AccountStore for $store {
            async fn holders_of_account(
                &self,
                account_id: i64,
            ) -> crate::store::StoreResult<Vec<crate::store::AccountHolder>> {
                sqlx::query_as(
                    "SELECT u.id AS user_id, u.full_name, u.email, u.phone, l.status, l.created_at \
                     FROM account_links l JOIN users u ON u.id = l.user_id \
                     WHERE l.account_id = $1 ORDER BY l.created_at, l.id",
                )
                .bind(account_id)
                .fetch_all(&self.pool)
                .await
            }

            async fn account_by_number(
                &self,
                number: &str,
            ) -> crate::store::StoreResult<Option<crate::store::AccountRecord>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "{} WHERE number = $1",
                    account_queries::ACCOUNT
                )))
                .bind(number)
                .fetch_optional(&self.pool)
                .await
            }

            async fn meters_of_account(
                &self,
                account_id: i64,
            ) -> crate::store::StoreResult<Vec<crate::store::MeterRecord>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "{} WHERE m.account_id = $1 ORDER BY m.name, m.id",
                    account_queries::METER
                )))
                .bind(account_id)
                .fetch_all(&self.pool)
                .await
            }

            async fn exported_readings(
                &self,
                after: i64,
                limit: i64,
            ) -> crate::store::StoreResult<Vec<crate::store::ExportedReading>> {
                // Submissions are numbered here, by the reader, not when they are saved: a number
                // taken at save time would make every submission wait for the one before it to
                // commit. Numbering runs one at a time (the counter row is its lock) and sees
                // only committed rows, so the numbers become visible in order, with no gaps.
                let pending: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM readings \
                     WHERE export_seq IS NULL AND source <> 'billing')",
                )
                .fetch_one(&self.pool)
                .await?;
                if pending {
                    let (mut tx, _turn) = self.begin_write().await?;
                    let last: i64 = sqlx::query_scalar(
                        "UPDATE counters SET value = value WHERE name = 'reading_export' \
                         RETURNING value",
                    )
                    .fetch_one(&mut *tx)
                    .await?;
                    let numbered = sqlx::query(
                        "UPDATE readings SET export_seq = $1 + p.position \
                         FROM (SELECT id, row_number() OVER (ORDER BY updated_at, id) AS position \
                               FROM readings WHERE export_seq IS NULL AND source <> 'billing' \
                               ORDER BY updated_at, id LIMIT $2) AS p \
                         WHERE readings.id = p.id",
                    )
                    .bind(last)
                    .bind(limit)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    sqlx::query(
                        "UPDATE counters SET value = value + $1 WHERE name = 'reading_export'",
                    )
                    .bind(i64::try_from(numbered).unwrap_or(i64::MAX))
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                }
                sqlx::query_as(
                    "SELECT r.export_seq, r.id, a.number AS account_number, m.id AS meter_id, \
                            m.name AS meter_name, m.serial_number, r.billing_month, r.value, \
                            m.decimals, r.taken_on, r.source, r.status, r.consumption, \
                            r.rollover, r.confirmed_implausible, r.updated_at \
                     FROM readings r JOIN meters m ON m.id = r.meter_id \
                     JOIN personal_accounts a ON a.id = m.account_id \
                     WHERE r.export_seq > $1 ORDER BY r.export_seq LIMIT $2",
                )
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
            }

            async fn api_key_by_hash(
                &self,
                hash: &str,
            ) -> crate::store::StoreResult<Option<crate::store::ApiKeyRecord>> {
                sqlx::query_as(
                    "SELECT id, name, created_at, revoked_at FROM api_keys \
                     WHERE key_hash = $1 AND revoked_at IS NULL",
                )
                .bind(hash)
                .fetch_optional(&self.pool)
                .await
            }

            async fn api_keys(&self) -> crate::store::StoreResult<Vec<crate::store::ApiKeyRecord>> {
                sqlx::query_as("SELECT id, name, created_at, revoked_at FROM api_keys ORDER BY id")
                    .fetch_all(&self.pool)
                    .await
            }
        }

        #[async_trait::async_trait]
        impl crate::store::AccountTx for $tx {
            async fn request_link(
                &mut self,
                user_id: i64,
                account_id: i64,
                now: i64,
            ) -> crate::store::StoreResult<crate::store::LinkRequest> {
                let status: Option<String> = sqlx::query_scalar(
                    "SELECT status FROM account_links WHERE user_id = $1 AND account_id = $2",
                )
                .bind(user_id)
                .bind(account_id)
                .fetch_optional(&mut *self.tx)
                .await?;
                match status.as_deref() {
                    Some("active") => Ok(crate::store::LinkRequest::AlreadyActive),
                    Some(_) => Ok(crate::store::LinkRequest::Pending),
                    None => {
                        sqlx::query(
                            "INSERT INTO account_links (user_id, account_id, status, created_at) \
                             VALUES ($1, $2, 'pending', $3)",
                        )
                        .bind(user_id)
                        .bind(account_id)
                        .bind(now)
                        .execute(&mut *self.tx)
                        .await?;
                        Ok(crate::store::LinkRequest::Pending)
                    }
                }
            }

            async fn activate_link(
                &mut self,
                user_id: i64,
                account_id: i64,
                now: i64,
            ) -> crate::store::StoreResult<bool> {
                let has_current: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM account_links WHERE user_id = $1 AND is_current = 1",
                )
                .bind(user_id)
                .fetch_one(&mut *self.tx)
                .await?;
                let done = sqlx::query(
                    "UPDATE account_links SET status = 'active', activated_at = $3, \
                        is_current = $4 \
                     WHERE user_id = $1 AND account_id = $2 AND status = 'pending'",
                )
                .bind(user_id)
                .bind(account_id)
                .bind(now)
                .bind(i64::from(has_current == 0))
                .execute(&mut *self.tx)
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn unlink(
                &mut self,
                user_id: i64,
                account_id: i64,
            ) -> crate::store::StoreResult<bool> {
                let removed = sqlx::query(
                    "DELETE FROM account_links WHERE user_id = $1 AND account_id = $2",
                )
                .bind(user_id)
                .bind(account_id)
                .execute(&mut *self.tx)
                .await?;
                sqlx::query(
                    "UPDATE account_links SET is_current = 1 WHERE id = (\
                       SELECT id FROM account_links WHERE user_id = $1 AND status = 'active' \
                       AND NOT EXISTS (SELECT 1 FROM account_links c \
                                       WHERE c.user_id = $1 AND c.is_current = 1) \
                       ORDER BY activated_at, id LIMIT 1)",
                )
                .bind(user_id)
                .execute(&mut *self.tx)
                .await?;
                Ok(removed.rows_affected() > 0)
            }

            async fn set_current_account(
                &mut self,
                user_id: i64,
                account_id: i64,
            ) -> crate::store::StoreResult<bool> {
                let exists: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM account_links \
                     WHERE user_id = $1 AND account_id = $2 AND status = 'active'",
                )
                .bind(user_id)
                .bind(account_id)
                .fetch_one(&mut *self.tx)
                .await?;
                if exists == 0 {
                    return Ok(false);
                }
                sqlx::query(
                    "UPDATE account_links SET is_current = CASE WHEN account_id = $2 THEN 1 \
                     ELSE 0 END WHERE user_id = $1",
                )
                .bind(user_id)
                .bind(account_id)
                .execute(&mut *self.tx)
                .await?;
                Ok(true)
            }

            async fn set_reading_status(
                &mut self,
                id: i64,
                exported_as: Option<i64>,
                status: &str,
                reason: Option<&str>,
                now: i64,
            ) -> crate::store::StoreResult<crate::store::VerdictOutcome> {
                let done = sqlx::query(
                    "UPDATE readings SET status = $2, reason = $3, updated_at = $4 \
                     WHERE id = $1 AND source <> 'billing' \
                       AND ($5 IS NULL OR export_seq = $5)",
                )
                .bind(id)
                .bind(status)
                .bind(reason)
                .bind(now)
                .bind(exported_as)
                .execute(&mut *self.tx)
                .await?;
                if done.rows_affected() > 0 {
                    return Ok(crate::store::VerdictOutcome::Recorded);
                }
                let exists: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM readings WHERE id = $1 AND source <> 'billing')",
                )
                .bind(id)
                .fetch_one(&mut *self.tx)
                .await?;
                Ok(if exists {
                    crate::store::VerdictOutcome::Replaced
                } else {
                    crate::store::VerdictOutcome::NotFound
                })
            }

            async fn accounts_by_numbers(
                &mut self,
                numbers: &[&str],
            ) -> crate::store::StoreResult<Vec<crate::store::AccountRecord>> {
                select_in(&mut self.tx, account_queries::ACCOUNT, "number", numbers).await
            }

            async fn insert_accounts(
                &mut self,
                accounts: &[crate::store::AccountData<'_>],
                now: i64,
            ) -> crate::store::StoreResult<Vec<(i64, String)>> {
                let mut ids = Vec::with_capacity(accounts.len());
                for chunk in accounts.chunks(crate::store::sql::CHUNK) {
                    let sql = format!(
                        "INSERT INTO personal_accounts (number, address, last_payment_kopecks, \
                            last_payment_date, created_at, updated_at) VALUES {} \
                         RETURNING id, number",
                        crate::store::sql::value_rows($store::NUMBERED, chunk.len(), &["?"; 6])
                    );
                    let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
                    for account in chunk {
                        query = query
                            .bind(account.number)
                            .bind(account.address)
                            .bind(account.last_payment_kopecks)
                            .bind(account.last_payment_date)
                            .bind(now)
                            .bind(now);
                    }
                    ids.extend(query.fetch_all(&mut *self.tx).await?);
                }
                Ok(ids)
            }

            async fn update_account(
                &mut self,
                id: i64,
                account: &crate::store::AccountData<'_>,
                now: i64,
            ) -> crate::store::StoreResult<()> {
                sqlx::query(
                    "UPDATE personal_accounts SET address = $2, last_payment_kopecks = $3, \
                        last_payment_date = $4, updated_at = $5 WHERE id = $1",
                )
                .bind(id)
                .bind(account.address)
                .bind(account.last_payment_kopecks)
                .bind(account.last_payment_date)
                .bind(now)
                .execute(&mut *self.tx)
                .await?;
                Ok(())
            }

            async fn meters_of_accounts(
                &mut self,
                account_ids: &[i64],
            ) -> crate::store::StoreResult<Vec<crate::store::MeterRecord>> {
                select_in(&mut self.tx, account_queries::METER, "m.account_id", account_ids).await
            }

            async fn insert_meters(
                &mut self,
                meters: &[crate::store::MeterData<'_>],
                now: i64,
            ) -> crate::store::StoreResult<Vec<(i64, i64, String)>> {
                let mut ids = Vec::with_capacity(meters.len());
                for chunk in meters.chunks(crate::store::sql::CHUNK) {
                    let sql = format!(
                        "INSERT INTO meters (account_id, name, kind, serial_number, place, \
                            installed_on, last_verification, next_verification, whole_digits, \
                            decimals, created_at, updated_at) VALUES {} \
                         RETURNING id, account_id, name",
                        crate::store::sql::value_rows($store::NUMBERED, chunk.len(), &["?"; 12])
                    );
                    let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
                    for meter in chunk {
                        query = query
                            .bind(meter.account_id)
                            .bind(meter.name)
                            .bind(meter.kind)
                            .bind(meter.serial_number)
                            .bind(meter.place)
                            .bind(meter.installed_on)
                            .bind(meter.last_verification)
                            .bind(meter.next_verification)
                            .bind(meter.whole_digits)
                            .bind(meter.decimals)
                            .bind(now)
                            .bind(now);
                    }
                    ids.extend(query.fetch_all(&mut *self.tx).await?);
                }
                Ok(ids)
            }

            async fn update_meter(
                &mut self,
                id: i64,
                meter: &crate::store::MeterData<'_>,
                now: i64,
            ) -> crate::store::StoreResult<()> {
                sqlx::query(
                    "UPDATE meters SET kind = $2, serial_number = $3, place = $4, \
                        installed_on = $5, last_verification = $6, next_verification = $7, \
                        whole_digits = $8, decimals = $9, updated_at = $10, \
                        revision = revision + 1 WHERE id = $1",
                )
                .bind(id)
                .bind(meter.kind)
                .bind(meter.serial_number)
                .bind(meter.place)
                .bind(meter.installed_on)
                .bind(meter.last_verification)
                .bind(meter.next_verification)
                .bind(meter.whole_digits)
                .bind(meter.decimals)
                .bind(now)
                .execute(&mut *self.tx)
                .await?;
                Ok(())
            }

            async fn readings_changed(
                &mut self,
                meter_ids: &[i64],
            ) -> crate::store::StoreResult<()> {
                for chunk in meter_ids.chunks(crate::store::sql::CHUNK) {
                    let sql = format!(
                        "UPDATE meters SET revision = revision + 1 WHERE id IN ({})",
                        crate::store::sql::placeholders($store::NUMBERED, chunk.len())
                    );
                    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for id in chunk {
                        query = query.bind(*id);
                    }
                    query.execute(&mut *self.tx).await?;
                }
                Ok(())
            }

            async fn readings_of_meters(
                &mut self,
                meter_ids: &[i64],
            ) -> crate::store::StoreResult<Vec<crate::store::ReadingRecord>> {
                select_in(&mut self.tx, account_queries::READING, "r.meter_id", meter_ids).await
            }

            async fn insert_billing_readings(
                &mut self,
                readings: &[crate::store::BillingReading],
                now: i64,
            ) -> crate::store::StoreResult<()> {
                fn chunk_query(
                    chunk: &[crate::store::BillingReading],
                    now: i64,
                ) -> sqlx::query::Query<'static, $db, <$db as sqlx::Database>::Arguments> {
                    let sql = format!(
                        "INSERT INTO readings (meter_id, billing_month, value, taken_on, source, \
                            status, created_at, updated_at) VALUES {}",
                        crate::store::sql::value_rows(
                            $store::NUMBERED,
                            chunk.len(),
                            &["?", "?", "?", "?", "'billing'", "'accepted'", "?", "?"],
                        )
                    );
                    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for reading in chunk {
                        query = query
                            .bind(reading.meter_id)
                            .bind(reading.billing_month.to_string())
                            .bind(reading.value)
                            .bind(crate::readings::iso_date(reading.taken_on))
                            .bind(now)
                            .bind(now);
                    }
                    query
                }

                // An import is mostly these rows: each chunk is built while the one before it
                // runs on the database's thread, which its first poll hands it to.
                let mut chunks = readings.chunks(crate::store::sql::CHUNK);
                let mut next = chunks.next().map(|chunk| chunk_query(chunk, now));
                while let Some(query) = next.take() {
                    let mut running = std::pin::pin!(query.execute(&mut *self.tx));
                    let first = futures_util::poll!(running.as_mut());
                    next = chunks.next().map(|chunk| chunk_query(chunk, now));
                    match first {
                        std::task::Poll::Ready(done) => done?,
                        std::task::Poll::Pending => running.await?,
                    };
                }
                Ok(())
            }

            async fn accept_reading(&mut self, id: i64, now: i64) -> crate::store::StoreResult<()> {
                sqlx::query(
                    "UPDATE readings SET status = 'accepted', reason = NULL, updated_at = $2 \
                     WHERE id = $1",
                )
                .bind(id)
                .bind(now)
                .execute(&mut *self.tx)
                .await?;
                Ok(())
            }

            async fn replace_with_billing_reading(
                &mut self,
                id: i64,
                reading: &crate::store::BillingReading,
                now: i64,
            ) -> crate::store::StoreResult<()> {
                sqlx::query(
                    "UPDATE readings SET value = $2, taken_on = $3, source = 'billing', \
                        status = 'accepted', reason = NULL, consumption = NULL, rollover = 0, \
                        updated_at = $4 WHERE id = $1",
                )
                .bind(id)
                .bind(reading.value)
                .bind(crate::readings::iso_date(reading.taken_on))
                .bind(now)
                .execute(&mut *self.tx)
                .await?;
                Ok(())
            }

            async fn insert_api_key(
                &mut self,
                name: &str,
                key_hash: &str,
                now: i64,
            ) -> crate::store::StoreResult<i64> {
                sqlx::query_scalar(
                    "INSERT INTO api_keys (name, key_hash, created_at) VALUES ($1, $2, $3) \
                     RETURNING id",
                )
                .bind(name)
                .bind(key_hash)
                .bind(now)
                .fetch_one(&mut *self.tx)
                .await
            }

            async fn revoke_api_key(&mut self, name: &str, now: i64) -> crate::store::StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE api_keys SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL",
                )
                .bind(name)
                .bind(now)
                .execute(&mut *self.tx)
                .await?;
                Ok(done.rows_affected() > 0)
            }
        }
    };
}

pub(crate) use accounts_sql;
