//! Serving an axum router on a TCP listener, optionally behind TLS, with graceful shutdown:
//! on shutdown the listener stops accepting and in-flight requests finish.

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::tls::certificate_domains;

/// The provider domains the peer's TLS client certificate authenticates; inserted into every
/// request of a mutual-TLS connection.
#[derive(Debug, Clone)]
pub struct PeerCertificate {
    /// Domains named by the certificate.
    pub domains: Arc<Vec<mimi_types::id::ProviderDomain>>,
}

/// Serve `router` on `listener` until `shutdown` completes. With `tls`, every connection must
/// complete a TLS handshake (the server config decides whether a client certificate is
/// required) and its requests carry a [`PeerCertificate`].
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    router: Router,
    shutdown: impl Future<Output = ()> + Send,
) {
    let graceful = GracefulShutdown::new();
    let acceptor = tls.map(TlsAcceptor::from);
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let router = router.clone();
        let acceptor = acceptor.clone();
        let watcher = graceful.watcher();
        // Each connection is its own task so a slow handshake never blocks accepting.
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            match acceptor {
                None => {
                    let service = TowerToHyperService::new(router);
                    let builder = Builder::new(TokioExecutor::new());
                    let conn =
                        builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    if let Err(e) = watcher.watch(conn.into_owned()).await {
                        tracing::debug!(%remote, error = %e, "connection ended with an error");
                    }
                }
                Some(acceptor) => {
                    let tls = match tokio::time::timeout(
                        std::time::Duration::from_secs(10),
                        acceptor.accept(stream),
                    )
                    .await
                    {
                        Ok(Ok(tls)) => tls,
                        Ok(Err(e)) => {
                            tracing::info!(%remote, error = %e, "TLS handshake refused");
                            return;
                        }
                        Err(_) => {
                            tracing::info!(%remote, "TLS handshake timed out");
                            return;
                        }
                    };
                    let domains = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|certs| certs.first())
                        .and_then(|leaf| certificate_domains(leaf).ok())
                        .unwrap_or_default();
                    let peer = PeerCertificate {
                        domains: Arc::new(domains),
                    };
                    let service =
                        tower::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                            let mut req: Request = req.map(axum::body::Body::new);
                            req.extensions_mut().insert(peer.clone());
                            router.clone().oneshot(req)
                        });
                    let builder = Builder::new(TokioExecutor::new());
                    let conn = builder.serve_connection_with_upgrades(
                        TokioIo::new(tls),
                        TowerToHyperService::new(service),
                    );
                    if let Err(e) = watcher.watch(conn.into_owned()).await {
                        tracing::debug!(%remote, error = %e, "connection ended with an error");
                    }
                }
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Middleware: a `413` is sent before the request body was read, and the server then closes
/// the connection; saying so (`Connection: close`) keeps the client from reusing it for its
/// next request, which would fail instead of reaching us.
pub async fn close_after_refused_body(
    req: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut response = next.run(req).await;
    if response.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    response
}
