//! The upload claims' SQL, written once for both backends (see [`super::claims`]). The macro
//! takes the backend's repository and sqlx database, how it opens a write transaction, how it
//! holds keys until the transaction ends (SQLite's `BEGIN IMMEDIATE` already holds the whole
//! database; PostgreSQL takes an advisory lock per key), and how a list of keys is passed.

/// `claims_backend!(module, Repo, sqlx::Db, begin, lock_keys, "keys table", keys_param)`
/// defines `module::{lock_keys, settle_claims}` for the backend's own transactions and
/// `impl BlobClaimRepo`; `"keys table"` is a `FROM` item naming each key of `$1` as `k`.
macro_rules! claims_backend {
    ($module:ident, $repo:ty, $db:ty, $begin:ident, $lock:path, $keys:literal, $param:path) => {
        pub(in crate::repo) mod $module {
            use async_trait::async_trait;
            use sqlx::Transaction;

            use crate::domain::Millis;
            use crate::repo::{BlobClaimRepo, OrphanLock, RepoResult};

            type Tx = Transaction<'static, $db>;

            pub(in crate::repo) use $lock as lock_keys;

            #[async_trait]
            impl OrphanLock for Tx {
                async fn release(self: Box<Self>) -> RepoResult<()> {
                    Ok((*self).commit().await?)
                }
            }

            #[async_trait]
            impl BlobClaimRepo for $repo {
                async fn claim_blob(
                    &self,
                    claim: &str,
                    key: &str,
                    expires_at: Millis,
                ) -> RepoResult<()> {
                    let mut tx = self.$begin().await?;
                    lock_keys(&mut tx, &[key]).await?;
                    sqlx::query(
                        "INSERT INTO blob_claims (claim_id, blob_key, expires_at) VALUES ($1, $2, $3)
                         ON CONFLICT (claim_id, blob_key) DO NOTHING",
                    )
                    .bind(claim)
                    .bind(key)
                    .bind(expires_at)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query("UPDATE blob_claims SET expires_at = $1 WHERE claim_id = $2")
                        .bind(expires_at)
                        .bind(claim)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn drop_claims(&self, claim: &str) -> RepoResult<()> {
                    let mut tx = self.$begin().await?;
                    sqlx::query("DELETE FROM blob_claims WHERE claim_id = $1")
                        .bind(claim)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn unreferenced(&self, keys: &[String]) -> RepoResult<Vec<String>> {
                    Ok(sqlx::query_scalar(concat!(
                        "SELECT k FROM ",
                        $keys,
                        " WHERE NOT EXISTS (SELECT 1 FROM attachments a WHERE a.original_key = k)"
                    ))
                    .bind($param(keys))
                    .fetch_all(&self.pool)
                    .await?)
                }

                async fn lock_orphan(
                    &self,
                    key: &str,
                    now: Millis,
                ) -> RepoResult<Option<Box<dyn OrphanLock>>> {
                    let mut tx = self.$begin().await?;
                    lock_keys(&mut tx, &[key]).await?;
                    let held: bool = sqlx::query_scalar(
                        "SELECT EXISTS (SELECT 1 FROM attachments WHERE original_key = $1)
                             OR EXISTS (SELECT 1 FROM blob_claims
                                        WHERE blob_key = $1 AND expires_at > $2)",
                    )
                    .bind(key)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    if held {
                        tx.rollback().await?;
                        return Ok(None);
                    }
                    Ok(Some(Box::new(tx)))
                }

                async fn drop_expired_claims(&self, now: Millis) -> RepoResult<u64> {
                    let mut tx = self.$begin().await?;
                    let n = sqlx::query("DELETE FROM blob_claims WHERE expires_at <= $1")
                        .bind(now)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    tx.commit().await?;
                    Ok(n)
                }
            }

            /// In `add_attachments`' transaction, after [`lock_keys`]: the upload's claims are
            /// dropped, and every file's must still be live, or nothing is committed (its blob
            /// may have been swept).
            pub(in crate::repo) async fn settle_claims(
                tx: &mut Tx,
                claim: &str,
                keys: &[&str],
                now: Millis,
            ) -> RepoResult<()> {
                let live: Vec<Option<String>> = sqlx::query_scalar(
                    "DELETE FROM blob_claims WHERE claim_id = $1 RETURNING
                         CASE WHEN expires_at > $2 THEN blob_key END",
                )
                .bind(claim)
                .bind(now)
                .fetch_all(&mut **tx)
                .await?;
                crate::repo::claims::check_settled(live, keys)
            }
        }
    };
}

/// SQLite: `BEGIN IMMEDIATE` already holds the whole database until the transaction ends.
pub(in crate::repo) async fn sqlite_lock_keys(
    _tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    _keys: &[&str],
) -> super::RepoResult<()> {
    Ok(())
}

/// PostgreSQL: a transaction-scoped advisory lock per key, taken in one order so that two
/// transactions cannot deadlock.
pub(in crate::repo) async fn pg_lock_keys(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    keys: &[&str],
) -> super::RepoResult<()> {
    sqlx::query(
        "SELECT pg_advisory_xact_lock(h)
         FROM (SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest($1::text[]) k ORDER BY h) s",
    )
    .bind(keys)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn sqlite_keys(keys: &[String]) -> String {
    serde_json::to_string(keys).expect("strings serialize")
}

fn pg_keys(keys: &[String]) -> Vec<String> {
    keys.to_vec()
}

claims_backend!(
    sqlite_claims,
    crate::repo::SqliteRepo,
    sqlx::Sqlite,
    write_tx,
    super::sqlite_lock_keys,
    "(SELECT value AS k FROM json_each($1))",
    super::sqlite_keys
);
claims_backend!(
    pg_claims,
    crate::repo::PgRepo,
    sqlx::Postgres,
    tx,
    super::pg_lock_keys,
    "unnest($1::text[]) k",
    super::pg_keys
);
