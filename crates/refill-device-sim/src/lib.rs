//! Simulated Refill devices for the sandbox and the tests.
//!
//! A [`SimDevice`] is one device of a sandbox model, with a serial, an advertised name
//! (`PROV_` and six hex digits), its own proof of possession (printed in its [`SimDevice::qr`]
//! payload) and the Wi-Fi networks around it. It runs the device's side of ESP-IDF provisioning
//! from `refill-provision`, reachable through the in-process link or, as ESP devices serve it in
//! SoftAP mode, over HTTP ([`serve_http`]).
//!
//! A [`SimImprovDevice`] is set up with Improv Wi-Fi instead: it waits for a (simulated) press of
//! its button, and once on Wi-Fi it takes the registration messages on its own web server, at
//! the URL it returns (`{url}/refill/registration`).
//!
//! Once linked, either kind reports what is left in its slots to the service that linked it,
//! over DRS (`subscriptionInfo`, then `slotStatus` every [`REPORT_EVERY`]), pinned to the
//! certificate fingerprint it was handed ([`report`]).
//!
//! [`screen::serve_screen`] serves a screened device's screen (the sandbox's smart fridge): a
//! web page with the web SDK's `<refill-buttons>` and the device's own buttons token.

pub mod report;
#[cfg(feature = "rig")]
pub mod rig;
pub mod screen;

pub use report::{Reporting, REPORT_EVERY};
pub use screen::{serve_screen, TokenSource};

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use refill_core::Sensitive;
use refill_provision::device::{DeviceSetup, ProtocommDevice, SimNetwork};
use refill_provision::improv::{ImprovDevice, ImprovSetup, State as ImprovState};
use refill_provision::registration::DeviceRegistration;
use refill_provision::security::DeviceSecurity;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The networks around every simulated device: "Refill Home" (password `refill-sandbox-wifi`)
/// and its neighbours.
pub fn neighbourhood() -> Vec<SimNetwork> {
    let mut networks = vec![SimNetwork::new("Refill Home", HOME_PASSWORD, -42)];
    for (i, name) in [
        "Casa Rossi",
        "FRITZ!Box 7590",
        "Telekom-4F2A",
        "eduroam",
        "Cafe Luna",
    ]
    .iter()
    .enumerate()
    {
        networks.push(SimNetwork::new(name, "not-yours", -55 - 6 * i as i32));
    }
    networks.push(SimNetwork::new("Guest", "", -80));
    networks
}

/// The password of the sandbox's home network.
pub const HOME_PASSWORD: &str = "refill-sandbox-wifi";

/// How a simulated device protects its provisioning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// Security 0: no security (and no proof of possession).
    Sec0,
    /// Security 1 with a proof of possession.
    Sec1,
    /// Security 2 with the username `wifiprov`.
    Sec2,
}

/// One simulated device.
pub struct SimDevice {
    /// The sandbox model it is (`RefillBrew-200`, …).
    pub model: String,
    /// Its serial.
    pub serial: String,
    /// The name it advertises.
    pub name: String,
    /// Its secret: proof of possession (Security 1) or password (Security 2).
    pub secret: Sensitive<String>,
    /// How it protects provisioning.
    pub protection: Protection,
    /// Its provisioning state machine.
    pub device: Arc<Mutex<ProtocommDevice>>,
    /// Its link to a customer's account (its own tokens, once registered).
    pub registration: DeviceRegistration,
    /// How often it reports its slots once linked ([`REPORT_EVERY`] unless told otherwise;
    /// feature `report`).
    pub reporting: Arc<Reporting>,
}

impl SimDevice {
    /// A new device of `model` with `serial`.
    pub fn new(model: &str, serial: &str, protection: Protection) -> Self {
        let suffix: u32 = rand::random::<u32>() & 0x00ff_ffff;
        let name = format!("PROV_{suffix:06X}");
        let secret = format!("{:08x}", rand::random::<u32>());
        let security = match protection {
            Protection::Sec0 => DeviceSecurity::Sec0,
            Protection::Sec1 => DeviceSecurity::Sec1 {
                pop: Some(Sensitive::new(secret.clone())),
            },
            Protection::Sec2 => DeviceSecurity::sec2("wifiprov", &secret),
        };
        let (registration, reporting) = linkable(model, serial);
        let answering = registration.clone();
        let device = ProtocommDevice::new(DeviceSetup {
            version: "v1.1".to_owned(),
            security,
            networks: neighbourhood(),
            join_time: Duration::from_millis(300),
            custom_data: Box::new(move |request| answering.handle(request)),
        });
        Self {
            model: model.to_owned(),
            serial: serial.to_owned(),
            name,
            secret: Sensitive::new(secret),
            protection,
            device: Arc::new(Mutex::new(device)),
            registration,
            reporting,
        }
    }

    /// The QR payload printed on the device.
    pub fn qr(&self, transport: &str) -> String {
        let mut qr = serde_json::json!({
            "ver": "v1",
            "name": self.name,
            "transport": transport,
        });
        match self.protection {
            Protection::Sec0 => {}
            Protection::Sec1 => qr["pop"] = self.secret.expose().as_str().into(),
            Protection::Sec2 => {
                qr["pop"] = self.secret.expose().as_str().into();
                qr["username"] = "wifiprov".into();
            }
        }
        qr.to_string()
    }
}

/// A (test) device's registration, which redeems its code and then reports while the returned
/// [`Reporting`] lives.
fn linkable(model: &str, serial: &str) -> (DeviceRegistration, Arc<Reporting>) {
    let reporting = Reporting::new();
    let registration = DeviceRegistration::new(
        model,
        serial,
        true,
        report::redeem_and_report(Arc::downgrade(&reporting)),
    );
    (registration, reporting)
}

/// How the simulated device's HTTP server tells one client's session from the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sessions {
    /// As ESP-IDF's `protocomm_httpd` does: a request whose `Cookie` is the session's
    /// `session=<n>` continues it, and so does one without a cookie on the session's own
    /// connection; any other starts a new session (the last one ends) and is answered with
    /// `Set-Cookie: session=<n>`, spelled so.
    EspIdf,
    /// Firmware that keys the session by the TCP connection only: cookies are ignored, a new
    /// connection starts a new session, and a closed one ends its session.
    ConnectionOnly,
}

/// The state of the one session the device keeps (`protocomm_httpd` keeps one).
#[derive(Default)]
struct SessionKeys {
    /// The session's cookie value (`session=<n>`).
    cookie: Option<String>,
    /// The connection it started on, while that connection is open.
    connection: Option<u64>,
}

#[derive(Clone)]
struct Served {
    device: Arc<Mutex<ProtocommDevice>>,
    session: Arc<Mutex<SessionKeys>>,
    mode: Sessions,
}

impl Served {
    /// Whether a request on `connection` with `cookie` continues the session; if not, the old
    /// session ends and a new one starts, whose cookie is returned.
    fn continue_or_start(&self, connection: u64, cookie: Option<&str>) -> Option<String> {
        let mut keys = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        let cookie = cookie.filter(|_| self.mode == Sessions::EspIdf);
        let same = match cookie {
            Some(cookie) if keys.cookie.as_deref() == Some(cookie) => {
                // The client keeps cookies: its connection no longer matters.
                keys.connection = None;
                true
            }
            Some(_) => false,
            None => keys.connection == Some(connection),
        };
        if same {
            return None;
        }
        self.device
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .disconnect();
        let fresh = format!("session={}", rand::random::<u32>());
        keys.cookie = Some(fresh.clone());
        keys.connection = Some(connection);
        Some(fresh)
    }

    /// The connection `connection` closed.
    fn closed(&self, connection: u64) {
        let mut keys = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        if keys.connection == Some(connection) {
            keys.connection = None;
            if self.mode == Sessions::ConnectionOnly {
                keys.cookie = None;
                self.device
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .disconnect();
            }
        }
    }
}

/// A device's provisioning HTTP server, stopped when dropped.
pub struct HttpDevice {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    kick: Option<tokio::sync::watch::Sender<u32>>,
}

impl HttpDevice {
    /// Closes every open connection, as a device does when its access point restarts.
    pub fn drop_connections(&self) {
        if let Some(kick) = &self.kick {
            kick.send_modify(|n| *n = n.wrapping_add(1));
        }
    }
}

impl Drop for HttpDevice {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Serves `device`'s protocomm endpoints as ESP devices do in SoftAP mode (`POST /<endpoint>`,
/// sessions as [`Sessions::EspIdf`]), on `127.0.0.1` at a free port.
pub async fn serve_http(device: Arc<Mutex<ProtocommDevice>>) -> std::io::Result<HttpDevice> {
    serve_http_with(device, Sessions::EspIdf).await
}

/// [`serve_http`] with sessions told apart as `mode` says.
pub async fn serve_http_with(
    device: Arc<Mutex<ProtocommDevice>>,
    mode: Sessions,
) -> std::io::Result<HttpDevice> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let served = Served {
        device,
        session: Arc::new(Mutex::new(SessionKeys::default())),
        mode,
    };
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let (kick, kicked) = tokio::sync::watch::channel(0u32);
    tokio::spawn(async move {
        let mut connections = 0u64;
        loop {
            let stream = tokio::select! {
                _ = &mut stopped => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(_) => continue,
                },
            };
            connections += 1;
            let connection = connections;
            let served = served.clone();
            let mut kicked = kicked.clone();
            tokio::spawn(async move {
                let handler = served.clone();
                let service = hyper::service::service_fn(move |request| {
                    let served = handler.clone();
                    async move {
                        Ok::<_, std::convert::Infallible>(
                            protocomm_request(&served, connection, request).await,
                        )
                    }
                });
                // ESP-IDF's httpd writes `Set-Cookie`; some clients read only that spelling.
                let serving = hyper::server::conn::http1::Builder::new()
                    .title_case_headers(true)
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                kicked.mark_unchanged();
                tokio::select! {
                    _ = serving => {}
                    // Dropping the connection closes its socket.
                    _ = kicked.changed() => {}
                }
                served.closed(connection);
            });
        }
    });
    Ok(HttpDevice {
        addr,
        stop: Some(stop),
        kick: Some(kick),
    })
}

type Body = http_body_util::Full<axum::body::Bytes>;

fn plain(status: StatusCode, body: impl Into<axum::body::Bytes>) -> hyper::Response<Body> {
    let mut response = hyper::Response::new(Body::new(body.into()));
    *response.status_mut() = status;
    response
}

async fn protocomm_request(
    served: &Served,
    connection: u64,
    request: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Body> {
    use http_body_util::BodyExt;
    use refill_provision::protocomm::endpoint as e;
    let name = request.uri().path().trim_start_matches('/').to_owned();
    let known = [
        e::PROTO_VER,
        e::SESSION,
        e::SCAN,
        e::CONFIG,
        e::CTRL,
        e::CUSTOM_DATA,
    ];
    if request.method() != hyper::Method::POST || !known.contains(&name.as_str()) {
        return plain(StatusCode::NOT_FOUND, "no such endpoint");
    }
    let cookie = request
        .headers()
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned());
    let new_cookie = served.continue_or_start(connection, cookie.as_deref());
    // protocomm_httpd takes at most 4 KiB.
    let body = match http_body_util::Limited::new(request.into_body(), 4096)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(_) => return plain(StatusCode::BAD_REQUEST, "request too long"),
    };
    if body.is_empty() {
        return plain(StatusCode::BAD_REQUEST, "empty request");
    }
    let answer = served
        .device
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .handle(&name, &body);
    let mut response = match answer {
        refill_provision::device::Answer::Bytes(bytes) => plain(StatusCode::OK, bytes),
        refill_provision::device::Answer::Nothing => {
            plain(StatusCode::BAD_REQUEST, "request not handled")
        }
    };
    if let Some(cookie) = new_cookie.and_then(|c| c.parse().ok()) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// Serves `app` on `listener` until the returned handle is dropped; then the connections still
/// open finish the request under way and close. (hyper's HTTP/1 server as the protocomm
/// endpoints use it, rather than `axum::serve`, whose own machinery the app would carry too.)
fn spawn_server(
    listener: tokio::net::TcpListener,
    app: axum::Router,
) -> std::io::Result<HttpDevice> {
    let addr = listener.local_addr()?;
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        // Dropped when the loop ends: every connection hears it.
        let (_serving, closing) = tokio::sync::watch::channel(());
        loop {
            let stream = tokio::select! {
                _ = &mut stopped => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(_) => continue,
                },
            };
            let service = hyper_util::service::TowerToHyperService::new(app.clone());
            let mut closing = closing.clone();
            tokio::spawn(async move {
                let connection = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                tokio::pin!(connection);
                tokio::select! {
                    _ = connection.as_mut() => {}
                    _ = closing.changed() => {
                        connection.as_mut().graceful_shutdown();
                        let _ = connection.await;
                    }
                }
            });
        }
    });
    Ok(HttpDevice {
        addr,
        stop: Some(stop),
        kick: None,
    })
}

/// One simulated device set up with Improv Wi-Fi.
pub struct SimImprovDevice {
    /// The sandbox model it is.
    pub model: String,
    /// Its serial.
    pub serial: String,
    /// The name it advertises (and its host name): the model and six hex digits.
    pub name: String,
    /// Its Improv state machine.
    pub improv: ImprovDevice,
    /// Its link to a customer's account.
    pub registration: DeviceRegistration,
    /// How often it reports its slots once linked.
    pub reporting: Arc<Reporting>,
    /// Its web server, the URL it returns once on Wi-Fi.
    pub url: String,
    _web: HttpDevice,
}

impl SimImprovDevice {
    /// A new device of `model` with `serial`, needing a button press before it takes Wi-Fi
    /// settings. Its web server runs on the current Tokio runtime (an error outside one).
    pub fn new(model: &str, serial: &str) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Handle::try_current().map_err(std::io::Error::other)?;
        let _entered = runtime.enter();
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let url = format!("http://{}", listener.local_addr()?);
        let suffix: u32 = rand::random::<u32>() & 0x00ff_ffff;
        let name = format!("{}-{suffix:06x}", model.to_ascii_lowercase());
        let improv = ImprovDevice::new(ImprovSetup {
            info: [
                "Refill device firmware".to_owned(),
                env!("CARGO_PKG_VERSION").to_owned(),
                "ESP32-C3".to_owned(),
                name.clone(),
            ],
            networks: neighbourhood()
                .into_iter()
                .map(|n| (n.ssid, n.password.expose().clone(), n.rssi))
                .collect(),
            needs_authorization: true,
            join_time: Duration::from_millis(300),
            redirect_url: url.clone(),
            disconnect_after_provisioned: false,
            chatty: false,
        });
        let (registration, reporting) = linkable(model, serial);
        let app = axum::Router::new()
            .route(
                &format!("/{}", refill_provision::registration::HTTP_PATH),
                axum::routing::post(improv_registration),
            )
            .with_state((improv.clone(), registration.clone()));
        let web = spawn_server(listener, app)?;
        Ok(Self {
            model: model.to_owned(),
            serial: serial.to_owned(),
            name,
            improv,
            registration,
            reporting,
            url,
            _web: web,
        })
    }
}

/// `POST /refill/registration` on an Improv device: the registration messages, once it is on
/// the network.
async fn improv_registration(
    State((improv, registration)): State<(ImprovDevice, DeviceRegistration)>,
    body: axum::body::Bytes,
) -> Response {
    if improv.state() != ImprovState::Provisioned {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the device is not on the network yet",
        )
            .into_response();
    }
    (
        [(header::CONTENT_TYPE, "application/json")],
        registration.handle(&body),
    )
        .into_response()
}

/// Serves an Improv device's GATT characteristics over HTTP, for a GATT peripheral process that
/// puts it on a (fake) radio: `GET /read/{i}`, `POST /write/{i}` and `GET /notifications` (waits
/// up to 10 s for the next one: the characteristic's index, then its value; 204 when none came),
/// `i` being the index in [`refill_provision::improv::Characteristic::ALL`]. The bridge is the
/// device's one connection.
pub async fn serve_improv_http(device: ImprovDevice) -> std::io::Result<HttpDevice> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let notifications = Arc::new(tokio::sync::Mutex::new(device.connect()));
    let app = axum::Router::new()
        .route("/read/{index}", axum::routing::get(improv_read))
        .route("/write/{index}", axum::routing::post(improv_write))
        .route("/notifications", axum::routing::get(improv_notification))
        .with_state((device, notifications));
    spawn_server(listener, app)
}

type ImprovNotifications = Arc<
    tokio::sync::Mutex<
        tokio::sync::mpsc::UnboundedReceiver<(refill_provision::improv::Characteristic, Vec<u8>)>,
    >,
>;

fn improv_characteristic(index: usize) -> Option<refill_provision::improv::Characteristic> {
    refill_provision::improv::Characteristic::ALL
        .get(index)
        .copied()
}

async fn improv_read(
    State((device, _)): State<(ImprovDevice, ImprovNotifications)>,
    Path(index): Path<usize>,
) -> Response {
    match improv_characteristic(index) {
        Some(c) => device.read(c).into_response(),
        None => (StatusCode::NOT_FOUND, "no such characteristic").into_response(),
    }
}

async fn improv_write(
    State((device, _)): State<(ImprovDevice, ImprovNotifications)>,
    Path(index): Path<usize>,
    body: axum::body::Bytes,
) -> Response {
    match improv_characteristic(index) {
        Some(c) => {
            device.write(c, &body);
            StatusCode::NO_CONTENT.into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such characteristic").into_response(),
    }
}

async fn improv_notification(
    State((_, notifications)): State<(ImprovDevice, ImprovNotifications)>,
) -> Response {
    let mut notifications = notifications.lock().await;
    match tokio::time::timeout(Duration::from_secs(10), notifications.recv()).await {
        Ok(Some((c, value))) => {
            let index = refill_provision::improv::Characteristic::ALL
                .iter()
                .position(|x| *x == c)
                .unwrap_or_default();
            let mut body = vec![index as u8];
            body.extend(value);
            body.into_response()
        }
        _ => StatusCode::NO_CONTENT.into_response(),
    }
}
