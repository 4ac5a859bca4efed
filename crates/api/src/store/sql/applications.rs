//! Applications, attachments and the meter audit log.

macro_rules! applications_sql {
    ($store:ident, $tx:ident, $db:ty) => {
        mod application_queries {
            pub const APPLICATION: &str = "SELECT a.id, a.user_id, a.meter_id, a.text, a.status, \
                a.operator_id, a.answer, a.answered_at, a.created_at, a.updated_at, \
                m.name AS meter_name, m.serial_number, p.number AS account_number, \
                u.full_name AS customer_name, u.email AS customer_email \
                FROM applications a JOIN meters m ON m.id = a.meter_id \
                JOIN personal_accounts p ON p.id = m.account_id JOIN users u ON u.id = a.user_id";
            pub const METER: &str = "SELECT id, account_id, name, kind, serial_number, place, \
                installed_on, last_verification, next_verification, whole_digits, decimals, \
                monthly_limit FROM meters WHERE id = $1";
        }

        #[async_trait::async_trait]
        impl crate::store::ApplicationStore for $store {
            async fn applications_of_user(
                &self,
                user_id: i64,
            ) -> crate::store::StoreResult<Vec<crate::store::ApplicationRecord>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "{} WHERE a.user_id = $1 ORDER BY a.created_at DESC, a.id DESC",
                    application_queries::APPLICATION
                )))
                .bind(user_id)
                .fetch_all(&self.pool)
                .await
            }

            async fn application_of_user(
                &self,
                user_id: i64,
                id: i64,
            ) -> crate::store::StoreResult<Option<crate::store::ApplicationRecord>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "{} WHERE a.id = $1 AND a.user_id = $2",
                    application_queries::APPLICATION
                )))
                .bind(id)
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await
            }

            async fn application(
                &self,
                id: i64,
            ) -> crate::store::StoreResult<Option<crate::store::ApplicationRecord>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "{} WHERE a.id = $1",
                    application_queries::APPLICATION
                )))
                .bind(id)
                .fetch_optional(&self.pool)
                .await
            }

            async fn application_queue(
                &self,
                status: Option<&str>,
                limit: i64,
            ) -> crate::store::StoreResult<Vec<crate::store::ApplicationRecord>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "{} WHERE ($1 IS NULL OR a.status = $1) ORDER BY a.created_at, a.id LIMIT $2",
                    application_queries::APPLICATION
                )))
                .bind(status)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
            }

            async fn attachments_of(
                &self,
                application_ids: &[i64],
            ) -> crate::store::StoreResult<Vec<crate::store::AttachmentInfo>> {
                let mut conn = self.pool.acquire().await?;
                let mut found: Vec<crate::store::AttachmentInfo> = select_in(
                    &mut conn,
                    "SELECT id, application_id, file_name, content_type, size, created_at \
                     FROM attachments",
                    "application_id",
                    application_ids,
                )
                .await?;
                found.sort_by_key(|a| a.id);
                Ok(found)
            }

            async fn attachment(
                &self,
                application_id: i64,
                attachment_id: i64,
            ) -> crate::store::StoreResult<Option<crate::store::AttachmentFile>> {
                sqlx::query_as(
                    "SELECT file_name, content_type, data FROM attachments \
                     WHERE id = $1 AND application_id = $2",
                )
                .bind(attachment_id)
                .bind(application_id)
                .fetch_optional(&self.pool)
                .await
            }

            async fn meter(
                &self,
                meter_id: i64,
            ) -> crate::store::StoreResult<Option<crate::store::MeterRecord>> {
                sqlx::query_as(application_queries::METER)
                    .bind(meter_id)
                    .fetch_optional(&self.pool)
                    .await
            }

            async fn meter_changes(
                &self,
                meter_id: i64,
            ) -> crate::store::StoreResult<Vec<crate::store::MeterChange>> {
                sqlx::query_as(
                    "SELECT c.id, c.meter_id, c.operator_id, u.full_name AS operator_name, \
                            c.application_id, c.field, c.old_value, c.new_value, c.changed_at \
                     FROM meter_changes c JOIN users u ON u.id = c.operator_id \
                     WHERE c.meter_id = $1 ORDER BY c.changed_at DESC, c.id DESC",
                )
                .bind(meter_id)
                .fetch_all(&self.pool)
                .await
            }
        }

        #[async_trait::async_trait]
        impl crate::store::ApplicationTx for $tx {
            async fn application_by_id(
                &mut self,
                id: i64,
            ) -> crate::store::StoreResult<Option<crate::store::ApplicationRecord>> {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "{} WHERE a.id = $1",
                    application_queries::APPLICATION
                )))
                .bind(id)
                .fetch_optional(&mut *self.tx)
                .await
            }

            async fn insert_application(
                &mut self,
                user_id: i64,
                meter_id: i64,
                text: &str,
                now: i64,
            ) -> crate::store::StoreResult<i64> {
                sqlx::query_scalar(
                    "INSERT INTO applications (user_id, meter_id, text, status, created_at, \
                        updated_at) VALUES ($1, $2, $3, 'new', $4, $4) RETURNING id",
                )
                .bind(user_id)
                .bind(meter_id)
                .bind(text)
                .bind(now)
                .fetch_one(&mut *self.tx)
                .await
            }

            async fn insert_attachment(
                &mut self,
                application_id: i64,
                file: &crate::store::NewAttachment<'_>,
                now: i64,
            ) -> crate::store::StoreResult<i64> {
                sqlx::query_scalar(
                    "INSERT INTO attachments (application_id, file_name, content_type, size, \
                        sha256, data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     RETURNING id",
                )
                .bind(application_id)
                .bind(file.file_name)
                .bind(file.content_type)
                .bind(file.data.len() as i64)
                .bind(file.sha256)
                .bind(file.data)
                .bind(now)
                .fetch_one(&mut *self.tx)
                .await
            }

            async fn move_application(
                &mut self,
                id: i64,
                from: &[&str],
                status: &str,
                operator_id: i64,
                now: i64,
            ) -> crate::store::StoreResult<bool> {
                let current: Option<String> =
                    sqlx::query_scalar("SELECT status FROM applications WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&mut *self.tx)
                        .await?;
                if !current.is_some_and(|c| from.contains(&c.as_str())) {
                    return Ok(false);
                }
                sqlx::query(
                    "UPDATE applications SET status = $2, operator_id = $3, updated_at = $4 \
                     WHERE id = $1",
                )
                .bind(id)
                .bind(status)
                .bind(operator_id)
                .bind(now)
                .execute(&mut *self.tx)
                .await?;
                Ok(true)
            }

            async fn answer_application(
                &mut self,
                id: i64,
                operator_id: i64,
                answer: &str,
                now: i64,
            ) -> crate::store::StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE applications SET status = 'answered', operator_id = $2, answer = $3, \
                        answered_at = $4, updated_at = $4 \
                     WHERE id = $1 AND status IN ('new', 'in_progress', 'answered')",
                )
                .bind(id)
                .bind(operator_id)
                .bind(answer)
                .bind(now)
                .execute(&mut *self.tx)
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn meter_for_update(
                &mut self,
                meter_id: i64,
            ) -> crate::store::StoreResult<Option<crate::store::MeterRecord>> {
                sqlx::query("UPDATE meters SET updated_at = updated_at WHERE id = $1")
                    .bind(meter_id)
                    .execute(&mut *self.tx)
                    .await?;
                sqlx::query_as(application_queries::METER)
                    .bind(meter_id)
                    .fetch_optional(&mut *self.tx)
                    .await
            }

            async fn correct_meter(
                &mut self,
                meter_id: i64,
                correction: &crate::store::MeterCorrection,
                now: i64,
            ) -> crate::store::StoreResult<()> {
                sqlx::query(
                    "UPDATE meters SET serial_number = $2, installed_on = $3, \
                        last_verification = $4, next_verification = $5, updated_at = $6, \
                        revision = revision + 1 WHERE id = $1",
                )
                .bind(meter_id)
                .bind(&correction.serial_number)
                .bind(&correction.installed_on)
                .bind(&correction.last_verification)
                .bind(&correction.next_verification)
                .bind(now)
                .execute(&mut *self.tx)
                .await
                .map(|_| ())
            }

            async fn record_meter_change(
                &mut self,
                meter_id: i64,
                operator_id: i64,
                application_id: Option<i64>,
                field: &str,
                old_value: Option<&str>,
                new_value: Option<&str>,
                now: i64,
            ) -> crate::store::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO meter_changes (meter_id, operator_id, application_id, field, \
                        old_value, new_value, changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(meter_id)
                .bind(operator_id)
                .bind(application_id)
                .bind(field)
                .bind(old_value)
                .bind(new_value)
                .bind(now)
                .execute(&mut *self.tx)
                .await
                .map(|_| ())
            }
        }
    };
}

pub(crate) use applications_sql;
