//! The HTTP server loop both servers run on: every connection gets a deadline for its request headers, which
//! is also how long an idle keep-alive connection may wait, so slow or silent clients cannot hold connections.
//!
//! `axum::serve` sets no timer, and without one hyper enforces no header timeout at all; a client that opens a
//! connection and sends nothing keeps it forever. Bodies are bounded by the routers themselves
//! (`tower_http::timeout::RequestBodyTimeoutLayer` between frames, and a timeout on whole requests).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::serve::Listener;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tower::ServiceExt as _;

/// How long connections may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// Longest wait for a request's headers, counted from the first byte a connection may send (also the idle
    /// time a keep-alive connection is kept open between requests).
    pub header_read_timeout: Duration,
    /// Largest header section.
    pub max_header_bytes: usize,
    /// How long in-flight requests get to finish when shutting down.
    pub shutdown_grace: Duration,
}

impl Default for ServerLimits {
    fn default() -> ServerLimits {
        ServerLimits { header_read_timeout: Duration::from_secs(10), max_header_bytes: 64 * 1024, shutdown_grace: Duration::from_secs(30) }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets requests in flight finish (within
/// `limits.shutdown_grace`). Handlers see the caller's address as `ConnectInfo<SocketAddr>`.
pub async fn serve<L>(mut listener: L, router: Router, limits: ServerLimits, shutdown: impl Future<Output = ()> + Send) -> std::io::Result<()>
where
    L: Listener<Addr = SocketAddr>,
{
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192));
    builder.http2().timer(TokioTimer::new()).keep_alive_interval(limits.header_read_timeout).max_header_list_size(limits.max_header_bytes as u32);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (io, remote) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(remote));
            let router = router.clone();
            async move { Ok::<_, Infallible>(router.oneshot(request.map(Body::new)).await.unwrap_or_else(|never| match never {})) }
        });
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service).into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::trace!(%remote, error = %err, "connection ended");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown()).await.is_err() {
        tracing::warn!("shutdown: requests still running after {:?} were cut off", limits.shutdown_grace);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    async fn start(limits: ServerLimits) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let router = Router::new().route("/", axum::routing::get(|ConnectInfo(from): ConnectInfo<SocketAddr>| async move { from.ip().to_string() }));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(serve(listener, router, limits, async move {
            let _ = rx.await;
        }));
        (address, tx)
    }

    #[tokio::test]
    async fn a_connection_that_sends_no_headers_is_closed_after_the_header_timeout() {
        let limits = ServerLimits { header_read_timeout: Duration::from_millis(300), ..ServerLimits::default() };
        let (address, _stop) = start(limits).await;
        let mut silent = tokio::net::TcpStream::connect(address).await.unwrap();
        silent.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        let mut buf = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(5), silent.read_to_end(&mut buf)).await;
        assert!(closed.is_ok(), "the server kept a connection whose headers never ended");
    }

    #[tokio::test]
    async fn an_idle_keep_alive_connection_is_closed_and_requests_see_the_callers_address() {
        let limits = ServerLimits { header_read_timeout: Duration::from_millis(300), ..ServerLimits::default() };
        let (address, _stop) = start(limits).await;
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        let mut buf = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf)).await;
        assert!(closed.is_ok(), "an idle keep-alive connection stayed open");
        let text = String::from_utf8_lossy(&buf);
        assert!(text.starts_with("HTTP/1.1 200") && text.ends_with("127.0.0.1"), "{text}");
    }

    #[tokio::test]
    async fn shutting_down_stops_accepting_connections() {
        let (address, stop) = start(ServerLimits::default()).await;
        assert_eq!(reqwest::get(format!("http://{address}/")).await.unwrap().status(), 200);
        stop.send(()).unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(reqwest::Client::new().get(format!("http://{address}/")).send().await.is_err());
    }
}
