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

/// After the shared-stream-events migration of a database holding client "c"'s two
/// deliveries (cursor 1: a "welcome" with body 01 at 10 ms, cursor 2: a "fanout" with body
/// 02 at 20 ms): both are there as events of their own, and the stream goes on from there.
#[cfg(test)]
pub(crate) async fn assert_streams_migrated<S: crate::Store>(s: &S) {
    let events = s.events_after("c", 0, 10).await.unwrap();
    let seen: Vec<_> = events
        .iter()
        .map(|e| (e.cursor, e.kind.as_str(), e.body.clone(), e.created_ms))
        .collect();
    assert_eq!(
        seen,
        vec![(1, "welcome", vec![1], 10), (2, "fanout", vec![2], 20)]
    );
    let counts = s.counts().await.unwrap();
    assert_eq!((counts.stream_events, counts.stream_deliveries), (2, 2));
    s.set_follower_member("r", "c", true).await.unwrap();
    let notify = crate::FollowerNotify {
        room: "r".into(),
        hub: "z.example".into(),
        message_hash: [7; 32],
        kind: "fanout".into(),
        body: vec![3],
        created_ms: 30,
        welcome_refs: Vec::new(),
    };
    s.record_notify(&notify).await.unwrap();
    assert_eq!(s.events_after("c", 2, 10).await.unwrap()[0].body, vec![3]);
    assert_eq!(s.trim_events("c", 3).await.unwrap(), 3);
    let counts = s.counts().await.unwrap();
    assert_eq!((counts.stream_events, counts.stream_deliveries), (0, 0));
}
