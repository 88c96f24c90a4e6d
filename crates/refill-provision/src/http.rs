//! Protocomm over HTTP, as ESP devices serve it in SoftAP provisioning: each endpoint is
//! `POST /<endpoint>`.
//!
//! A session runs on **one kept-alive TCP connection**, and the `session=…` cookie of the
//! device's first answer is sent back with every later request. ESP-IDF's `protocomm_httpd`
//! continues a session for either (the cookie, or the same socket without one); other firmware
//! keys the session by the connection alone. So the transport never opens a second connection
//! in the middle of a session: if the device closes it, the session is gone, and that is
//! reported as a lost connection ([`ProvError::Link`]), not as the crypto failure the next
//! message would otherwise turn into.

use crate::error::ProvError;
use crate::protocomm::Transport;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use std::time::Duration;

/// How long to wait for the device to accept the connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest answer read from a device (protocomm messages are a few hundred bytes).
const MAX_ANSWER: usize = 64 * 1024;

/// A link to a device's provisioning HTTP server (on its own access point, usually
/// `http://192.168.4.1:80`).
pub struct HttpTransport {
    base: String,
    /// `host:port` to connect to, and the `Host` header.
    authority: Result<String, String>,
    timeout: Duration,
    connection: Option<SendRequest<Full<Bytes>>>,
    /// Whether a session has started on a connection: no other connection may take it over.
    started: bool,
    cookie: Option<String>,
}

impl HttpTransport {
    /// A link to the device at `base` (such as `http://192.168.4.1`).
    pub fn new(base: &str) -> Self {
        let base = base.trim_end_matches('/').to_owned();
        Self {
            authority: authority_of(&base),
            base,
            timeout: Duration::from_secs(30),
            connection: None,
            started: false,
            cookie: None,
        }
    }

    /// Whether the transport has a session's connection open.
    pub fn connected(&self) -> bool {
        self.connection.as_ref().is_some_and(|c| !c.is_closed())
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, ProvError> {
        let authority = self.authority.clone().map_err(ProvError::Link)?;
        let unreachable =
            |e: String| ProvError::Link(format!("the device's access point did not answer: {e}"));
        let stream = tokio::time::timeout(
            CONNECT_TIMEOUT,
            tokio::net::TcpStream::connect(authority.as_str()),
        )
        .await
        .map_err(|_| ProvError::Timeout)?
        .map_err(|e| unreachable(e.to_string()))?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| unreachable(e.to_string()))?;
        tokio::spawn(async move {
            // Ends when the device or this transport closes the connection.
            let _ = connection.await;
        });
        Ok(sender)
    }
}

/// `host:port` of an `http://` base URL.
fn authority_of(base: &str) -> Result<String, String> {
    let rest = base
        .strip_prefix("http://")
        .ok_or_else(|| format!("{base} is not an http:// address"))?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err(format!("{base} names no device"));
    }
    let has_port = match host.rsplit_once(':') {
        Some((_, port)) => !host.ends_with(']') && port.parse::<u16>().is_ok(),
        None => false,
    };
    Ok(if has_port {
        host.to_owned()
    } else {
        format!("{host}:80")
    })
}

/// An HTTP client for a device on the local network: 5 s to connect, `timeout` for an answer.
pub(crate) fn local_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(timeout)
        .build()
        .unwrap_or_default()
}

impl Transport for HttpTransport {
    async fn exchange(&mut self, endpoint: &str, request: &[u8]) -> Result<Vec<u8>, ProvError> {
        let dropped = || {
            ProvError::Link(
                "the device closed the connection in the middle of the setup".to_owned(),
            )
        };
        let mut sender = match self.connection.take() {
            Some(sender) if !sender.is_closed() => sender,
            // The session lived on that connection: it is gone with it.
            _ if self.started => return Err(dropped()),
            _ => self.connect().await?,
        };
        self.started = true;
        sender.ready().await.map_err(|_| dropped())?;
        let authority = self.authority.clone().map_err(ProvError::Link)?;
        let mut post = hyper::Request::post(format!("/{endpoint}"))
            .header(hyper::header::HOST, authority)
            .header(
                hyper::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(hyper::header::ACCEPT, "text/plain");
        if let Some(cookie) = &self.cookie {
            post = post.header(hyper::header::COOKIE, cookie);
        }
        let post = post
            .body(Full::new(Bytes::copy_from_slice(request)))
            .map_err(|e| ProvError::Link(format!("{}: {e}", self.base)))?;
        let answer = tokio::time::timeout(self.timeout, async {
            let answer = sender.send_request(post).await.map_err(|_| dropped())?;
            let (parts, body) = answer.into_parts();
            let body = Limited::new(body, MAX_ANSWER)
                .collect()
                .await
                .map_err(|_| dropped())?
                .to_bytes();
            Ok::<_, ProvError>((parts, body))
        })
        .await
        .map_err(|_| ProvError::Timeout)??;
        let (parts, body) = answer;
        self.connection = Some(sender);
        if let Some(cookie) = parts
            .headers
            .get(hyper::header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
        {
            self.cookie = Some(cookie.trim().to_owned());
        }
        if parts.status == hyper::StatusCode::NOT_FOUND {
            return Err(ProvError::NoEndpoint(endpoint.to_owned()));
        }
        if !parts.status.is_success() {
            return Err(ProvError::Device(format!(
                "it answered HTTP {}",
                parts.status
            )));
        }
        Ok(body.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::authority_of;

    #[test]
    fn the_device_address_is_read_with_its_port() {
        assert_eq!(
            authority_of("http://192.168.4.1").unwrap(),
            "192.168.4.1:80"
        );
        assert_eq!(
            authority_of("http://127.0.0.1:8080").unwrap(),
            "127.0.0.1:8080"
        );
        assert_eq!(authority_of("http://[::1]:81").unwrap(), "[::1]:81");
        assert_eq!(authority_of("http://[fe80::1]").unwrap(), "[fe80::1]:80");
        assert!(authority_of("https://192.168.4.1").is_err());
        assert!(authority_of("http://").is_err());
    }
}
