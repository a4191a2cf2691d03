//! Abuse reports a hub accepted (protocol-06 §5.9; docs/decisions/0069).

use sqlx::PgPool;

use super::{db_err, get};
use crate::error::{Result, StoreError};
use crate::model::AbuseReportRecord;
use crate::sqlite::{count, time, unsigned};

pub(super) async fn record(pool: &PgPool, r: &AbuseReportRecord) -> Result<i64> {
    if r.room.is_empty() || r.reporter_domain.is_empty() || r.alleged_abuser.is_empty() {
        return Err(StoreError::Invalid(
            "an abuse report needs a room, a reporting provider and an alleged abuser".into(),
        ));
    }
    let row = sqlx::query(
        "INSERT INTO abuse_reports \
         (room, reporter_domain, reporting_user, alleged_abuser, reason_code, report, received_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(&r.room)
    .bind(&r.reporter_domain)
    .bind(r.reporting_user.as_deref())
    .bind(&r.alleged_abuser)
    .bind(i16::from(r.reason_code))
    .bind(&r.report)
    .bind(time(r.received_ms))
    .fetch_one(pool)
    .await
    .map_err(db_err)?;
    get(&row, 0)
}

pub(super) async fn list(
    pool: &PgPool,
    room: &str,
    limit: usize,
) -> Result<Vec<AbuseReportRecord>> {
    sqlx::query(
        "SELECT id, room, reporter_domain, reporting_user, alleged_abuser, reason_code, report, \
         received_ms FROM abuse_reports WHERE room = $1 ORDER BY id LIMIT $2",
    )
    .bind(room)
    .bind(count(limit))
    .fetch_all(pool)
    .await
    .map_err(db_err)?
    .iter()
    .map(|row| {
        let code: i16 = get(row, 5)?;
        Ok(AbuseReportRecord {
            id: get(row, 0)?,
            room: get(row, 1)?,
            reporter_domain: get(row, 2)?,
            reporting_user: get(row, 3)?,
            alleged_abuser: get(row, 4)?,
            reason_code: u8::try_from(code)
                .map_err(|_| StoreError::Corrupt(format!("abuse reason code {code}")))?,
            report: get(row, 6)?,
            received_ms: unsigned(get(row, 7)?, "received_ms")?,
        })
    })
    .collect()
}
