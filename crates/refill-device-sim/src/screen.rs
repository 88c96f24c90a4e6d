//! A screened device's simulated screen: the sandbox's smart fridge shows the customer's buttons
//! on a web page of its own, as a real fridge's panel would, with the web SDK's
//! `<refill-buttons>` (`sdk/web/`) and the fridge's own buttons token.
//!
//! | method | path | answer |
//! |---|---|---|
//! | GET | `/` | the screen: the fridge's panel with `<refill-buttons>` |
//! | GET | `/refill-buttons.js` | the web SDK's bundle, as committed in `sdk/web/dist/` |
//! | POST | `/refill/token` | `{"accessToken": …}`: the token the component sends; `{"renew": true}` after the service refused it; 404 once the fridge is no longer linked |
//!
//! It listens on `127.0.0.1` only. The token route answers only a page of its own origin (a
//! page elsewhere would need a CORS preflight, which it does not answer, or send an `Origin`
//! that is not its own).

use crate::HttpDevice;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use refill_core::html::escape;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The web SDK's bundle, as built from `sdk/web/src` (a gate of `cargo xtask test` checks it is).
pub const BUNDLE: &str = include_str!("../../../sdk/web/dist/refill-buttons.js");

/// Gives the device a buttons token: `Ok(None)` once it is no longer linked.
pub type TokenSource = Arc<
    dyn Fn() -> Pin<Box<dyn Future<Output = Result<Option<String>, String>> + Send>> + Send + Sync,
>;

#[derive(Clone)]
struct Screen {
    page: Arc<str>,
    tokens: TokenSource,
    current: Arc<tokio::sync::Mutex<Option<String>>>,
    origin: Arc<str>,
}

/// Serves the screen of a screened device called `name`, whose buttons come from the Refill
/// service at `service_url` with the tokens `tokens` gives, on `127.0.0.1` at a free port.
pub async fn serve_screen(
    name: &str,
    service_url: &str,
    tokens: TokenSource,
) -> std::io::Result<HttpDevice> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let origin = format!("http://{}", listener.local_addr()?);
    let screen = Screen {
        page: page(name, service_url).into(),
        tokens,
        current: Arc::default(),
        origin: origin.into(),
    };
    let app = axum::Router::new()
        .route("/", get(show))
        .route("/refill-buttons.js", get(bundle))
        .route("/refill/token", post(token))
        .with_state(screen);
    crate::spawn_server(listener, app)
}

async fn show(State(screen): State<Screen>) -> Response {
    (
        [
            (header::CACHE_CONTROL, "no-store"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; connect-src *; img-src * data:; style-src 'unsafe-inline'",
            ),
        ],
        Html(screen.page.to_string()),
    )
        .into_response()
}

async fn bundle() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        BUNDLE,
    )
        .into_response()
}

async fn token(State(screen): State<Screen>, headers: HeaderMap, body: String) -> Response {
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
    if origin.is_some_and(|o| o != &*screen.origin) {
        return message(
            StatusCode::FORBIDDEN,
            "Only the device's own screen gets its token.",
        );
    }
    let renew = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|b| b.get("renew").and_then(serde_json::Value::as_bool))
        .unwrap_or(false);
    let mut current = screen.current.lock().await;
    if renew || current.is_none() {
        *current = match (screen.tokens)().await {
            Ok(token) => token,
            Err(e) => {
                tracing::warn!("the fridge's screen has no token: {e}");
                return message(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The device could not get its Refill token. Try again.",
                );
            }
        };
    }
    match current.as_ref() {
        Some(token) => (
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(serde_json::json!({ "accessToken": token })),
        )
            .into_response(),
        None => message(
            StatusCode::NOT_FOUND,
            "This device is not linked to Refill any more.",
        ),
    }
}

fn message(status: StatusCode, text: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "message": text }))).into_response()
}

/// The panel: the fridge's own bits (its name, the temperatures) and the customer's buttons.
fn page(name: &str, service_url: &str) -> String {
    let name = escape(name);
    let service = escape(service_url);
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{name}: screen</title>
<style>
  body {{ margin: 0; font-family: system-ui, sans-serif; background: #20262e; color: #f4f6f8; }}
  main {{ max-width: 48rem; margin: 0 auto; padding: 1rem; }}
  header {{ display: flex; justify-content: space-between; align-items: baseline; gap: 1rem; }}
  h1 {{ font-size: 1.25rem; margin: 0 0 .25rem; }}
  .temps {{ font-size: 1.1rem; opacity: .85; }}
  refill-buttons {{
    margin-top: 1rem; padding: 1rem; border-radius: 1rem; background: #f4f6f8;
    --refill-fg: #1b1f24; --refill-accent: #0a6b5d; --refill-focus: #ffb300;
  }}
</style>
</head>
<body>
<main>
  <header><h1>{name}</h1><p class="temps">Fridge 4 °C · Freezer −18 °C</p></header>
  <refill-buttons service="{service}" token-url="/refill/token"></refill-buttons>
</main>
<script type="module" src="/refill-buttons.js"></script>
</body>
</html>
"#
    )
}
