//! Peer providers' client CAs (docs/decisions/0070).

use sqlx::PgPool;

use super::{db_err, get};
use crate::error::{Result, StoreError};
use crate::sqlite::time;

pub(super) async fn put_peer_ca(
    pool: &PgPool,
    domain: &str,
    pem: &str,
    fetched_ms: u64,
) -> Result<()> {
    if domain.is_empty() || pem.is_empty() {
        return Err(StoreError::Invalid("empty peer domain or CA".into()));
    }
    sqlx::query(
        "INSERT INTO peer_client_cas (domain, pem, fetched_ms) VALUES ($1, $2, $3) \
         ON CONFLICT (domain) DO UPDATE SET pem = EXCLUDED.pem, fetched_ms = EXCLUDED.fetched_ms",
    )
    .bind(domain)
    .bind(pem)
    .bind(time(fetched_ms))
    .execute(pool)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(super) async fn peer_cas(pool: &PgPool) -> Result<Vec<(String, String)>> {
    sqlx::query("SELECT domain, pem FROM peer_client_cas ORDER BY domain")
        .fetch_all(pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(|row| Ok((get(row, 0)?, get(row, 1)?)))
        .collect()
}
