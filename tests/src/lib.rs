//! The end-to-end harness: starts the real Refill binary through tauri-driver (which drives
//! WebKitWebDriver) and hands tests a WebDriver client.
//!
//! Each launch gets its own tauri-driver on free ports, and the app gets an isolated home: fresh
//! `XDG_DATA_HOME`, `XDG_CONFIG_HOME` and `XDG_CACHE_HOME` folders, so it never sees the user's
//! own app data or keyring. The app finds its data folder there exactly as it would on a real
//! desktop (`$XDG_DATA_HOME/dev.refill.app`).
//!
//! Needs a display and a session bus: `cargo xtask test` runs these tests under
//! `dbus-run-session -- xvfb-run`, with `REFILL_APP_BIN` naming the binary.

use anyhow::{bail, Context, Result};
use fantoccini::{Client, ClientBuilder, Locator};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The app's identifier, which names its data folder.
pub const APP_IDENTIFIER: &str = "dev.refill.app";

/// How long to wait for something to show up.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The repository's target folder.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    )
}

/// An isolated home for the app: its XDG folders, kept across launches to test restarts.
pub struct AppHome {
    dir: tempfile::TempDir,
}

impl AppHome {
    /// A new, empty home.
    pub fn new() -> Result<Self> {
        let home = Self {
            dir: tempfile::Builder::new().prefix("refill-e2e-").tempdir()?,
        };
        for dir in [home.xdg_data(), home.xdg_config(), home.xdg_cache()] {
            std::fs::create_dir_all(dir)?;
        }
        Ok(home)
    }

    /// `$XDG_CONFIG_HOME`.
    pub fn xdg_config(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    /// `$XDG_CACHE_HOME`.
    pub fn xdg_cache(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    /// `$XDG_DATA_HOME`.
    pub fn xdg_data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The app's data folder, where the sandbox database lives.
    pub fn app_data(&self) -> PathBuf {
        self.xdg_data().join(APP_IDENTIFIER)
    }

    /// What the app wrote to its own log files (`logs/refill.*.log` in its data folder), oldest
    /// file first.
    pub fn app_log(&self) -> Result<String> {
        let folder = self.app_data().join("logs");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
            .with_context(|| format!("the app wrote no log folder at {}", folder.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| {
                path.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("refill.") && n.ends_with(".log"))
            })
            .collect();
        files.sort();
        let mut log = String::new();
        for file in files {
            log.push_str(&std::fs::read_to_string(file)?);
        }
        Ok(log)
    }

    /// The sandbox database.
    pub fn sandbox_db(&self) -> PathBuf {
        self.app_data().join("sandbox.sqlite")
    }

    /// The root folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `program` set up to run in this home, as the desktop would start it: the XDG folders, and
    /// the display and session bus of the tests. Killed if dropped while running.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(program);
        command
            .env("XDG_DATA_HOME", self.xdg_data())
            .env("XDG_CONFIG_HOME", self.xdg_config())
            .env("XDG_CACHE_HOME", self.xdg_cache())
            .env("REFILL_LOG", "info")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    }
}

/// Runs `command` to its end, for at most [`PATIENCE`].
pub async fn run_to_end(mut command: tokio::process::Command) -> Result<std::process::Output> {
    let output = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output();
    tokio::time::timeout(PATIENCE, output)
        .await
        .context("it did not end in time")?
        .context("it could not be started")
}

/// A running app with a WebDriver session on it.
pub struct App {
    /// The WebDriver client.
    pub client: Client,
    driver: Driver,
    log: PathBuf,
}

/// tauri-driver, stopped when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The app binary under test.
pub fn app_binary() -> Result<PathBuf> {
    let bin = std::env::var_os("REFILL_APP_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("debug/refill-app"));
    if !bin.is_file() {
        bail!(
            "the app binary {} does not exist: run the end-to-end tests through `cargo xtask test`",
            bin.display()
        );
    }
    Ok(bin.canonicalize()?)
}

impl App {
    /// Starts the app in `home` with extra command-line `args`; `name` names its log file.
    pub async fn launch(home: &AppHome, name: &str, args: &[&str]) -> Result<App> {
        Self::launch_with(home, name, args, &[]).await
    }

    /// [`App::launch`] with extra environment variables.
    pub async fn launch_with(
        home: &AppHome,
        name: &str,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Result<App> {
        // A port found free can be taken by another driver before tauri-driver binds it (the
        // browser tests run one of their own): then the session cannot start; start afresh.
        let mut tries = 0;
        loop {
            match App::try_launch(home, name, args, envs).await {
                Err(e) if tries < 2 && format!("{e:#}").contains("could not start the app") => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                launched => return launched,
            }
        }
    }

    async fn try_launch(
        home: &AppHome,
        name: &str,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Result<App> {
        let bin = app_binary()?;
        let port = free_port()?;
        let native_port = free_port()?;
        let logs = target_dir().join("e2e/logs");
        std::fs::create_dir_all(&logs)?;
        let log = logs.join(format!("{name}.log"));
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)?;
        let driver = Command::new("tauri-driver")
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native_port.to_string(),
            ])
            .env("XDG_DATA_HOME", home.xdg_data())
            .env("XDG_CONFIG_HOME", home.xdg_config())
            .env("XDG_CACHE_HOME", home.xdg_cache())
            .env("REFILL_LOG", "info")
            .envs(envs.iter().copied())
            .stdout(Stdio::from(log_file.try_clone()?))
            .stderr(Stdio::from(log_file))
            .spawn()
            .context(
                "could not start tauri-driver (is it installed? `cargo xtask test` installs it)",
            )?;
        let driver = Driver(driver);
        wait_for_port(port).await?;
        // Two rustls crypto providers are linked in (see Cargo.toml): choose one, once.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "wry".into());
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": bin, "args": args }),
        );
        let client = ClientBuilder::rustls()?
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .with_context(|| {
                format!("WebDriver could not start the app (log: {})", log.display())
            })?;
        Ok(App {
            client,
            driver,
            log,
        })
    }

    /// Waits for the element matching `css`.
    pub async fn find(&self, css: &str) -> Result<fantoccini::elements::Element> {
        self.client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
            .with_context(|| format!("nothing matched {css} (log: {})", self.log.display()))
    }

    /// Whether an element matching `css` is there right now. An element the page removes while
    /// the driver collects the matches ("stale element") makes it look again.
    pub async fn exists(&self, css: &str) -> Result<bool> {
        let mut tries = 0;
        loop {
            match self.client.find_all(Locator::Css(css)).await {
                Ok(found) => return Ok(!found.is_empty()),
                Err(e) if e.is_stale_element_reference() && tries < 20 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The text of the element with `data-testid="{test_id}"`.
    pub async fn text(&self, test_id: &str) -> Result<String> {
        let mut tries = 0;
        loop {
            let element = self.find(&format!("[data-testid='{test_id}']")).await?;
            match element.text().await {
                Ok(text) => return Ok(text),
                // Re-rendered between finding and reading: read the new one.
                Err(e) if e.is_stale_element_reference() && tries < 20 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Waits until the text of `test_id` satisfies `ok`, and returns it.
    pub async fn wait_text(&self, test_id: &str, ok: impl Fn(&str) -> bool) -> Result<String> {
        let started = Instant::now();
        loop {
            let text = self.text(test_id).await?;
            if ok(&text) {
                return Ok(text);
            }
            if started.elapsed() > PATIENCE {
                bail!(
                    "{test_id} still says {text:?} (log: {})",
                    self.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks the element with `data-testid="{test_id}"`.
    pub async fn click(&self, test_id: &str) -> Result<()> {
        self.find(&format!("[data-testid='{test_id}']"))
            .await?
            .click()
            .await?;
        Ok(())
    }

    /// Types `text` into the input with `data-testid="{test_id}"`, replacing what it held.
    pub async fn type_into(&self, test_id: &str, text: &str) -> Result<()> {
        let input = self.find(&format!("[data-testid='{test_id}']")).await?;
        input.clear().await?;
        input.send_keys(text).await?;
        Ok(())
    }

    /// What the form field with `data-testid="{test_id}"` holds now.
    pub async fn value(&self, test_id: &str) -> Result<String> {
        let input = self.find(&format!("[data-testid='{test_id}']")).await?;
        Ok(input.prop("value").await?.unwrap_or_default())
    }

    /// The value of `attribute` of the element with `data-testid="{test_id}"`, once it has one.
    pub async fn wait_attr(&self, test_id: &str, attribute: &str) -> Result<String> {
        let started = Instant::now();
        loop {
            let element = self.find(&format!("[data-testid='{test_id}']")).await?;
            if let Some(value) = element.attr(attribute).await? {
                return Ok(value);
            }
            if started.elapsed() > PATIENCE {
                bail!("{test_id} has no {attribute} (log: {})", self.log.display());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Saves a screenshot of the display, as a person would see it, as `target/e2e/{name}.png`.
    ///
    /// The picture is taken from the X display (ImageMagick's `import`), not through WebDriver:
    /// the DOM can run ahead of what is on screen (a debug build on software GL composites its
    /// first frames slowly), and WebKitWebDriver's own screenshot may then show an older frame.
    /// So it captures until two captures in a row agree, for at most a few seconds.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let dir = target_dir().join("e2e");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}.png"));
        let started = Instant::now();
        let mut last: Option<Vec<u8>> = None;
        let mut captures = 0;
        loop {
            tokio::time::sleep(Duration::from_millis(400)).await;
            let status = Command::new("import")
                .args(["-window", "root"])
                .arg(&path)
                .status()
                .context("could not run ImageMagick's import (`cargo xtask test` installs it)")?;
            if !status.success() {
                bail!("taking a screenshot failed ({status})");
            }
            captures += 1;
            let bytes = std::fs::read(&path)?;
            let settled = captures >= 3 && last.as_ref() == Some(&bytes);
            if settled || started.elapsed() > Duration::from_secs(8) {
                // Every page a test looks at is checked for accessibility too.
                self.check_accessibility(name).await?;
                return Ok(path);
            }
            last = Some(bytes);
        }
    }

    /// Runs axe-core (the engine of the browsers' accessibility audits, from the UI's npm
    /// packages) on the page as it is now: fails on any serious or critical violation of WCAG
    /// 2.1 A/AA, naming the rule and the elements.
    pub async fn check_accessibility(&self, page: &str) -> Result<()> {
        let axe = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../ui/node_modules/axe-core/axe.min.js");
        let source = std::fs::read_to_string(&axe).with_context(|| {
            format!("{} is missing: `npm ci` in ui/ installs it", axe.display())
        })?;
        self.client
            .execute(
                &format!("{source}\n;window.axe = axe; return true;"),
                vec![],
            )
            .await
            .context("axe-core could not be loaded into the page")?;
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 window.axe
                   .run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
                   .then((r) => done(r.violations
                     .filter((v) => v.impact === 'serious' || v.impact === 'critical')
                     .map((v) => `${v.id} (${v.impact}): ${v.help}\\n    ` + v.nodes.slice(0, 6)
                       .map((n) => `${n.target.join(' ')}: ${n.failureSummary.replace(/\\n/g, ' ')}`)
                       .join('\\n    '))))
                   .catch((e) => done([`axe-core failed: ${e}`]));",
                vec![],
            )
            .await
            .context("axe-core could not check the page")?;
        let violations: Vec<String> = serde_json::from_value(found)?;
        if !violations.is_empty() {
            bail!(
                "accessibility of the page '{page}' (axe-core, serious or critical):\n  {}",
                violations.join("\n  ")
            );
        }
        Ok(())
    }

    /// Ends the session (which closes the app) and stops tauri-driver.
    pub async fn quit(self) -> Result<()> {
        let closed = self.client.clone().close().await;
        drop(self.driver);
        closed?;
        Ok(())
    }
}

/// A web browser for the sign-in pages, as the person's own: headless Chromium (Debian's
/// `chromium`, driven by its `chromedriver`; Chromium-based browsers, most people's, apply rules
/// that others do not, such as CSP `form-action` on the redirect that answers a form) or
/// WebKitGTK's MiniBrowser (driven by `WebKitWebDriver`; the engine of GNOME Web and Safari's
/// relative).
pub struct WebBrowser {
    /// The WebDriver client.
    pub client: Client,
    _driver: Driver,
}

/// WebKitGTK's MiniBrowser, which the `libwebkit2gtk-4.1-0` package ships.
fn minibrowser() -> Result<PathBuf> {
    std::fs::read_dir("/usr/lib")?
        .flatten()
        .map(|dir| dir.path().join("webkit2gtk-4.1/MiniBrowser"))
        .find(|path| path.is_file())
        .context("WebKitGTK's MiniBrowser is not installed (libwebkit2gtk-4.1-0)")
}

impl WebBrowser {
    /// Starts chromedriver and a headless Chromium session.
    pub async fn chromium() -> Result<WebBrowser> {
        Self::start(
            "chromedriver",
            serde_json::json!({
                "browserName": "chrome",
                "goog:chromeOptions": {
                    // --no-sandbox: the tests may run as root, where Chromium's sandbox can't start.
                    "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                             "--disable-dev-shm-usage", "--no-first-run"],
                },
            }),
        )
        .await
    }

    /// Starts WebKitWebDriver and a MiniBrowser session (on the test's virtual display).
    pub async fn webkitgtk() -> Result<WebBrowser> {
        let binary = minibrowser()?;
        Self::start(
            "WebKitWebDriver",
            serde_json::json!({
                "browserName": "MiniBrowser",
                "webkitgtk:browserOptions": {
                    "binary": binary,
                    "args": ["--automation"],
                },
            }),
        )
        .await
    }

    async fn start(driver: &str, capabilities: serde_json::Value) -> Result<WebBrowser> {
        let port = free_port()?;
        let logs = target_dir().join("e2e/logs");
        std::fs::create_dir_all(&logs)?;
        let log = std::fs::File::create(logs.join(format!("{driver}.log")))?;
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| {
                format!("could not start {driver} (`cargo xtask test` installs it)")
            })?;
        let driver_process = Driver(child);
        wait_for_port(port).await?;
        let _ = rustls::crypto::ring::default_provider().install_default();
        let serde_json::Value::Object(caps) = capabilities else {
            bail!("capabilities must be an object");
        };
        let client = ClientBuilder::rustls()?
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .with_context(|| format!("{driver} could not start its browser"))?;
        Ok(WebBrowser {
            client,
            _driver: driver_process,
        })
    }

    /// On the service's sign-in page (loaded): types `email` and `password` and presses Sign in.
    /// It first waits (up to 3 s) for the page's `autofocus` to land on the email field: a
    /// browser that applies it late (WebKitGTK, starting cold) would otherwise move the focus
    /// there while the password is typed, and sign in with the wrong one.
    pub async fn fill_sign_in(&self, email: &str, password: &str) -> Result<()> {
        let settled = Instant::now();
        while settled.elapsed() < Duration::from_secs(3) {
            let focused = self
                .client
                .execute(
                    "return document.activeElement && document.activeElement.id",
                    vec![],
                )
                .await?;
            if focused == "email" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let find = |css: &'static str| self.client.find(Locator::Css(css));
        find("#email").await?.send_keys(email).await?;
        find("#password").await?.send_keys(password).await?;
        find("button.primary").await?.click().await?;
        Ok(())
    }

    /// Opens `authorize_url`, signs in with `email` and `password` on the sign-in page, and
    /// presses Allow on the consent page, as a person would; returns the page the browser ends
    /// on, once it has left the service (the app's loopback page).
    pub async fn sign_in(
        &self,
        authorize_url: &str,
        email: &str,
        password: &str,
    ) -> Result<String> {
        self.client.goto(authorize_url).await?;
        self.field("#email").await?;
        self.fill_sign_in(email, password).await?;
        self.allow(authorize_url).await
    }

    /// Opens `authorize_url` and, as a person invited to a service that takes new accounts by
    /// invitation would, opens "Invited? Create your account", gives `name`, `email`, the
    /// invitation `code` and a `password`, creates the account and presses Allow; returns the
    /// page the browser ends on, once it has left the service.
    pub async fn sign_up_invited(
        &self,
        authorize_url: &str,
        (name, email): (&str, &str),
        code: &str,
        password: &str,
    ) -> Result<String> {
        self.client.goto(authorize_url).await?;
        self.field("details summary").await?.click().await?;
        for (css, text) in [
            ("#new-name", name),
            ("#new-email", email),
            ("#new-invitation", code),
            ("#new-password", password),
        ] {
            self.field(css).await?.send_keys(text).await?;
        }
        self.field("form[action='/ap/signup'] button.primary")
            .await?
            .click()
            .await?;
        self.allow(authorize_url).await
    }

    /// Waits (up to [`PATIENCE`]) for the element `css` on the page.
    async fn field(&self, css: &str) -> Result<fantoccini::elements::Element> {
        match self
            .client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => Ok(element),
            Err(e) => {
                let url = self.client.current_url().await.map(|u| u.to_string());
                let page = self.client.source().await.unwrap_or_default();
                bail!("no {css} on the page ({e}) at {url:?}: {page}")
            }
        }
    }

    /// On the consent page of the sign-in that `authorize_url` started: presses Allow and waits
    /// until the browser has left the service; that page.
    async fn allow(&self, authorize_url: &str) -> Result<String> {
        self.field("button[value='allow']").await?.click().await?;
        let service = authorize_url
            .split("/ap/oa")
            .next()
            .unwrap_or_default()
            .to_owned();
        let started = Instant::now();
        loop {
            let url = self.client.current_url().await?.to_string();
            if !url.starts_with(&service) {
                return Ok(self.client.source().await?);
            }
            if started.elapsed() > PATIENCE {
                let page = self.client.source().await.unwrap_or_default();
                bail!("the browser stayed on {url} after Allow: {page}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Ends the session and stops its driver.
    pub async fn quit(self) -> Result<()> {
        self.client.clone().close().await?;
        Ok(())
    }
}

/// Waits until tauri-driver accepts connections on `port`.
async fn wait_for_port(port: u16) -> Result<()> {
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if started.elapsed() > PATIENCE {
            bail!("tauri-driver did not start listening on port {port}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Ok(())
}

/// The SQLite database `db`, opened read-only (the app holds it open for writing).
async fn read_only(db: &Path) -> Result<sqlx::SqliteConnection> {
    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::ConnectOptions;
    SqliteConnectOptions::new()
        .filename(db)
        .read_only(true)
        .connect()
        .await
        .with_context(|| format!("opening {}", db.display()))
}

/// Counts orders of `asin` with `status` in the SQLite database `db`.
pub async fn count_orders(db: &Path, asin: &str, statuses: &[&str]) -> Result<i64> {
    let mut conn = read_only(db).await?;
    let mut total = 0;
    for status in statuses {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE asin = ?1 AND status = ?2")
                .bind(asin)
                .bind(status)
                .fetch_one(&mut conn)
                .await?;
        total += n;
    }
    Ok(total)
}

/// What the customer told of their item `slot` without a device, as the SQLite database `db`
/// holds it: packs opened, and times it ran out.
pub async fn item_reports(db: &Path, slot: &str) -> Result<(i64, i64)> {
    let mut conn = read_only(db).await?;
    let row: (i64, i64) = sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN l.source = 'replaced' THEN 1 ELSE 0 END), 0), \
                COALESCE(SUM(CASE WHEN l.remaining = 0 THEN 1 ELSE 0 END), 0) \
         FROM slot_levels l JOIN devices d ON d.id = l.device_id \
         JOIN device_models m ON m.model_id = d.model_id \
         WHERE m.home_of IS NOT NULL AND l.slot_id = ?1",
    )
    .bind(slot)
    .fetch_one(&mut conn)
    .await?;
    Ok(row)
}

/// A slot's settings as the SQLite database `db` holds them: mode, low level, target level.
pub async fn slot_settings(
    db: &Path,
    serial: &str,
    slot: &str,
) -> Result<(String, Option<f64>, Option<f64>)> {
    let mut conn = read_only(db).await?;
    let row: (String, Option<f64>, Option<f64>) = sqlx::query_as(
        "SELECT i.mode, i.minimum, i.target FROM slot_inventory i \
         JOIN devices d ON d.id = i.device_id WHERE d.serial = ?1 AND i.slot_id = ?2",
    )
    .bind(serial)
    .bind(slot)
    .fetch_one(&mut conn)
    .await?;
    Ok(row)
}

/// One text value the query `sql` (with `?1` bound to `arg`) reads from the sandbox database
/// `db`, if it finds a row.
pub async fn read_text(db: &Path, sql: &str, arg: &str) -> Result<Option<String>> {
    let mut conn = read_only(db).await?;
    Ok(sqlx::query_scalar(sql)
        .bind(arg)
        .fetch_optional(&mut conn)
        .await?)
}

/// Polls `read` every 100 ms for up to 5 s until it gives `want`; what it gave last.
pub async fn eventually<F, Fut>(want: Option<&str>, mut read: F) -> Result<Option<String>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<String>>>,
{
    let mut got = read().await?;
    for _ in 0..50 {
        if got.as_deref() == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        got = read().await?;
    }
    Ok(got)
}

/// An SVG picture of a dbusmenu layout (entries in order, each with `label`, `enabled`,
/// `separator` and `depth`): the menu, and the first submenu opened beside its entry.
fn menu_svg(entries: &[serde_json::Value]) -> String {
    // Wide enough for the longest entry at about 8 px a character (14 px text).
    let longest = entries
        .iter()
        .filter(|e| e["depth"].as_u64() == Some(0))
        .map(|e| e["label"].as_str().unwrap_or_default().chars().count())
        .max()
        .unwrap_or_default();
    let width = i64::try_from(longest)
        .unwrap_or(40)
        .saturating_mul(8)
        .max(240)
        + 48;
    const ROW: i64 = 30;
    const GAP: i64 = 11;
    let escape = |t: &str| {
        t.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('_', "")
    };
    let depth = |e: &serde_json::Value| e["depth"].as_u64().unwrap_or_default();
    let mut body = String::new();
    let mut y = 8;
    let mut sub_bottom: Option<i64> = None;
    for (i, e) in entries.iter().enumerate() {
        if depth(e) != 0 {
            continue;
        }
        if e["separator"] == true {
            body.push_str(&format!(
                "<line x1=\"8\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#d5d5d5\"/>",
                y + GAP / 2,
                width - 8,
                y + GAP / 2
            ));
            y += GAP;
            continue;
        }
        let enabled = e["enabled"].as_bool().unwrap_or(true);
        let has_submenu = entries.get(i + 1).is_some_and(|n| depth(n) > 0);
        let label = escape(e["label"].as_str().unwrap_or_default());
        if has_submenu && sub_bottom.is_none() {
            body.push_str(&format!(
                "<rect x=\"4\" y=\"{y}\" width=\"{}\" height=\"{ROW}\" rx=\"4\" fill=\"#e6eef9\"/>",
                width - 8
            ));
            let mut items = String::new();
            let mut sy = y + 8;
            for child in entries[i + 1..].iter().take_while(|n| depth(n) > 0) {
                if child["separator"] == true || depth(child) != 1 {
                    continue;
                }
                items.push_str(&format!(
                    "<text x=\"{}\" y=\"{}\">{}</text>",
                    width + 26,
                    sy + 20,
                    escape(child["label"].as_str().unwrap_or_default())
                ));
                sy += ROW;
            }
            let height = sy - y + 8;
            body.push_str(&format!(
                "<rect x=\"{}\" y=\"{y}\" width=\"240\" height=\"{height}\" rx=\"6\" \
                 fill=\"#fff\" stroke=\"#c8c8c8\"/>{items}",
                width + 10
            ));
            sub_bottom = Some(y + height);
        }
        if has_submenu {
            body.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">›</text>",
                width - 16,
                y + 20
            ));
        }
        body.push_str(&format!(
            "<text x=\"16\" y=\"{}\"{}>{label}</text>",
            y + 20,
            if enabled { "" } else { " fill=\"#8a8a8a\"" }
        ));
        y += ROW;
    }
    let height = y + 8;
    let sub_bottom = sub_bottom.map_or(0, |bottom| bottom + 8);
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" \
         font-family=\"Cantarell, 'DejaVu Sans', sans-serif\" font-size=\"14\" fill=\"#222\">\
         <rect x=\"0.5\" y=\"0.5\" width=\"{width}\" height=\"{height}\" rx=\"8\" fill=\"#fff\" \
         stroke=\"#c8c8c8\"/>{body}</svg>\n",
        width + 262,
        height.max(sub_bottom) + 2
    )
}

/// A connection that writes to the SQLite database `db` beside the running app.
async fn writable(db: &Path) -> Result<sqlx::SqliteConnection> {
    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::ConnectOptions;
    SqliteConnectOptions::new()
        .filename(db)
        .busy_timeout(std::time::Duration::from_secs(5))
        .connect()
        .await
        .with_context(|| format!("opening {}", db.display()))
}

/// Changes the stock at home of slot `slot` of the device `serial` behind the app's back, as a
/// delivery or another window does: the slot's settings version moves on.
pub async fn change_stock_elsewhere(
    db: &Path,
    serial: &str,
    slot: &str,
    on_hand: f64,
) -> Result<()> {
    let mut conn = writable(db).await?;
    sqlx::query(
        "UPDATE slot_inventory SET on_hand = ?1, settings_version = settings_version + 1 \
         WHERE slot_id = ?2 AND device_id = \
             (SELECT id FROM devices WHERE serial = ?3 AND deregistered_at_ms IS NULL)",
    )
    .bind(on_hand)
    .bind(slot)
    .bind(serial)
    .execute(&mut conn)
    .await?;
    Ok(())
}

/// Makes the item without a device `slot` (of the customer's "At home" list) run out in about
/// `days` at its forecast use, behind the app's back, as the days since its pack was opened would:
/// a pack of it lasts 30 days, and what is left of the open one is that much use.
pub async fn run_item_down_elsewhere(db: &Path, slot: &str, days: f64) -> Result<()> {
    let mut conn = writable(db).await?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let done = sqlx::query(
        "UPDATE slot_inventory SET \
             remaining = (SELECT s.capacity FROM slots s JOIN devices d ON d.model_id = s.model_id \
                          WHERE d.id = slot_inventory.device_id AND s.slot_id = ?1) * ?2 / 30.0, \
             forecast_rate = (SELECT s.capacity FROM slots s JOIN devices d \
                              ON d.model_id = s.model_id \
                              WHERE d.id = slot_inventory.device_id AND s.slot_id = ?1) / 30.0, \
             forecast_at_ms = ?3, last_report_ms = ?3, on_hand = 0 \
         WHERE slot_id = ?1 AND device_id = (SELECT d.id FROM devices d \
             JOIN device_models m ON m.model_id = d.model_id \
             WHERE m.home_of IS NOT NULL AND d.deregistered_at_ms IS NULL)",
    )
    .bind(slot)
    .bind(days)
    .bind(now)
    .execute(&mut conn)
    .await?;
    anyhow::ensure!(done.rows_affected() == 1, "no item {slot} at home");
    Ok(())
}

/// Whether the device `serial` is registered (not removed) in the SQLite database `db`.
pub async fn device_registered(db: &Path, serial: &str) -> Result<bool> {
    let mut conn = read_only(db).await?;
    let current: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM devices WHERE serial = ?1 AND deregistered_at_ms IS NULL",
    )
    .bind(serial)
    .fetch_one(&mut conn)
    .await?;
    Ok(current > 0)
}

/// A notification server on the tests' session bus (`tests/rig/notifications.py`): what the app
/// raised, as the bus carried it, and clicks on the notifications' buttons. Stopped when dropped.
pub struct Notifications {
    child: tokio::process::Child,
    out: PathBuf,
}

/// One notification as the server received it.
#[derive(Debug, Clone)]
pub struct Notification {
    /// The server's id of it.
    pub id: u32,
    /// Its title.
    pub summary: String,
    /// Its text.
    pub body: String,
    /// Its buttons: key, label, key, label…
    pub actions: Vec<String>,
}

/// The rig's Python (the Bluetooth rig's venv, which `cargo xtask setup` makes).
fn rig_python() -> PathBuf {
    target_dir().join("ble-rig/venv/bin/python")
}

/// A command running `script` of `tests/rig/` with the rig's Python.
fn rig_command(args: &[&std::ffi::OsStr]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(rig_python());
    if let Some((script, rest)) = args.split_first() {
        command
            .arg(
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("rig")
                    .join(script),
            )
            .args(rest);
    }
    command
}

/// Starts a rig server (`what`, for errors) and waits until it prints `ready`.
async fn start_rig(what: &str, args: &[&std::ffi::OsStr]) -> Result<tokio::process::Child> {
    use tokio::io::AsyncBufReadExt;
    let mut child = rig_command(args)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| {
            format!(
                "could not start the {what} with {} (`cargo xtask setup` makes it)",
                rig_python().display()
            )
        })?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let ready = tokio::time::timeout(PATIENCE, lines.next_line())
        .await
        .with_context(|| format!("the {what} did not start"))??;
    if ready.as_deref() != Some("ready") {
        bail!("the {what} did not start: {ready:?}");
    }
    Ok(child)
}

impl Notifications {
    /// Starts the server, writing to a file in `home`.
    pub async fn start(home: &AppHome) -> Result<Self> {
        let out = home.path().join("notifications.jsonl");
        let child = start_rig(
            "notification server",
            &["notifications.py".as_ref(), out.as_os_str()],
        )
        .await?;
        Ok(Self { child, out })
    }

    /// Every notification so far, oldest first.
    pub fn all(&self) -> Result<Vec<Notification>> {
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        text.lines()
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line)?;
                Ok(Notification {
                    id: u32::try_from(v["id"].as_u64().unwrap_or_default())?,
                    summary: v["summary"].as_str().unwrap_or_default().to_owned(),
                    body: v["body"].as_str().unwrap_or_default().to_owned(),
                    actions: v["actions"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|s| s.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default(),
                })
            })
            .collect()
    }

    /// Waits (up to `patience`) for a notification that `ok` accepts.
    pub async fn wait_for(
        &self,
        patience: Duration,
        ok: impl Fn(&Notification) -> bool,
    ) -> Result<Notification> {
        let start = Instant::now();
        loop {
            if let Some(n) = self.all()?.into_iter().find(|n| ok(n)) {
                return Ok(n);
            }
            if start.elapsed() > patience {
                bail!(
                    "no such notification within {patience:?}; the bus carried: {:#?}",
                    self.all()?
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks the button `key` of notification `id`, as a desktop user would.
    pub async fn click(&self, id: u32, key: &str) -> Result<()> {
        let status = tokio::process::Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.Notifications",
                "/org/freedesktop/Notifications",
                "dev.refill.Test.Invoke",
                &format!("uint32:{id}"),
                &format!("string:{key}"),
            ])
            .stdout(Stdio::null())
            .status()
            .await?;
        if !status.success() {
            bail!("dbus-send could not click the notification");
        }
        Ok(())
    }

    /// Stops the server.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// A fake desktop tray on the tests' session bus (`tests/rig/tray.py`): the StatusNotifierWatcher
/// the app's tray icon registers with, and a panel that reads its menu and clicks entries.
pub struct Tray {
    child: tokio::process::Child,
}

/// One entry of the tray icon's menu, as the panel read it.
#[derive(Debug, Clone)]
pub struct TrayEntry {
    /// Its dbusmenu id.
    pub id: i32,
    /// Its text.
    pub label: String,
    /// Whether it can be clicked.
    pub enabled: bool,
    /// How deep in submenus it is (0: the menu itself).
    pub depth: u64,
}

impl Tray {
    /// Starts the tray.
    pub async fn start() -> Result<Self> {
        let child = start_rig("tray", &["tray.py".as_ref(), "serve".as_ref()]).await?;
        Ok(Self { child })
    }

    /// Calls `method` of the rig's test interface; its printed reply.
    async fn call(&self, args: &[&str]) -> Result<String> {
        let output = tokio::process::Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.kde.StatusNotifierWatcher",
                "/test",
            ])
            .args(args)
            .output()
            .await?;
        if !output.status.success() {
            bail!(
                "the tray could not {}: {}",
                args.first().copied().unwrap_or_default(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// The menu of the registered tray icon as dbusmenu gives it, separators and hidden entries
    /// too (an error while there is none).
    async fn layout(&self) -> Result<Vec<serde_json::Value>> {
        let reply = self.call(&["dev.refill.Test.Menu"]).await?;
        // `   string "[...]"`: the JSON between the first and the last quote.
        let json = reply
            .split_once('"')
            .and_then(|(_, rest)| rest.rsplit_once('"'))
            .map(|(json, _)| json)
            .with_context(|| format!("no menu in {reply}"))?;
        Ok(serde_json::from_str(json)?)
    }

    /// The menu of the registered tray icon (an error while there is none).
    pub async fn menu(&self) -> Result<Vec<TrayEntry>> {
        Ok(self
            .layout()
            .await?
            .iter()
            .filter(|e| e["visible"].as_bool() != Some(false) && e["separator"] != true)
            .map(|e| TrayEntry {
                id: i32::try_from(e["id"].as_i64().unwrap_or_default()).unwrap_or_default(),
                label: e["label"].as_str().unwrap_or_default().to_owned(),
                enabled: e["enabled"].as_bool().unwrap_or(true),
                depth: e["depth"].as_u64().unwrap_or_default(),
            })
            .collect())
    }

    /// The menu drawn as a panel shows it (`target/e2e/{name}.svg`): the top level, with
    /// separators, greyed entries that cannot be clicked, and a submenu's entries beside it.
    pub async fn picture(&self, name: &str) -> Result<PathBuf> {
        let entries: Vec<serde_json::Value> = self
            .layout()
            .await?
            .into_iter()
            .filter(|e| e["visible"].as_bool() != Some(false))
            .collect();
        let path = target_dir().join("e2e").join(format!("{name}.svg"));
        std::fs::create_dir_all(path.parent().context("a folder")?)?;
        std::fs::write(&path, menu_svg(&entries))?;
        Ok(path)
    }
    /// Waits until the menu has an entry that `ok` accepts, and returns it.
    pub async fn wait_for(&self, ok: impl Fn(&TrayEntry) -> bool) -> Result<TrayEntry> {
        let started = Instant::now();
        loop {
            let menu = self.menu().await;
            if let Some(entry) = menu.as_ref().ok().and_then(|m| m.iter().find(|e| ok(e))) {
                return Ok(entry.clone());
            }
            if started.elapsed() > PATIENCE {
                bail!("no such entry in the tray menu: {menu:#?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Clicks the entry that `ok` accepts, as a person does in the panel: reads the menu again
    /// and clicks once more when the app rebuilt the menu in between (its entries' ids change).
    pub async fn click(&self, ok: impl Fn(&TrayEntry) -> bool) -> Result<TrayEntry> {
        let started = Instant::now();
        loop {
            let entry = self.wait_for(&ok).await?;
            match self
                .call(&["dev.refill.Test.Click", &format!("int32:{}", entry.id)])
                .await
            {
                Ok(_) => return Ok(entry),
                Err(e) if started.elapsed() > PATIENCE => return Err(e),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Stops the tray.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Asks the window titled `title` to close, as a window manager's close button does.
pub async fn close_window(title: &str) -> Result<()> {
    let output = rig_command(&["tray.py".as_ref(), "close-window".as_ref(), title.as_ref()])
        .output()
        .await?;
    if !output.status.success() {
        bail!(
            "the window could not be closed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// Whether the app binary is running with `home`'s folders.
pub async fn app_running(home: &AppHome) -> Result<bool> {
    let bin = app_binary()?.canonicalize()?;
    let marker = format!("XDG_DATA_HOME={}", home.xdg_data().display());
    for entry in std::fs::read_dir("/proc")?.flatten() {
        let exe = std::fs::read_link(entry.path().join("exe"));
        if exe.is_ok_and(|exe| exe == bin) {
            let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
            if environ
                .split(|b| *b == 0)
                .any(|var| var == marker.as_bytes())
            {
                return Ok(true);
            }
        }
    }
    Ok(false)
}
