//! The client of Refill's button API for screened devices with a native UI (a fridge's panel, a
//! washer's screen): the buttons the customer chose for the device, a press (with an
//! idempotency key, so a retried press never orders twice), cancelling what was pressed there,
//! and the events that change what the screen shows.
//!
//! The device links to the customer's account as any Refill device does (the authorization
//! code flow with PKCE, scope `refill:buttons`, its model and serial in `scope_data`) and keeps
//! its access and refresh tokens. [`Buttons`] sends the access token and, when the service says
//! it has expired, gets a new one with the refresh token once and tries again.
//!
//! ```no_run
//! # async fn screen() -> Result<(), refill_buttons::ButtonsError> {
//! use refill_buttons::{Buttons, Tokens};
//!
//! let tokens = Tokens {
//!     access: "Atza|…".into(),
//!     refresh: "Atzr|…".into(),
//!     client_id: "fridge-maker".into(),
//! };
//! let buttons = Buttons::new("https://refill.example", tokens)?;
//! let shown = buttons.list().await?;
//! for button in &shown.buttons {
//!     println!("{} — {} {}", button.title, button.price.amount_minor, button.price.currency);
//! }
//! let pressed = buttons.press(&shown.buttons[0].asin).await?;
//! println!("{:?}", pressed.detail_code); // STANDARD_ORDER_PLACED, APPROVAL_REQUIRED, …
//!
//! // Follow what happens to those orders (from anywhere) to keep the screen current.
//! let mut events = buttons.events(0).await?;
//! while let Some(event) = events.next().await? {
//!     println!("{} {}", event.kind, event.body["asin"]);
//! }
//! # Ok(()) }
//! ```

use rand::Rng;
use refill_wire::{
    path_segment, ErrorBody, ErrorCode, EventView, OrderView, ScreenButtons, ScreenPressResult,
};
use serde::de::DeserializeOwned;
use std::sync::Mutex;
use std::time::Duration;

/// A device's tokens, from linking it. Keep the refresh token as safely as the device can: it
/// lets the device order for the customer until the customer removes the device.
#[derive(Clone)]
pub struct Tokens {
    /// The access token (`Atza|…`), valid for an hour.
    pub access: String,
    /// The refresh token (`Atzr|…`), valid until revoked.
    pub refresh: String,
    /// The OAuth client id the device linked with.
    pub client_id: String,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("access", &"<redacted>")
            .field("refresh", &"<redacted>")
            .field("client_id", &self.client_id)
            .finish()
    }
}

/// What went wrong, in words a screen can show.
#[derive(Debug, thiserror::Error)]
pub enum ButtonsError {
    /// Nothing reached the service (no network, wrong address): nothing was ordered.
    #[error("Refill can't be reached at {url}: check the network. Nothing was ordered.")]
    Unreachable {
        /// The service's address.
        url: String,
    },
    /// The service did not answer in time; a press may or may not have ordered (pressing again
    /// with the same key is safe: [`Buttons::press_with_key`]).
    #[error("Refill did not answer in time. Try again.")]
    NoAnswer,
    /// The device is no longer linked (its tokens were revoked, or the customer removed it).
    #[error("This device is no longer linked to a Refill account. Link it again.")]
    Unlinked,
    /// The service refused; its message says why (over a spending limit, not a button, …).
    #[error("{}", .body.message)]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The code and the message.
        body: ErrorBody,
    },
    /// The service answered with something this client does not understand.
    #[error("Refill answered in a way this device does not understand ({detail}).")]
    Protocol {
        /// What was wrong.
        detail: String,
    },
}

impl ButtonsError {
    /// The service's error code, when it refused.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ButtonsError::Refused { body, .. } => Some(body.code),
            _ => None,
        }
    }
}

/// How long a request may take.
const TIMEOUT: Duration = Duration::from_secs(15);
/// Silence on an event stream longer than this is a lost connection (the service sends a
/// comment every 15 s).
const STREAM_SILENCE: Duration = Duration::from_secs(45);
/// How often a press is sent, at most, when no answer comes (always with the same key).
const PRESS_TRIES: usize = 3;

/// A screened device's client of the button API.
pub struct Buttons {
    http: reqwest::Client,
    base: String,
    tokens: Mutex<Tokens>,
}

impl std::fmt::Debug for Buttons {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Buttons").field("base", &self.base).finish()
    }
}

impl Buttons {
    /// A client of the Refill service at `base_url` with the device's `tokens`.
    pub fn new(base_url: &str, tokens: Tokens) -> Result<Self, ButtonsError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| ButtonsError::Protocol {
                detail: e.to_string(),
            })?;
        Ok(Self {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
            tokens: Mutex::new(tokens),
        })
    }

    /// The tokens now (the access token changes when it is refreshed: keep it if the device
    /// restarts often, to spare a refresh).
    pub fn tokens(&self) -> Tokens {
        self.tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The buttons the device shows, in the customer's order, each with its open order.
    pub async fn list(&self) -> Result<ScreenButtons, ButtonsError> {
        self.json(|http, base| http.get(format!("{base}/v1/screen/buttons")))
            .await
    }

    /// A press of `asin`'s button: the order placed, the one already open for it, or the
    /// approval request the customer answers in the app. A new idempotency key is made for
    /// the press, and the press is sent again with it (up to 3 times) when no answer comes.
    pub async fn press(&self, asin: &str) -> Result<ScreenPressResult, ButtonsError> {
        let key = new_key();
        let mut tries = 0;
        loop {
            tries += 1;
            match self.press_with_key(asin, &key).await {
                Err(ButtonsError::NoAnswer) if tries < PRESS_TRIES => continue,
                answer => return answer,
            }
        }
    }

    /// A press of `asin`'s button with the caller's idempotency `key` (the same key answers
    /// the same way, and never orders twice).
    pub async fn press_with_key(
        &self,
        asin: &str,
        key: &str,
    ) -> Result<ScreenPressResult, ButtonsError> {
        let path = format!("/v1/screen/buttons/{}/press", path_segment(asin));
        self.json(|http, base| {
            http.post(format!("{base}{path}"))
                .header("Idempotency-Key", key)
        })
        .await
    }

    /// Cancels an order pressed on this device while it can be cancelled.
    pub async fn cancel(&self, event_instance_id: &str) -> Result<OrderView, ButtonsError> {
        let path = format!(
            "/v1/screen/orders/{}/cancel",
            path_segment(event_instance_id)
        );
        self.json(|http, base| http.post(format!("{base}{path}")))
            .await
    }

    /// The events after `after` (0: from now on, and those kept) that change what the screen
    /// shows: its products' orders placed, shipped, delivered or cancelled, and its approval
    /// requests asked and answered. Open it again after [`Events::last_id`] when it breaks.
    pub async fn events(&self, after: i64) -> Result<Events, ButtonsError> {
        let response = self
            .send(|http, base| {
                http.get(format!("{base}/v1/screen/events/stream?after={after}"))
                    .timeout(Duration::from_secs(365 * 24 * 3600))
            })
            .await?;
        let status = response.status();
        if !status.is_success() {
            let bytes = response.bytes().await.map_err(|_| ButtonsError::NoAnswer)?;
            return Err(refusal(status.as_u16(), &bytes));
        }
        Ok(Events {
            response,
            frames: refill_wire::sse::SseFrames::default(),
            last: after,
        })
    }

    /// Sends the request `build` makes with the access token; on `401` refreshes the token
    /// once and sends it again.
    async fn send(
        &self,
        build: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ButtonsError> {
        let mut refreshed = false;
        loop {
            let access = self.tokens().access;
            let response = build(&self.http, &self.base)
                .bearer_auth(access)
                .timeout(TIMEOUT)
                .send()
                .await
                .map_err(|e| self.transport(&e))?;
            if response.status() == reqwest::StatusCode::UNAUTHORIZED {
                if refreshed {
                    return Err(ButtonsError::Unlinked);
                }
                self.refresh().await?;
                refreshed = true;
                continue;
            }
            return Ok(response);
        }
    }

    async fn json<T: DeserializeOwned>(
        &self,
        build: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> Result<T, ButtonsError> {
        let response = self.send(build).await?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|_| ButtonsError::NoAnswer)?;
        if status.is_success() {
            serde_json::from_slice(&bytes).map_err(|e| ButtonsError::Protocol {
                detail: e.to_string(),
            })
        } else {
            Err(refusal(status.as_u16(), &bytes))
        }
    }

    /// A new access token from the refresh token.
    async fn refresh(&self) -> Result<(), ButtonsError> {
        let Tokens {
            refresh, client_id, ..
        } = self.tokens();
        let response = self
            .http
            .post(format!("{}/auth/o2/token", self.base))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.as_str()),
                ("client_id", client_id.as_str()),
            ])
            .timeout(TIMEOUT)
            .send()
            .await
            .map_err(|e| self.transport(&e))?;
        if !response.status().is_success() {
            return Err(ButtonsError::Unlinked);
        }
        #[derive(serde::Deserialize)]
        struct Answer {
            access_token: String,
        }
        let answer: Answer = response.json().await.map_err(|e| ButtonsError::Protocol {
            detail: e.to_string(),
        })?;
        self.tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .access = answer.access_token;
        Ok(())
    }

    fn transport(&self, e: &reqwest::Error) -> ButtonsError {
        if e.is_connect() || e.is_builder() {
            ButtonsError::Unreachable {
                url: self.base.clone(),
            }
        } else {
            ButtonsError::NoAnswer
        }
    }
}

/// The events of [`Buttons::events`], as they happen.
#[derive(Debug)]
pub struct Events {
    response: reqwest::Response,
    frames: refill_wire::sse::SseFrames,
    last: i64,
}

impl Events {
    /// The next event; `Ok(None)` when the service ended the stream (it is shutting down).
    /// An error means the connection is gone: open a new stream after [`Events::last_id`].
    pub async fn next(&mut self) -> Result<Option<EventView>, ButtonsError> {
        loop {
            while let Some(data) = self.frames.next_data() {
                let event: EventView =
                    serde_json::from_str(&data).map_err(|e| ButtonsError::Protocol {
                        detail: format!("an event that is not one: {e}"),
                    })?;
                if event.id <= self.last {
                    continue;
                }
                self.last = event.id;
                return Ok(Some(event));
            }
            let chunk = tokio::time::timeout(STREAM_SILENCE, self.response.chunk())
                .await
                .map_err(|_| ButtonsError::NoAnswer)?
                .map_err(|_| ButtonsError::NoAnswer)?;
            match chunk {
                Some(bytes) => self.frames.push(&bytes),
                None => return Ok(None),
            }
        }
    }

    /// The id of the last event given (or the `after` the stream was opened with).
    pub fn last_id(&self) -> i64 {
        self.last
    }
}

/// The service's refusal, from its error body.
fn refusal(status: u16, bytes: &[u8]) -> ButtonsError {
    if status == 401 {
        return ButtonsError::Unlinked;
    }
    match serde_json::from_slice::<ErrorBody>(bytes) {
        Ok(body) => ButtonsError::Refused { status, body },
        Err(_) => ButtonsError::Protocol {
            detail: format!("HTTP {status}"),
        },
    }
}

/// A new idempotency key: 32 random letters and digits.
fn new_key() -> String {
    rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_never_print() {
        let tokens = Tokens {
            access: "Atza|secret-access".into(),
            refresh: "Atzr|secret-refresh".into(),
            client_id: "maker".into(),
        };
        let printed = format!("{tokens:?}");
        assert!(!printed.contains("secret"), "{printed}");
        assert!(printed.contains("maker"));
    }

    #[test]
    fn keys_are_new_each_time_and_fit_the_header() {
        let (a, b) = (new_key(), new_key());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
    }
}
