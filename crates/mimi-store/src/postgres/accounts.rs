//! Accounts, access tokens and clients: one statement each.

use sqlx::PgPool;
use sqlx::postgres::PgRow;

use super::{conflict_as, db_err, get};
use crate::error::{Result, StoreError};
use crate::model::{ClientRecord, NewUser, UserRecord};
use crate::sqlite::{fold, time, unsigned};

const USER_COLUMNS: &str =
    "u.username, u.user_uri, u.password_hash, u.display_name, u.created_ms, u.searchable";

fn user(row: &PgRow) -> Result<UserRecord> {
    Ok(UserRecord {
        username: get(row, 0)?,
        user_uri: get(row, 1)?,
        password_hash: get(row, 2)?,
        display_name: get(row, 3)?,
        created_ms: unsigned(get(row, 4)?, "created_ms")?,
        searchable: get(row, 5)?,
    })
}

fn client_row(row: &PgRow) -> Result<ClientRecord> {
    Ok(ClientRecord {
        client_uri: get(row, 0)?,
        user_uri: get(row, 1)?,
        credential: get(row, 2)?,
        signature_key: get(row, 3)?,
        created_ms: unsigned(get(row, 4)?, "created_ms")?,
    })
}

pub(super) async fn create_user(pool: &PgPool, u: &NewUser) -> Result<()> {
    if u.username.is_empty() || u.user_uri.is_empty() {
        return Err(StoreError::Invalid(
            "a user needs a username and a URI".into(),
        ));
    }
    sqlx::query(
        "INSERT INTO users (user_uri, username, password_hash, display_name, \
         display_name_folded, created_ms) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&u.user_uri)
    .bind(&u.username)
    .bind(&u.password_hash)
    .bind(&u.display_name)
    .bind(fold(&u.display_name))
    .bind(time(u.created_ms))
    .execute(pool)
    .await
    .map_err(|e| {
        conflict_as(
            e,
            &[
                ("users_username_key", "username taken"),
                ("users_pkey", "user URI taken"),
            ],
        )
    })?;
    Ok(())
}

pub(super) async fn user_by_name(pool: &PgPool, username: &str) -> Result<Option<UserRecord>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.username = $1");
    sqlx::query(&sql)
        .bind(username)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(user)
        .transpose()
}

pub(super) async fn user_by_uri(pool: &PgPool, user_uri: &str) -> Result<Option<UserRecord>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.user_uri = $1");
    sqlx::query(&sql)
        .bind(user_uri)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(user)
        .transpose()
}

pub(super) async fn put_token(
    pool: &PgPool,
    token_hash: &[u8],
    user_uri: &str,
    expires_ms: u64,
) -> Result<()> {
    if token_hash.is_empty() {
        return Err(StoreError::Invalid("empty token hash".into()));
    }
    sqlx::query("INSERT INTO tokens (token_hash, user_uri, expires_ms) VALUES ($1, $2, $3)")
        .bind(token_hash)
        .bind(user_uri)
        .bind(time(expires_ms))
        .execute(pool)
        .await
        .map_err(
            |e| match conflict_as(e, &[("tokens_pkey", "token already stored")]) {
                StoreError::NotFound(_) => StoreError::NotFound(format!("user {user_uri}")),
                other => other,
            },
        )?;
    Ok(())
}

pub(super) async fn user_by_token(
    pool: &PgPool,
    token_hash: &[u8],
    now_ms: u64,
) -> Result<Option<UserRecord>> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM tokens t JOIN users u ON u.user_uri = t.user_uri \
         WHERE t.token_hash = $1 AND t.expires_ms > $2"
    );
    sqlx::query(&sql)
        .bind(token_hash)
        .bind(time(now_ms))
        .fetch_optional(pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(user)
        .transpose()
}

pub(super) async fn delete_token(pool: &PgPool, token_hash: &[u8]) -> Result<bool> {
    let r = sqlx::query("DELETE FROM tokens WHERE token_hash = $1")
        .bind(token_hash)
        .execute(pool)
        .await
        .map_err(db_err)?;
    Ok(r.rows_affected() > 0)
}

pub(super) async fn add_client(pool: &PgPool, client: &ClientRecord) -> Result<()> {
    if client.client_uri.is_empty() {
        return Err(StoreError::Invalid("empty client URI".into()));
    }
    sqlx::query(
        "INSERT INTO clients (client_uri, user_uri, credential, signature_key, created_ms) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&client.client_uri)
    .bind(&client.user_uri)
    .bind(&client.credential)
    .bind(&client.signature_key)
    .bind(time(client.created_ms))
    .execute(pool)
    .await
    .map_err(|e| {
        match conflict_as(
            e,
            &[
                ("clients_pkey", "client URI taken"),
                (
                    "clients_signature_key_key",
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

pub(super) async fn client(pool: &PgPool, client_uri: &str) -> Result<Option<ClientRecord>> {
    let sql = format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE client_uri = $1");
    sqlx::query(&sql)
        .bind(client_uri)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(client_row)
        .transpose()
}

pub(super) async fn clients_of(pool: &PgPool, user_uri: &str) -> Result<Vec<ClientRecord>> {
    let sql = format!(
        "SELECT {CLIENT_COLUMNS} FROM clients WHERE user_uri = $1 \
         ORDER BY created_ms, client_uri"
    );
    sqlx::query(&sql)
        .bind(user_uri)
        .fetch_all(pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(client_row)
        .collect()
}
