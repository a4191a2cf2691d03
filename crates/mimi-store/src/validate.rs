//! The checks of a write that need no database, the same for every backend: what an event,
//! a submission or a notify says must be about its room, and fit the schema's numbers.

use crate::error::{Result, StoreError};
use crate::model::{FollowerNotify, HubEvent, HubSubmission};
use crate::sqlite::exact;

/// The checks that need no database: what the event says must be about its room.
pub(crate) fn hub_event(e: &HubEvent) -> Result<()> {
    if e.room.is_empty() {
        return Err(StoreError::Invalid("empty room".into()));
    }
    exact(e.seq, "seq")?;
    match &e.snapshot {
        Some(s) if s.room != e.room => {
            return Err(StoreError::Invalid(format!(
                "a snapshot of {} in an event of {}",
                s.room, e.room
            )));
        }
        Some(s) if s.seq != e.seq => {
            return Err(StoreError::Invalid(format!(
                "a snapshot at sequence {} in event {}",
                s.seq, e.seq
            )));
        }
        None if e.seq == 0 => {
            return Err(StoreError::Invalid(
                "creating a room (sequence 0) needs its state".into(),
            ));
        }
        _ => {}
    }
    if let Some(o) = e.outbox.iter().find(|o| o.room != e.room) {
        return Err(StoreError::Invalid(format!(
            "an outbox row for {} in an event of {}",
            o.room, e.room
        )));
    }
    if let Some(d) = e.local.iter().find(|d| d.room != e.room) {
        return Err(StoreError::Invalid(format!(
            "local fanout for {} in an event of {}",
            d.room, e.room
        )));
    }
    e.local.iter().try_for_each(notify)
}

/// A submission is remembered with the event that accepted it.
pub(crate) fn submission(e: &HubEvent, s: &HubSubmission) -> Result<()> {
    if s.room != e.room || s.seq != e.seq {
        return Err(StoreError::Invalid(format!(
            "a submission of {} at sequence {} with event {} of {}",
            s.room, s.seq, e.seq, e.room
        )));
    }
    Ok(())
}

/// A notify names its room and hub, and Welcome routes are non-empty.
pub(crate) fn notify(notify: &FollowerNotify) -> Result<()> {
    if notify.room.is_empty() || notify.hub.is_empty() {
        return Err(StoreError::Invalid("empty room or hub in a notify".into()));
    }
    if notify.welcome_refs.iter().any(Vec::is_empty) {
        return Err(StoreError::Invalid(
            "empty KeyPackageRef in a Welcome".into(),
        ));
    }
    Ok(())
}
