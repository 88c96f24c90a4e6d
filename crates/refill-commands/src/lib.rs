//! The Refill app's commands, independent of Tauri.
//!
//! [`AppCore`] is what the app's buttons and screens call: list the virtual Dash buttons, press
//! one, cancel an order. The Tauri shell (`src-tauri`) only forwards its commands here, so every
//! command runs in plain Rust tests with no window, and [`bindings`] generates the UI's TypeScript
//! from the same declarations.
//!
//! The app talks to a Refill service over HTTP. With no service configured it starts one
//! **embedded** (the sandbox) on a free loopback port, with its SQLite database in the app's data
//! folder. The last grid seen is kept in that folder too, so the grid still shows (marked
//! offline) when an external service cannot be reached.
//!
//! [`launch`] keeps one app per data folder on the desktop: a later launch hands its `refill://`
//! links to the running app, which gives them to [`AppCore::open_links`].

mod account;
pub mod bindings;
mod cache;
mod error;
pub mod launch;
pub mod network;
pub mod notices;
pub mod onboarding;
mod say;
mod settings;
pub mod tray;

pub use account::{Account, Host, Platform, SignInStarted, LINK_PREFIX, SIGN_IN_LINK};
pub use error::AppError;
pub use settings::{FoundService, ServiceCheck, Settings, SignInProvider};

/// The app's identifier (Tauri's `identifier`): names its folders and desktop entries.
pub const APP_ID: &str = "dev.refill.app";
pub use notices::{Inbox, Notice, NoticeKind, SlotRef};
pub use onboarding::{
    DeviceProtocol, DeviceSecret, DeviceTrust, FoundDevice, FoundDevices, JoinedWifi, OpenedDevice,
    Radio, SandboxDevices, WifiList, WifiNetwork,
};
pub use refill_service::{init_logging, init_logging_to, LOG_DAYS_KEPT};

use refill_client::{CertificateProblem, Client, ClientError, Trust};
use refill_service::{RunningService, ServiceConfig};
use refill_wire::{
    ButtonTile, DeviceList, DeviceView, ErrorCode, ItemView, NewItem, OrderList, OrderStep,
    OrderView, PressResult, ProductList, SlotInventory, SlotSettings,
};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::OnceCell;
use ts_rs::TS;

/// The name of the sandbox database inside the app's data folder.
pub const SANDBOX_DB: &str = "sandbox.sqlite";

/// Where the app's data lives and which service it talks to.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// The app's data folder (the sandbox database and the grid cache live here).
    pub data_dir: PathBuf,
    /// An external Refill service's base URL; `None` runs the embedded sandbox.
    pub service_url: Option<String>,
    /// The OAuth 2.0 provider to sign in with; `None` signs in with the Refill service itself.
    pub auth_provider: Option<refill_auth::Provider>,
    /// The app's config folder, where the settings page's settings are kept; `None`: the data
    /// folder.
    pub config_dir: Option<PathBuf>,
    /// Where "Download my data" saves its file (the user's downloads folder); `None`: the data
    /// folder.
    pub downloads_dir: Option<PathBuf>,
}

/// Which kind of service the app talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKind {
    /// The sandbox service built into the app.
    Embedded,
    /// A Refill service elsewhere.
    External,
}

/// The service the app talks to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ServiceInfo {
    /// Embedded or external.
    pub kind: ServiceKind,
    /// Its base URL; `null` while the embedded sandbox is still starting.
    pub url: Option<String>,
    /// Set for this launch by `--service` or `REFILL_SERVICE_URL`, over the settings.
    #[serde(default)]
    pub fixed: bool,
    /// The SHA-256 fingerprint of its own certificate, which the person trusted when they chose
    /// it (a home server's); `null` when the system's authorities vouch for it, or over HTTP.
    #[serde(default)]
    pub fingerprint: Option<String>,
}

/// The home screen: the virtual Dash buttons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ButtonGrid {
    /// One tile per recently ordered item.
    pub tiles: Vec<ButtonTile>,
    /// The service they came from.
    pub service: ServiceInfo,
    /// Set when the service could not be reached and these tiles are the last ones seen.
    pub offline: Option<AppError>,
}

/// The app's command layer. Cheap to clone; every clone shares one backend.
#[derive(Clone)]
pub struct AppCore {
    inner: Arc<Inner>,
}

struct Inner {
    config: AppConfig,
    platform: Platform,
    /// The connection to the service in use; replaced (and made afresh on next use) when the
    /// settings choose another service.
    backend: Mutex<Arc<Connection>>,
    embedded: Mutex<Option<RunningService>>,
    /// The sandbox fridge's screen (a simulated device's web page), while the sandbox runs.
    fridge_screen: Mutex<Option<refill_device_sim::HttpDevice>>,
    sign_in: account::SignInSlot,
    /// The sandbox's simulated devices (made on first use), found while the sandbox is in use.
    sandbox_devices: Arc<SandboxDevices>,
    /// The Bluetooth radio, used to find devices while a Refill service is.
    bluetooth: Radio,
    onboarding: onboarding::OnboardingSlot,
    /// The sandbox's listener for the devices of the home network, while it serves.
    network: network::NetworkSlot,
    /// The inbox, read from the data folder on first use and written back on each change.
    inbox: Mutex<Option<notices::Saved>>,
    /// New notices, for whoever raises OS notifications.
    notices: tokio::sync::broadcast::Sender<Notice>,
    /// The event follower, once started; stopped at shutdown.
    follower: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Tells the follower that the account changed (signed in or out): start again at once.
    account_changed: tokio::sync::Notify,
    /// OS notifications are paused until then (the tray's "Pause notifications").
    paused_until: Mutex<Option<chrono::DateTime<chrono::Utc>>>,
    /// The settings, once read.
    settings: Mutex<Option<Settings>>,
    /// False from [`AppCore::hold_until_first_paint`] until the UI has painted its first frame
    /// (see [`AppCore::first_paint`]); true (nothing held) by default.
    painted: tokio::sync::watch::Sender<bool>,
}

/// How long background work waits for the UI's first frame before it starts anyway (a window
/// that is minimized at once, or whose page failed to load, paints none).
const FIRST_PAINT_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

/// The service connection: its client, and the sign-in session with it.
struct Backend {
    client: Client,
    session: Arc<refill_auth::Session>,
}

/// A connection to one service, made on first use (or the reason it could not be).
type Connection = OnceCell<Result<Arc<Backend>, AppError>>;

/// The client of the service in use, held while a command uses it (a service chosen meanwhile
/// takes over from the next command on).
#[derive(Clone)]
pub(crate) struct ClientRef(Arc<Backend>);

impl std::ops::Deref for ClientRef {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.0.client
    }
}

/// What a failed call was doing, so its error can say what did (not) happen.
#[derive(Clone, Copy)]
enum Doing {
    Listing,
    Pressing,
    Cancelling,
    Changing,
    Removing,
    Deleting,
    Answering,
}

impl AppCore {
    /// An app core over `config` on `platform`. Nothing starts until [`AppCore::warm_up`] or the
    /// first command.
    pub fn new(config: AppConfig, platform: Platform) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                platform,
                backend: Mutex::new(Arc::new(OnceCell::new())),
                embedded: Mutex::new(None),
                fridge_screen: Mutex::new(None),
                sign_in: account::SignInSlot::default(),
                sandbox_devices: Arc::new(SandboxDevices::default()),
                bluetooth: Radio::bluetooth(),
                onboarding: onboarding::OnboardingSlot::default(),
                network: network::NetworkSlot::default(),
                inbox: Mutex::new(None),
                notices: tokio::sync::broadcast::channel(64).0,
                follower: Mutex::new(None),
                account_changed: tokio::sync::Notify::new(),
                paused_until: Mutex::new(None),
                settings: Mutex::new(None),
                painted: tokio::sync::watch::channel(true).0,
            }),
        }
    }

    /// Starts the embedded sandbox (if there is one) once the UI has painted its first frame,
    /// so that the first command does not wait for it and the first frame does not either.
    pub async fn warm_up(&self) {
        self.first_paint().await;
        let _ = self.client().await;
    }

    /// Makes [`AppCore::first_paint`] wait for the UI's first frame: call it at launch when a
    /// window is about to open. (Without it, nothing waits: a core with no window to paint, as
    /// in tests or a launch into the tray, starts its work at once.)
    pub fn hold_until_first_paint(&self) {
        self.inner.painted.send_replace(false);
    }

    /// Waits until the UI has painted its first frame, when [`AppCore::hold_until_first_paint`]
    /// asked for that (or until [`FIRST_PAINT_PATIENCE`] has passed without one). Work the
    /// window does not need for that frame waits for this: on a small machine, starting the
    /// sandbox, following events and filling the tray's menu took the cores the window's first
    /// frame needed (cold start 1.43x the bare app's, 1.23x with the wait, in one run on 2
    /// cores). A command the UI sends runs at once.
    pub async fn first_paint(&self) {
        let mut painted = self.inner.painted.subscribe();
        let _ = tokio::time::timeout(FIRST_PAINT_PATIENCE, painted.wait_for(|p| *p)).await;
    }

    /// The URL of the Refill service in use: the one given for this launch (`--service` or
    /// `REFILL_SERVICE_URL`), else the one chosen in the settings; `None`: the embedded sandbox.
    fn service_url(&self) -> Option<String> {
        self.inner
            .config
            .service_url
            .clone()
            .or_else(|| self.settings().service_url)
    }

    /// The service the app talks to.
    pub fn service_info(&self) -> ServiceInfo {
        let url = self.service_url().or_else(|| {
            let cell = self.current_backend();
            match cell.get() {
                Some(Ok(backend)) => Some(backend.client.base_url().to_owned()),
                _ => None,
            }
        });
        ServiceInfo {
            kind: self.kind(),
            url,
            fixed: self.inner.config.service_url.is_some(),
            fingerprint: self.service_trust().fingerprint().map(|f| f.to_string()),
        }
    }

    /// How the service in use is trusted: the certificate the person trusted when they chose it
    /// in the settings, else the system's authorities.
    fn service_trust(&self) -> Trust {
        if self.inner.config.service_url.is_some() {
            return Trust::System;
        }
        self.settings()
            .service_certificate
            .as_deref()
            .and_then(refill_tls::Certificate::from_base64)
            .map_or(Trust::System, Trust::Pinned)
    }

    fn kind(&self) -> ServiceKind {
        if self.service_url().is_some() {
            ServiceKind::External
        } else {
            ServiceKind::Embedded
        }
    }

    fn current_backend(&self) -> Arc<Connection> {
        self.inner
            .backend
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Uses the service the settings now choose from the next command on: a new connection
    /// (and sign-in session) is made when next needed, the inbox starts afresh with that
    /// service's events, and the event follower moves over at once.
    pub(crate) fn service_changed(&self) {
        *self
            .inner
            .backend
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(OnceCell::new());
        self.forget_inbox();
        self.inner.account_changed.notify_one();
        tracing::info!(service = ?self.service_url(), "the app now uses another service");
    }

    async fn backend(&self) -> Result<Arc<Backend>, AppError> {
        let cell = self.current_backend();
        cell.get_or_init(|| async {
            let (key, url, trust) = match self.service_url() {
                Some(url) => (
                    url.trim_end_matches('/').to_owned(),
                    url,
                    self.service_trust(),
                ),
                None => (
                    "sandbox".to_owned(),
                    self.start_sandbox().await?,
                    Trust::System,
                ),
            };
            let chosen = match self.settings().sign_in {
                Some(provider) => Some(provider.provider()?),
                None => None,
            };
            let provider = self
                .inner
                .config
                .auth_provider
                .clone()
                .or(chosen)
                .unwrap_or_else(|| refill_auth::Provider {
                    trust: trust.clone(),
                    ..refill_auth::Provider::refill(&key, &url)
                });
            let session = Arc::new(refill_auth::Session::new(
                provider,
                self.inner.platform.tokens.clone(),
                Arc::new(refill_core::SystemClock),
            ));
            Ok(Arc::new(Backend {
                client: Client::trusting(&url, trust).with_session(session.clone()),
                session,
            }))
        })
        .await
        .clone()
    }

    async fn client(&self) -> Result<ClientRef, AppError> {
        Ok(ClientRef(self.backend().await?))
    }

    async fn start_sandbox(&self) -> Result<String, AppError> {
        // Chosen again after another service: the one already running.
        if let Some(running) = self
            .inner
            .embedded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            return Ok(running.base_url());
        }
        let db = self.inner.config.data_dir.join(SANDBOX_DB);
        let mut config = ServiceConfig::sandbox(&db);
        // The sandbox ships and delivers its orders itself, and its devices use up their
        // supplies; REFILL_SANDBOX_SPEED runs its time faster for a demo (8640: a day every
        // ten seconds).
        config.fulfil_every = Some(std::time::Duration::from_secs(1));
        config.simulate_every = Some(std::time::Duration::from_secs(1));
        config.review_items_every = Some(std::time::Duration::from_secs(1));
        // No device maker listens to the app's own sandbox.
        config.deliver_every = None;
        let speed = std::env::var("REFILL_SANDBOX_SPEED")
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 1.0);
        if let Some(speed) = speed {
            config.clock = std::sync::Arc::new(refill_core::FastClock::new(speed));
        }
        let clock = config.clock.clone();
        let service = refill_service::start(config).await.map_err(|e| {
            AppError::new(
                ErrorCode::SandboxFailed,
                format!("Refill's built-in sandbox service could not start: {e}."),
            )
        })?;
        let url = service.base_url();
        tracing::info!(url, db = %db.display(), "sandbox service started");
        self.start_fridge_screen(&service, clock, speed.unwrap_or(1.0))
            .await;
        *self
            .inner
            .embedded
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(service);
        // Devices on the home network reach it too, when the settings say so.
        self.serve_network().await;
        Ok(url)
    }

    /// The virtual Dash buttons. When the service can't be reached, the last grid seen is
    /// returned with `offline` set; with no grid seen yet, the error itself.
    pub async fn list_buttons(&self) -> Result<ButtonGrid, AppError> {
        let client = self.client().await?;
        match client.buttons().await {
            Ok(list) => {
                cache::store(&self.cache_path(), &self.cache_key(), &list.tiles);
                Ok(ButtonGrid {
                    tiles: list.tiles,
                    service: self.service_info(),
                    offline: None,
                })
            }
            Err(e) => {
                let error = self.error(e, Doing::Listing);
                let reachability = matches!(
                    error.code,
                    ErrorCode::ServiceUnreachable | ErrorCode::ServiceTimeout
                );
                match cache::load(&self.cache_path(), &self.cache_key()) {
                    Some(tiles) if reachability => Ok(ButtonGrid {
                        tiles,
                        service: self.service_info(),
                        offline: Some(error),
                    }),
                    _ => Err(error),
                }
            }
        }
    }

    /// One tap on a virtual Dash button: orders the item again, or returns its open order. A
    /// pack that costs more than 10 % more than last time is refused (`price_rose`, both prices
    /// in the message) until the customer confirms the price now (`confirm_price`).
    pub async fn press_button(
        &self,
        asin: String,
        confirm_price: Option<i64>,
    ) -> Result<PressResult, AppError> {
        let client = self.client().await?;
        let result = client
            .press_at(&asin, confirm_price)
            .await
            .map_err(|e| self.error(e, Doing::Pressing))?;
        cache::set_open_order(
            &self.cache_path(),
            &self.cache_key(),
            &asin,
            Some(&result.order),
        );
        Ok(result)
    }

    /// The devices linked to the account, with their slots and chosen products.
    pub async fn list_devices(&self) -> Result<DeviceList, AppError> {
        let client = self.client().await?;
        client
            .devices()
            .await
            .map_err(|e| self.error(e, Doing::Listing))
    }

    /// Cancels an order while it can still be cancelled.
    pub async fn cancel_order(&self, event_instance_id: String) -> Result<OrderView, AppError> {
        let client = self.client().await?;
        let order = client
            .cancel(&event_instance_id)
            .await
            .map_err(|e| self.error(e, Doing::Cancelling))?;
        cache::set_open_order(&self.cache_path(), &self.cache_key(), &order.asin, None);
        Ok(order)
    }

    /// What the customer says of an order they buy themselves (where the service does not
    /// fulfil orders itself): bought, it is on its way; arrived, its packs join the home's stock.
    pub async fn order_step(
        &self,
        event_instance_id: String,
        step: OrderStep,
    ) -> Result<OrderView, AppError> {
        let client = self.client().await?;
        let order = client
            .order_step(&event_instance_id, step)
            .await
            .map_err(|e| self.error(e, Doing::Changing))?;
        let open = (step == OrderStep::Bought).then_some(&order);
        cache::set_open_order(&self.cache_path(), &self.cache_key(), &order.asin, open);
        Ok(order)
    }

    /// The customer's latest orders, newest first.
    pub async fn list_orders(&self) -> Result<OrderList, AppError> {
        let client = self.client().await?;
        client
            .orders(50)
            .await
            .map_err(|e| self.error(e, Doing::Listing))
    }

    /// A device slot's supply, settings, level history and forecast.
    pub async fn slot_inventory(
        &self,
        model: String,
        serial: String,
        slot_id: String,
    ) -> Result<SlotInventory, AppError> {
        let client = self.client().await?;
        client
            .slot(&model, &serial, &slot_id)
            .await
            .map_err(|e| self.error(e, Doing::Listing))
    }

    /// Changes a device slot's settings: notify or reorder, its low and target levels, the
    /// stock on hand.
    pub async fn change_slot(
        &self,
        model: String,
        serial: String,
        slot_id: String,
        settings: SlotSettings,
    ) -> Result<SlotInventory, AppError> {
        let client = self.client().await?;
        client
            .change_slot(&model, &serial, &slot_id, &settings)
            .await
            .map_err(|e| self.error(e, Doing::Changing))
    }

    /// The catalog, for adding an item without a device.
    pub async fn list_products(&self) -> Result<ProductList, AppError> {
        let client = self.client().await?;
        client
            .products()
            .await
            .map_err(|e| self.error(e, Doing::Listing))
    }

    /// Tracks an item without a device in the account's "At home" list.
    pub async fn add_item(&self, item: NewItem) -> Result<ItemView, AppError> {
        let client = self.client().await?;
        client
            .add_item(&item)
            .await
            .map_err(|e| self.error(e, Doing::Changing))
    }

    /// Says of an item without a device that a new pack was opened (`opened`) or it ran out.
    pub async fn tell_item(
        &self,
        slot_id: String,
        opened: bool,
    ) -> Result<SlotInventory, AppError> {
        let client = self.client().await?;
        client
            .tell_item(&slot_id, opened)
            .await
            .map_err(|e| self.error(e, Doing::Changing))
    }

    /// Stops tracking an item without a device; its orders stay in the order list.
    pub async fn remove_item(&self, slot_id: String) -> Result<(), AppError> {
        let client = self.client().await?;
        client
            .remove_item(&slot_id)
            .await
            .map_err(|e| self.error(e, Doing::Changing))
    }

    /// Removes a device from the account as its own deregistration would (its maker is told,
    /// its tokens stop working), so that someone else can set it up; with `cancel_orders`, its
    /// orders that can still be cancelled are cancelled first. Its history stays.
    pub async fn remove_device(
        &self,
        model: String,
        serial: String,
        cancel_orders: bool,
    ) -> Result<(), AppError> {
        let client = self.client().await?;
        client
            .remove_device(&model, &serial, cancel_orders)
            .await
            .map_err(|e| self.error(e, Doing::Removing))
    }

    /// Renames a device.
    pub async fn rename_device(
        &self,
        model: String,
        serial: String,
        name: String,
    ) -> Result<DeviceView, AppError> {
        let client = self.client().await?;
        client
            .rename_device(&model, &serial, &name)
            .await
            .map_err(|e| self.error(e, Doing::Changing))
    }

    /// "Download my data": everything the service keeps about the customer, written as JSON to
    /// the downloads folder (or the data folder when there is none); the file's path.
    pub async fn download_my_data(&self) -> Result<String, AppError> {
        let client = self.client().await?;
        let export = client
            .export_account()
            .await
            .map_err(|e| self.error(e, Doing::Listing))?;
        let folder = self
            .inner
            .config
            .downloads_dir
            .clone()
            .unwrap_or_else(|| self.inner.config.data_dir.clone());
        let date = export.exported_at.date();
        let path = folder.join(format!(
            "refill-data-{:04}-{:02}-{:02}.json",
            date.year(),
            u8::from(date.month()),
            date.day()
        ));
        let json = serde_json::to_vec_pretty(&export).map_err(|e| {
            AppError::new(
                ErrorCode::Internal,
                format!("your data could not be written: {e}"),
            )
        })?;
        std::fs::create_dir_all(&folder)
            .and_then(|()| cache::replace_file(&path, &json))
            .map_err(|e| {
                AppError::new(
                    ErrorCode::Internal,
                    format!("Your data could not be saved in {}: {e}", folder.display()),
                )
            })?;
        tracing::info!("the customer's data was saved to their downloads folder");
        Ok(path.display().to_string())
    }

    /// Deletes the signed-in customer's account (confirmed by typing its email address): every
    /// device deregistered, open orders cancelled, personal data removed from the service; then
    /// signs out here. The sandbox's customer cannot be deleted without signing in.
    pub async fn delete_account(&self, confirm_email: String) -> Result<Account, AppError> {
        let client = self.client().await?;
        client
            .delete_account(&confirm_email)
            .await
            .map_err(|e| self.error(e, Doing::Deleting))?;
        tracing::info!("account deleted");
        // The service revoked every token: forget them here (a failed revocation is expected).
        self.sign_out().await
    }

    /// Called by the UI at its first animation frame. Logs it, and writes the time to the file
    /// named by `REFILL_READY_FILE` when set (the benchmark's start-up measurement).
    pub fn ui_ready(&self) {
        tracing::info!("UI painted its first frame");
        self.inner.painted.send_replace(true);
        if let Some(path) = std::env::var_os("REFILL_READY_FILE") {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            if let Err(e) = std::fs::write(&path, nanos.to_string()) {
                tracing::warn!("could not write the ready file: {e}");
            }
        }
    }

    /// Stops the embedded sandbox, if it runs, after the requests under way.
    pub async fn shutdown(&self) {
        if let Some(follower) = self
            .inner
            .follower
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            follower.abort();
        }
        self.stop_network().await;
        let service = self
            .inner
            .embedded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(service) = service {
            service.shutdown().await;
        }
    }

    fn cache_path(&self) -> PathBuf {
        self.inner.config.data_dir.join(cache::FILE)
    }

    fn cache_key(&self) -> String {
        self.service_url()
            .unwrap_or_else(|| "embedded-sandbox".to_owned())
    }

    fn error(&self, e: ClientError, doing: Doing) -> AppError {
        let code = e.code();
        let message = match (&e, doing) {
            (ClientError::Unreachable { url }, Doing::Pressing) => format!(
                "Can't reach the Refill service at {url}, so nothing was ordered. \
                 Check that it is running, then try again."
            ),
            (ClientError::Unreachable { url }, Doing::Cancelling) => format!(
                "Can't reach the Refill service at {url}, so the order was not cancelled. \
                 Try again in a moment."
            ),
            (ClientError::NoAnswer { .. }, Doing::Pressing) => {
                "The Refill service did not answer in time, so Refill can't tell whether the \
                 order went through. Tap again to check: you never get two open orders for \
                 the same item."
                    .to_owned()
            }
            (ClientError::Unreachable { url }, Doing::Changing) => format!(
                "Can't reach the Refill service at {url}, so nothing was changed. \
                 Try again in a moment."
            ),
            (ClientError::Unreachable { url }, Doing::Removing) => format!(
                "Can't reach the Refill service at {url}, so the device was not removed. \
                 Try again in a moment."
            ),
            (ClientError::Unreachable { url }, Doing::Answering) => format!(
                "Can't reach the Refill service at {url}, so your answer was not sent and \
                 nothing was ordered. Try again in a moment."
            ),
            (ClientError::Unreachable { url }, Doing::Deleting) => format!(
                "Can't reach the Refill service at {url}, so your account was not deleted. \
                 Try again in a moment."
            ),
            (ClientError::NoAnswer { .. }, Doing::Cancelling) => {
                "The Refill service did not answer in time, so Refill can't tell whether the \
                 order was cancelled. Try again."
                    .to_owned()
            }
            (
                ClientError::Certificate(CertificateProblem::Changed {
                    url,
                    expected,
                    found,
                }),
                _,
            ) => {
                format!(
                    "The Refill service at {url} presented a different certificate (SHA-256 \
                     {found}) from the one you trusted ({expected}), so Refill did not connect \
                     and nothing was sent: someone may be pretending to be your service. If \
                     its operator gave it a new certificate, choose the service again in \
                     Settings to compare and trust the new fingerprint."
                )
            }
            _ => e.to_string(),
        };
        AppError::new(code, message)
    }
}
