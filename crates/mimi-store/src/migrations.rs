//! Schema migrations embedded in the binary, as a sqlx migration source with the checksums
//! `sqlx::migrate!` would give (SHA-384 of the SQL), without the proc-macro stack (decision
//! 0066). Each backend lists its files of `migrations/<backend>/`.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType};

/// A backend's migrations: (version, description, SQL), in version order.
pub(crate) type Migrations = &'static [(i64, &'static str, &'static str)];

/// The migrations of one backend as a migration source.
#[derive(Debug)]
pub(crate) struct Embedded(pub(crate) Migrations);

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = std::result::Result<Vec<Migration>, BoxDynError>> + Send + 's>>
    {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|&(version, description, sql)| {
                    Migration::new(
                        version,
                        Cow::Borrowed(description),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// Every file in `migrations/<backend>/` is in `migrations`, in version order, byte for
/// byte, and the last is `version`.
#[cfg(test)]
pub(crate) fn assert_embedded(backend: &str, migrations: Migrations, version: i64) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    assert_eq!(files.len(), migrations.len());
    for (file, (v, description, sql)) in files.iter().zip(migrations) {
        let name = file.file_stem().unwrap().to_str().unwrap();
        let (file_v, file_d) = name.split_once('_').unwrap();
        assert_eq!(file_v.parse::<i64>().unwrap(), *v);
        assert_eq!(file_d, *description);
        assert_eq!(std::fs::read_to_string(file).unwrap(), *sql);
    }
    assert_eq!(migrations.last().unwrap().0, version);
}
