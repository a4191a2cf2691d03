//! A signed-in device kept on disk: one SQLite file holding the provider's address, the
//! user, device and token, the event cursor, the OpenMLS storage (groups, keys) and a short
//! history of rendered messages for `mimi chat`. Every save is one transaction, so the MLS
//! state and the cursor it reflects never disagree after a crash (docs/decisions/0076).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use mimi_client::{ClientState, MimiClient, RemoteApi};
use mimi_content::MessageId;
use mimi_types::id::{ClientUri, RoomUri, UserUri};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{Row, SqliteConnection};

use super::session::Session;
use crate::error::CliError;

/// Messages of history kept per room.
const HISTORY_PER_ROOM: i64 = 200;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS profile (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS identity (
        client TEXT NOT NULL, user TEXT NOT NULL,
        signature_public_key BLOB NOT NULL, credential BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS mls_storage (key BLOB PRIMARY KEY, value BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS rooms (room TEXT PRIMARY KEY, group_id BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS sent (message BLOB PRIMARY KEY)",
    "CREATE TABLE IF NOT EXISTS history (
        id INTEGER PRIMARY KEY AUTOINCREMENT, room TEXT NOT NULL, line TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS message_ids (id TEXT PRIMARY KEY, room TEXT NOT NULL)",
];

/// A profile file.
#[derive(Debug, Clone)]
pub struct Profile {
    path: PathBuf,
    pool: SqlitePool,
}

fn db(e: sqlx::Error) -> CliError {
    CliError::Profile(e.to_string())
}

impl Profile {
    /// Open (creating if asked) the profile at `path`.
    pub async fn open(path: &Path, create: bool) -> Result<Profile, CliError> {
        if !create && !path.exists() {
            return Err(CliError::Profile(format!(
                "no profile at {}: run `mimi account register` or `mimi account login` first",
                path.display()
            )));
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| CliError::Read {
                path: parent.display().to_string(),
                source: e,
            })?;
        }
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(db)?
            .filename(path)
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(|e| CliError::Profile(format!("{}: {e}", path.display())))?;
        // The file holds the device's private keys (docs/decisions/0076).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(
                |e| CliError::Read {
                    path: path.display().to_string(),
                    source: e,
                },
            )?;
        }
        for statement in SCHEMA {
            sqlx::query(statement).execute(&pool).await.map_err(db)?;
        }
        Ok(Profile {
            path: path.to_path_buf(),
            pool,
        })
    }

    /// Write the whole session in one transaction.
    pub async fn save(&self, session: &Session) -> Result<(), CliError> {
        let state = session.mimi.state()?;
        let mut tx = self.pool.begin().await.map_err(db)?;
        let settings = [
            ("server", session.api.base_url().to_string()),
            ("token", session.api.token().unwrap_or_default().to_string()),
            ("username", session.username.clone()),
            ("device", session.device.clone()),
            ("cursor", session.cursor.to_string()),
        ];
        for (key, value) in settings {
            sqlx::query("INSERT OR REPLACE INTO profile (key, value) VALUES (?, ?)")
                .bind(key)
                .bind(value)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        replace_state(&mut tx, &state).await?;
        tx.commit().await.map_err(db)
    }

    /// Read the session back.
    pub async fn load(self) -> Result<Session, CliError> {
        let setting = |rows: &[(String, String)], key: &str| {
            rows.iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| {
                    CliError::Profile(format!("{}: no {key} recorded", self.path.display()))
                })
        };
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT key, value FROM profile")
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        let mut api = RemoteApi::new(&setting(&rows, "server")?)?;
        let token = setting(&rows, "token")?;
        if !token.is_empty() {
            api.set_token(Some(token));
        }
        let cursor = setting(&rows, "cursor")?
            .parse()
            .map_err(|e| CliError::Profile(format!("cursor: {e}")))?;
        let identity = sqlx::query(
            "SELECT client, user, signature_public_key, credential FROM identity LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        .ok_or_else(|| CliError::Profile(format!("{}: no device", self.path.display())))?;
        let mut state = ClientState {
            client: Some(ClientUri::parse(identity.get::<&str, _>(0))?),
            user: Some(UserUri::parse(identity.get::<&str, _>(1))?),
            signature_public_key: identity.get(2),
            credential: identity.get(3),
            ..ClientState::default()
        };
        state.storage = sqlx::query_as("SELECT key, value FROM mls_storage")
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        for row in sqlx::query("SELECT room, group_id FROM rooms")
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
        {
            state
                .rooms
                .push((RoomUri::parse(row.get::<&str, _>(0))?, row.get(1)));
        }
        state.sent = sqlx::query_scalar("SELECT message FROM sent")
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        Ok(Session {
            api,
            mimi: MimiClient::restore(state)?,
            device: setting(&rows, "device")?,
            username: setting(&rows, "username")?,
            cursor,
            profile: Some(self),
        })
    }

    /// Remember rendered lines of a room's history (the newest [`HISTORY_PER_ROOM`] stay).
    pub async fn remember(&self, room: &RoomUri, lines: &[String]) -> Result<(), CliError> {
        if lines.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await.map_err(db)?;
        for line in lines {
            sqlx::query("INSERT INTO history (room, line) VALUES (?, ?)")
                .bind(room.as_str())
                .bind(line)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        sqlx::query(
            "DELETE FROM history WHERE room = ?1 AND id NOT IN
             (SELECT id FROM history WHERE room = ?1 ORDER BY id DESC LIMIT ?2)",
        )
        .bind(room.as_str())
        .bind(HISTORY_PER_ROOM)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    /// The newest `limit` remembered lines of a room, oldest first.
    pub async fn history(&self, room: &RoomUri, limit: i64) -> Result<Vec<String>, CliError> {
        let mut lines: Vec<String> =
            sqlx::query_scalar("SELECT line FROM history WHERE room = ? ORDER BY id DESC LIMIT ?")
                .bind(room.as_str())
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
        lines.reverse();
        Ok(lines)
    }

    /// Remember a message ID seen in a room, so a prefix of it can name it later.
    pub async fn remember_message_id(
        &self,
        room: &RoomUri,
        id: &MessageId,
    ) -> Result<(), CliError> {
        sqlx::query("INSERT OR IGNORE INTO message_ids (id, room) VALUES (?, ?)")
            .bind(id.to_string())
            .bind(room.as_str())
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    /// The message of `room` whose ID starts with `prefix` (hex): a full ID is taken as it
    /// is; a prefix must name exactly one message seen.
    pub async fn resolve_message(
        &self,
        room: &RoomUri,
        prefix: &str,
    ) -> Result<MessageId, CliError> {
        let prefix = prefix.trim_start_matches('#').to_ascii_lowercase();
        if prefix.len() == 64 {
            return Ok(prefix.parse()?);
        }
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(CliError::Usage(format!("{prefix:?} is not a message ID")));
        }
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM message_ids WHERE room = ? AND id LIKE ? LIMIT 2")
                .bind(room.as_str())
                .bind(format!("{prefix}%"))
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
        match ids.as_slice() {
            [one] => Ok(one.parse()?),
            [] => Err(CliError::Usage(format!(
                "no message #{prefix} seen in {room}"
            ))),
            _ => Err(CliError::Usage(format!(
                "#{prefix} names several messages: give more digits"
            ))),
        }
    }

    /// Close the file.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Replace the client state tables with `state`.
async fn replace_state(tx: &mut SqliteConnection, state: &ClientState) -> Result<(), CliError> {
    for table in ["identity", "mls_storage", "rooms", "sent"] {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    }
    let missing = || CliError::Profile("client state without identity".into());
    sqlx::query(
        "INSERT INTO identity (client, user, signature_public_key, credential) VALUES (?, ?, ?, ?)",
    )
    .bind(state.client.as_ref().ok_or_else(missing)?.as_str())
    .bind(state.user.as_ref().ok_or_else(missing)?.as_str())
    .bind(&state.signature_public_key)
    .bind(&state.credential)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    for (key, value) in &state.storage {
        sqlx::query("INSERT INTO mls_storage (key, value) VALUES (?, ?)")
            .bind(key)
            .bind(value)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    }
    for (room, group_id) in &state.rooms {
        sqlx::query("INSERT INTO rooms (room, group_id) VALUES (?, ?)")
            .bind(room.as_str())
            .bind(group_id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    }
    for message in &state.sent {
        sqlx::query("INSERT INTO sent (message) VALUES (?)")
            .bind(message)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    }
    Ok(())
}
