//! Whole PostgreSQL databases: tests and `mimi bench` give each run a fresh one, and drop it
//! afterwards.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection as _;

use crate::error::{Result, StoreError};

/// Create database `name` on the server of `admin_url` (a URL of any database there, such
/// as `postgres://postgres@127.0.0.1:5432/postgres`) and return the URL of the new one.
/// `name` is lowercase ASCII letters, digits and `_`, at most 63 bytes.
pub async fn create_database(admin_url: &str, name: &str) -> Result<String> {
    check_name(name)?;
    let url = with_database(admin_url, name)?;
    let mut admin = sqlx::PgConnection::connect(admin_url)
        .await
        .map_err(|e| StoreError::Io(e.to_string()))?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .map_err(|e| StoreError::Database(e.to_string()))?;
    let _ = admin.close().await;
    Ok(url)
}

/// Drop database `name` on the server of `admin_url`, ending its open connections.
pub async fn drop_database(admin_url: &str, name: &str) -> Result<()> {
    check_name(name)?;
    let mut admin = sqlx::PgConnection::connect(admin_url)
        .await
        .map_err(|e| StoreError::Io(e.to_string()))?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .map_err(|e| StoreError::Database(e.to_string()))?;
    let _ = admin.close().await;
    Ok(())
}

/// A database made for one run (a test, a benchmark), dropped with [`ScratchDatabase::remove`]
/// or, failing that, when dropped.
#[derive(Debug)]
pub struct ScratchDatabase {
    url: String,
    admin_url: String,
    name: String,
    removed: bool,
}

impl ScratchDatabase {
    /// Create a database named `<prefix>_<unique suffix>` on the server of `admin_url`.
    pub async fn create(admin_url: &str, prefix: &str) -> Result<ScratchDatabase> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "{prefix}_{:x}_{nanos:x}_{:x}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let url = create_database(admin_url, &name).await?;
        Ok(ScratchDatabase {
            url,
            admin_url: admin_url.to_string(),
            name,
            removed: false,
        })
    }

    /// The new database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Drop the database (its open connections are ended).
    pub async fn remove(mut self) -> Result<()> {
        self.removed = true;
        drop_database(&self.admin_url, &self.name).await
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Possibly inside an async runtime: drop it from a thread with a runtime of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| StoreError::Io(e.to_string()))?;
            runtime.block_on(drop_database(&admin_url, &name))
        })
        .join();
    }
}

/// A database name that needs no quoting.
fn check_name(name: &str) -> Result<()> {
    let plain = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if name.is_empty() || name.len() > 63 || !plain || name.as_bytes()[0].is_ascii_digit() {
        return Err(StoreError::Invalid(format!(
            "database name {name:?}: use lowercase letters, digits and _ (at most 63)"
        )));
    }
    Ok(())
}

/// `url` with its database (the path) replaced by `name`, keeping its query.
fn with_database(url: &str, name: &str) -> Result<String> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority = base
        .find("://")
        .map(|i| i + 3)
        .ok_or_else(|| StoreError::Invalid(format!("{url:?} is not a postgres:// URL")))?;
    let path = base[authority..]
        .find('/')
        .map_or(base.len(), |i| authority + i);
    let query = query.map(|q| format!("?{q}")).unwrap_or_default();
    Ok(format!("{}/{name}{query}", &base[..path]))
}

#[cfg(test)]
mod tests {
    use super::{check_name, with_database};

    #[test]
    fn the_database_of_a_url_is_replaced() {
        let cases = [
            ("postgres://u@h:5432/postgres", "postgres://u@h:5432/x"),
            ("postgres://u@h", "postgres://u@h/x"),
            (
                "postgresql://h/db?sslmode=disable",
                "postgresql://h/x?sslmode=disable",
            ),
        ];
        for (url, want) in cases {
            assert_eq!(with_database(url, "x").unwrap(), want);
        }
        assert!(with_database("h/db", "x").is_err());
    }

    #[test]
    fn only_plain_names_are_taken() {
        check_name("mimi_t_0a1b").unwrap();
        for bad in ["", "1abc", "Upper", "a-b", "a;drop", &"a".repeat(64)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
