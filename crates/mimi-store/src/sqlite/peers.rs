//! Peer providers' client CAs (docs/decisions/0070).

use sqlx::sqlite::SqliteConnection;

use super::{db_err, get, time};
use crate::error::{Result, StoreError};

pub(super) async fn put_peer_ca(
    c: &mut SqliteConnection,
    domain: &str,
    pem: &str,
    fetched_ms: u64,
) -> Result<()> {
    if domain.is_empty() || pem.is_empty() {
        return Err(StoreError::Invalid("empty peer domain or CA".into()));
    }
    sqlx::query(
        "INSERT INTO peer_client_cas (domain, pem, fetched_ms) VALUES (?, ?, ?) \
         ON CONFLICT (domain) DO UPDATE SET pem = excluded.pem, fetched_ms = excluded.fetched_ms",
    )
    .bind(domain)
    .bind(pem)
    .bind(time(fetched_ms))
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(super) async fn peer_cas(c: &mut SqliteConnection) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query("SELECT domain, pem FROM peer_client_cas ORDER BY domain")
        .fetch_all(&mut *c)
        .await
        .map_err(db_err)?;
    rows.iter()
        .map(|row| Ok((get(row, 0)?, get(row, 1)?)))
        .collect()
}
