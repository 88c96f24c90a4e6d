//! The loopback listener the browser comes back to (RFC 8252 §7.3).

use crate::AuthError;
use refill_core::html::escape;
use refill_core::Sensitive;
use std::collections::HashMap;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const MAX_HEAD: usize = 16 * 1024;

fn page(title: &str, message: &str) -> String {
    let message = escape(message);
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font-family:system-ui,sans-serif;background:#f4f7f6;color:#1d2b2a;display:grid;\
         place-items:center;height:90vh}}main{{background:#fff;border:1px solid #dde5e3;border-radius:14px;\
         padding:28px;max-width:420px}}</style></head><body><main><h1>{title}</h1><p>{message}</p></main></body></html>"
    )
}

async fn respond(socket: &mut TcpStream, status: &str, body: &str) {
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\n\
         cache-control: no-store\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = socket.write_all(response.as_bytes()).await;
    let _ = socket.shutdown().await;
}

/// Reads a request head; `None` if the connection says nothing useful in time.
async fn read_head(socket: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::with_capacity(1024);
    let read = async {
        let mut chunk = [0u8; 2048];
        loop {
            let n = socket.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
            if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.len() > MAX_HEAD {
                return Some(());
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .ok()??;
    String::from_utf8(buf).ok()
}

/// What the browser brought back.
pub(crate) fn outcome(query: &str, expected_state: &str) -> Result<Sensitive<String>, AuthError> {
    let params: HashMap<String, String> = serde_urlencoded::from_str(query).unwrap_or_default();
    if params.get("state").map(String::as_str) != Some(expected_state) {
        return Err(AuthError::StateMismatch);
    }
    if let Some(error) = params.get("error") {
        return Err(AuthError::Refused {
            error: error.clone(),
            description: params
                .get("error_description")
                .cloned()
                .unwrap_or_else(|| error.clone()),
        });
    }
    match params.get("code") {
        Some(code) if !code.is_empty() => Ok(Sensitive::new(code.clone())),
        _ => Err(AuthError::Refused {
            error: "invalid_request".to_owned(),
            description: "the sign-in service sent no authorization code.".to_owned(),
        }),
    }
}

/// The browser's request to `/callback`, held open until the sign-in is kept (or has failed),
/// so that its page says how it ended.
pub(crate) struct Browser(TcpStream);

impl Browser {
    /// Answers the browser: signed in, or what went wrong.
    pub(crate) async fn tell(mut self, result: Result<(), &AuthError>) {
        let body = match result {
            Ok(()) => page(
                "Signed in",
                "You can return to Refill now. This tab can be closed.",
            ),
            Err(e) => page(
                "Sign-in not completed",
                &format!("{e} You can return to Refill."),
            ),
        };
        respond(&mut self.0, "200 OK", &body).await;
    }
}

/// Serves the loopback listener until the browser comes back to `/callback`. A callback that
/// carries an error (or another sign-in's state) is answered at once; one with a code is handed
/// back with the browser still waiting for its page ([`Browser::tell`]).
pub(crate) async fn wait_for_callback(
    listener: &TcpListener,
    expected_state: &str,
) -> Result<(Sensitive<String>, Browser), AuthError> {
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            continue;
        };
        let Some(head) = read_head(&mut socket).await else {
            continue;
        };
        let target = head
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("GET "))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or("");
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        if path != "/callback" {
            respond(
                &mut socket,
                "404 Not Found",
                &page("Not here", "This address only finishes a Refill sign-in."),
            )
            .await;
            continue;
        }
        let browser = Browser(socket);
        return match outcome(query, expected_state) {
            Ok(code) => Ok((code, browser)),
            Err(e) => {
                browser.tell(Err(&e)).await;
                Err(e)
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_what_they_are_told() {
        let html = page("Sign-in not completed", "<script>x</script> & more");
        assert!(html.contains("&lt;script&gt;x&lt;/script&gt; &amp; more"));
    }

    #[test]
    fn the_callback_must_carry_this_sign_ins_state() {
        assert_eq!(outcome("code=abc&state=s1", "s1").unwrap().expose(), "abc");
        assert_eq!(
            outcome("code=abc&state=s2", "s1").unwrap_err(),
            AuthError::StateMismatch
        );
        assert_eq!(
            outcome("code=abc", "s1").unwrap_err(),
            AuthError::StateMismatch
        );
        match outcome(
            "error=access_denied&error_description=No+thanks&state=s1",
            "s1",
        ) {
            Err(AuthError::Refused { error, description }) => {
                assert_eq!(error, "access_denied");
                assert_eq!(description, "No thanks");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            outcome("state=s1", "s1"),
            Err(AuthError::Refused { .. })
        ));
    }
}
