//! The accept loop: each connection served by hyper's own HTTP/1.1 connection, with hyper's
//! header read timeout, a bound on open connections, the client's address for the handlers,
//! and a graceful shutdown by hyper-util.
//!
//! `axum::serve` offers none of the first three: a client sending its headers a byte at a time
//! held a connection (and a task) for ever, and a few thousand such clients held them all. The
//! whole request (the body included: `http::read_body_first` reads it inside the request) is
//! bounded by tower-http's timeout in the router (`http::router`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::serve::Listener;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// How the server treats slow or many clients.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A request's headers must have arrived by then.
    pub header_timeout: Duration,
    /// A request, body included, must have been read and answered by then (408 otherwise).
    pub request_timeout: Duration,
    /// Connections open at once; more wait in the kernel's queue until one closes.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            max_connections: 1024,
        }
    }
}

/// How long requests in flight get to finish once a shutdown was asked for.
const DRAIN: Duration = Duration::from_secs(30);

/// Serves `app` on `listener` until `shutdown` resolves, then lets requests in flight finish.
pub async fn serve<L>(
    mut listener: L,
    app: Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()>,
) where
    L: Listener<Addr = SocketAddr>,
{
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        let (io, addr) = tokio::select! {
            c = listener.accept() => c,
            _ = &mut shutdown => break,
        };
        let svc = app.clone().map_request(
            move |mut req: axum::extract::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(addr));
                req
            },
        );
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout);
        let conn =
            graceful.watch(http.serve_connection(TokioIo::new(io), TowerToHyperService::new(svc)));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%addr, error = %e, "connection ended");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after the drain time; stopping anyway");
    }
}
