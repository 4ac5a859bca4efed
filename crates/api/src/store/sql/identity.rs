//! Users, one-time tokens, sessions, rate-limit counters and the outbox.

macro_rules! identity_sql {
    ($store:ident, $tx:ident, $db:ty) => {
        /// Queries shared by reads outside a transaction and by units of work.
        mod shared {
            use super::*;
            use crate::store::{StoreResult, UserRecord};

            const USER_COLUMNS: &str = "id, email, full_name, phone, password_hash, role, \
                                        email_confirmed_at, token_version, created_at";

            pub async fn user_by_id<'e, E>(db: E, id: i64) -> StoreResult<Option<UserRecord>>
            where
                E: sqlx::Executor<'e, Database = $db>,
            {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE id = $1"
                )))
                .bind(id)
                .fetch_optional(db)
                .await
            }
        }

        #[async_trait::async_trait]
        impl crate::store::IdentityStore for $store {
            async fn user_by_id(
                &self,
                id: i64,
            ) -> crate::store::StoreResult<Option<crate::store::UserRecord>> {
                shared::user_by_id(&self.pool, id).await
            }

            async fn open_sessions(
                &self,
                user_id: i64,
                now: i64,
            ) -> crate::store::StoreResult<Vec<crate::store::SessionRecord>> {
                sqlx::query_as(
                    "SELECT id, user_id, remember, created_at, last_seen_at, expires_at, \
                            user_agent, ip \
                     FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
                     ORDER BY last_seen_at DESC, id DESC",
                )
                .bind(user_id)
                .bind(now)
                .fetch_all(&self.pool)
                .await
            }

            async fn purge_stale(
                &self,
                counters_before: i64,
                records_before: i64,
            ) -> crate::store::StoreResult<u64> {
                // A batch at a time, each its own short write: the write lock is never held
                // for long, however much there is to delete.
                const BATCH: i64 = 1000;
                let stale = [
                    ("rate_limits", "key", "window_start < $1", counters_before),
                    ("one_time_tokens", "id", "expires_at < $1", records_before),
                    (
                        "sessions",
                        "id",
                        "expires_at < $1 OR revoked_at < $1",
                        records_before,
                    ),
                    ("outbox", "id", "sent_at < $1 OR failed_at < $1", records_before),
                ];
                let mut deleted = 0;
                for (table, key, stale, before) in stale {
                    let sql = format!(
                        "DELETE FROM {table} WHERE {key} IN \
                         (SELECT {key} FROM {table} WHERE {stale} LIMIT $2)"
                    );
                    loop {
                        let _turn = self.write_turn().await;
                        let done = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                            .bind(before)
                            .bind(BATCH)
                            .execute(&self.pool)
                            .await?
                            .rows_affected();
                        deleted += done;
                        if done < BATCH as u64 {
                            break;
                        }
                    }
                }
                Ok(deleted)
            }

            async fn claim_mail(
                &self,
                now: i64,
                lock_secs: i64,
            ) -> crate::store::StoreResult<Option<crate::store::OutboxRecord>> {
                // The outer conditions repeat the inner ones: when two senders race for one row,
                // PostgreSQL re-checks them on the row the winner wrote, and the loser gets none.
                let _turn = self.write_turn().await;
                sqlx::query_as(
                    "UPDATE outbox SET locked_until = $1 + $2, attempts = attempts + 1 \
                     WHERE id = (SELECT id FROM outbox \
                                 WHERE sent_at IS NULL AND failed_at IS NULL \
                                   AND next_attempt_at <= $1 \
                                   AND (locked_until IS NULL OR locked_until <= $1) \
                                 ORDER BY next_attempt_at, id LIMIT 1) \
                       AND sent_at IS NULL AND failed_at IS NULL \
                       AND (locked_until IS NULL OR locked_until <= $1) \
                     RETURNING id, message_id, recipient, subject, body_text, body_html, attempts",
                )
                .bind(now)
                .bind(lock_secs)
                .fetch_optional(&self.pool)
                .await
            }

            async fn mail_sent(&self, id: i64, now: i64) -> crate::store::StoreResult<()> {
                let _turn = self.write_turn().await;
                sqlx::query(
                    "UPDATE outbox SET sent_at = $2, locked_until = NULL, last_error = NULL \
                     WHERE id = $1",
                )
                .bind(id)
                .bind(now)
                .execute(&self.pool)
                .await
                .map(|_| ())
            }

            async fn mail_failed(
                &self,
                id: i64,
                error: &str,
                retry_at: Option<i64>,
                now: i64,
            ) -> crate::store::StoreResult<()> {
                let failed_at = if retry_at.is_none() { Some(now) } else { None };
                let _turn = self.write_turn().await;
                sqlx::query(
                    "UPDATE outbox SET last_error = $2, next_attempt_at = COALESCE($3, \
                     next_attempt_at), failed_at = $4, locked_until = NULL WHERE id = $1",
                )
                .bind(id)
                .bind(error)
                .bind(retry_at)
                .bind(failed_at)
                .execute(&self.pool)
                .await
                .map(|_| ())
            }

            async fn pending_mail(&self) -> crate::store::StoreResult<i64> {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL",
                )
                .fetch_one(&self.pool)
                .await
            }
        }

        #[async_trait::async_trait]
        impl crate::store::IdentityTx for $tx {
            async fn reset_hits(&mut self, key: &str) -> crate::store::StoreResult<()> {
                sqlx::query(crate::store::sql::request::RESET_HITS)
                    .bind(key)
                    .execute(&mut *self.tx)
                    .await
                    .map(|_| ())
            }

            async fn user_by_email(
                &mut self,
                email: &str,
            ) -> crate::store::StoreResult<Option<crate::store::UserRecord>> {
                sqlx::query_as(crate::store::sql::request::USER_BY_EMAIL)
                    .bind(email)
                    .fetch_optional(&mut *self.tx)
                    .await
            }

            async fn user_by_id(
                &mut self,
                id: i64,
            ) -> crate::store::StoreResult<Option<crate::store::UserRecord>> {
                shared::user_by_id(&mut *self.tx, id).await
            }

            async fn insert_user(
                &mut self,
                user: &crate::store::NewUser<'_>,
            ) -> crate::store::StoreResult<i64> {
                let confirmed_at = if user.confirmed { Some(user.now) } else { None };
                sqlx::query_scalar(
                    "INSERT INTO users (email, full_name, phone, password_hash, role, \
                        email_confirmed_at, consent_at, consent_version, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $7, $7) RETURNING id",
                )
                .bind(user.email)
                .bind(user.full_name)
                .bind(user.phone)
                .bind(user.password_hash)
                .bind(user.role.as_str())
                .bind(confirmed_at)
                .bind(user.now)
                .bind(user.consent_version)
                .fetch_one(&mut *self.tx)
                .await
            }

            async fn confirm_email(&mut self, user_id: i64, now: i64) -> crate::store::StoreResult<()> {
                sqlx::query(
                    "UPDATE users SET email_confirmed_at = COALESCE(email_confirmed_at, $2), \
                     updated_at = $2 WHERE id = $1",
                )
                .bind(user_id)
                .bind(now)
                .execute(&mut *self.tx)
                .await
                .map(|_| ())
            }

            async fn update_profile(
                &mut self,
                user_id: i64,
                full_name: &str,
                phone: &str,
                now: i64,
            ) -> crate::store::StoreResult<()> {
                sqlx::query(
                    "UPDATE users SET full_name = $2, phone = $3, updated_at = $4 WHERE id = $1",
                )
                .bind(user_id)
                .bind(full_name)
                .bind(phone)
                .bind(now)
                .execute(&mut *self.tx)
                .await
                .map(|_| ())
            }

            async fn set_password(
                &mut self,
                user_id: i64,
                hash: &str,
                now: i64,
            ) -> crate::store::StoreResult<()> {
                sqlx::query(
                    "UPDATE users SET password_hash = $2, token_version = token_version + 1, \
                     updated_at = $3 WHERE id = $1",
                )
                .bind(user_id)
                .bind(hash)
                .bind(now)
                .execute(&mut *self.tx)
                .await
                .map(|_| ())
            }

            async fn set_email(
                &mut self,
                user_id: i64,
                email: &str,
                now: i64,
            ) -> crate::store::StoreResult<()> {
                sqlx::query(
                    "UPDATE users SET email = $2, email_confirmed_at = COALESCE(\
                     email_confirmed_at, $3), updated_at = $3 \
                     WHERE id = $1",
                )
                .bind(user_id)
                .bind(email)
                .bind(now)
                .execute(&mut *self.tx)
                .await
                .map(|_| ())
            }

            async fn insert_token(
                &mut self,
                user_id: i64,
                purpose: crate::store::TokenPurpose,
                token_hash: &str,
                payload: Option<&str>,
                now: i64,
                expires_at: i64,
            ) -> crate::store::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO one_time_tokens (user_id, purpose, token_hash, payload, \
                        created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(user_id)
                .bind(purpose.as_str())
                .bind(token_hash)
                .bind(payload)
                .bind(now)
                .bind(expires_at)
                .execute(&mut *self.tx)
                .await
                .map(|_| ())
            }

            async fn discard_tokens(
                &mut self,
                user_id: i64,
                purpose: crate::store::TokenPurpose,
                now: i64,
            ) -> crate::store::StoreResult<()> {
                sqlx::query(
                    "UPDATE one_time_tokens SET used_at = $3 \
                     WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
                )
                .bind(user_id)
                .bind(purpose.as_str())
                .bind(now)
                .execute(&mut *self.tx)
                .await
                .map(|_| ())
            }

            async fn take_token(
                &mut self,
                token_hash: &str,
                purpose: crate::store::TokenPurpose,
                now: i64,
            ) -> crate::store::StoreResult<crate::store::TokenOutcome> {
                use crate::store::{TokenOutcome, TokenRecord};
                let token: Option<TokenRecord> = sqlx::query_as(
                    "SELECT id, user_id, payload, expires_at, used_at FROM one_time_tokens \
                     WHERE token_hash = $1 AND purpose = $2",
                )
                .bind(token_hash)
                .bind(purpose.as_str())
                .fetch_optional(&mut *self.tx)
                .await?;
                let Some(token) = token else { return Ok(TokenOutcome::Invalid) };
                if token.used_at.is_some() {
                    return Ok(TokenOutcome::Used);
                }
                if token.expires_at <= now {
                    return Ok(TokenOutcome::Expired);
                }
                let taken = sqlx::query(
                    "UPDATE one_time_tokens SET used_at = $2 WHERE id = $1 AND used_at IS NULL",
                )
                .bind(token.id)
                .bind(now)
                .execute(&mut *self.tx)
                .await?;
                if taken.rows_affected() == 0 {
                    return Ok(TokenOutcome::Used);
                }
                Ok(TokenOutcome::Taken { user_id: token.user_id, payload: token.payload })
            }

            async fn create_session(
                &mut self,
                session: &crate::store::NewSession<'_>,
            ) -> crate::store::StoreResult<i64> {
                let id: i64 = sqlx::query_scalar(crate::store::sql::request::INSERT_SESSION)
                .bind(session.user_id)
                .bind(i64::from(session.remember))
                .bind(session.now)
                .bind(session.expires_at)
                .bind(session.user_agent)
                .bind(session.ip)
                .fetch_one(&mut *self.tx)
                .await?;
                sqlx::query(crate::store::sql::request::INSERT_REFRESH_TOKEN)
                .bind(session.refresh_hash)
                .bind(id)
                .bind(session.now)
                .execute(&mut *self.tx)
                .await?;
                Ok(id)
            }

            async fn rotate_refresh(
                &mut self,
                old_hash: &str,
                new_hash: &str,
                now: i64,
            ) -> crate::store::StoreResult<crate::store::RefreshOutcome> {
                use crate::store::RefreshOutcome;
                let found: Option<(i64, Option<i64>, i64, i64, i64, Option<i64>)> =
                    sqlx::query_as(
                        "SELECT s.id, r.used_at, s.user_id, s.remember, s.expires_at, \
                                s.revoked_at \
                         FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id \
                         WHERE r.token_hash = $1",
                    )
                    .bind(old_hash)
                    .fetch_optional(&mut *self.tx)
                    .await?;
                let Some((session_id, used_at, user_id, remember, expires_at, revoked_at)) = found
                else {
                    return Ok(RefreshOutcome::Invalid);
                };
                if revoked_at.is_some() || expires_at <= now {
                    return Ok(RefreshOutcome::Invalid);
                }
                // Only one refresh may use the token: a concurrent one that read it unused
                // before this claim finds it taken here, and that is a reuse as well.
                let claimed = used_at.is_none()
                    && sqlx::query(
                        "UPDATE refresh_tokens SET used_at = $2 \
                         WHERE token_hash = $1 AND used_at IS NULL",
                    )
                    .bind(old_hash)
                    .bind(now)
                    .execute(&mut *self.tx)
                    .await?
                    .rows_affected()
                        == 1;
                if !claimed {
                    sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE id = $1")
                        .bind(session_id)
                        .bind(now)
                        .execute(&mut *self.tx)
                        .await?;
                    return Ok(RefreshOutcome::Reused);
                }
                sqlx::query(
                    "INSERT INTO refresh_tokens (token_hash, session_id, created_at) \
                     VALUES ($1, $2, $3)",
                )
                .bind(new_hash)
                .bind(session_id)
                .bind(now)
                .execute(&mut *self.tx)
                .await?;
                sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id = $1")
                    .bind(session_id)
                    .bind(now)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(RefreshOutcome::Rotated { session_id, user_id, remember: remember != 0, expires_at })
            }

            async fn revoke_session(
                &mut self,
                user_id: i64,
                session_id: i64,
                now: i64,
            ) -> crate::store::StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE sessions SET revoked_at = $3 \
                     WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > $3",
                )
                .bind(session_id)
                .bind(user_id)
                .bind(now)
                .execute(&mut *self.tx)
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn revoke_session_of_refresh(
                &mut self,
                token_hash: &str,
                now: i64,
            ) -> crate::store::StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE sessions SET revoked_at = $2 \
                     WHERE id = (SELECT session_id FROM refresh_tokens WHERE token_hash = $1) \
                     AND revoked_at IS NULL AND expires_at > $2",
                )
                .bind(token_hash)
                .bind(now)
                .execute(&mut *self.tx)
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn revoke_other_sessions(
                &mut self,
                user_id: i64,
                keep: Option<i64>,
                now: i64,
            ) -> crate::store::StoreResult<()> {
                sqlx::query(
                    "UPDATE sessions SET revoked_at = $3 \
                     WHERE user_id = $1 AND revoked_at IS NULL AND id <> COALESCE($2, -1)",
                )
                .bind(user_id)
                .bind(keep)
                .bind(now)
                .execute(&mut *self.tx)
                .await
                .map(|_| ())
            }

            async fn enqueue_mail(
                &mut self,
                mail: &crate::store::OutgoingMail,
                now: i64,
            ) -> crate::store::StoreResult<()> {
                // Fixed when queued, so every retry carries the same Message-ID.
                let message_id = crate::mail::new_message_id();
                sqlx::query(
                    "INSERT INTO outbox (message_id, recipient, subject, body_text, body_html, \
                        created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
                )
                .bind(message_id)
                .bind(&mail.recipient)
                .bind(&mail.subject)
                .bind(&mail.text)
                .bind(&mail.html)
                .bind(now)
                .execute(&mut *self.tx)
                .await
                .map(|_| ())
            }
        }
    };
}

pub(crate) use identity_sql;
