//! Protocomm over HTTP, as ESP devices serve it in SoftAP provisioning: each endpoint is
//! `POST /<endpoint>`, and the session cookie of the first answer is sent back with every later
//! request (the session lives as long as the cookie).

use crate::error::ProvError;
use crate::protocomm::Transport;
use std::time::Duration;

/// A link to a device's provisioning HTTP server (on its own access point, usually
/// `http://192.168.4.1:80`).
pub struct HttpTransport {
    client: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

impl HttpTransport {
    /// A link to the device at `base` (such as `http://192.168.4.1`).
    pub fn new(base: &str) -> Self {
        Self {
            client: local_client(Duration::from_secs(30)),
            base: base.trim_end_matches('/').to_owned(),
            cookie: None,
        }
    }
}

/// An HTTP client for a device on the local network: 5 s to connect, `timeout` for an answer.
pub(crate) fn local_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(timeout)
        .build()
        .unwrap_or_default()
}

impl Transport for HttpTransport {
    async fn exchange(&mut self, endpoint: &str, request: &[u8]) -> Result<Vec<u8>, ProvError> {
        let mut post = self
            .client
            .post(format!("{}/{endpoint}", self.base))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "text/plain")
            .body(request.to_vec());
        if let Some(cookie) = &self.cookie {
            post = post.header(reqwest::header::COOKIE, cookie);
        }
        let answer = post.send().await.map_err(|e| {
            if e.is_timeout() {
                ProvError::Timeout
            } else {
                ProvError::Link(format!("the device's access point did not answer: {e}"))
            }
        })?;
        if let Some(cookie) = answer
            .headers()
            .get(reqwest::header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
        {
            self.cookie = Some(cookie.trim().to_owned());
        }
        let status = answer.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(ProvError::NoEndpoint(endpoint.to_owned()));
        }
        if !status.is_success() {
            return Err(ProvError::Device(format!("it answered HTTP {status}")));
        }
        let body = answer
            .bytes()
            .await
            .map_err(|e| ProvError::Link(e.to_string()))?;
        Ok(body.to_vec())
    }
}
