//! What a simulated device does once it is linked, as a DRS device does: it redeems the code it
//! was handed for its own tokens, learns its slots from `GET /subscriptionInfo`, and reports what
//! is left in each with `POST /slotStatus/{slotId}`, every so often, to the service that linked
//! it: the one at the token URL it was handed, over HTTPS pinned to the fingerprint it was handed
//! (a home server's own certificate) or trusted by the system's authorities.
//!
//! Each slot starts with a full pack (the quantity of the product chosen for it) and uses a
//! little of it between reports; once empty, a new pack goes in. The reporting stops when the
//! device is dropped, or when the service no longer takes its refresh token (it was unlinked).
//!
//! Reporting is the `report` feature (on by default, off in the app: the sandbox simulates its
//! own devices); without it a device only redeems its code.

use refill_core::Sensitive;
use refill_provision::registration::{Handoff, Redeem};
#[cfg(feature = "report")]
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

/// How often a device reports once linked, when nothing else is said.
pub const REPORT_EVERY: Duration = Duration::from_secs(60);

/// The share of a pack a slot uses between two reports.
#[cfg(feature = "report")]
const USE_PER_REPORT: f64 = 0.04;

/// The DRS type names the device sends.
#[cfg(feature = "report")]
const TYPE_PREFIX: &str = "com.amazon.dash.replenishment.";

/// A device's reporting: how often, and how it went. Shared with its reporting task, which ends
/// once the device (the only strong holder) is dropped.
#[derive(Debug)]
pub struct Reporting {
    every: tokio::sync::watch::Sender<Option<Duration>>,
    accepted: AtomicU64,
    problem: Mutex<Option<String>>,
    /// The service it reports to, once linked.
    service: Mutex<Option<String>>,
}

impl Reporting {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            every: tokio::sync::watch::Sender::new(Some(REPORT_EVERY)),
            accepted: AtomicU64::new(0),
            problem: Mutex::new(None),
            service: Mutex::new(None),
        })
    }

    /// Reports every `every` from now on, the next report at once (`None`: stops reporting
    /// after the round under way).
    pub fn set_every(&self, every: Option<Duration>) {
        self.every.send_replace(every);
    }

    /// How many slot reports the service took.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Why the last round did not report, in words; `None` once a round went through.
    pub fn problem(&self) -> Option<String> {
        self.problem
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The service it reports to (the DRS API's base URL), once linked.
    pub fn service(&self) -> Option<String> {
        self.service
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    #[cfg(feature = "report")]
    fn said(&self, problem: Option<String>) {
        *self.problem.lock().unwrap_or_else(PoisonError::into_inner) = problem;
    }
}

/// How a device redeems its code and then reports, while `reporting` lives.
pub(crate) fn redeem_and_report(reporting: Weak<Reporting>) -> Redeem {
    Arc::new(move |handoff, verifier| {
        let reporting = reporting.clone();
        Box::pin(async move {
            let http = client_for(&handoff).await?;
            let refresh = redeem(&http, &handoff, &verifier).await?;
            #[cfg(feature = "report")]
            spawn_reporter(
                Reporter {
                    http,
                    service: service_url(&handoff.token_url),
                    handoff,
                    refresh: refresh.clone(),
                    access: None,
                    levels: HashMap::new(),
                },
                reporting,
            );
            #[cfg(not(feature = "report"))]
            let _ = (http, reporting);
            Ok(refresh)
        })
    })
}

/// Reports as `device` every so often while `reporting` lives.
#[cfg(feature = "report")]
fn spawn_reporter(mut device: Reporter, reporting: Weak<Reporting>) {
    let Some(mut every) = reporting.upgrade().map(|r| {
        *r.service.lock().unwrap_or_else(PoisonError::into_inner) = Some(device.service.clone());
        r.every.subscribe()
    }) else {
        return;
    };
    tokio::spawn(async move {
        loop {
            let Some(wait) = *every.borrow_and_update() else {
                return;
            };
            let outcome = device.round().await;
            let Some(reporting) = reporting.upgrade() else {
                return;
            };
            match outcome {
                Ok(reports) => {
                    reporting.accepted.fetch_add(reports, Ordering::Relaxed);
                    reporting.said(None);
                }
                Err(Stop::Unlinked) => {
                    reporting.said(Some(
                        "the service no longer takes this device's tokens: it was unlinked"
                            .to_owned(),
                    ));
                    return;
                }
                Err(Stop::Retry(problem)) => {
                    tracing::debug!("the device could not report: {problem}");
                    reporting.said(Some(problem));
                }
            }
            drop(reporting);
            // The next round after `wait`, or at once when told another pace; the
            // device dropped (its sender with it) ends the reporting.
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                changed = every.changed() => if changed.is_err() { return },
            }
        }
    });
}

/// The DRS API of the service whose token endpoint is `token_url`: the same address, without
/// the token endpoint's path (`https://nas.local:8750/auth/o2/token` →
/// `https://nas.local:8750`, also under a path prefix of a reverse proxy).
pub fn service_url(token_url: &str) -> String {
    let trimmed = token_url.trim_end_matches('/');
    let lower = trimmed.to_ascii_lowercase();
    match lower.strip_suffix("/auth/o2/token") {
        Some(base) => trimmed[..base.len()].to_owned(),
        None => match url::Url::parse(trimmed) {
            Ok(url) => url.origin().ascii_serialization(),
            Err(_) => trimmed.to_owned(),
        },
    }
}

/// An HTTP client that talks to the service at the handoff's token URL only if it shows the
/// certificate the device was handed (when it was handed one).
async fn client_for(handoff: &Handoff) -> Result<reqwest::Client, String> {
    // A home server's own certificate, pinned by the fingerprint the app handed over in the
    // secure session: the code and the reports go to that service and no other.
    let trust = match &handoff.certificate_fingerprint {
        Some(fingerprint) => {
            let fingerprint: refill_tls::Fingerprint = fingerprint.parse()?;
            refill_tls::pin(&handoff.token_url, fingerprint)
                .await
                .map(refill_tls::Trust::Pinned)
                .map_err(|e| e.to_string())?
        }
        None => refill_tls::Trust::System,
    };
    trust
        .client_builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())
}

/// Redeems the code with the device's own PKCE verifier (no client secret); returns the
/// refresh token.
async fn redeem(
    http: &reqwest::Client,
    handoff: &Handoff,
    verifier: &Sensitive<String>,
) -> Result<Sensitive<String>, String> {
    let (refresh, _) = token_request(
        http,
        &handoff.token_url,
        &[
            ("grant_type", "authorization_code"),
            ("code", handoff.code.expose().as_str()),
            ("client_id", handoff.client_id.as_str()),
            ("redirect_uri", handoff.redirect_uri.as_str()),
            ("code_verifier", verifier.expose().as_str()),
        ],
    )
    .await?;
    refresh.ok_or_else(|| "the Refill service gave no refresh token".to_owned())
}

/// One token request: the refresh token (when the answer has one) and the access token, or the
/// service's refusal in words.
async fn token_request(
    http: &reqwest::Client,
    token_url: &str,
    form: &[(&str, &str)],
) -> Result<(Option<Sensitive<String>>, Sensitive<String>), String> {
    let response = http
        .post(token_url)
        .form(form)
        .send()
        .await
        .map_err(|_| "the Refill service could not be reached".to_owned())?;
    let ok = response.status().is_success();
    let body: serde_json::Value = response
        .json()
        .await
        .map_err(|_| "the Refill service answered something unexpected".to_owned())?;
    match body["access_token"].as_str() {
        Some(access) if ok => Ok((
            body["refresh_token"]
                .as_str()
                .map(|r| Sensitive::new(r.to_owned())),
            Sensitive::new(access.to_owned()),
        )),
        _ => Err(format!(
            "the Refill service refused the code ({})",
            body["error_description"]
                .as_str()
                .or(body["error"].as_str())
                .unwrap_or("no reason given")
        )),
    }
}

/// Why a round did not report.
#[cfg(feature = "report")]
enum Stop {
    /// The service refused the refresh token: the device was unlinked; it stops.
    Unlinked,
    /// Something to try again next round, in words.
    Retry(String),
}

/// A slot's pack: how much it held new, how much is left.
#[cfg(feature = "report")]
struct Level {
    original: f64,
    remaining: f64,
}

/// The linked device's side of DRS.
#[cfg(feature = "report")]
struct Reporter {
    http: reqwest::Client,
    service: String,
    handoff: Handoff,
    refresh: Sensitive<String>,
    access: Option<Sensitive<String>>,
    levels: HashMap<String, Level>,
}

#[cfg(feature = "report")]
impl Reporter {
    /// A fresh access token from the refresh token.
    async fn access_token(&mut self) -> Result<Sensitive<String>, Stop> {
        if let Some(access) = &self.access {
            return Ok(access.clone());
        }
        let answer = self
            .http
            .post(&self.handoff.token_url)
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", self.refresh.expose().as_str()),
                ("client_id", self.handoff.client_id.as_str()),
            ])
            .send()
            .await
            .map_err(|_| Stop::Retry("the Refill service could not be reached".to_owned()))?;
        if answer.status() == reqwest::StatusCode::BAD_REQUEST
            || answer.status() == reqwest::StatusCode::UNAUTHORIZED
        {
            return Err(Stop::Unlinked);
        }
        let body: serde_json::Value = answer.json().await.map_err(|_| {
            Stop::Retry("the Refill service answered something unexpected".to_owned())
        })?;
        let access = body["access_token"]
            .as_str()
            .map(|a| Sensitive::new(a.to_owned()))
            .ok_or_else(|| Stop::Retry("the Refill service gave no access token".to_owned()))?;
        if let Some(refresh) = body["refresh_token"].as_str() {
            self.refresh = Sensitive::new(refresh.to_owned());
        }
        self.access = Some(access.clone());
        Ok(access)
    }

    /// One DRS call with the access token; a refused token is forgotten (the next round asks
    /// for a new one).
    async fn call(
        &mut self,
        request: reqwest::RequestBuilder,
        input: &str,
        result: &str,
    ) -> Result<serde_json::Value, Stop> {
        let access = self.access_token().await?;
        let answer = request
            .bearer_auth(access.expose())
            .header("x-amzn-type-version", format!("{TYPE_PREFIX}{input}"))
            .header("x-amzn-accept-type", format!("{TYPE_PREFIX}{result}"))
            .send()
            .await
            .map_err(|_| Stop::Retry("the Refill service could not be reached".to_owned()))?;
        let status = answer.status();
        // DRS says a bad or expired token with `x-amzn-ErrorType: InvalidTokenException…` (on
        // a 400); its clients refresh on it.
        let bad_token = answer
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("InvalidTokenException"));
        if status == reqwest::StatusCode::UNAUTHORIZED || bad_token {
            self.access = None;
            return Err(Stop::Retry("the access token was refused".to_owned()));
        }
        let body: serde_json::Value = answer.json().await.unwrap_or_default();
        if !status.is_success() {
            return Err(Stop::Retry(format!(
                "the Refill service answered {status}: {}",
                body["message"].as_str().unwrap_or("no reason given")
            )));
        }
        Ok(body)
    }

    /// One round: learns the slots, uses a little of each and reports it. Returns how many
    /// slots were reported.
    async fn round(&mut self) -> Result<u64, Stop> {
        let url = format!("{}/subscriptionInfo", self.service);
        let request = self.http.get(url);
        let info = self
            .call(
                request,
                "DrsSubscriptionInfoInput@1.0",
                "DrsSubscriptionInfoResult@2.0",
            )
            .await?;
        let Some(slots) = info["slotsSubscriptionStatus"].as_object() else {
            return Err(Stop::Retry(
                "the Refill service did not list the device's slots".to_owned(),
            ));
        };
        let slots: Vec<(String, f64)> = slots
            .iter()
            .map(|(slot, status)| {
                let pack = status["productInfoList"][0]["quantity"]
                    .as_f64()
                    .filter(|q| *q > 0.0)
                    .unwrap_or(100.0);
                (slot.clone(), pack)
            })
            .collect();
        let mut reported = 0;
        for (slot, pack) in slots {
            let level = self.levels.entry(slot.clone()).or_insert(Level {
                original: pack,
                remaining: pack,
            });
            let body = serde_json::json!({
                "originalQuantityInUnit": level.original,
                "remainingQuantityInUnit": (level.remaining * 100.0).round() / 100.0,
                "lastUseDate": time::OffsetDateTime::now_utc()
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
            });
            // Used until the next report; a new pack once this one is empty.
            level.remaining -= level.original * USE_PER_REPORT;
            if level.remaining <= 0.0 {
                level.remaining = level.original;
            }
            let request = self
                .http
                .post(format!("{}/slotStatus/{slot}", self.service))
                .json(&body);
            self.call(request, "DrsSlotStatusInput@1.0", "DrsSlotStatusResult@1.0")
                .await?;
            reported += 1;
        }
        Ok(reported)
    }
}

#[cfg(test)]
mod tests {
    use super::service_url;

    #[test]
    fn the_drs_api_is_at_the_token_urls_service() {
        assert_eq!(
            service_url("https://nas.local:8750/auth/o2/token"),
            "https://nas.local:8750"
        );
        assert_eq!(
            service_url("https://home.example/refill/auth/O2/token/"),
            "https://home.example/refill"
        );
        assert_eq!(
            service_url("https://login.example/oauth/token"),
            "https://login.example"
        );
    }
}
