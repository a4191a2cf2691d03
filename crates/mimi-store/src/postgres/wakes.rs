//! Wake-ups between instances sharing one database (docs/decisions/0160). A commit that
//! delivers to local clients or queues outbox rows also NOTIFYs channel `mimi_wake` in its
//! transaction (PostgreSQL delivers a notification only when its transaction commits); every
//! instance LISTENs on one pooled connection and hands what it hears to its server
//! ([`Store::wakes`](crate::Store::wakes)).

use std::time::Duration;

use sqlx::PgConnection;
use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::mpsc;

use super::db_err;
use crate::error::Result;
use crate::model::StoreWake;

/// The channel.
const CHANNEL: &str = "mimi_wake";
/// Most bytes of one notification's payload (PostgreSQL refuses 8000 and more).
const MAX_PAYLOAD: usize = 7900;
/// Wake-ups waiting for the server before the listener waits for it.
const QUEUE: usize = 1024;

/// Notify the other instances, inside the transaction on `conn`, that these clients got
/// events and these destinations got outbox rows.
pub(super) async fn notify(
    conn: &mut PgConnection,
    clients: &[String],
    destinations: &[&str],
) -> Result<()> {
    let payloads = payloads(clients, destinations);
    if payloads.is_empty() {
        return Ok(());
    }
    sqlx::query("SELECT pg_notify($1, p) FROM UNNEST($2::text[]) AS p")
        .bind(CHANNEL)
        .bind(&payloads)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// The payloads naming `clients` (lines `c <uri>`) and `destinations` (lines `d <domain>`),
/// each under [`MAX_PAYLOAD`]; a name too long for any payload becomes `a` (wake all).
fn payloads(clients: &[String], destinations: &[&str]) -> Vec<String> {
    let lines = clients
        .iter()
        .map(|c| format!("c {c}"))
        .chain(destinations.iter().map(|d| format!("d {d}")));
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in lines {
        let line = if line.len() >= MAX_PAYLOAD {
            "a".to_string()
        } else {
            line
        };
        if !current.is_empty() && current.len() + 1 + line.len() > MAX_PAYLOAD {
            out.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(&line);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// What a payload names.
fn parse(payload: &str) -> Vec<StoreWake> {
    let (mut clients, mut destinations) = (Vec::new(), Vec::new());
    for line in payload.lines() {
        match line.split_once(' ') {
            Some(("c", client)) => clients.push(client.to_string()),
            Some(("d", destination)) => destinations.push(destination.to_string()),
            _ => return vec![StoreWake::All],
        }
    }
    let mut wakes = Vec::new();
    if !clients.is_empty() {
        wakes.push(StoreWake::Clients(clients));
    }
    if !destinations.is_empty() {
        wakes.push(StoreWake::Destinations(destinations));
    }
    wakes
}

/// LISTEN on a connection of `pool` and forward what the other instances commit, until the
/// receiver is dropped or the pool is closed. After the connection was lost (and
/// re-established), [`StoreWake::All`]: notifications sent meanwhile are gone.
pub(super) async fn listen(pool: &PgPool) -> Result<mpsc::Receiver<StoreWake>> {
    let mut listener = PgListener::connect_with(pool).await.map_err(db_err)?;
    listener.listen(CHANNEL).await.map_err(db_err)?;
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::spawn(async move {
        loop {
            let wakes = match listener.try_recv().await {
                Ok(Some(notification)) => parse(notification.payload()),
                Ok(None) => vec![StoreWake::All],
                Err(sqlx::Error::PoolClosed) => return,
                Err(_) => {
                    // The database is away: try again shortly; what was missed is woken
                    // as `All` once the connection is back.
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    vec![StoreWake::All]
                }
            };
            for wake in wakes {
                if tx.send(wake).await.is_err() {
                    return;
                }
            }
        }
    });
    Ok(rx)
}

#[cfg(test)]
mod tests {
    use super::{MAX_PAYLOAD, parse, payloads};
    use crate::model::StoreWake;

    #[test]
    fn payloads_round_trip_and_stay_under_the_limit() {
        let clients: Vec<String> = (0..500)
            .map(|i| format!("mimi://a.example/d/user{i}/1"))
            .collect();
        let destinations = vec!["b.example"];
        let sent = payloads(&clients, &destinations);
        assert!(sent.len() > 1, "split");
        let (mut got_clients, mut got_destinations) = (Vec::new(), Vec::new());
        for p in &sent {
            assert!(p.len() <= MAX_PAYLOAD);
            for wake in parse(p) {
                match wake {
                    StoreWake::Clients(c) => got_clients.extend(c),
                    StoreWake::Destinations(d) => got_destinations.extend(d),
                    StoreWake::All => panic!("nothing here is too long"),
                }
            }
        }
        assert_eq!(got_clients, clients);
        assert_eq!(got_destinations, ["b.example"]);
        assert!(payloads(&[], &[]).is_empty());
        assert_eq!(parse("x"), vec![StoreWake::All]);
        let huge = "x".repeat(MAX_PAYLOAD);
        assert_eq!(parse(&payloads(&[huge], &[])[0]), vec![StoreWake::All]);
    }
}
