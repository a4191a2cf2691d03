//! KeyPackages: publication, one-time claims, Welcome routes; expiry.

use std::collections::{HashMap, HashSet};

use sqlx::postgres::PgConnection;
use sqlx::{PgPool, Row};

use super::{db_err, get, size};
use crate::error::{Result, StoreError};
use crate::model::{ClientClaim, KeyPackageClaim, Purged, StoredKeyPackage};
use crate::sqlite::{time, unsigned};

pub(super) async fn add_key_packages(
    c: &mut PgConnection,
    client_uri: &str,
    key_packages: &[StoredKeyPackage],
) -> Result<usize> {
    // Uploads of one client run one at a time (the client's row lock, held to the commit), so
    // each sees what the previous one stored: READ COMMITTED gives every statement a fresh
    // snapshot. NO KEY UPDATE does not block inserts that reference the client.
    let known = sqlx::query("SELECT 1 FROM clients WHERE client_uri = $1 FOR NO KEY UPDATE")
        .bind(client_uri)
        .fetch_optional(&mut *c)
        .await
        .map_err(db_err)?;
    if known.is_none() {
        return Err(StoreError::NotFound(format!("client {client_uri}")));
    }
    // What is stored under the uploaded refs, the client's last resort, what was handed out.
    let refs: Vec<&[u8]> = key_packages.iter().map(|kp| &kp.kp_ref[..]).collect();
    let rows = sqlx::query(
        "SELECT kp_ref, client_uri, last_resort, FALSE FROM key_packages \
         WHERE kp_ref = ANY($1) OR (client_uri = $2 AND last_resort) \
         UNION ALL SELECT kp_ref, NULL, FALSE, TRUE FROM spent_key_packages \
         WHERE kp_ref = ANY($1)",
    )
    .bind(&refs)
    .bind(client_uri)
    .fetch_all(&mut *c)
    .await
    .map_err(db_err)?;
    let mut owners: HashMap<Vec<u8>, String> = HashMap::new();
    let mut spent: HashSet<Vec<u8>> = HashSet::new();
    let mut last_resort: Option<Vec<u8>> = None;
    for row in &rows {
        let kp_ref: Vec<u8> = get(row, 0)?;
        if get(row, 3)? {
            spent.insert(kp_ref);
            continue;
        }
        let owner: String = get(row, 1)?;
        if get(row, 2)? && owner == client_uri {
            last_resort = Some(kp_ref.clone());
        }
        owners.insert(kp_ref, owner);
    }

    // The SQLite store's row-by-row rules, played on that state; then written in two
    // statements.
    let mut added = 0;
    let mut new: Vec<&StoredKeyPackage> = Vec::new();
    let mut replace_stored_last_resort = false;
    for kp in key_packages {
        if kp.kp_ref.is_empty() {
            return Err(StoreError::Invalid("empty KeyPackageRef".into()));
        }
        if spent.contains(&kp.kp_ref) {
            // Handed out before: a one-time KeyPackage is never offered twice.
            continue;
        }
        match owners.get(&kp.kp_ref) {
            Some(owner) if owner == client_uri => continue, // already stored: a retried upload
            Some(_) => {
                return Err(StoreError::Conflict(
                    "KeyPackageRef stored for another client".into(),
                ));
            }
            None => {}
        }
        if kp.last_resort {
            // A new last resort replaces the previous one, stored or from this upload.
            if let Some(previous) = last_resort.take() {
                owners.remove(&previous);
                match new.iter().position(|n| n.kp_ref == previous) {
                    Some(i) => {
                        new.remove(i);
                    }
                    None => replace_stored_last_resort = true,
                }
            }
            last_resort = Some(kp.kp_ref.clone());
        }
        owners.insert(kp.kp_ref.clone(), client_uri.to_string());
        new.push(kp);
        added += 1;
    }
    if replace_stored_last_resort {
        sqlx::query("DELETE FROM key_packages WHERE client_uri = $1 AND last_resort")
            .bind(client_uri)
            .execute(&mut *c)
            .await
            .map_err(db_err)?;
    }
    if !new.is_empty() {
        let refs: Vec<&[u8]> = new.iter().map(|kp| &kp.kp_ref[..]).collect();
        let bytes: Vec<&[u8]> = new.iter().map(|kp| &kp.bytes[..]).collect();
        let last: Vec<bool> = new.iter().map(|kp| kp.last_resort).collect();
        let not_after: Vec<i64> = new.iter().map(|kp| time(kp.not_after_s)).collect();
        // In upload order: ids order a client's KeyPackages by age.
        sqlx::query(
            "INSERT INTO key_packages (client_uri, kp_ref, bytes, last_resort, not_after_s) \
             SELECT $1, r, b, l, n \
             FROM UNNEST($2::bytea[], $3::bytea[], $4::bool[], $5::int8[]) \
             WITH ORDINALITY AS t(r, b, l, n, ord) ORDER BY ord",
        )
        .bind(client_uri)
        .bind(&refs)
        .bind(&bytes)
        .bind(&last)
        .bind(&not_after)
        .execute(&mut *c)
        .await
        .map_err(|e| match db_err(e) {
            // A concurrent upload of the same ref by another client committed first.
            StoreError::Conflict(_) => {
                StoreError::Conflict("KeyPackageRef stored for another client".into())
            }
            other => other,
        })?;
    }
    Ok(added)
}

/// A one-time KeyPackage that may be handed out, with its row id.
struct Candidate {
    id: i64,
    kp_ref: Vec<u8>,
    bytes: Vec<u8>,
    not_after_s: i64,
}

/// What one client of the claimed user has that may be handed out.
struct Stock {
    client_uri: String,
    /// Unexpired one-time KeyPackages, oldest first.
    one_time: Vec<Candidate>,
    /// The unexpired last-resort KeyPackage.
    last_resort: Option<Candidate>,
}

pub(super) async fn claim_key_packages(
    c: &mut PgConnection,
    user_uri: &str,
    now_s: u64,
    accept: &(dyn Fn(&[u8]) -> bool + Sync),
) -> Result<Vec<ClientClaim>> {
    let now = time(now_s);
    // Expired one-time KeyPackages are never handed out: dropped (rows a concurrent claim
    // holds are skipped: it drops them). Then what the user's clients have, in one
    // statement; a client without KeyPackages has one row of NULLs.
    let rows = sqlx::query(
        "WITH expired AS ( \
             DELETE FROM key_packages WHERE id IN ( \
                 SELECT k.id FROM key_packages k JOIN clients c ON c.client_uri = k.client_uri \
                 WHERE c.user_uri = $1 AND NOT k.last_resort AND k.not_after_s < $2 \
                 FOR UPDATE OF k SKIP LOCKED)) \
         SELECT c.client_uri, k.id, k.kp_ref, k.bytes, k.last_resort, k.not_after_s \
         FROM clients c \
         LEFT JOIN key_packages k ON k.client_uri = c.client_uri AND k.not_after_s >= $2 \
         WHERE c.user_uri = $1 \
         ORDER BY c.created_ms, c.client_uri, k.last_resort, k.id",
    )
    .bind(user_uri)
    .bind(now)
    .fetch_all(&mut *c)
    .await
    .map_err(db_err)?;
    let mut stocks: Vec<Stock> = Vec::new();
    for row in &rows {
        let client_uri: String = get(row, 0)?;
        if stocks.last().is_none_or(|s| s.client_uri != client_uri) {
            stocks.push(Stock {
                client_uri,
                one_time: Vec::new(),
                last_resort: None,
            });
        }
        let Some(stock) = stocks.last_mut() else {
            continue;
        };
        let Some(id) = get::<Option<i64>>(row, 1)? else {
            continue;
        };
        let candidate = Candidate {
            id,
            kp_ref: get(row, 2)?,
            bytes: get(row, 3)?,
            not_after_s: get(row, 5)?,
        };
        if get(row, 4)? {
            stock.last_resort = Some(candidate);
        } else {
            stock.one_time.push(candidate);
        }
    }

    // Per client, the oldest one-time KeyPackage `accept` likes, taken by deleting its row.
    // A row another claimer holds (it is handing it out) or took is as if it were not there:
    // the client's next acceptable one is tried, in rounds of one statement for all clients.
    let mut next = vec![0; stocks.len()];
    let mut refused = vec![false; stocks.len()];
    let mut taken: Vec<Option<usize>> = vec![None; stocks.len()];
    loop {
        let mut tries = Vec::new();
        for (i, stock) in stocks.iter().enumerate() {
            if taken[i].is_some() {
                continue;
            }
            while let Some(candidate) = stock.one_time.get(next[i]) {
                next[i] += 1;
                if accept(&candidate.bytes) {
                    tries.push((i, next[i] - 1));
                    break;
                }
                refused[i] = true;
            }
        }
        if tries.is_empty() {
            break;
        }
        let ids: Vec<i64> = tries
            .iter()
            .map(|&(i, k)| stocks[i].one_time[k].id)
            .collect();
        let got: HashSet<i64> = sqlx::query(
            "DELETE FROM key_packages WHERE id IN ( \
                 SELECT id FROM key_packages WHERE id = ANY($1) ORDER BY id \
                 FOR UPDATE SKIP LOCKED) \
             RETURNING id",
        )
        .bind(&ids)
        .fetch_all(&mut *c)
        .await
        .map_err(db_err)?
        .iter()
        .map(|row| row.try_get::<i64, _>(0).map_err(db_err))
        .collect::<Result<_>>()?;
        for (i, k) in tries {
            if got.contains(&stocks[i].one_time[k].id) {
                taken[i] = Some(k);
            }
        }
    }

    let mut claims = Vec::with_capacity(stocks.len());
    let mut spent: (Vec<&[u8]>, Vec<i64>) = (Vec::new(), Vec::new());
    let mut routes: (Vec<&[u8]>, Vec<&str>) = (Vec::new(), Vec::new());
    for (i, stock) in stocks.iter().enumerate() {
        let handed_out = match taken[i] {
            Some(k) => {
                let kp = &stock.one_time[k];
                spent.0.push(&kp.kp_ref);
                spent.1.push(kp.not_after_s);
                Some((kp, false))
            }
            None => stock
                .last_resort
                .as_ref()
                .filter(|kp| accept(&kp.bytes))
                .map(|kp| (kp, true)),
        };
        let outcome = match handed_out {
            Some((kp, last_resort)) => {
                routes.0.push(&kp.kp_ref);
                routes.1.push(&stock.client_uri);
                KeyPackageClaim::Claimed(StoredKeyPackage {
                    kp_ref: kp.kp_ref.clone(),
                    bytes: kp.bytes.clone(),
                    last_resort,
                    not_after_s: unsigned(kp.not_after_s, "not_after_s")?,
                })
            }
            // The last resort, or a one-time KeyPackage, was refused.
            None if stock.last_resort.is_some() || refused[i] => KeyPackageClaim::NothingCompatible,
            None => KeyPackageClaim::Exhausted,
        };
        claims.push(ClientClaim {
            client_uri: stock.client_uri.clone(),
            outcome,
        });
    }
    if !routes.0.is_empty() {
        // The spent records and the Welcome routes (in kp_ref order: locks in one order).
        sqlx::query(
            "WITH spent AS ( \
                 INSERT INTO spent_key_packages (kp_ref, not_after_s) \
                 SELECT * FROM UNNEST($1::bytea[], $2::int8[]) \
                 ON CONFLICT (kp_ref) DO NOTHING) \
             INSERT INTO welcome_routes AS w (kp_ref, client_uri, uses) \
             SELECT r, c, 1 FROM UNNEST($3::bytea[], $4::text[]) AS t(r, c) ORDER BY r \
             ON CONFLICT (kp_ref) DO UPDATE SET \
             uses = CASE WHEN w.client_uri = EXCLUDED.client_uri THEN w.uses + 1 ELSE 1 END, \
             client_uri = EXCLUDED.client_uri",
        )
        .bind(&spent.0)
        .bind(&spent.1)
        .bind(&routes.0)
        .bind(&routes.1)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    }
    Ok(claims)
}

pub(super) async fn key_package_count(pool: &PgPool, client_uri: &str) -> Result<usize> {
    let row =
        sqlx::query("SELECT count(*) FROM key_packages WHERE client_uri = $1 AND NOT last_resort")
            .bind(client_uri)
            .fetch_one(pool)
            .await
            .map_err(db_err)?;
    size(get(&row, 0)?, "count")
}

/// The Welcome-route upsert: a route to another client replaces the old one; to the same
/// client it gains a use.
pub(super) async fn add_welcome_route(
    pool: &PgPool,
    kp_ref: &[u8],
    client_uri: &str,
) -> Result<()> {
    if kp_ref.is_empty() {
        return Err(StoreError::Invalid("empty KeyPackageRef".into()));
    }
    sqlx::query(
        "INSERT INTO welcome_routes AS w (kp_ref, client_uri, uses) VALUES ($1, $2, 1) \
         ON CONFLICT (kp_ref) DO UPDATE SET \
         uses = CASE WHEN w.client_uri = EXCLUDED.client_uri THEN w.uses + 1 ELSE 1 END, \
         client_uri = EXCLUDED.client_uri",
    )
    .bind(kp_ref)
    .bind(client_uri)
    .execute(pool)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Use one route per ref (in order; a ref listed twice uses two): the clients they lead to.
pub(super) async fn take_welcome_routes(
    c: &mut PgConnection,
    kp_refs: &[Vec<u8>],
) -> Result<Vec<String>> {
    // Locked in kp_ref order (one order for every transaction: no deadlock), read as they are
    // after any concurrent change committed.
    let rows = sqlx::query(
        "SELECT kp_ref, client_uri, uses FROM welcome_routes WHERE kp_ref = ANY($1) \
         ORDER BY kp_ref FOR UPDATE",
    )
    .bind(kp_refs)
    .fetch_all(&mut *c)
    .await
    .map_err(db_err)?;
    let mut routes: HashMap<Vec<u8>, (String, i64, bool)> = HashMap::new();
    for row in &rows {
        routes.insert(get(row, 0)?, (get(row, 1)?, get(row, 2)?, false));
    }
    let mut to = Vec::new();
    for kp_ref in kp_refs {
        if let Some((client, uses, used)) = routes.get_mut(kp_ref)
            && *uses > 0
        {
            *uses -= 1;
            *used = true;
            to.push(client.clone());
        }
    }
    // Used-up routes go; the others used keep their remaining uses.
    let mut gone: Vec<&[u8]> = Vec::new();
    let mut left: (Vec<&[u8]>, Vec<i64>) = (Vec::new(), Vec::new());
    for (kp_ref, (_, uses, used)) in &routes {
        match (used, uses) {
            (false, _) => {}
            (true, 0) => gone.push(kp_ref),
            (true, n) => {
                left.0.push(kp_ref);
                left.1.push(*n);
            }
        }
    }
    if !to.is_empty() {
        sqlx::query(
            "WITH gone AS (DELETE FROM welcome_routes WHERE kp_ref = ANY($1)) \
             UPDATE welcome_routes w SET uses = t.uses \
             FROM UNNEST($2::bytea[], $3::int8[]) AS t(kp_ref, uses) WHERE w.kp_ref = t.kp_ref",
        )
        .bind(&gone)
        .bind(&left.0)
        .bind(&left.1)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    }
    Ok(to)
}

pub(super) async fn purge_expired(pool: &PgPool, now_ms: u64) -> Result<Purged> {
    let row = sqlx::query(
        "WITH t AS (DELETE FROM tokens WHERE expires_ms <= $1 RETURNING 1), \
         k AS (DELETE FROM key_packages WHERE not_after_s < $2 RETURNING 1), \
         s AS (DELETE FROM spent_key_packages WHERE not_after_s < $2 RETURNING 1) \
         SELECT (SELECT count(*) FROM t), (SELECT count(*) FROM k), (SELECT count(*) FROM s)",
    )
    .bind(time(now_ms))
    .bind(time(now_ms / 1000))
    .fetch_one(pool)
    .await
    .map_err(db_err)?;
    Ok(Purged {
        tokens: unsigned(get(&row, 0)?, "count")?,
        key_packages: unsigned(get(&row, 1)?, "count")?,
        spent_key_packages: unsigned(get(&row, 2)?, "count")?,
    })
}
