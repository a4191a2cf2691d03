//! KeyPackages: publication, one-time claims, Welcome routes; expiry.

use sqlx::sqlite::SqliteConnection;

use super::{db_err, get, time, unsigned};
use crate::error::{Result, StoreError};
use crate::model::{ClientClaim, KeyPackageClaim, Purged, StoredKeyPackage};

pub(super) async fn add_key_packages(
    c: &mut SqliteConnection,
    client_uri: &str,
    key_packages: &[StoredKeyPackage],
) -> Result<usize> {
    let known = sqlx::query("SELECT 1 FROM clients WHERE client_uri = ?")
        .bind(client_uri)
        .fetch_optional(&mut *c)
        .await
        .map_err(db_err)?;
    if known.is_none() {
        return Err(StoreError::NotFound(format!("client {client_uri}")));
    }
    let mut added = 0;
    for kp in key_packages {
        if kp.kp_ref.is_empty() {
            return Err(StoreError::Invalid("empty KeyPackageRef".into()));
        }
        let spent = sqlx::query("SELECT 1 FROM spent_key_packages WHERE kp_ref = ?")
            .bind(&kp.kp_ref)
            .fetch_optional(&mut *c)
            .await
            .map_err(db_err)?;
        if spent.is_some() {
            // Handed out before: a one-time KeyPackage is never offered twice.
            continue;
        }
        let owner = sqlx::query("SELECT client_uri FROM key_packages WHERE kp_ref = ?")
            .bind(&kp.kp_ref)
            .fetch_optional(&mut *c)
            .await
            .map_err(db_err)?;
        if let Some(owner) = owner {
            if get::<String>(&owner, 0)? == client_uri {
                continue; // already stored: a retried upload
            }
            return Err(StoreError::Conflict(
                "KeyPackageRef stored for another client".into(),
            ));
        }
        if kp.last_resort {
            sqlx::query("DELETE FROM key_packages WHERE client_uri = ? AND last_resort = 1")
                .bind(client_uri)
                .execute(&mut *c)
                .await
                .map_err(db_err)?;
        }
        sqlx::query(
            "INSERT INTO key_packages (client_uri, kp_ref, bytes, last_resort, not_after_s) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(client_uri)
        .bind(&kp.kp_ref)
        .bind(&kp.bytes)
        .bind(i64::from(kp.last_resort))
        .bind(time(kp.not_after_s))
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
        added += 1;
    }
    Ok(added)
}

pub(super) async fn claim_key_packages(
    c: &mut SqliteConnection,
    user_uri: &str,
    now_s: u64,
    accept: &(dyn Fn(&[u8]) -> bool + Sync),
) -> Result<Vec<ClientClaim>> {
    let now = time(now_s);
    let clients: Vec<String> = sqlx::query(
        "SELECT client_uri FROM clients WHERE user_uri = ? ORDER BY created_ms, client_uri",
    )
    .bind(user_uri)
    .fetch_all(&mut *c)
    .await
    .map_err(db_err)?
    .iter()
    .map(|row| get(row, 0))
    .collect::<Result<_>>()?;

    let mut claims = Vec::with_capacity(clients.len());
    for client_uri in clients {
        // Expired one-time KeyPackages are never handed out: drop them.
        sqlx::query(
            "DELETE FROM key_packages \
             WHERE client_uri = ? AND last_resort = 0 AND not_after_s < ?",
        )
        .bind(&client_uri)
        .bind(now)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
        let one_time = sqlx::query(
            "SELECT id, kp_ref, bytes, not_after_s FROM key_packages \
             WHERE client_uri = ? AND last_resort = 0 ORDER BY id",
        )
        .bind(&client_uri)
        .fetch_all(&mut *c)
        .await
        .map_err(db_err)?;
        let mut chosen = None;
        for row in &one_time {
            let bytes: Vec<u8> = get(row, 2)?;
            if accept(&bytes) {
                chosen = Some((
                    get::<i64>(row, 0)?,
                    get::<Vec<u8>>(row, 1)?,
                    bytes,
                    get(row, 3)?,
                ));
                break;
            }
        }
        let outcome = if let Some((id, kp_ref, bytes, not_after)) = chosen {
            let not_after: i64 = not_after;
            sqlx::query("DELETE FROM key_packages WHERE id = ?")
                .bind(id)
                .execute(&mut *c)
                .await
                .map_err(db_err)?;
            sqlx::query(
                "INSERT INTO spent_key_packages (kp_ref, not_after_s) VALUES (?, ?) \
                 ON CONFLICT (kp_ref) DO NOTHING",
            )
            .bind(&kp_ref)
            .bind(not_after)
            .execute(&mut *c)
            .await
            .map_err(db_err)?;
            add_welcome_route(c, &kp_ref, &client_uri).await?;
            KeyPackageClaim::Claimed(StoredKeyPackage {
                kp_ref,
                bytes,
                last_resort: false,
                not_after_s: unsigned(not_after, "not_after_s")?,
            })
        } else {
            let last_resort = sqlx::query(
                "SELECT kp_ref, bytes, not_after_s FROM key_packages \
                 WHERE client_uri = ? AND last_resort = 1 AND not_after_s >= ?",
            )
            .bind(&client_uri)
            .bind(now)
            .fetch_optional(&mut *c)
            .await
            .map_err(db_err)?;
            match last_resort {
                Some(row) => {
                    let bytes: Vec<u8> = get(&row, 1)?;
                    if accept(&bytes) {
                        let kp_ref: Vec<u8> = get(&row, 0)?;
                        add_welcome_route(c, &kp_ref, &client_uri).await?;
                        KeyPackageClaim::Claimed(StoredKeyPackage {
                            kp_ref,
                            bytes,
                            last_resort: true,
                            not_after_s: unsigned(get(&row, 2)?, "not_after_s")?,
                        })
                    } else {
                        KeyPackageClaim::NothingCompatible
                    }
                }
                None if one_time.is_empty() => KeyPackageClaim::Exhausted,
                None => KeyPackageClaim::NothingCompatible,
            }
        };
        claims.push(ClientClaim {
            client_uri,
            outcome,
        });
    }
    Ok(claims)
}

pub(super) async fn key_package_count(c: &mut SqliteConnection, client_uri: &str) -> Result<usize> {
    let row =
        sqlx::query("SELECT COUNT(*) FROM key_packages WHERE client_uri = ? AND last_resort = 0")
            .bind(client_uri)
            .fetch_one(&mut *c)
            .await
            .map_err(db_err)?;
    let n = unsigned(get(&row, 0)?, "count")?;
    usize::try_from(n).map_err(|_| StoreError::Corrupt(format!("count {n}")))
}

pub(super) async fn add_welcome_route(
    c: &mut SqliteConnection,
    kp_ref: &[u8],
    client_uri: &str,
) -> Result<()> {
    if kp_ref.is_empty() {
        return Err(StoreError::Invalid("empty KeyPackageRef".into()));
    }
    // A route to another client replaces the old one; to the same client it gains a use.
    sqlx::query(
        "INSERT INTO welcome_routes (kp_ref, client_uri, uses) VALUES (?, ?, 1) \
         ON CONFLICT (kp_ref) DO UPDATE SET \
         uses = CASE WHEN welcome_routes.client_uri = excluded.client_uri \
                     THEN welcome_routes.uses + 1 ELSE 1 END, \
         client_uri = excluded.client_uri",
    )
    .bind(kp_ref)
    .bind(client_uri)
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(super) async fn take_welcome_route(
    c: &mut SqliteConnection,
    kp_ref: &[u8],
) -> Result<Option<String>> {
    let Some(row) = sqlx::query("SELECT client_uri, uses FROM welcome_routes WHERE kp_ref = ?")
        .bind(kp_ref)
        .fetch_optional(&mut *c)
        .await
        .map_err(db_err)?
    else {
        return Ok(None);
    };
    let client_uri: String = get(&row, 0)?;
    let uses: i64 = get(&row, 1)?;
    let statement = if uses > 1 {
        "UPDATE welcome_routes SET uses = uses - 1 WHERE kp_ref = ?"
    } else {
        "DELETE FROM welcome_routes WHERE kp_ref = ?"
    };
    sqlx::query(statement)
        .bind(kp_ref)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(Some(client_uri))
}

pub(super) async fn purge_expired(c: &mut SqliteConnection, now_ms: u64) -> Result<Purged> {
    let now_s = time(now_ms / 1000);
    let tokens = sqlx::query("DELETE FROM tokens WHERE expires_ms <= ?")
        .bind(time(now_ms))
        .execute(&mut *c)
        .await
        .map_err(db_err)?
        .rows_affected();
    let key_packages = sqlx::query("DELETE FROM key_packages WHERE not_after_s < ?")
        .bind(now_s)
        .execute(&mut *c)
        .await
        .map_err(db_err)?
        .rows_affected();
    let spent_key_packages = sqlx::query("DELETE FROM spent_key_packages WHERE not_after_s < ?")
        .bind(now_s)
        .execute(&mut *c)
        .await
        .map_err(db_err)?
        .rows_affected();
    Ok(Purged {
        tokens,
        key_packages,
        spent_key_packages,
    })
}
