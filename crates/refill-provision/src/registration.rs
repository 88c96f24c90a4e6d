//! Linking a device to the customer's account once it is on Wi-Fi, as Dash Replenishment does:
//! the app reads the device's model, serial and PKCE challenge, runs the authorization with them
//! (`scope=dash:replenish`), and hands the code to the device, which redeems it with its own
//! verifier. From then on the device holds its own refresh token, never the app's.
//!
//! The messages are JSON on the encrypted `custom-data` endpoint of an ESP device, or, for an
//! Improv device, `POST`ed to `{redirect URL}/refill/registration` once it is on Wi-Fi
//! ([`Registrar`] is either):
//!
//! | request | answer |
//! |---|---|
//! | `{"op":"identify"}` | [`Identity`]: `{"model","serial","codeChallenge","isTestDevice"}` |
//! | `{"op":"register","code","clientId","redirectUri","tokenUrl"[,"certificateFingerprint"]}` | a [`RegistrationState`] |
//! | `{"op":"status"}` | a [`RegistrationState`] |
//!
//! The device redeems the code in the background (it is on the network now); the app polls the
//! status. [`DeviceRegistration`] is the device's side, for the simulator.

use crate::error::ProvError;
use crate::protocomm::{endpoint, Backoff, Client, Transport};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use refill_core::Sensitive;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// What a device says of itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    /// Its model id (DRS `device_model`).
    pub model: String,
    /// Its serial.
    pub serial: String,
    /// The S256 PKCE challenge of the verifier it keeps.
    pub code_challenge: String,
    /// Whether it is a test device.
    #[serde(default)]
    pub is_test_device: bool,
    /// Its own Ed25519 public key (base64url), kept through factory resets, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_key: Option<String>,
    /// Its signature (base64url) of [`refill_core::catalog::POSSESSION_CONTEXT`] and
    /// `code_challenge` with that key: proof that this device itself asks to be registered,
    /// which lets a new owner register it after a factory reset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub possession: Option<String>,
}

impl Identity {
    /// The authorization request's `scope_data`, in DRS's shape.
    pub fn scope_data(&self) -> String {
        let mut device = serde_json::json!({
            "device_model": self.model,
            "serial": self.serial,
            "is_test_device": self.is_test_device,
        });
        if let (Some(key), Some(proof)) = (&self.device_key, &self.possession) {
            device["device_key"] = key.as_str().into();
            device["possession"] = proof.as_str().into();
        }
        serde_json::json!({ "dash:replenish": device }).to_string()
    }
}

/// What the app hands the device after the customer allowed the registration.
#[derive(Clone, PartialEq, Eq)]
pub struct Handoff {
    /// The authorization code, for the device to redeem.
    pub code: Sensitive<String>,
    /// The client the code was issued to.
    pub client_id: String,
    /// The redirect URI the authorization used (the token request repeats it).
    pub redirect_uri: String,
    /// Where to redeem it.
    pub token_url: String,
    /// The SHA-256 fingerprint of the service's own certificate (a home server's), which the
    /// device pins: it then talks to the service over HTTPS with that certificate and no other.
    /// `None` when the system's authorities vouch for it (or over plain HTTP).
    pub certificate_fingerprint: Option<String>,
}

impl std::fmt::Debug for Handoff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handoff")
            .field("code", &self.code)
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .field("token_url", &self.token_url)
            .field("certificate_fingerprint", &self.certificate_fingerprint)
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
enum Request {
    Identify,
    #[serde(rename_all = "camelCase")]
    Register {
        code: String,
        client_id: String,
        redirect_uri: String,
        token_url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        certificate_fingerprint: Option<String>,
    },
    Status,
}

/// Where a device's registration stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum RegistrationState {
    /// Not registered.
    Unregistered,
    /// Redeeming the code.
    Registering,
    /// Registered: it holds its own tokens.
    Registered,
    /// The code could not be redeemed.
    Failed {
        /// Why, as the device puts it.
        message: String,
    },
}

/// Where the registration messages go: the encrypted `custom-data` endpoint of an ESP device
/// ([`Client`]), or, for an Improv device (which has no such endpoint), its own web server once
/// it is on Wi-Fi ([`HttpRegistrar`]). The messages are the same.
pub trait Registrar: Send {
    /// Sends one request (JSON) and returns the device's answer.
    fn call(&mut self, body: Vec<u8>) -> impl Future<Output = Result<Vec<u8>, ProvError>> + Send;

    /// The device's model, serial and PKCE challenge.
    fn identify(&mut self) -> impl Future<Output = Result<Identity, ProvError>> + Send {
        async move {
            let answer = self.call(request_body(&Request::Identify)?).await?;
            serde_json::from_slice(&answer).map_err(|_| {
                ProvError::Unsupported(
                    "it does not say which model it is, so it cannot be linked to your account"
                        .to_owned(),
                )
            })
        }
    }

    /// Hands the device its code.
    fn register(
        &mut self,
        handoff: &Handoff,
    ) -> impl Future<Output = Result<RegistrationState, ProvError>> + Send {
        let body = register_body(handoff);
        async move { parse_state(&self.call(body?).await?) }
    }

    /// Where the device's registration stands.
    fn registration_state(
        &mut self,
    ) -> impl Future<Output = Result<RegistrationState, ProvError>> + Send {
        async move { parse_state(&self.call(request_body(&Request::Status)?).await?) }
    }

    /// Hands the device its code and waits (at most `limit`) until it has redeemed it.
    fn register_and_wait(
        &mut self,
        handoff: &Handoff,
        limit: Duration,
    ) -> impl Future<Output = Result<(), ProvError>> + Send {
        let body = register_body(handoff);
        async move {
            let mut backoff = Backoff::new(Duration::from_millis(100), limit);
            let mut state = parse_state(&self.call(body?).await?)?;
            loop {
                match state {
                    RegistrationState::Registered => return Ok(()),
                    RegistrationState::Failed { message } => {
                        return Err(ProvError::Registration(message))
                    }
                    RegistrationState::Unregistered => {
                        return Err(ProvError::Registration(
                            "the device did not take the registration".to_owned(),
                        ))
                    }
                    RegistrationState::Registering => {}
                }
                backoff.wait().await?;
                state = self.registration_state().await?;
            }
        }
    }
}

fn register_body(handoff: &Handoff) -> Result<Vec<u8>, ProvError> {
    request_body(&Request::Register {
        code: handoff.code.expose().clone(),
        client_id: handoff.client_id.clone(),
        redirect_uri: handoff.redirect_uri.clone(),
        token_url: handoff.token_url.clone(),
        certificate_fingerprint: handoff.certificate_fingerprint.clone(),
    })
}

fn request_body(request: &Request) -> Result<Vec<u8>, ProvError> {
    serde_json::to_vec(request)
        .map_err(|e| ProvError::protocol(format!("a request could not be written: {e}")))
}

impl<T: Transport> Registrar for Client<T> {
    async fn call(&mut self, body: Vec<u8>) -> Result<Vec<u8>, ProvError> {
        Client::call(self, endpoint::CUSTOM_DATA, &body).await
    }
}

/// The path, under the URL an Improv device returns once it is on Wi-Fi, where it takes the
/// registration messages (`POST`, JSON).
pub const HTTP_PATH: &str = "refill/registration";

/// Registration over the local network, at the URL an Improv device gave after joining.
pub struct HttpRegistrar {
    client: reqwest::Client,
    url: String,
}

impl HttpRegistrar {
    /// The device whose Improv redirect URL is `base` (such as `http://192.168.1.23`).
    pub fn new(base: &str) -> Self {
        Self {
            client: crate::http::local_client(Duration::from_secs(15)),
            url: format!("{}/{HTTP_PATH}", base.trim_end_matches('/')),
        }
    }
}

impl Registrar for HttpRegistrar {
    async fn call(&mut self, body: Vec<u8>) -> Result<Vec<u8>, ProvError> {
        let answer = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    ProvError::Timeout
                } else {
                    ProvError::Link(format!(
                        "the device cannot be reached on the network ({e}); make sure this \
                         computer is on the same network as the device"
                    ))
                }
            })?;
        if answer.status() == reqwest::StatusCode::NOT_FOUND {
            return Err(ProvError::Unsupported(
                "it does not offer linking to an account on the network".to_owned(),
            ));
        }
        if !answer.status().is_success() {
            return Err(ProvError::Device(format!(
                "it answered HTTP {}",
                answer.status()
            )));
        }
        let bytes = answer
            .bytes()
            .await
            .map_err(|e| ProvError::Link(e.to_string()))?;
        Ok(bytes.to_vec())
    }
}

fn parse_state(answer: &[u8]) -> Result<RegistrationState, ProvError> {
    serde_json::from_slice(answer)
        .map_err(|_| ProvError::protocol("the registration answer could not be read"))
}

/// Redeems a code at the token URL with the device's verifier; returns the refresh token.
pub type Redeem = Arc<
    dyn Fn(
            Handoff,
            Sensitive<String>,
        ) -> Pin<Box<dyn Future<Output = Result<Sensitive<String>, String>> + Send>>
        + Send
        + Sync,
>;

struct DeviceState {
    state: RegistrationState,
    refresh_token: Option<Sensitive<String>>,
}

/// The device's side of the registration.
#[derive(Clone)]
pub struct DeviceRegistration {
    model: String,
    serial: String,
    is_test: bool,
    verifier: Sensitive<String>,
    key: Arc<ed25519_dalek::SigningKey>,
    redeem: Redeem,
    state: Arc<Mutex<DeviceState>>,
}

impl DeviceRegistration {
    /// A device of `model` with `serial` that redeems codes with `redeem`, with a device key
    /// of its own (made at the factory).
    pub fn new(model: &str, serial: &str, is_test: bool, redeem: Redeem) -> Self {
        let seed: [u8; 32] = rand::random();
        Self {
            model: model.to_owned(),
            serial: serial.to_owned(),
            is_test,
            verifier: refill_core::pkce::new_verifier(),
            key: Arc::new(ed25519_dalek::SigningKey::from_bytes(&seed)),
            redeem,
            state: Arc::new(Mutex::new(DeviceState {
                state: RegistrationState::Unregistered,
                refresh_token: None,
            })),
        }
    }

    /// The same device after a factory reset: its tokens and verifier forgotten, a new verifier
    /// made, its device key kept.
    pub fn factory_reset(&self) -> Self {
        Self {
            verifier: refill_core::pkce::new_verifier(),
            state: Arc::new(Mutex::new(DeviceState {
                state: RegistrationState::Unregistered,
                refresh_token: None,
            })),
            ..self.clone()
        }
    }

    /// Its identity, as `identify` answers it, with its proof of possession.
    pub fn identity(&self) -> Identity {
        use ed25519_dalek::Signer;
        let code_challenge = refill_core::pkce::challenge_of(self.verifier.expose());
        let message = format!(
            "{}{code_challenge}",
            refill_core::catalog::POSSESSION_CONTEXT
        );
        Identity {
            model: self.model.clone(),
            serial: self.serial.clone(),
            possession: Some(URL_SAFE_NO_PAD.encode(self.key.sign(message.as_bytes()).to_bytes())),
            device_key: Some(URL_SAFE_NO_PAD.encode(self.key.verifying_key().to_bytes())),
            code_challenge,
            is_test_device: self.is_test,
        }
    }

    /// Where its registration stands.
    pub fn state(&self) -> RegistrationState {
        self.lock().state.clone()
    }

    /// Its refresh token, once registered.
    pub fn refresh_token(&self) -> Option<Sensitive<String>> {
        self.lock().refresh_token.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DeviceState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Answers one `custom-data` request. A `register` starts the redemption on the current
    /// Tokio runtime and answers `registering` at once.
    pub fn handle(&self, request: &[u8]) -> Vec<u8> {
        let answer = match serde_json::from_slice::<Request>(request) {
            Ok(Request::Identify) => serde_json::to_vec(&self.identity()),
            Ok(Request::Status) => serde_json::to_vec(&self.state()),
            Ok(Request::Register {
                code,
                client_id,
                redirect_uri,
                token_url,
                certificate_fingerprint,
            }) => {
                let handoff = Handoff {
                    code: Sensitive::new(code),
                    client_id,
                    redirect_uri,
                    token_url,
                    certificate_fingerprint,
                };
                serde_json::to_vec(&self.start(handoff))
            }
            Err(_) => serde_json::to_vec(&RegistrationState::Failed {
                message: "the request was not understood".to_owned(),
            }),
        };
        answer.unwrap_or_default()
    }

    fn start(&self, handoff: Handoff) -> RegistrationState {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return RegistrationState::Failed {
                message: "the device cannot reach the network yet".to_owned(),
            };
        };
        {
            let mut state = self.lock();
            if state.state == RegistrationState::Registering {
                return RegistrationState::Registering;
            }
            state.state = RegistrationState::Registering;
        }
        let this = self.clone();
        let redeem = (self.redeem)(handoff, self.verifier.clone());
        runtime.spawn(async move {
            let outcome = redeem.await;
            let mut state = this.lock();
            match outcome {
                Ok(refresh) => {
                    state.state = RegistrationState::Registered;
                    state.refresh_token = Some(refresh);
                }
                Err(message) => state.state = RegistrationState::Failed { message },
            }
        });
        RegistrationState::Registering
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_device() -> DeviceRegistration {
        DeviceRegistration::new(
            "RefillBrew-200",
            "SN-1",
            false,
            Arc::new(|_, _| Box::pin(async { Err("offline".to_owned()) })),
        )
    }

    fn proven(identity: &Identity) -> bool {
        use ed25519_dalek::{Signature, VerifyingKey};
        let decode = |text: &Option<String>| URL_SAFE_NO_PAD.decode(text.as_deref().unwrap());
        let key: [u8; 32] = decode(&identity.device_key).unwrap().try_into().unwrap();
        let proof: [u8; 64] = decode(&identity.possession).unwrap().try_into().unwrap();
        let message = format!(
            "{}{}",
            refill_core::catalog::POSSESSION_CONTEXT,
            identity.code_challenge
        );
        VerifyingKey::from_bytes(&key)
            .unwrap()
            .verify_strict(message.as_bytes(), &Signature::from_bytes(&proof))
            .is_ok()
    }

    #[test]
    fn a_device_signs_its_challenge_and_keeps_its_key_through_a_reset() {
        let device = new_device();
        let first = device.identity();
        assert!(proven(&first));
        let reset = device.factory_reset().identity();
        assert!(proven(&reset));
        assert_eq!(reset.device_key, first.device_key);
        assert_ne!(reset.code_challenge, first.code_challenge);
        assert_ne!(new_device().identity().device_key, first.device_key);
        let data: serde_json::Value = serde_json::from_str(&first.scope_data()).unwrap();
        assert_eq!(
            data["dash:replenish"]["possession"].as_str(),
            first.possession.as_deref()
        );
    }
}
