//! The Refill service.
//!
//! An HTTP API (axum) over a SQLite or PostgreSQL database (sqlx, see [`store::db`]), which runs
//! either as its own binary (`refill-service`) or embedded in the app as the **sandbox**: seeded
//! with a customer, device models, a catalog and an order history, so the app works out of the
//! box.
//!
//! Two layers, the lower never importing the upper:
//!
//! * [`http`]: routes, the kinds of caller they serve (customer, device, maker) and one error
//!   type answered in each API's dialect (Refill, DRS, sensor events, LwA).
//! * [`store`]: the database: schema migrations, queries, and the rules that must hold even
//!   under concurrency (one open order per item is a unique index, not a check in code).
//!
//! and beside them:
//!
//! * [`auth`]: scopes, secrets, password hashing and the sign-in guards, free of both layers.
//! * [`outbound`]: which addresses makers' webhooks may reach.
//! * [`sandbox`] seeds the sandbox data.
//! * [`start`] opens the database, binds the listener and serves until shut down.
//!
//! Every time-dependent rule reads the [`refill_core::Clock`] given in [`ServiceConfig`].

#[cfg(feature = "hosted")]
pub mod admin_tokens;
#[cfg(feature = "hosted")]
pub mod announce;
pub mod auth;
#[cfg(feature = "hosted")]
pub mod catalog;
#[cfg(feature = "hosted")]
pub mod clients;
#[cfg(feature = "hosted")]
pub mod config;
#[cfg(feature = "hosted")]
pub mod customers;
pub mod http;
mod images;
mod log_files;
#[cfg(feature = "hosted")]
pub mod mail;
#[cfg(feature = "hosted")]
pub mod models;
#[cfg(feature = "hosted")]
pub mod operator;
pub mod outbound;
pub mod sandbox;
pub mod simulation;
pub mod store;

pub use store::db::Database;
pub use store::Store;

use refill_core::{OrderPolicy, SharedClock, SystemClock};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How to run a service.
#[derive(Clone)]
pub struct ServiceConfig {
    /// Where the data lives: a SQLite file (created, with its folder, if missing) or, with the
    /// `postgres` feature, a PostgreSQL database.
    pub database: Database,
    /// Where to listen. Port 0 picks a free port.
    pub listen: SocketAddr,
    /// Seed the sandbox data into a new database.
    pub sandbox: bool,
    /// Refuse `/v1` requests without a valid sign-in even in a sandbox on loopback. Only a
    /// sandbox listening on a loopback address lets a request without a token act for its first
    /// customer (how the app's embedded sandbox works out of the box); any other service
    /// requires sign-in whatever this says, and a sandbox on another address refuses to start
    /// unless this is set (see [`ServiceConfig::anonymous_allowed`]).
    pub require_sign_in: bool,
    /// The order timing rules.
    pub policy: OrderPolicy,
    /// The clock every rule reads.
    pub clock: SharedClock,
    /// How often (real time) orders are moved along: shipped once they can no longer be
    /// cancelled, delivered when due. `None`: orders stay as they are (fulfilment is someone
    /// else's, or a test moves them with [`Store::fulfil`]).
    pub fulfil_every: Option<std::time::Duration>,
    /// How often (real time) due webhook notifications and order hand-overs are sent; `None`:
    /// never (tests send them with [`Store::deliver_webhooks`] and [`Store::hand_over`]).
    pub deliver_every: Option<std::time::Duration>,
    /// Let makers' webhooks and customers' order webhooks reach loopback, link-local, private
    /// and multicast addresses (a home network); otherwise they reach public addresses only
    /// (see [`outbound`]).
    pub allow_private_webhooks: bool,
    /// Serve HTTPS with this certificate (the `tls` feature: see [`http::tls`]); `None`: plain
    /// HTTP.
    pub tls: Option<http::serve::Tls>,
    /// Bounds on connections: how many, how many from one address, and how long a request's
    /// headers and body may take (see [`serve`]).
    pub limits: http::serve::Limits,
    /// How often (real time) the sandbox's seeded devices use their supplies and report them
    /// (see [`simulation`]); `None`: they stay still.
    pub simulate_every: Option<std::time::Duration>,
    /// How often (real time) devices are checked for silence, their customers told once per
    /// silence ([`Store::watch_silence`]); `None`: never (tests call it themselves).
    pub watch_every: Option<std::time::Duration>,
    /// How often (real time) what is left of items without a device is worked out from their
    /// forecasts, and the reorder rule run on them ([`Store::review_items`]); `None`: never
    /// (tests call it themselves).
    pub review_items_every: Option<std::time::Duration>,
    /// How often (real time) unanswered approval requests past their time are marked expired
    /// ([`Store::expire_approvals`]); `None`: never (tests call it themselves).
    pub approvals_every: Option<std::time::Duration>,
    /// How often (real time) level history is thinned as it ages: hourly after two days, daily
    /// after thirty ([`Store::compact_levels`]); `None`: never (tests call it themselves).
    pub compact_levels_every: Option<std::time::Duration>,
    /// The mail server orders go through for customers who chose email; `None`: email is not
    /// offered.
    #[cfg(feature = "hosted")]
    pub mail: Option<mail::Mailer>,
}

impl ServiceConfig {
    /// A sandbox on `database`, listening on a free loopback port, on the system clock.
    pub fn sandbox(database: impl Into<Database>) -> Self {
        Self {
            database: database.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            sandbox: true,
            require_sign_in: false,
            policy: OrderPolicy::default(),
            clock: Arc::new(SystemClock),
            fulfil_every: None,
            deliver_every: Some(std::time::Duration::from_millis(500)),
            allow_private_webhooks: false,
            tls: None,
            limits: http::serve::Limits::default().without_rates(),
            simulate_every: None,
            watch_every: None,
            review_items_every: None,
            approvals_every: Some(std::time::Duration::from_secs(30)),
            compact_levels_every: Some(std::time::Duration::from_secs(600)),
            #[cfg(feature = "hosted")]
            mail: None,
        }
    }
}

impl ServiceConfig {
    /// The same, serving HTTPS with the self-signed certificate kept in `data_folder`/tls (made
    /// there first if there is none).
    #[cfg(feature = "tls")]
    pub fn with_self_signed(
        mut self,
        data_folder: &std::path::Path,
    ) -> Result<Self, http::tls::TlsSetupError> {
        self.tls = Some(http::tls::Tls::self_signed(data_folder, &[])?.0);
        Ok(self)
    }

    /// Whether a request without a sign-in acts for the first customer: only in a sandbox on a
    /// loopback address that does not require sign-in.
    pub fn anonymous_allowed(&self) -> bool {
        self.sandbox && !self.require_sign_in && self.listen.ip().is_loopback()
    }
}

/// A service's listener for the devices of the home network ([`RunningService::serve_network`]).
pub struct NetworkListener {
    addr: SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl NetworkListener {
    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections and finishes the requests under way.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        let _ = (&mut self.task).await;
    }
}

/// Why a service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database could not be opened or migrated.
    #[error("could not open the database {database}: {source}")]
    Database {
        /// The file, or the URL without its password.
        database: String,
        /// Why.
        source: sqlx::Error,
    },
    /// The database is from a newer or unknown version of Refill.
    #[error("could not update the database {database} to this version of Refill: {source}")]
    Migrate {
        /// The file, or the URL without its password.
        database: String,
        /// Why.
        source: sqlx::migrate::MigrateError,
    },
    /// A sandbox without sign-in was asked to listen where others can reach it.
    #[error(
        "a sandbox on {addr} would let anyone who reaches it act as its demo customer: listen on \
         a loopback address such as 127.0.0.1:8750, or add --require-sign-in so that everyone \
         signs in"
    )]
    AnonymousOffLoopback {
        /// The address.
        addr: SocketAddr,
    },
    /// The address could not be bound.
    #[error("could not listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// A service that is serving requests.
pub struct RunningService {
    addr: SocketAddr,
    /// As started, for a second listener's state ([`RunningService::serve_network`]).
    config: ServiceConfig,
    tls: Option<http::serve::Tls>,
    store: Store,
    stop: tokio::sync::watch::Sender<bool>,
    task: JoinHandle<()>,
    fulfilment: Option<JoinHandle<()>>,
    deliveries: Option<JoinHandle<()>>,
    simulation: Option<JoinHandle<()>>,
    watch: Option<JoinHandle<()>>,
    review_items: Option<JoinHandle<()>>,
    approvals: Option<JoinHandle<()>>,
    compaction: Option<JoinHandle<()>>,
}

impl RunningService {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL, such as `http://127.0.0.1:41234` (`https://` with a certificate).
    pub fn base_url(&self) -> String {
        base_url(self.addr, self.tls.is_some())
    }

    /// The certificate it serves HTTPS with, if it does.
    #[cfg(feature = "tls")]
    pub fn certificate(&self) -> Option<&refill_tls::Certificate> {
        self.tls.as_ref().map(http::tls::Tls::certificate)
    }

    /// Its database.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Also serves the devices of the home network at `listen`, over TLS by `handshake`, and
    /// only the device API ([`http::device_router`]: the token endpoint and DRS), where every
    /// call needs a device's token: nothing there acts for the sandbox's customer, whatever
    /// this service lets its loopback callers do. Stop it ([`NetworkListener::stop`]) before
    /// the service. Needs a Tokio runtime.
    pub fn serve_network(
        &self,
        listen: SocketAddr,
        handshake: http::serve::Handshake,
    ) -> Result<NetworkListener, StartError> {
        let failed = |source| StartError::Listen {
            addr: listen,
            source,
        };
        let listener = std::net::TcpListener::bind(listen).map_err(failed)?;
        listener.set_nonblocking(true).map_err(failed)?;
        let listener = TcpListener::from_std(listener).map_err(failed)?;
        let addr = listener.local_addr().map_err(failed)?;
        let mut config = self.config.clone();
        config.listen = addr;
        config.require_sign_in = true;
        config.tls = None;
        let state = http::AppState::new(self.store.clone(), &config);
        debug_assert!(!state.anonymous());
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(http::serve::run_with(
            listener,
            http::device_router(state),
            config.limits,
            Some(handshake),
            stopped,
        ));
        tracing::info!(%addr, "Refill service also serving devices on the network (TLS)");
        Ok(NetworkListener { addr, stop, task })
    }

    /// Stops accepting requests, finishes the ones under way and closes the database.
    pub async fn shutdown(mut self) {
        for task in [
            self.fulfilment.take(),
            self.deliveries.take(),
            self.simulation.take(),
            self.watch.take(),
            self.review_items.take(),
            self.approvals.take(),
            self.compaction.take(),
        ]
        .into_iter()
        .flatten()
        {
            task.abort();
        }
        self.store.begin_closing();
        let _ = self.stop.send(true);
        let _ = (&mut self.task).await;
        self.store.close().await;
    }
}

/// Opens the database, seeds the sandbox if asked, and serves the API until shut down.
pub async fn start(config: ServiceConfig) -> Result<RunningService, StartError> {
    if config.sandbox && !config.require_sign_in && !config.listen.ip().is_loopback() {
        return Err(StartError::AnonymousOffLoopback {
            addr: config.listen,
        });
    }
    let store = Store::open(&config.database).await?;
    // A sped-up clock continues after what an earlier run recorded.
    let latest = store
        .latest_activity()
        .await
        .map_err(|source| StartError::Database {
            database: config.database.to_string(),
            source,
        })?;
    if let Some(latest) = latest {
        config.clock.catch_up(latest);
    }
    if config.sandbox {
        sandbox::seed(&store, config.clock.now())
            .await
            .map_err(|source| StartError::Database {
                database: config.database.to_string(),
                source,
            })?;
    }
    // Every service knows the Refill app (a public client: PKCE, loopback and refill://
    // redirects), so that the app can sign in to it out of the box.
    store
        .ensure_client(&auth::sandbox_client())
        .await
        .map_err(|source| StartError::Database {
            database: config.database.to_string(),
            source,
        })?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Listen {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen {
        addr: config.listen,
        source,
    })?;
    let fulfilment = config
        .fulfil_every
        .map(|every| store::fulfilment::spawn(store.clone(), config.clock.clone(), every));
    #[cfg(feature = "hosted")]
    let deliveries = config.deliver_every.map(|every| {
        store::webhooks::spawn(
            store.clone(),
            config.clock.clone(),
            config.policy,
            every,
            !config.allow_private_webhooks,
            config.mail.clone(),
        )
    });
    #[cfg(not(feature = "hosted"))]
    let deliveries = None;
    let watch = config.watch_every.map(|every| {
        let store = store.clone();
        spawn_rounds(
            every,
            config.clock.clone(),
            "silent devices could not be checked",
            move |now| {
                let store = store.clone();
                async move { store.watch_silence(now).await }
            },
        )
    });
    let review_items = config.review_items_every.map(|every| {
        let store = store.clone();
        let policy = config.policy;
        spawn_rounds(
            every,
            config.clock.clone(),
            "items without a device could not be brought up to date",
            move |now| {
                let store = store.clone();
                async move { store.review_items(now, &policy).await }
            },
        )
    });
    let approvals = config.approvals_every.map(|every| {
        let store = store.clone();
        spawn_rounds(
            every,
            config.clock.clone(),
            "unanswered approval requests could not be expired",
            move |now| {
                let store = store.clone();
                async move { store.expire_approvals(now).await }
            },
        )
    });
    let compaction = config.compact_levels_every.map(|every| {
        let store = store.clone();
        spawn_rounds(
            every,
            config.clock.clone(),
            "level history could not be thinned",
            move |now| {
                let store = store.clone();
                async move { store.compact_levels(now).await }
            },
        )
    });
    let simulation = config.simulate_every.map(|every| {
        // The simulated devices report to this service, trusting its own certificate.
        #[cfg(feature = "tls")]
        let trust = match &config.tls {
            Some(tls) => refill_tls::Trust::Pinned(tls.certificate().clone()),
            None => refill_tls::Trust::System,
        };
        simulation::spawn(
            base_url(addr, config.tls.is_some()),
            move || {
                #[cfg(feature = "tls")]
                let builder = outbound::builder(trust.client_builder());
                #[cfg(not(feature = "tls"))]
                let builder = outbound::builder(reqwest::Client::builder());
                builder.build().unwrap_or_default()
            },
            store.clone(),
            config.clock.clone(),
            every,
        )
    });
    let state = http::AppState::new(store.clone(), &config);
    let app = http::router(state);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(http::serve::run(
        listener,
        app,
        config.limits,
        config.tls.clone(),
        stopped,
    ));
    tracing::info!(%addr, sandbox = config.sandbox, https = config.tls.is_some(), "Refill service listening");
    Ok(RunningService {
        addr,
        tls: config.tls.clone(),
        config,
        store,
        stop,
        task,
        fulfilment,
        deliveries,
        simulation,
        watch,
        review_items,
        approvals,
        compaction,
    })
}

/// The base URL of a service listening on `addr`.
fn base_url(addr: SocketAddr, https: bool) -> String {
    format!("{}://{addr}", if https { "https" } else { "http" })
}

/// The rounds of a background task: every `every` (real time), the first one `every` from now
/// (so that nothing competes with the app's start), missed ones not made up.
pub(crate) fn rounds(every: std::time::Duration) -> tokio::time::Interval {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks
}

/// Runs `round` with `clock`'s time every `every` (real time, see [`rounds`]) until the task is
/// dropped; a round that fails is logged as `failed` and the next one comes as usual.
pub(crate) fn spawn_rounds<T, E, F, Fut>(
    every: std::time::Duration,
    clock: SharedClock,
    failed: &'static str,
    round: F,
) -> JoinHandle<()>
where
    E: std::fmt::Display,
    F: Fn(time::OffsetDateTime) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<T, E>> + Send,
{
    tokio::spawn(async move {
        let mut ticks = rounds(every);
        loop {
            ticks.tick().await;
            if let Err(e) = round(clock.now()).await {
                tracing::warn!("{failed}: {e}");
            }
        }
    })
}

/// Sends logs to standard error, filtered by `REFILL_LOG`: a level (`info`, the default) or
/// `target=level` pairs such as `refill_commands=debug,info`. (No regex filters: they cost the
/// app's binary ~240 KB.)
pub fn init_logging() {
    init_logging_to(None);
}

/// How many days of log files [`init_logging_to`] keeps.
pub const LOG_DAYS_KEPT: usize = 7;

/// [`init_logging`], and also to a file in `folder` when one is given: `refill.YYYY-MM-DD.log`,
/// a new one each day, the last [`LOG_DAYS_KEPT`] kept. When the folder cannot be written,
/// standard error alone is used and the reason is logged there.
pub fn init_logging_to(folder: Option<&std::path::Path>) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter: tracing_subscriber::filter::Targets = std::env::var("REFILL_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            tracing_subscriber::filter::Targets::new().with_default(tracing::Level::INFO)
        });
    let mut problem = None;
    let file = folder.and_then(
        |folder| match log_files::DailyFiles::new(folder, LOG_DAYS_KEPT) {
            Ok(files) => Some(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(files),
            ),
            Err(e) => {
                problem = Some(format!(
                    "logs go to standard error only: {} cannot be written: {e}",
                    folder.display()
                ));
                None
            }
        },
    );
    let installed = tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(file)
        .with(filter)
        .try_init()
        .is_ok();
    if let (true, Some(problem)) = (installed, problem) {
        tracing::warn!("{problem}");
    }
    if installed {
        log_panics();
    }
}

/// Logs a panic (what went wrong and where) before the default hook runs: a desktop app's
/// standard error goes nowhere, so the log file is where a bug report can find it.
fn log_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str))
            .unwrap_or("no message");
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let thread = std::thread::current();
        tracing::error!(
            "a bug in Refill stopped thread {}: {what} (at {place})",
            thread.name().unwrap_or("unnamed")
        );
        previous(info);
    }));
}
