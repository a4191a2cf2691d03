//! A device's event stream: what the hubs fanned out to it, in cursor order. Two ways to read
//! it, both resumable from the last cursor seen without gaps or duplicates
//! (docs/decisions/0075): a (long-)poll endpoint and Server-Sent Events.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use mimi_store::{DeliveryRow, Store};
use mimi_types::client_api::{EventsResponse, StreamEvent};
use mimi_types::id::{ClientUri, RoomUri};
use serde::Deserialize;

use super::Api;
use super::auth::Authed;
use super::error::ApiError;
use crate::limits::StreamSlot;
use crate::metrics::Limit;
use crate::provider::now_ms;

/// Events per poll answer unless the client asks for fewer.
const DEFAULT_LIMIT: usize = 100;
/// Most events per poll answer.
const MAX_LIMIT: usize = 1000;
/// Longest long poll.
const MAX_WAIT_MS: u64 = 30_000;
/// Events read from the store at a time for a stream.
const STREAM_BATCH: usize = 100;
/// A waiting stream reads the store when deliveries to its client are committed
/// ([`crate::wakeups`]), and at least this often anyway (a safety net: idle streams cost
/// next to nothing).
const IDLE_POLL: Duration = Duration::from_secs(300);
/// An idle event stream sends a comment this often, so that proxies keep it open.
const KEEP_ALIVE: Duration = Duration::from_secs(30);
/// How often an open stream checks that its token is still valid (logout ends it).
const RECHECK_TOKEN: Duration = Duration::from_secs(30);

/// Query of `GET /client/v1/devices/{device}/events`.
#[derive(Debug, Deserialize)]
pub(crate) struct EventsQuery {
    /// Return events after this cursor (default 0: from the beginning).
    after: Option<u64>,
    /// At most this many (default 100, at most 1000).
    limit: Option<usize>,
    /// With nothing to return, wait up to this long for an event (at most 30000).
    wait_ms: Option<u64>,
}

/// Query of `GET /client/v1/devices/{device}/stream`.
#[derive(Debug, Deserialize)]
pub(crate) struct StreamQuery {
    /// Start after this cursor unless `Last-Event-ID` says otherwise.
    after: Option<u64>,
}

fn api_event(row: DeliveryRow) -> Result<StreamEvent, ApiError> {
    let room = RoomUri::parse(&row.room)
        .map_err(|e| ApiError::internal(format!("stored event room {}: {e}", row.room)))?;
    Ok(StreamEvent {
        cursor: row.cursor,
        room,
        kind: row.kind,
        body: row.body.into(),
    })
}

/// Refuse a cursor past the end of the stream: the client has state this provider never
/// gave it (another provider's, or a database restored from backup).
async fn check_cursor<S: Store>(
    api: &Api<S>,
    client: &ClientUri,
    after: u64,
) -> Result<u64, ApiError> {
    let latest = api.p.store.latest_cursor(client.as_str()).await?;
    if after > latest {
        return Err(ApiError::bad_request(format!(
            "cursor {after} is past the end of the stream ({latest})"
        )));
    }
    Ok(latest)
}

/// Wait until `woken` fires (true), `delay` passes or the provider stops.
async fn pause<S: Store>(
    api: &mut Api<S>,
    woken: std::pin::Pin<&mut tokio::sync::futures::Notified<'_>>,
    delay: Duration,
) -> bool {
    tokio::select! {
        () = woken => true,
        () = tokio::time::sleep(delay) => false,
        _ = api.stop.changed() => false,
    }
}

/// `GET /client/v1/devices/{device}/events?after=&limit=&wait_ms=`.
pub(crate) async fn poll<S: Store>(
    State(mut api): State<Api<S>>,
    authed: Authed,
    Path(device): Path<String>,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Json<EventsResponse>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let (client, _) = api.device(&authed.user, &device).await?;
    let after = query.after.unwrap_or(0);
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
    if limit == 0 {
        return Err(ApiError::bad_request("limit must be at least 1"));
    }
    let wait = Duration::from_millis(query.wait_ms.unwrap_or(0).min(MAX_WAIT_MS));
    check_cursor(&api, &client, after).await?;
    let deadline = tokio::time::Instant::now() + wait;
    let wake = api.p.streams.subscribe(client.as_str());
    let rows = loop {
        // Listening before reading: a delivery committed after the read wakes us.
        let woken = wake.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let rows = api.p.events(&client, after, limit).await?;
        let now = tokio::time::Instant::now();
        if !rows.is_empty() || now >= deadline || api.stopping() {
            break rows;
        }
        pause(&mut api, woken, IDLE_POLL.min(deadline - now)).await;
    };
    let latest = api.p.store.latest_cursor(client.as_str()).await?;
    let events = rows
        .into_iter()
        .map(api_event)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(EventsResponse { events, latest }))
}

/// `GET /client/v1/devices/{device}/stream`: Server-Sent Events, one per stream event, `id:`
/// its cursor and `data:` its JSON ([`StreamEvent`]). Resumes after `Last-Event-ID` (what an
/// `EventSource` sends when it reconnects) or else `?after=`.
pub(crate) async fn stream<S: Store>(
    State(api): State<Api<S>>,
    authed: Authed,
    Path(device): Path<String>,
    headers: HeaderMap,
    query: Result<Query<StreamQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let (client, _) = api.device(&authed.user, &device).await?;
    let last_event_id = match headers.get("last-event-id") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| ApiError::bad_request("Last-Event-ID must be a cursor"))?,
        ),
    };
    let after = last_event_id.or(query.after).unwrap_or(0);
    check_cursor(&api, &client, after).await?;
    // At most quotas.streams_per_device / _per_user open at once (docs/decisions/0091); the
    // slot is given back when the stream ends or its client goes away.
    let slot = api
        .limits
        .open_stream(authed.user.as_str(), client.as_str())
        .map_err(|t| {
            let whose = match t.limit {
                Limit::StreamsPerDevice => client.to_string(),
                _ => authed.user.to_string(),
            };
            ApiError::throttled(t, format!("too many open event streams of {whose}"))
        })?;
    let state = StreamState {
        _slot: slot,
        wake: api.p.streams.subscribe(client.as_str()),
        api,
        client,
        cursor: after,
        token_hash: authed.token_hash,
        token_checked: tokio::time::Instant::now(),
        buffer: VecDeque::new(),
    };
    let events = futures_util::stream::unfold(state, |mut s| async move {
        let event = s.next().await?;
        Some((Ok::<_, Infallible>(event), s))
    });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response())
}

struct StreamState<S: Store> {
    _slot: StreamSlot,
    /// Fires when deliveries to this client are committed.
    wake: std::sync::Arc<tokio::sync::Notify>,
    api: Api<S>,
    client: ClientUri,
    cursor: u64,
    token_hash: [u8; 32],
    token_checked: tokio::time::Instant,
    buffer: VecDeque<Event>,
}

impl<S: Store> StreamState<S> {
    /// Whether the stream's token is still valid (logout ends the stream); notes the check.
    async fn token_still_valid(&mut self) -> bool {
        match self
            .api
            .p
            .store
            .user_by_token(&self.token_hash, now_ms())
            .await
        {
            Ok(Some(_)) => {
                self.token_checked = tokio::time::Instant::now();
                true
            }
            _ => false,
        }
    }

    /// The next event; `None` ends the stream (shutdown, token gone, storage failure: the
    /// client reconnects with `Last-Event-ID` and loses nothing).
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(e) = self.buffer.pop_front() {
                return Some(e);
            }
            if self.api.stopping() {
                return None;
            }
            if self.token_checked.elapsed() >= RECHECK_TOKEN && !self.token_still_valid().await {
                return None;
            }
            // Listening before reading: a delivery committed after the read wakes us.
            let wake = self.wake.clone();
            let woken = wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            let rows = match self
                .api
                .p
                .events(&self.client, self.cursor, STREAM_BATCH)
                .await
            {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!(client = %self.client, error = %e, "event stream ends: storage failed");
                    return None;
                }
            };
            if rows.is_empty() {
                // Wait for a delivery; when the token is due, check it and wait on without
                // reading the stream again (the wake-up says when there is something to read).
                let read_at = tokio::time::Instant::now();
                loop {
                    let until_token = RECHECK_TOKEN.saturating_sub(self.token_checked.elapsed());
                    let until_poll = IDLE_POLL.saturating_sub(read_at.elapsed());
                    let delay = until_token.min(until_poll);
                    let woke = pause(&mut self.api, woken.as_mut(), delay).await;
                    if woke || self.api.stopping() || read_at.elapsed() >= IDLE_POLL {
                        break;
                    }
                    if self.token_checked.elapsed() >= RECHECK_TOKEN
                        && !self.token_still_valid().await
                    {
                        return None;
                    }
                }
                continue;
            }
            for row in rows {
                let cursor = row.cursor;
                let Ok(event) = api_event(row) else {
                    return None;
                };
                let Ok(data) = serde_json::to_string(&event) else {
                    return None;
                };
                self.buffer
                    .push_back(Event::default().id(cursor.to_string()).data(data));
                self.cursor = cursor;
            }
        }
    }
}
