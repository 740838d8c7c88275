//! Doorstep's sync server.
//!
//! - `storage`: the embedded SQLite database (a core store whose index tables are the read
//!   model, plus the change log and the directory), or PostgreSQL shared by several server
//!   processes with a replica in each (docs/scaling.md);
//! - `db`: the `Storage` trait the shared tables are queried through, for both engines;
//! - `directory`: units, people, devices, enrollment and tokens;
//! - `policy`: who may read and change which document;
//! - `sync`: merging a push and paging the change log (docs/protocol.md);
//! - `import`: a household roll from CSV;
//! - `http`: the endpoints; `demo`: the main job's demonstration;
//! - `accounts`: supervisors' and administrators' logins; `web`: their dashboard;
//!   `triage`: their actions on appeals, written as document changes;
//! - `tls`: HTTPS served by the server itself; `listen`: the accept loop (timeouts, a bound
//!   on connections, graceful shutdown).

pub mod accounts;
pub mod audit;
pub mod backup;
pub mod db;
pub mod demo;
pub mod directory;
pub mod fixture;
pub mod folded;
pub mod http;
pub mod import;
pub mod listen;
pub mod moves;
pub mod photos;
pub mod plans;
pub mod policy;
pub mod readers;
pub mod storage;
pub mod sync;
pub mod tls;
pub mod triage;
pub mod trim;
pub mod web;

use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything that can stop the server from starting or serving.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("data directory {path}: {reason}")]
    DataDir { path: PathBuf, reason: String },
    #[error("database: {0}")]
    Database(String),
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: SocketAddr, reason: String },
    #[error("TLS certificate or key {path}: {reason} / 证书或私钥无法使用")]
    Tls { path: PathBuf, reason: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl From<rusqlite::Error> for ServerError {
    fn from(e: rusqlite::Error) -> Self {
        ServerError::Database(e.to_string())
    }
}

/// How many sync requests one device may make: `burst` at once, then `per_sec` sustained.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeviceLimit {
    pub burst: f64,
    pub per_sec: f64,
}

impl Default for DeviceLimit {
    /// A phone syncs a few times an hour; 20 at once and 10 a second is far above any honest
    /// phone and far below what a runaway loop would send.
    fn default() -> Self {
        DeviceLimit {
            burst: 20.0,
            per_sec: 10.0,
        }
    }
}

/// How `serve` runs, beyond where its data is and where it listens.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub limit: DeviceLimit,
    /// HTTPS with these files; plain HTTP without.
    pub tls: Option<tls::TlsFiles>,
    /// Documents kept loaded ([`storage::DOC_CACHE`] by default).
    pub doc_cache: usize,
    /// A `postgres://` URL: the data is shared with other server processes there, and the data
    /// directory holds this process's replica (docs/scaling.md).
    pub database: Option<String>,
    /// A reverse proxy terminates HTTPS in front of this process: the dashboard's cookies are
    /// marked Secure as with `tls` (never from what a request's Host header says), and the
    /// client's address for rate limits is the one the proxy adds to `X-Forwarded-For`.
    pub behind_proxy: bool,
    /// Timeouts and the bound on open connections.
    pub limits: listen::Limits,
    /// Days a finished record (a done task, a closed appeal) stays on the phones once nothing
    /// happens to it (`Store::purge`; the phones use the same age). `None`: forever.
    pub purge_days: Option<u32>,
    /// The street keeps where photos were taken (their EXIF, GPS included); by default it is
    /// dropped on the phone and refused by the server (issue 21).
    pub keep_photo_location: bool,
    /// Days a change keeps its bytes in the change log (`trim.rs`); 0: for ever.
    pub log_keep_days: u32,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            limit: DeviceLimit::default(),
            tls: None,
            doc_cache: storage::DOC_CACHE,
            database: None,
            behind_proxy: false,
            limits: listen::Limits::default(),
            purge_days: Some(60),
            keep_photo_location: false,
            log_keep_days: trim::KEEP_DAYS,
        }
    }
}

/// Serves until SIGINT or SIGTERM, then lets requests in flight finish.
pub async fn serve(
    data: PathBuf,
    listen: SocketAddr,
    options: ServeOptions,
) -> Result<(), ServerError> {
    // A certificate that cannot be used stops the start, before the database is touched.
    let tls = options.tls.as_ref().map(tls::server_config).transpose()?;
    let store = {
        let data = data.clone();
        let database = options.database.clone();
        // The PostgreSQL client blocks: it connects (and the replica catches up) off the async
        // threads.
        tokio::task::spawn_blocking(move || {
            storage::ServerStore::open_with(&data, database.as_deref())
        })
        .await
        .map_err(|e| ServerError::Database(e.to_string()))??
    };
    store.set_doc_cache(options.doc_cache);
    store.lock().set_purge_after(
        options
            .purge_days
            .map(|d| i64::from(d) * doorstep_core::time::DAY),
    );
    if store.is_shared() {
        tokio::spawn(follow(store.clone()));
    }
    tokio::spawn(trim_log(store.clone(), options.log_keep_days));
    serve_store_limited(
        store,
        listen,
        &data.display().to_string(),
        &options,
        tls,
        |_| {},
    )
    .await
}

/// Serves an opened store; `on_listen` is told the bound address before the first request.
pub async fn serve_store(
    store: storage::ServerStore,
    listen: SocketAddr,
    data: &str,
    on_listen: impl FnOnce(SocketAddr),
) -> Result<(), ServerError> {
    serve_store_limited(
        store,
        listen,
        data,
        &ServeOptions::default(),
        None,
        on_listen,
    )
    .await
}

async fn serve_store_limited(
    store: storage::ServerStore,
    listen: SocketAddr,
    data: &str,
    options: &ServeOptions,
    tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    on_listen: impl FnOnce(SocketAddr),
) -> Result<(), ServerError> {
    let mut state = http::AppState::with_options(store, options.limit, options.keep_photo_location);
    {
        // Uploads a phone never finished, a month on.
        let (s, p) = (state.store.clone(), state.photos.clone());
        let dropped = tokio::task::spawn_blocking(move || {
            let r = s.read()?;
            p.drop_stale_partials(r.db())
        })
        .await
        .map_err(|e| ServerError::Database(e.to_string()))??;
        if dropped > 0 {
            tracing::info!(dropped, "stale partial photo uploads dropped");
        }
    }
    state.secure_cookies = tls.is_some() || options.behind_proxy;
    state.behind_proxy = options.behind_proxy;
    let app = http::router_with(state, options.limits.request_timeout);
    let listener =
        tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| ServerError::Listen {
                addr: listen,
                reason: e.to_string(),
            })?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(%addr, %scheme, data = %data, "listening");
    // The bound address on stdout, one line, for scripts and tests that ask for port 0.
    println!("listening on {addr}");
    on_listen(addr);
    match tls {
        Some(config) => {
            listen::serve(
                tls::TlsListener::new(listener, config)?,
                app,
                options.limits,
                shutdown_signal(),
            )
            .await
        }
        // No Nagle wait: a streamed body (a CSV export) is written in pieces, and each piece
        // after the first waited for the client's delayed ACK, 40 ms on Linux.
        None => {
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                let _ = tcp.set_nodelay(true);
            });
            listen::serve(listener, app, options.limits, shutdown_signal()).await
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// How often a server on PostgreSQL brings its replica up to the shared change log when no
/// request did: the dashboard's figures then lag other servers' merges by about this much.
pub const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Keeps the replica of a server on PostgreSQL caught up (syncs catch up by themselves first).
async fn follow(store: storage::ServerStore) {
    let mut tick = tokio::time::interval(FOLLOW_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let s = store.clone();
        match tokio::task::spawn_blocking(move || s.lock().catch_up()).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::debug!(rows = n, "replica caught up"),
            Ok(Err(e)) => tracing::warn!(error = %e, "replica could not catch up"),
            Err(e) => tracing::warn!(error = %e, "replica catch-up task failed"),
        }
    }
}

/// How often the change log is trimmed (`trim.rs`); also once at the start.
pub const TRIM_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Keeps `days` days of change bytes in the log (0: all), trimming what gets older every
/// [`TRIM_EVERY`], saves the documents settled for [`trim::SETTLED_DAYS`] as one snapshot each,
/// and once a night rewrites the store's file ([`trim::vacuum_due`]).
async fn trim_log(store: storage::ServerStore, days: u32) {
    let mut tick = tokio::time::interval(TRIM_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Some(cutoff) = trim::cutoff(directory::now_ms(), days) {
            let s = store.clone();
            match tokio::task::spawn_blocking(move || s.trim_log(cutoff)).await {
                Ok(Ok(t)) if t.rows == 0 && t.folded == 0 => {}
                Ok(Ok(t)) => tracing::info!(
                    rows = t.rows,
                    bytes = t.bytes,
                    folded = t.folded,
                    "change log trimmed"
                ),
                Ok(Err(e)) => tracing::warn!(error = %e, "change log could not be trimmed"),
                Err(e) => tracing::warn!(error = %e, "change log trim task failed"),
            }
        }
        // And the documents settled for a week saved as one snapshot each.
        let s = store.clone();
        let before = directory::now_ms() - trim::SETTLED_DAYS * doorstep_core::time::DAY;
        match tokio::task::spawn_blocking(move || s.compact_settled(before)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(docs = n, "settled documents compacted"),
            Ok(Err(e)) => tracing::warn!(error = %e, "documents could not be compacted"),
            Err(e) => tracing::warn!(error = %e, "compaction task failed"),
        }
        // And at night, the file rewritten without the space its deletes left.
        let s = store.clone();
        let vacuum = move || -> Result<Option<(u64, u64, f64)>, ServerError> {
            let now = directory::now_ms();
            if !trim::vacuum_due(now, s.vacuumed_at()?) {
                return Ok(None);
            }
            let t0 = std::time::Instant::now();
            let (before, after) = s.vacuum(now)?;
            Ok(Some((before, after, t0.elapsed().as_secs_f64())))
        };
        match tokio::task::spawn_blocking(vacuum).await {
            Ok(Ok(None)) => {}
            Ok(Ok(Some((before, after, secs)))) => {
                tracing::info!(before, after, secs, "store file rewritten (VACUUM)")
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "store file could not be rewritten"),
            Err(e) => tracing::warn!(error = %e, "VACUUM task failed"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT: shutting down"),
        _ = terminate => tracing::info!("SIGTERM: shutting down"),
    }
}
