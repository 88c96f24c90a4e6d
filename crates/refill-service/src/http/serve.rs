//! Accepting connections, with bounds: a flood of connections or a slow client takes a bounded
//! share of the service, and everyone else keeps being served.
//!
//! * At most [`Limits::connections`] connections at once, and [`Limits::per_address`] from one
//!   address; a connection over either cap is closed as soon as it is accepted.
//! * A request's headers must arrive within [`Limits::headers`] (also the longest a kept-alive
//!   connection may sit idle before its next request), and its body within [`Limits::body`];
//!   a client slower than that is dropped (a body: `408`).
//! * With a certificate (`tls`), the TLS handshake must end within [`Limits::headers`] too.
//! * A failed `accept` (no file descriptors left, say) is waited out, not fatal.
//! * [`RateLimiter`]s bound request rates per device (DRS and sensor calls) and per address
//!   (token requests); see [`Limits`].
//!
//! Each request carries its peer address (`ConnectInfo<SocketAddr>`), as `axum::serve` gives it.

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// The bounds on connections.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections at once.
    pub connections: usize,
    /// Connections at once from one address.
    pub per_address: usize,
    /// For a request's headers (and a kept-alive connection's idle time).
    pub headers: Duration,
    /// For a request's body.
    pub body: Duration,
    /// DRS and sensor calls per device (`None`: unlimited).
    pub device_requests: Option<Rate>,
    /// Token and revocation requests per address (`None`: unlimited).
    pub token_requests: Option<Rate>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            connections: 768,
            per_address: 128,
            headers: Duration::from_secs(10),
            body: Duration::from_secs(10),
            device_requests: Some(Rate {
                per_second: 10.0,
                burst: 100.0,
            }),
            token_requests: Some(Rate {
                per_second: 5.0,
                burst: 50.0,
            }),
        }
    }
}

impl Limits {
    /// No request rates limited: for the sandbox, whose simulated devices report as fast as
    /// its sped-up time asks, and for benchmarks of the ingest path.
    pub fn without_rates(self) -> Self {
        Self {
            device_requests: None,
            token_requests: None,
            ..self
        }
    }
}

/// Open connections per address.
#[derive(Default)]
struct PerAddress(Mutex<HashMap<IpAddr, usize>>);

impl PerAddress {
    fn take(self: &Arc<Self>, ip: IpAddr, cap: usize) -> Option<AddressSlot> {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let open = map.entry(ip).or_insert(0);
        if *open >= cap {
            return None;
        }
        *open += 1;
        Some(AddressSlot(self.clone(), ip))
    }
}

/// One connection's place in its address's count, given back when dropped.
struct AddressSlot(Arc<PerAddress>, IpAddr);

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut map = (self.0)
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(open) = map.get_mut(&self.1) {
            *open -= 1;
            if *open == 0 {
                map.remove(&self.1);
            }
        }
    }
}

/// The certificate connections are accepted with (HTTPS; the `tls` feature).
#[cfg(feature = "tls")]
pub type Tls = super::tls::Tls;
/// Without the `tls` feature, connections are plain HTTP: there is no certificate.
#[cfg(not(feature = "tls"))]
#[derive(Debug, Clone)]
pub enum Tls {}

/// A connection's stream: a TCP one, or TLS over TCP.
pub trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> Io for T {}

/// A TLS handshake on an accepted connection, by any TLS implementation (the app's sandbox uses
/// the system's, which it links anyway): the stream to serve HTTP on, or why not.
pub type Handshake = Arc<
    dyn Fn(
            tokio::net::TcpStream,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = std::io::Result<Box<dyn Io>>> + Send>,
        > + Send
        + Sync,
>;

/// Serves `app` on `listener` (over TLS with `tls`) until `stop` turns true, then lets the requests under way finish
/// (for up to 10 s).
pub async fn run(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    tls: Option<Tls>,
    stop: watch::Receiver<bool>,
) {
    #[cfg(feature = "tls")]
    let handshake = tls.map(|tls| -> Handshake {
        Arc::new(move |stream| {
            let acceptor = tls.acceptor().clone();
            Box::pin(async move {
                let stream = acceptor.accept(stream).await?;
                Ok(Box::new(stream) as Box<dyn Io>)
            })
        })
    });
    #[cfg(not(feature = "tls"))]
    let handshake: Option<Handshake> = tls.map(|never| match never {});
    run_with(listener, app, limits, handshake, stop).await;
}

/// [`run`] with the TLS handshake `handshake` (`None`: plain HTTP).
pub async fn run_with(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    handshake: Option<Handshake>,
    mut stop: watch::Receiver<bool>,
) {
    let app = app.layer(axum::middleware::from_fn_with_state(
        limits.body,
        body_in_time,
    ));
    let connections = Arc::new(Semaphore::new(limits.connections));
    let per_address = Arc::new(PerAddress::default());
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.headers);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stopping(&mut stop) => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, or a connection reset before it was accepted: the
                // listener itself is fine.
                tracing::debug!("could not accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "too many connections: closed");
            continue;
        };
        let Some(slot) = per_address.take(peer.ip(), limits.per_address) else {
            tracing::debug!(%peer, "too many connections from one address: closed");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = tower::ServiceExt::map_request(
            app.clone(),
            move |mut request: Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                collapse_slashes(&mut request);
                request
            },
        );
        let (http, handshake, mut stop) = (http.clone(), handshake.clone(), stop.clone());
        tokio::spawn(async move {
            let _held = (permit, slot);
            let stream: Box<dyn Io> = match handshake {
                None => Box::new(stream),
                // The handshake, like a request's headers, must arrive in time.
                Some(handshake) => {
                    match tokio::time::timeout(limits.headers, handshake(stream)).await {
                        Ok(Ok(stream)) => stream,
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, "no TLS handshake: {e}");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake too slow: closed");
                            return;
                        }
                    }
                }
            };
            let connection = http.serve_connection(
                hyper_util::rt::TokioIo::new(stream),
                hyper_util::service::TowerToHyperService::new(service),
            );
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                () = stopping(&mut stop) => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    // Every permit back: every connection has finished.
    let all = u32::try_from(limits.connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(Duration::from_secs(10), connections.acquire_many(all)).await;
}

/// `//subscriptionInfo` as `/subscriptionInfo`: repeated slashes in a path count as one, as
/// Amazon's endpoints took them (some DRS client libraries join a base URL ending in `/` with
/// a path starting with one).
fn collapse_slashes<B>(request: &mut Request<B>) {
    let path = request.uri().path();
    if !path.contains("//") {
        return;
    }
    let mut collapsed = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && collapsed.ends_with('/')) {
            collapsed.push(c);
        }
    }
    if let Some(query) = request.uri().query() {
        collapsed.push('?');
        collapsed.push_str(query);
    }
    let mut parts = request.uri().clone().into_parts();
    if let Ok(path_and_query) = collapsed.parse() {
        parts.path_and_query = Some(path_and_query);
        if let Ok(uri) = axum::http::Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
}

/// Resolves once the service begins to stop.
async fn stopping(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Reads a request's body within `limit`, at most [`crate::http::MAX_BODY`] and a little more
/// (a larger body is refused by the handler, in its API's own words); a client that sends it
/// too slowly gets `408` and the connection is closed.
async fn body_in_time(
    axum::extract::State(limit): axum::extract::State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    use http_body_util::BodyExt;
    let (parts, mut body) = request.into_parts();
    // Most bodies arrive in one frame, which is passed on as it is (no copy).
    let mut chunks: Vec<axum::body::Bytes> = Vec::new();
    let mut length = 0;
    let read = tokio::time::timeout(limit, async {
        while length <= crate::http::MAX_BODY {
            match body.frame().await {
                None => return Ok(()),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        length += data.len();
                        chunks.push(data);
                    }
                }
                Some(Err(e)) => return Err(e),
            }
        }
        Ok(())
    })
    .await;
    let bytes = match chunks.len() {
        0 => axum::body::Bytes::new(),
        1 => chunks.swap_remove(0),
        _ => chunks.concat().into(),
    };
    let refused = |status: StatusCode, message: &str| {
        let body = refill_wire::ErrorBody {
            message: message.to_owned(),
            code: refill_wire::ErrorCode::BadRequest,
        };
        (status, [(header::CONNECTION, "close")], axum::Json(body)).into_response()
    };
    match read {
        Ok(Ok(())) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Ok(Err(_)) => refused(
            StatusCode::BAD_REQUEST,
            "The request body could not be read.",
        ),
        Err(_) => refused(
            StatusCode::REQUEST_TIMEOUT,
            "The request body did not arrive in time.",
        ),
    }
}

/// A request rate: `per_second` on average, up to `burst` at once (a token bucket).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Requests a second, sustained.
    pub per_second: f64,
    /// Requests at once after a quiet spell.
    pub burst: f64,
}

/// Token buckets by key (a device, an address), in real time. Keys idle long enough to have
/// filled their bucket again are forgotten when the map grows large.
pub struct RateLimiter {
    rate: Rate,
    buckets: Mutex<HashMap<String, (f64, std::time::Instant)>>,
}

impl RateLimiter {
    /// The most keys remembered before the full ones are forgotten.
    const MAX_KEYS: usize = 100_000;

    /// A limiter allowing `rate` per key.
    pub fn new(rate: Rate) -> Self {
        Self {
            rate,
            buckets: Mutex::default(),
        }
    }

    /// Takes one request for `key`: `Err(wait)` when it is over the rate, with how long until
    /// the next one would be taken.
    pub fn take(&self, key: &str) -> Result<(), Duration> {
        let now = std::time::Instant::now();
        let Rate { per_second, burst } = self.rate;
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= Self::MAX_KEYS && !buckets.contains_key(key) {
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * per_second < burst
            });
        }
        let (tokens, at) = buckets.entry(key.to_owned()).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * per_second).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_slashes_count_as_one() {
        let mut request = Request::new(());
        *request.uri_mut() = "//subscriptionInfo?x=a//b".parse().unwrap();
        collapse_slashes(&mut request);
        assert_eq!(request.uri(), "/subscriptionInfo?x=a//b");
        *request.uri_mut() = "http://h:1/testOrders///slots//s1".parse().unwrap();
        collapse_slashes(&mut request);
        assert_eq!(request.uri(), "http://h:1/testOrders/slots/s1");
        *request.uri_mut() = "/v1/orders".parse().unwrap();
        collapse_slashes(&mut request);
        assert_eq!(request.uri(), "/v1/orders");
    }
}
