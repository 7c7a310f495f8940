//! The connection loop: the router on hyper's HTTP/1.1, and over Folio's own TLS on HTTP/2 or
//! HTTP/1.1 as ALPN chose, with what a server facing the internet needs and `axum::serve` does
//! not set: a deadline for a request's headers (a slow client cannot hold a connection open by
//! trickling them, and an idle keep-alive connection is closed after the same time), the same
//! deadline for a TLS handshake, a deadline for each write (a client that never reads its
//! response cannot hold one either), a cap on connections per address, and a shutdown that lets
//! requests in flight finish.

use std::{
    collections::HashMap,
    future::Future,
    io,
    net::{IpAddr, SocketAddr},
    pin::{Pin, pin},
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Duration,
};

use axum::{extract::ConnectInfo, http::HeaderValue, response::Response};
use hyper::{
    body::Incoming,
    header,
    server::conn::{http1, http2},
    service::service_fn,
};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::{GracefulShutdown, Watcher},
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    time::Sleep,
};
use tower::ServiceExt;

use crate::tls::Https;

/// How long requests in flight may take to finish once shutdown starts.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// Connections one client address may hold at once (browsers open about six per site). Off
/// behind a reverse proxy, where every connection comes from the proxy.
pub const CONNECTIONS_PER_ADDRESS: usize = 64;

/// What a connection is held to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// For a request's headers, for each write of a response, and for an idle connection.
    pub client_timeout: Duration,
    /// Connections at once from one address; none: no cap.
    pub per_address: Option<usize>,
}

/// A listening socket and what it speaks.
pub struct Door {
    pub listener: TcpListener,
    pub kind: DoorKind,
}

#[derive(Clone)]
pub enum DoorKind {
    /// Plain HTTP serving the blog (Folio on its own, or behind a proxy).
    Plain,
    /// Plain HTTP beside Folio's own HTTPS: the CA's challenges, and readers sent to HTTPS.
    BesideHttps(Arc<Https>),
    /// HTTPS: HTTP/2 or HTTP/1.1 as ALPN chose.
    Https {
        acceptor: tokio_rustls::TlsAcceptor,
        /// `Strict-Transport-Security`, when asked for.
        hsts: Option<HeaderValue>,
    },
}

impl Door {
    /// Plain HTTP serving the blog.
    pub fn plain(listener: TcpListener) -> Self {
        Self {
            listener,
            kind: DoorKind::Plain,
        }
    }
}

impl DoorKind {
    pub fn https(https: &Arc<Https>) -> Result<Self, rustls::Error> {
        Ok(Self::Https {
            acceptor: tokio_rustls::TlsAcceptor::from(https.server_config()?),
            hsts: super::https::hsts(https),
        })
    }
}

/// What every connection shares.
struct Shared {
    app: super::App,
    limits: Limits,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// Serves `app` at every door until `shutdown` resolves, then finishes the requests in flight.
pub async fn serve(
    doors: Vec<Door>,
    app: super::App,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let shared = Arc::new(Shared {
        app,
        limits,
        open: Arc::default(),
    });
    let mut shutdown = pin!(shutdown);
    loop {
        let accept = std::future::poll_fn(|cx| {
            for door in &doors {
                if let Poll::Ready(accepted) = door.listener.poll_accept(cx) {
                    return Poll::Ready((accepted, &door.kind));
                }
            }
            Poll::Pending
        });
        let (stream, remote, kind) = tokio::select! {
            (accepted, kind) = accept => match accepted {
                Ok((stream, remote)) => (stream, remote, kind.clone()),
                Err(error) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(slot) = Slot::take(&shared.open, remote.ip(), limits.per_address) else {
            // Over the cap: closed at once, before a byte is read.
            tracing::debug!(%remote, "too many connections from one address");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let result = match kind {
                DoorKind::Plain => plain(&shared, watcher, stream, remote, None).await,
                DoorKind::BesideHttps(https) => {
                    plain(&shared, watcher, stream, remote, Some(https)).await
                }
                DoorKind::Https { acceptor, hsts } => {
                    secure(&shared, watcher, stream, remote, &acceptor, hsts).await
                }
            };
            if let Err(error) = result {
                tracing::debug!(%error, %remote, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(doors);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("requests still running after {SHUTDOWN_GRACE:?}; stopping anyway");
        }
    }
}

type ConnectionError = Box<dyn std::error::Error + Send + Sync>;

/// HTTP/1.1 on a plain socket; beside Folio's HTTPS, readers are sent there.
async fn plain(
    shared: &Shared,
    watcher: Watcher,
    stream: TcpStream,
    remote: SocketAddr,
    beside: Option<Arc<Https>>,
) -> Result<(), ConnectionError> {
    let app = shared.app.clone();
    let service = service_fn(move |mut request: hyper::Request<Incoming>| {
        let redirect = beside
            .as_deref()
            .and_then(|https| super::https::to_https(&request, https));
        request
            .extensions_mut()
            .insert(ConnectInfo::<SocketAddr>(remote));
        let app = app.clone();
        async move {
            match redirect {
                Some(response) => Ok(response),
                None => app.oneshot(request).await,
            }
        }
    });
    let io = TokioIo::new(WriteDeadline::new(stream, shared.limits.client_timeout));
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(shared.limits.client_timeout)
        .serve_connection(io, service);
    Ok(watcher.watch(connection).await?)
}

/// TLS, then HTTP/2 or HTTP/1.1 as the client and ALPN agreed.
async fn secure(
    shared: &Shared,
    watcher: Watcher,
    stream: TcpStream,
    remote: SocketAddr,
    acceptor: &tokio_rustls::TlsAcceptor,
    hsts: Option<HeaderValue>,
) -> Result<(), ConnectionError> {
    let timeout = shared.limits.client_timeout;
    let tls = tokio::time::timeout(
        timeout,
        acceptor.accept(WriteDeadline::new(stream, timeout)),
    )
    .await
    .map_err(|_| "the TLS handshake took too long")??;
    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
    let app = shared.app.clone();
    let service = service_fn(move |mut request: hyper::Request<Incoming>| {
        // HTTP/2 names the host in the URI (`:authority`), not a Host header; the handlers
        // (and the page cache's key) read the header.
        if !request.headers().contains_key(header::HOST)
            && let Some(host) = request
                .uri()
                .authority()
                .and_then(|a| HeaderValue::try_from(a.as_str()).ok())
        {
            request.headers_mut().insert(header::HOST, host);
        }
        request
            .extensions_mut()
            .insert(ConnectInfo::<SocketAddr>(remote));
        let app = app.clone();
        let hsts = hsts.clone();
        async move {
            let mut response: Response = app.oneshot(request).await?;
            if let Some(hsts) = hsts {
                response
                    .headers_mut()
                    .insert(header::STRICT_TRANSPORT_SECURITY, hsts);
            }
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    let io = TokioIo::new(tls);
    if h2 {
        let connection = http2::Builder::new(InlineFirst)
            .timer(TokioTimer::new())
            // Pings find a peer that went away without closing (a phone off the network).
            .keep_alive_interval(Some(Duration::from_secs(30)))
            .keep_alive_timeout(timeout)
            .serve_connection(io, service);
        Ok(watcher.watch(connection).await?)
    } else {
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(timeout)
            .serve_connection(io, service);
        Ok(watcher.watch(connection).await?)
    }
}

/// Runs each HTTP/2 stream's task once where the connection hands it over, and spawns it only
/// if it is not done by then. A page the cache answers is then written without a task of its
/// own and without waking another worker thread for it: hyper spawning every stream cost a
/// cached page over HTTP/2 a third more CPU than over HTTP/1.1 (`bench/https`).
#[derive(Clone, Copy)]
struct InlineFirst;

impl<F> hyper::rt::Executor<F> for InlineFirst
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        let mut future = Box::pin(future);
        // The task is spawned if this poll leaves it pending, and a spawned task is polled
        // at once with its own waker: nothing waits on the no-op one.
        let mut cx = Context::from_waker(std::task::Waker::noop());
        if future.as_mut().poll(&mut cx).is_pending() {
            tokio::spawn(future);
        }
    }
}

/// One connection's place in the count of its address; given back when dropped.
struct Slot {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    address: IpAddr,
}

impl Slot {
    fn take(
        open: &Arc<Mutex<HashMap<IpAddr, usize>>>,
        address: IpAddr,
        cap: Option<usize>,
    ) -> Option<Self> {
        let mut counts = open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = counts.entry(address).or_default();
        if cap.is_some_and(|cap| *count >= cap) {
            return None;
        }
        *count += 1;
        Some(Self {
            open: open.clone(),
            address,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

/// A socket whose writes must make progress within `timeout`: a client that stops reading
/// (its window full) gets its connection closed instead of holding it for ever.
struct WriteDeadline<S> {
    inner: S,
    timeout: Duration,
    /// Running while a write waits on the client.
    waiting: Option<Pin<Box<Sleep>>>,
}

impl<S> WriteDeadline<S> {
    fn new(inner: S, timeout: Duration) -> Self {
        Self {
            inner,
            timeout,
            waiting: None,
        }
    }

    /// A write that did not finish: start the clock, or fail once it has run out.
    fn pending<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let timeout = self.timeout;
        let deadline = self
            .waiting
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WriteDeadline<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WriteDeadline<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Ready(result) => {
                self.waiting = None;
                Poll::Ready(result)
            }
            Poll::Pending => self.pending(cx),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Ready(result) => {
                self.waiting = None;
                Poll::Ready(result)
            }
            Poll::Pending => self.pending(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(result) => {
                self.waiting = None;
                Poll::Ready(result)
            }
            Poll::Pending => self.pending(cx),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
