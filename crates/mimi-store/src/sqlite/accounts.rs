//! Accounts, access tokens and clients.

use sqlx::sqlite::{SqliteConnection, SqliteRow};

use super::{conflict_as, db_err, fold, get, time, unsigned};
use crate::error::{Result, StoreError};
use crate::model::{ClientRecord, NewUser, UserRecord};

const USER_COLUMNS: &str =
    "u.username, u.user_uri, u.password_hash, u.display_name, u.created_ms, u.searchable";

fn user(row: &SqliteRow) -> Result<UserRecord> {
    Ok(UserRecord {
        username: get(row, 0)?,
        user_uri: get(row, 1)?,
        password_hash: get(row, 2)?,
        display_name: get(row, 3)?,
        created_ms: unsigned(get(row, 4)?, "created_ms")?,
        searchable: get::<i64>(row, 5)? != 0,
    })
}

fn client_row(row: &SqliteRow) -> Result<ClientRecord> {
    Ok(ClientRecord {
        client_uri: get(row, 0)?,
        user_uri: get(row, 1)?,
        credential: get(row, 2)?,
        signature_key: get(row, 3)?,
        created_ms: unsigned(get(row, 4)?, "created_ms")?,
    })
}

pub(super) async fn create_user(c: &mut SqliteConnection, u: &NewUser) -> Result<()> {
    if u.username.is_empty() || u.user_uri.is_empty() {
        return Err(StoreError::Invalid(
            "a user needs a username and a URI".into(),
        ));
    }
    sqlx::query(
        "INSERT INTO users (user_uri, username, password_hash, display_name, \
         display_name_folded, created_ms) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&u.user_uri)
    .bind(&u.username)
    .bind(&u.password_hash)
    .bind(&u.display_name)
    .bind(fold(&u.display_name))
    .bind(time(u.created_ms))
    .execute(&mut *c)
    .await
    .map_err(|e| {
        conflict_as(
            e,
            &[
                ("users.username", "username taken"),
                ("users.user_uri", "user URI taken"),
            ],
        )
    })?;
    Ok(())
}

pub(super) async fn user_by_name(
    c: &mut SqliteConnection,
    username: &str,
) -> Result<Option<UserRecord>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.username = ?");
    sqlx::query(&sql)
        .bind(username)
        .fetch_optional(&mut *c)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(user)
        .transpose()
}

pub(super) async fn user_by_uri(
    c: &mut SqliteConnection,
    user_uri: &str,
) -> Result<Option<UserRecord>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.user_uri = ?");
    sqlx::query(&sql)
        .bind(user_uri)
        .fetch_optional(&mut *c)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(user)
        .transpose()
}

pub(super) async fn put_token(
    c: &mut SqliteConnection,
    token_hash: &[u8],
    user_uri: &str,
    expires_ms: u64,
) -> Result<()> {
    if token_hash.is_empty() {
        return Err(StoreError::Invalid("empty token hash".into()));
    }
    sqlx::query("INSERT INTO tokens (token_hash, user_uri, expires_ms) VALUES (?, ?, ?)")
        .bind(token_hash)
        .bind(user_uri)
        .bind(time(expires_ms))
        .execute(&mut *c)
        .await
        .map_err(
            |e| match conflict_as(e, &[("tokens.token_hash", "token already stored")]) {
                StoreError::NotFound(_) => StoreError::NotFound(format!("user {user_uri}")),
                other => other,
            },
        )?;
    Ok(())
}

pub(super) async fn user_by_token(
    c: &mut SqliteConnection,
    token_hash: &[u8],
    now_ms: u64,
) -> Result<Option<UserRecord>> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM tokens t JOIN users u ON u.user_uri = t.user_uri \
         WHERE t.token_hash = ? AND t.expires_ms > ?"
    );
    sqlx::query(&sql)
        .bind(token_hash)
        .bind(time(now_ms))
        .fetch_optional(&mut *c)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(user)
        .transpose()
}

pub(super) async fn delete_token(c: &mut SqliteConnection, token_hash: &[u8]) -> Result<bool> {
    let r = sqlx::query("DELETE FROM tokens WHERE token_hash = ?")
        .bind(token_hash)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(r.rows_affected() > 0)
}

pub(super) async fn add_client(c: &mut SqliteConnection, client: &ClientRecord) -> Result<()> {
    if client.client_uri.is_empty() {
        return Err(StoreError::Invalid("empty client URI".into()));
    }
    sqlx::query(
        "INSERT INTO clients (client_uri, user_uri, credential, signature_key, created_ms) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&client.client_uri)
    .bind(&client.user_uri)
    .bind(&client.credential)
    .bind(&client.signature_key)
    .bind(time(client.created_ms))
    .execute(&mut *c)
    .await
    .map_err(|e| {
        match conflict_as(
            e,
            &[
                ("clients.client_uri", "client URI taken"),
                (
                    "clients.signature_key",
                    "signature key registered for another client",
                ),
            ],
        ) {
            StoreError::NotFound(_) => StoreError::NotFound(format!("user {}", client.user_uri)),
            other => other,
        }
    })?;
    Ok(())
}

const CLIENT_COLUMNS: &str = "client_uri, user_uri, credential, signature_key, created_ms";

pub(super) async fn client(
    c: &mut SqliteConnection,
    client_uri: &str,
) -> Result<Option<ClientRecord>> {
    let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE client_uri = ?");
    sqlx::query(&sql)
        .bind(client_uri)
        .fetch_optional(&mut *c)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(client_row)
        .transpose()
}

pub(super) async fn clients_of(
    c: &mut SqliteConnection,
    user_uri: &str,
) -> Result<Vec<ClientRecord>> {
    let sql = format!(
        "SELECT {CLIENT_COLUMNS} FROM clients WHERE user_uri = ? ORDER BY created_ms, client_uri"
    );
    sqlx::query(&sql)
        .bind(user_uri)
        .fetch_all(&mut *c)
        .await
        .map_err(db_err)?
        .iter()
        .map(client_row)
        .collect()
}
