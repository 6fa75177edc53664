//! The HTTP front of `motcua serve`: accepts connections under caps and timeouts the config sets,
//! so that idle or trickling clients cannot take the descriptors the service needs.
//!
//! `axum::serve` has neither a header timeout nor connection caps, so the accept loop is ours and
//! each connection is served by hyper's HTTP/1 server with a timer (its `header_read_timeout`).
//! Connections past the caps are not left in the listen backlog: they get one of a few reserve
//! slots where `/healthz` is answered and anything else gets `too_many_connections`, so probes
//! keep working under a flood.

use std::collections::{HashMap, VecDeque};
use std::future::Future as _;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Sleep;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::ServerConfig;

/// What the accept loop enforces, from `[server]`, the connection cap already fitted to the
/// open-files limit (`fit_to_open_files`).
#[derive(Debug, Clone)]
pub struct ConnLimits {
    pub header_timeout: Duration,
    pub send_timeout: Duration,
    pub max_connections: usize,
    pub max_per_client: usize,
    pub reserve: usize,
}

impl ConnLimits {
    pub fn new(cfg: &ServerConfig, open_files: Option<u64>) -> Self {
        let mut max_connections = cfg.max_connections;
        let mut reserve = cfg.reserve_connections;
        if let Some(n) = open_files {
            // Half the descriptors for connections, the rest for blobs, temp files, the database.
            let fit = usize::try_from(n / 2).unwrap_or(usize::MAX).max(1);
            if max_connections > fit {
                tracing::warn!(
                    configured = max_connections,
                    open_files = n,
                    "server.max_connections lowered to {fit}, half the open-files limit"
                );
                max_connections = fit;
            }
            reserve = reserve.min(usize::try_from(n / 16).unwrap_or(usize::MAX).max(1));
        }
        Self {
            header_timeout: Duration::from_secs(cfg.header_timeout_secs),
            send_timeout: Duration::from_secs(cfg.send_timeout_secs),
            max_connections,
            max_per_client: cfg.max_connections_per_client,
            reserve,
        }
    }
}

/// Serves `app` on `listener` until `stop`, then lets open requests finish for `grace`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    overflow: Router,
    limits: ConnLimits,
    stop: CancellationToken,
    grace: Duration,
) {
    let slots = Arc::new(Slots::new(limits.clone()));
    let tasks = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of descriptors (EMFILE/ENFILE) or a connection reset before accept: wait a
                // little instead of spinning; connections closing free descriptors.
                tracing::warn!("accept error: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        match slots.admit(peer) {
            Admission::Full(slot) => {
                let (app, stop, l) = (app.clone(), stop.clone(), limits.clone());
                tasks.spawn(async move {
                    connection(stream, app, &l, true, stop).await;
                    drop(slot);
                });
            }
            Admission::Refuse => {
                metrics::counter!("motcua_connections_refused_total").increment(1);
                drop(stream);
            }
            Admission::Reserve(id, per_client) => {
                metrics::counter!("motcua_connections_over_cap_total").increment(1);
                tracing::debug!(%peer, per_client, "connection over the cap: reserve slot");
                let (app, stop, slots2) = (overflow.clone(), stop.clone(), slots.clone());
                // A short header wait: a probe sends its request at once.
                let l = ConnLimits {
                    header_timeout: limits.header_timeout.min(Duration::from_secs(2)),
                    ..limits.clone()
                };
                let live = ReserveLive(slots.clone());
                let handle = tasks.spawn(async move {
                    connection(stream, app, &l, false, stop).await;
                    slots2.release_reserve(id);
                    drop(live);
                });
                slots.track_reserve(id, handle.abort_handle());
            }
        }
    }
    tasks.close();
    if tokio::time::timeout(grace, tasks.wait()).await.is_err() {
        tracing::warn!("connections still open after the shutdown grace period: closed");
    }
}

/// One connection: hyper's HTTP/1 server with a header timeout, keep-alive on full slots only.
async fn connection(
    stream: TcpStream,
    app: Router,
    l: &ConnLimits,
    keep_alive: bool,
    stop: CancellationToken,
) {
    let io = TokioIo::new(SendTimeout::new(stream, l.send_timeout));
    let svc = TowerToHyperService::new(app);
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(l.header_timeout)
        .keep_alive(keep_alive)
        .serve_connection(io, svc)
        .with_upgrades();
    tokio::pin!(conn);
    let done = tokio::select! {
        r = conn.as_mut() => Some(r),
        _ = stop.cancelled() => None,
    };
    let result = match done {
        Some(r) => r,
        None => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!("connection closed: {e}");
    }
}

enum Admission {
    Full(FullSlot),
    /// Past a cap: a reserve slot (`id`), because of the per-client cap or the global one.
    Reserve(u64, bool),
    /// Past the reserve too, while evicted reserve connections are still closing: closed at once.
    Refuse,
}

/// Connections served now, in all and per client address, and the reserve slots in use.
struct Slots {
    limits: ConnLimits,
    state: Mutex<SlotState>,
}

#[derive(Default)]
struct SlotState {
    total: usize,
    per_client: HashMap<IpAddr, usize>,
    reserve: VecDeque<(u64, tokio::task::AbortHandle)>,
    next_reserve: u64,
    /// Reserve connections whose task has not ended yet, evicted ones included: an abort takes
    /// effect when the runtime next drops the task, and their sockets count until then.
    reserve_live: usize,
}

/// Counts a reserve connection until its task ends, however it ends.
struct ReserveLive(Arc<Slots>);

impl Drop for ReserveLive {
    fn drop(&mut self) {
        self.0.lock().reserve_live -= 1;
    }
}

/// Frees its slot when the connection ends.
struct FullSlot {
    slots: Arc<Slots>,
    ip: IpAddr,
}

impl Drop for FullSlot {
    fn drop(&mut self) {
        let mut s = self.slots.lock();
        s.total -= 1;
        if let Some(n) = s.per_client.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                s.per_client.remove(&self.ip);
            }
        }
        metrics::gauge!("motcua_connections").set(s.total as f64);
    }
}

impl Slots {
    fn new(limits: ConnLimits) -> Self {
        Self {
            limits,
            state: Mutex::new(SlotState::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn admit(self: &Arc<Self>, peer: SocketAddr) -> Admission {
        let ip = peer.ip();
        let mut s = self.lock();
        let mine = s.per_client.get(&ip).copied().unwrap_or(0);
        let client_full = self.limits.max_per_client > 0 && mine >= self.limits.max_per_client;
        if !client_full && s.total < self.limits.max_connections {
            s.total += 1;
            *s.per_client.entry(ip).or_default() += 1;
            metrics::gauge!("motcua_connections").set(s.total as f64);
            return Admission::Full(FullSlot {
                slots: self.clone(),
                ip,
            });
        }
        if s.reserve_live >= 2 * self.limits.reserve {
            return Admission::Refuse;
        }
        // The reserve is full: the oldest reserve connection has had its chance.
        while s.reserve.len() >= self.limits.reserve {
            match s.reserve.pop_front() {
                Some((_, oldest)) => oldest.abort(),
                None => break,
            }
        }
        s.next_reserve += 1;
        s.reserve_live += 1;
        Admission::Reserve(s.next_reserve, client_full)
    }

    fn track_reserve(&self, id: u64, handle: tokio::task::AbortHandle) {
        let mut s = self.lock();
        if !handle.is_finished() {
            s.reserve.push_back((id, handle));
        }
    }

    fn release_reserve(&self, id: u64) {
        self.lock().reserve.retain(|(i, _)| *i != id);
    }
}

/// A socket whose writes fail with `TimedOut` after `limit` without progress: a client that
/// stops reading a response does not hold its connection forever.
struct SendTimeout<T> {
    inner: T,
    limit: Duration,
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<T> SendTimeout<T> {
    fn new(inner: T, limit: Duration) -> Self {
        Self {
            inner,
            limit,
            stalled: None,
        }
    }

    fn watch<R>(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        if r.is_ready() {
            self.stalled = None;
            return r;
        }
        let limit = self.limit;
        let sleep = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        if sleep.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading the response",
            )));
        }
        Poll::Pending
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for SendTimeout<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for SendTimeout<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch(cx, r)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_flush(cx);
        self.watch(cx, r)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.watch(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Raises the soft open-files limit to the hard one and returns (soft, hard) as they are now.
pub fn raise_open_files_limit() -> Option<(libc::rlim_t, libc::rlim_t)> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) != 0 {
            return None;
        }
        if r.rlim_cur < r.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: r.rlim_max,
                rlim_max: r.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                r.rlim_cur = r.rlim_max;
            }
        }
    }
    Some((r.rlim_cur, r.rlim_max))
}
