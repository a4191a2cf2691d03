//! `mimi bench baseline`: the machine's limit for the fanout's traffic shape, so that the
//! provider's figures can be read as a fraction of what the same machine does with nothing
//! but the transport or the disk:
//!
//! - a minimal hyper + rustls server with mutual TLS (certificates from a fresh private CA,
//!   client certificate required) answering HTTP/2 POSTs of the same request size with a
//!   response of the same size, loaded over loopback by a few HTTP/2 connections with many
//!   streams each (the federation client's shape);
//! - raw SQLite inserts of rows of the same size with the provider's durability settings
//!   (WAL, `synchronous = FULL`): one row per transaction, and 64 per transaction.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use serde_json::{Value, json};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::{Latency, WorkDir, bench_err, cpu_seconds, write_json};
use crate::error::CliError;

/// HTTP/2 connections of the TLS load.
const CONNECTIONS: usize = 4;
/// Requests in flight on each connection.
const STREAMS: usize = 64;
/// Rows per transaction in the batched SQLite measurement (the delivery batch size).
const BATCH: usize = 64;

/// `mimi bench baseline`.
#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// Request body size, in bytes (a submitMessage of a 100-byte text is about 400).
    #[arg(long, default_value_t = 400, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    request_bytes: u64,
    /// Response body size, in bytes.
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    response_bytes: u64,
    /// Length of each measurement, in seconds.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Also write the figures to this file, as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// Run `mimi bench baseline`.
pub(super) fn run(args: BaselineArgs) -> Result<(), CliError> {
    if !(args.seconds > 0.0 && args.seconds.is_finite() && args.seconds <= 600.0) {
        return Err(CliError::Usage("--seconds must be in (0, 600]".into()));
    }
    let work = WorkDir::new(None, "baseline")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    let figures = measure(
        &runtime,
        &work.path,
        args.request_bytes as usize,
        args.response_bytes as usize,
        args.seconds,
    )?;
    write_json(
        args.json.as_ref(),
        &json!({ "scenario": "baseline", "baseline": figures }),
    )
}

/// Measure both limits; print and return the figures. `dir` holds the SQLite file.
pub(super) fn measure(
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
    request_bytes: usize,
    response_bytes: usize,
    seconds: f64,
) -> Result<Value, CliError> {
    std::fs::create_dir_all(dir).map_err(CliError::Runtime)?;
    let span = Duration::from_secs_f64(seconds);
    println!(
        "\nbaseline: the machine's limit for this traffic shape ({request_bytes}-byte requests, {response_bytes}-byte responses)"
    );
    let tls = runtime.block_on(mtls_http2(request_bytes, response_bytes, span))?;
    println!(
        "  mutual-TLS HTTP/2 POSTs ({CONNECTIONS} connections x {STREAMS} streams): {:.0}/s, latency p50 / p99 / p99.9 {}, CPU {:.2} s",
        tls.0,
        tls.1.millis(),
        tls.2
    );
    let sqlite = runtime.block_on(sqlite_inserts(dir, request_bytes, span))?;
    println!(
        "  durable SQLite inserts (WAL, synchronous=FULL): one per transaction {:.0}/s, {BATCH} per transaction {:.0} rows/s",
        sqlite.0, sqlite.1
    );
    Ok(json!({
        "request_bytes": request_bytes,
        "response_bytes": response_bytes,
        "mtls_http2": {
            "connections": CONNECTIONS,
            "streams_per_connection": STREAMS,
            "requests_per_s": tls.0,
            "latency_us": tls.1.json(),
            "cpu_seconds": tls.2,
        },
        "sqlite": {
            "one_per_transaction_per_s": sqlite.0,
            "rows_per_s_in_transactions_of_64": sqlite.1,
        },
    }))
}

/// A fresh CA, a server certificate for `baseline.example` and a client certificate, all
/// signed by it; the TLS configurations of both ends.
fn tls_configs() -> Result<(Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>), CliError> {
    let ca_key = KeyPair::generate().map_err(bench_err)?;
    let mut ca = CertificateParams::default();
    ca.distinguished_name
        .push(DnType::CommonName, "baseline CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let ca_cert = ca.self_signed(&ca_key).map_err(bench_err)?;
    let issuer = Issuer::new(ca, ca_key);
    let leaf = |name: &str, usage: ExtendedKeyUsagePurpose| -> Result<_, CliError> {
        let key = KeyPair::generate().map_err(bench_err)?;
        let mut params = CertificateParams::new(vec![name.to_string()]).map_err(bench_err)?;
        params.extended_key_usages = vec![usage];
        let cert = params.signed_by(&key, &issuer).map_err(bench_err)?;
        let der: PrivateKeyDer<'static> = PrivatePkcs8KeyDer::from(key.serialize_der()).into();
        Ok((vec![CertificateDer::from(cert.der().to_vec())], der))
    };
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(ca_cert.der().to_vec()))
        .map_err(bench_err)?;
    let roots = Arc::new(roots);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        roots.clone(),
        provider.clone(),
    )
    .build()
    .map_err(bench_err)?;
    let (cert, key) = leaf("baseline.example", ExtendedKeyUsagePurpose::ServerAuth)?;
    let mut server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(bench_err)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(cert, key)
        .map_err(bench_err)?;
    server.alpn_protocols = vec![b"h2".to_vec()];
    let (cert, key) = leaf("client.example", ExtendedKeyUsagePurpose::ClientAuth)?;
    let mut client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(bench_err)?
        .with_root_certificates(roots)
        .with_client_auth_cert(cert, key)
        .map_err(bench_err)?;
    client.alpn_protocols = vec![b"h2".to_vec()];
    Ok((Arc::new(server), Arc::new(client)))
}

/// Requests/s, latency and the process's CPU seconds of the mutual-TLS HTTP/2 load.
async fn mtls_http2(
    request_bytes: usize,
    response_bytes: usize,
    span: Duration,
) -> Result<(f64, Latency, f64), CliError> {
    let (server_tls, client_tls) = tls_configs()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(CliError::Runtime)?;
    let addr = listener.local_addr().map_err(CliError::Runtime)?;
    let acceptor = tokio_rustls::TlsAcceptor::from(server_tls);
    let answer = Bytes::from(vec![0u8; response_bytes]);
    let server = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, answer) = (acceptor.clone(), answer.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let answer = answer.clone();
                    async move {
                        // Read the whole (bounded) body, as a real handler does.
                        let body = Limited::new(req.into_body(), 1 << 20).collect().await;
                        let status = if body.is_ok() { 200 } else { 413 };
                        Response::builder().status(status).body(Full::new(answer))
                    }
                });
                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .max_concurrent_streams(256)
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    let connector = tokio_rustls::TlsConnector::from(client_tls);
    let body = Bytes::from(vec![7u8; request_bytes]);
    let count = Arc::new(AtomicU64::new(0));
    let cpu_before = cpu_seconds("self");
    let started = Instant::now();
    let deadline = started + span;
    let mut workers = Vec::new();
    for _ in 0..CONNECTIONS {
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(CliError::Runtime)?;
        let name = ServerName::try_from("baseline.example").map_err(bench_err)?;
        let tls = connector.connect(name, tcp).await.map_err(bench_err)?;
        let (sender, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
                .await
                .map_err(bench_err)?;
        tokio::spawn(conn);
        for _ in 0..STREAMS {
            let (mut sender, body, count) = (sender.clone(), body.clone(), count.clone());
            workers.push(tokio::spawn(async move {
                let mut micros = Vec::new();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let req = Request::post("https://baseline.example/notify/x")
                        .header("content-type", "application/mimi")
                        .body(Full::new(body.clone()));
                    let Ok(req) = req else { break };
                    let Ok(resp) = sender.send_request(req).await else {
                        break;
                    };
                    if resp.into_body().collect().await.is_err() {
                        break;
                    }
                    count.fetch_add(1, Ordering::Relaxed);
                    micros.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
                }
                micros
            }));
        }
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.map_err(bench_err)?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds("self") - cpu_before;
    server.abort();
    let n = count.load(Ordering::Relaxed) as f64;
    Ok((n / elapsed, Latency::of(all), cpu))
}

/// Rows/s of durable SQLite inserts: one per transaction, and [`BATCH`] per transaction.
async fn sqlite_inserts(
    dir: &Path,
    row_bytes: usize,
    span: Duration,
) -> Result<(f64, f64), CliError> {
    let path = dir.join("baseline.db");
    let _ = std::fs::remove_file(&path);
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .map_err(bench_err)?;
    sqlx::query(
        "CREATE TABLE rows (id INTEGER PRIMARY KEY, room TEXT NOT NULL, seq INTEGER NOT NULL, body BLOB NOT NULL)",
    )
    .execute(&pool)
    .await
    .map_err(bench_err)?;
    let body = vec![7u8; row_bytes];
    let mut rates = [0.0f64; 2];
    for (i, per_tx) in [1usize, BATCH].into_iter().enumerate() {
        let started = Instant::now();
        let mut rows = 0u64;
        while started.elapsed() < span {
            let mut tx = pool.begin().await.map_err(bench_err)?;
            for _ in 0..per_tx {
                sqlx::query("INSERT INTO rows (room, seq, body) VALUES (?, ?, ?)")
                    .bind("mimi://a.example/r/bench0")
                    .bind(rows as i64)
                    .bind(&body)
                    .execute(&mut *tx)
                    .await
                    .map_err(bench_err)?;
                rows += 1;
            }
            tx.commit().await.map_err(bench_err)?;
        }
        rates[i] = rows as f64 / started.elapsed().as_secs_f64();
    }
    pool.close().await;
    Ok((rates[0], rates[1]))
}
