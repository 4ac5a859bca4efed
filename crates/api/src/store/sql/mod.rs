//! The SQL of both backends, written once. Both dialects take `$1` placeholders, `RETURNING`
//! and `ON CONFLICT`; the macro stamps the same bodies out for each concrete sqlx database, so
//! every query is type-checked against SQLite and PostgreSQL alike.

mod accounts;
mod applications;
mod identity;

pub(crate) use accounts::accounts_sql;
pub(crate) use applications::applications_sql;
pub(crate) use identity::identity_sql;

/// The structs and the `Store`/`Tx` impls of one backend, with every area's queries.
macro_rules! sql_backend {
    ($store:ident, $tx:ident, $db:ty) => {
        pub struct $tx {
            tx: sqlx::Transaction<'static, $db>,
        }

        #[async_trait::async_trait]
        impl crate::store::Store for $store {
            fn backend(&self) -> &'static str {
                Self::BACKEND
            }

            async fn ping(&self) -> crate::store::StoreResult<()> {
                sqlx::query("SELECT 1")
                    .execute(&self.pool)
                    .await
                    .map(|_| ())
            }

            async fn begin(&self) -> crate::store::StoreResult<Box<dyn crate::store::Tx>> {
                Ok(Box::new($tx {
                    tx: self.begin_write().await?,
                }))
            }
        }

        #[async_trait::async_trait]
        impl crate::store::Tx for $tx {
            async fn commit(self: Box<Self>) -> crate::store::StoreResult<()> {
                self.tx.commit().await
            }
        }

        crate::store::sql::identity_sql!($store, $tx, $db);
        crate::store::sql::accounts_sql!($store, $tx, $db);
        crate::store::sql::applications_sql!($store, $tx, $db);
    };
}

pub(crate) use sql_backend;
