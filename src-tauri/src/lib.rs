//! The Refill app shell: Tauri commands, windows and plugins, and nothing else.
//!
//! Every command forwards to [`refill_commands::AppCore`], which holds the app's behaviour and is
//! tested without a window. Launch options (`--service URL`, `--data-dir DIR`, or the environment
//! variables `REFILL_SERVICE_URL` and `REFILL_DATA_DIR`) choose the service and the data folder.
//!
//! On the desktop one app runs per data folder: a second launch (such as the one the desktop
//! starts to open a `refill://` link) hands its arguments to the running app, which brings its
//! window forward and gives the link to the sign-in waiting for it; see
//! [`refill_commands::launch`].

include!("command_names.rs");

mod notify;
#[cfg(desktop)]
mod tray;

#[cfg(desktop)]
use refill_commands::launch;
use refill_commands::{AppConfig, AppCore, AppError, Host, Platform};
use std::path::PathBuf;
use tauri::{Manager, RunEvent, Runtime};

/// Hands a command from the UI to [`AppCore::invoke`], which runs every command: one IPC path
/// for all of them (one per command would cost the binary ~100 KB). Tauri has already checked
/// the command against the window's capabilities before it gets here.
fn handle_command<R: Runtime>(invoke: tauri::ipc::Invoke<R>) -> bool {
    let message = &invoke.message;
    let Some(core) = message
        .webview()
        .try_state::<AppCore>()
        .map(|c| c.inner().clone())
    else {
        invoke.resolver.reject(AppError::new(
            refill_wire::ErrorCode::Internal,
            "the app is still starting",
        ));
        return true;
    };
    let args = match message.payload() {
        tauri::ipc::InvokeBody::Json(args) => args.clone(),
        tauri::ipc::InvokeBody::Raw(_) => serde_json::Value::Null,
    };
    let Some(answer) = core.invoke(message.command(), &args) else {
        return false;
    };
    invoke
        .resolver
        .respond_async(async move { answer.await.map_err(tauri::ipc::InvokeError::from) });
    true
}

/// Opens URLs in the system browser. (What tauri-plugin-opener does for a URL; the plugin itself
/// would add a second D-Bus stack to the binary, which has a size budget.)
struct SystemBrowser;

impl Host for SystemBrowser {
    fn open_url(&self, url: &str) -> Result<(), String> {
        if refill_auth::open_in_browser(url) {
            Ok(())
        } else {
            Err("no browser could be opened".to_owned())
        }
    }
}

/// The real platform: the system browser and the OS keyring.
fn desktop_platform(redirect: refill_auth::Redirect) -> Platform {
    // The keyring is reached on first use, off the UI thread: connecting may start its daemon.
    Platform {
        host: std::sync::Arc::new(SystemBrowser),
        tokens: std::sync::Arc::new(refill_auth::KeyringStore::default()),
        // Desktop: the browser comes back to a loopback port unless a refill:// link was chosen.
        // Mobile: always as the refill://auth link, which the deep-link plugin hands over.
        redirect: if cfg!(mobile) {
            refill_auth::Redirect::DeepLink(refill_commands::SIGN_IN_LINK.to_owned())
        } else {
            redirect
        },
        wifi: std::sync::Arc::new(refill_auth::WifiPasswords::default()),
    }
}

/// How the app was asked to start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaunchOptions {
    /// An external service to use instead of the embedded sandbox.
    pub service_url: Option<String>,
    /// A data folder to use instead of the platform's app data folder.
    pub data_dir: Option<PathBuf>,
    /// An OAuth 2.0 provider to sign in with instead of the Refill service itself.
    pub auth_provider: Option<refill_auth::Provider>,
    /// Where the provider sends the browser back after sign-in: a loopback port (the default) or
    /// a `refill://` link, for providers that do not accept loopback addresses.
    pub redirect: refill_auth::Redirect,
    /// `refill://` links the app was started with (by the desktop, to open them).
    pub links: Vec<String>,
    /// `--hidden`: start in the tray with no window (as "start at login" does).
    pub hidden: bool,
    /// The app's config folder (settings), when no data folder was chosen.
    pub config_dir: Option<PathBuf>,
}

impl LaunchOptions {
    /// Reads `--service URL` and `--data-dir DIR` (also as `--opt=value`), `--hidden`, falling back to
    /// `REFILL_SERVICE_URL` and `REFILL_DATA_DIR`, and a sign-in provider from `--authorize-url`,
    /// `--token-url`, `--revoke-url`, `--profile-url`, `--client-id`, `--scopes` or their
    /// `REFILL_AUTH_*` variables, and `--redirect-uri` (`REFILL_AUTH_REDIRECT_URI`). Other
    /// arguments are left to others (WebDriver and the OS may add their own, and a `refill://`
    /// link may come along).
    pub fn parse(
        args: impl IntoIterator<Item = String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let mut options = LaunchOptions {
            service_url: env("REFILL_SERVICE_URL").filter(|s| !s.is_empty()),
            data_dir: env("REFILL_DATA_DIR")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from),
            auth_provider: None,
            redirect: refill_auth::Redirect::Loopback,
            links: Vec::new(),
            hidden: false,
            config_dir: None,
        };
        let mut auth_flags = std::collections::HashMap::new();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
                None => (arg.clone(), None),
            };
            match name.as_str() {
                "--service" => {
                    let value = inline
                        .or_else(|| args.next())
                        .ok_or("--service needs the URL of a Refill service")?;
                    options.service_url = Some(value);
                }
                "--data-dir" => {
                    let value = inline
                        .or_else(|| args.next())
                        .ok_or("--data-dir needs a folder")?;
                    options.data_dir = Some(PathBuf::from(value));
                }
                "--authorize-url" | "--token-url" | "--revoke-url" | "--profile-url"
                | "--client-id" | "--scopes" | "--redirect-uri" => {
                    let value = inline
                        .or_else(|| args.next())
                        .ok_or_else(|| format!("{name} needs a value"))?;
                    auth_flags.insert(name.trim_start_matches("--").to_owned(), value);
                }
                "--hidden" => options.hidden = true,
                _ if arg.starts_with(refill_commands::LINK_PREFIX) => options.links.push(arg),
                _ => {}
            }
        }
        options.auth_provider = refill_auth::Provider::from_settings(|setting| {
            auth_flags
                .get(setting)
                .cloned()
                .or_else(|| env(&refill_auth::Provider::env_var(setting)))
        })?;
        let redirect = auth_flags
            .get("redirect-uri")
            .cloned()
            .or_else(|| env(&refill_auth::Provider::env_var("redirect-uri")))
            .filter(|r| !r.is_empty());
        if let Some(uri) = redirect {
            options.redirect = parse_redirect(&uri)?;
        }
        if let Some(url) = &options.service_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!(
                    "'{url}' is not a service URL: it must start with http:// or https://"
                ));
            }
        }
        Ok(options)
    }
}

/// The links among a later launch's arguments (which that launch has already checked).
#[cfg(desktop)]
fn links_in(args: Vec<String>) -> Vec<String> {
    LaunchOptions::parse(args, |_| None)
        .map(|options| options.links)
        .unwrap_or_default()
}

/// The sign-in's way back named by `--redirect-uri`.
fn parse_redirect(uri: &str) -> Result<refill_auth::Redirect, String> {
    if uri == "loopback" {
        return Ok(refill_auth::Redirect::Loopback);
    }
    if !uri.starts_with(refill_commands::LINK_PREFIX)
        || uri.len() == refill_commands::LINK_PREFIX.len()
    {
        return Err(format!(
            "'{uri}' cannot be a sign-in redirect: give a refill:// address such as {} (or \
             'loopback', the default, to come back through 127.0.0.1)",
            refill_commands::SIGN_IN_LINK
        ));
    }
    if cfg!(target_os = "macos") {
        return Err(
            "signing in through a refill:// link is not supported on macOS yet: leave out \
             --redirect-uri to sign in through 127.0.0.1"
                .to_owned(),
        );
    }
    Ok(refill_auth::Redirect::DeepLink(uri.to_owned()))
}

/// Adds the app's commands and state to `builder`, for any runtime (the tests use the mock one).
pub fn configure<R: Runtime>(
    builder: tauri::Builder<R>,
    options: LaunchOptions,
) -> tauri::Builder<R> {
    #[cfg(mobile)]
    let builder = builder
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_notification::init());
    builder
        .setup(move |app| {
            let platform = desktop_platform(options.redirect.clone());
            install_core(app.handle(), &options, platform)?;
            notify::start(app.handle(), app.state::<AppCore>().inner());
            #[cfg(desktop)]
            match tray::start(app.handle(), app.state::<AppCore>().inner()) {
                Ok(()) if options.hidden => {
                    if let Some(window) = app.get_webview_window("main") {
                        let _ = window.hide();
                    }
                }
                Ok(()) => {}
                Err(e) => tracing::warn!("Refill has no tray icon here: {e}"),
            }
            #[cfg(mobile)]
            {
                use tauri_plugin_deep_link::DeepLinkExt;
                let core = app.state::<AppCore>().inner().clone();
                app.deep_link().on_open_url(move |event| {
                    for url in event.urls() {
                        if !core.deep_link(url.as_str()) {
                            tracing::info!("a deep link arrived with no sign-in waiting for it");
                        }
                    }
                });
            }
            Ok(())
        })
        .on_window_event(|window, event| {
            #[cfg(desktop)]
            tray::keep_running_when_closed(window, event);
            #[cfg(mobile)]
            let _ = (window, event);
        })
        .invoke_handler(handle_command)
}

fn install_core<R: Runtime>(
    app: &tauri::AppHandle<R>,
    options: &LaunchOptions,
    platform: Platform,
) -> Result<(), Box<dyn std::error::Error>> {
    let data_dir = match options.data_dir.clone() {
        Some(dir) => dir,
        None => app.path().app_data_dir()?,
    };
    tracing::info!(data_dir = %data_dir.display(), "starting");
    let core = AppCore::new(
        AppConfig {
            data_dir,
            service_url: options.service_url.clone(),
            auth_provider: options.auth_provider.clone(),
            config_dir: options.config_dir.clone(),
            downloads_dir: app.path().download_dir().ok(),
        },
        platform,
    );
    if !options.hidden {
        // The window's first frame comes before the sandbox, the event follower and the tray.
        core.hold_until_first_paint();
    }
    let warm = core.clone();
    tauri::async_runtime::spawn(async move { warm.warm_up().await });
    app.manage(core);
    Ok(())
}

/// On Linux without a GPU render node (a VM, a container, Xvfb), WebKitGTK's DMABUF renderer has
/// no hardware to use and can leave the window showing a stale frame for seconds while the page
/// has moved on. There, the shared-memory renderer is chosen instead, unless the user already chose
/// with `WEBKIT_DISABLE_DMABUF_RENDERER`. Must run before any other thread starts.
pub fn prefer_working_renderer() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_DMABUF_RENDERER").is_none()
        && !std::path::Path::new("/dev/dri").exists()
    {
        std::env::set_var("WEBKIT_DISABLE_DMABUF_RENDERER", "1");
    }
}

/// The data folder Tauri gives an app with `identifier` (`app_data_dir`), found before the app
/// is built, so that a second launch can hand over and exit without opening a window.
#[cfg(desktop)]
fn default_data_dir(identifier: &str) -> Option<PathBuf> {
    dirs::data_dir().map(|dir| dir.join(identifier))
}

/// Where the app writes its log files: beside the data when a data folder was chosen (so two
/// apps with their own folders keep their own logs), else the platform's log folder for apps,
/// as Tauri's `app_log_dir` names it (`~/.local/share/{identifier}/logs` on Linux,
/// `~/Library/Logs/{identifier}` on macOS, `%LOCALAPPDATA%\{identifier}\logs` on Windows).
#[cfg(desktop)]
fn log_dir(
    identifier: &str,
    chosen_data_dir: Option<&std::path::Path>,
    data_dir: &std::path::Path,
) -> PathBuf {
    let platform = if cfg!(target_os = "macos") {
        dirs::home_dir().map(|home| home.join("Library/Logs").join(identifier))
    } else {
        dirs::data_local_dir().map(|dir| dir.join(identifier).join("logs"))
    };
    match (chosen_data_dir, platform) {
        (None, Some(platform)) => platform,
        _ => data_dir.join("logs"),
    }
}

/// The one app of this data folder, when this launch is it; exits when another launch is.
#[cfg(desktop)]
fn claim_data_folder(data_dir: &std::path::Path, args: &[String]) -> Option<launch::Instance> {
    match launch::claim(data_dir, args, launch::PATIENCE) {
        Ok(launch::Claim::First(instance)) => Some(instance),
        Ok(launch::Claim::HandedOver) => {
            eprintln!("refill: Refill is already running; it has been brought forward.");
            std::process::exit(0);
        }
        Err(e @ launch::LaunchError::NotAnswering { .. }) => {
            eprintln!("refill: {e}");
            std::process::exit(1);
        }
        Err(e) => {
            tracing::warn!("could not make sure only one Refill runs: {e}");
            None
        }
    }
}

/// Makes this binary, started the way it was, the desktop's handler for `refill://` links, so
/// that a sign-in coming back as a link reaches it. (Installed packages declare the handler
/// themselves; this covers running from a build or a moved binary.)
#[cfg(desktop)]
fn register_for_links(identifier: &str, args: &[String], links: &[String]) {
    if !cfg!(target_os = "linux") {
        return;
    }
    let registered = std::env::current_exe().and_then(|exe| {
        let mut command = vec![exe.to_string_lossy().into_owned()];
        command.extend(args.iter().filter(|a| !links.contains(a)).cloned());
        let dirs = launch::DesktopDirs::of_user()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no home folder"))?;
        launch::register_link_handler(&dirs, identifier, "Refill", "refill", &command)
    });
    if let Err(e) = registered {
        tracing::warn!("refill:// links may not reach Refill: registering it failed: {e}");
    }
}

/// Brings the main window to the front.
fn bring_forward<R: Runtime>(app: &tauri::AppHandle<R>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// Hands each later launch's arguments to the app core, and brings the window forward.
#[cfg(desktop)]
fn follow_later_launches<R: Runtime>(
    app: &tauri::AppHandle<R>,
    messages: std::sync::mpsc::Receiver<Vec<String>>,
) {
    let app = app.clone();
    let spawned = std::thread::Builder::new()
        .name("refill-later-launches".to_owned())
        .spawn(move || {
            for args in messages {
                bring_forward(&app);
                if let Some(core) = app.try_state::<AppCore>() {
                    core.open_links(&links_in(args));
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("later launches of Refill will not reach this one: {e}");
    }
}

/// Runs the app.
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    #[allow(unused_mut)]
    let mut options = match LaunchOptions::parse(args.clone(), |k| std::env::var(k).ok()) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("refill: {message}");
            std::process::exit(2);
        }
    };
    let links = options.links.clone();
    let context = tauri::generate_context!();
    #[cfg(desktop)]
    let instance = {
        let Some(data_dir) = options
            .data_dir
            .clone()
            .or_else(|| default_data_dir(&context.config().identifier))
        else {
            eprintln!(
                "refill: there is no folder for the app's data here: give one with --data-dir"
            );
            std::process::exit(2);
        };
        refill_commands::init_logging_to(Some(&log_dir(
            &context.config().identifier,
            options.data_dir.as_deref(),
            &data_dir,
        )));
        if options.data_dir.is_none() {
            options.config_dir = dirs::config_dir().map(|d| d.join(&context.config().identifier));
        }
        let instance = claim_data_folder(&data_dir, &args);
        if matches!(options.redirect, refill_auth::Redirect::DeepLink(_)) {
            register_for_links(&context.config().identifier, &args, &options.links);
        }
        options.data_dir = Some(data_dir);
        instance
    };
    #[cfg(mobile)]
    refill_commands::init_logging();
    let app = configure(tauri::Builder::default(), options)
        .build(context)
        .unwrap_or_else(|e| {
            eprintln!("refill: the app could not start: {e}");
            std::process::exit(1);
        });
    #[cfg(desktop)]
    let mut instance = instance;
    #[cfg(desktop)]
    if let Some(messages) = instance.as_mut().and_then(launch::Instance::take_messages) {
        follow_later_launches(app.handle(), messages);
    }
    // A link the OS started the app with (its sign-in is gone with the app that started it).
    if let Some(core) = app.try_state::<AppCore>() {
        core.open_links(&links);
    }
    app.run(move |handle, event| {
        if let RunEvent::Exit = event {
            // Later launches now wait for this one to end, then start afresh.
            #[cfg(desktop)]
            if let Some(instance) = &instance {
                instance.close();
            }
            if let Some(core) = handle.try_state::<AppCore>() {
                tauri::async_runtime::block_on(core.shutdown());
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_engine_knows_the_apps_identifier() {
        let config: serde_json::Value =
            serde_json::from_str(include_str!("../tauri.conf.json")).unwrap();
        assert_eq!(config["identifier"], refill_commands::APP_ID);
    }

    #[test]
    fn launch_options_come_from_arguments_then_environment() {
        let o = LaunchOptions::parse(args(&[]), env(&[])).unwrap();
        assert_eq!(o, LaunchOptions::default());
        let o = LaunchOptions::parse(
            args(&[
                "--automation",
                "--service",
                "http://svc:8750",
                "--data-dir=/tmp/x",
            ]),
            env(&[("REFILL_SERVICE_URL", "http://ignored")]),
        )
        .unwrap();
        assert_eq!(o.service_url.as_deref(), Some("http://svc:8750"));
        assert_eq!(o.data_dir, Some(PathBuf::from("/tmp/x")));
        assert!(!o.hidden);
        assert!(
            LaunchOptions::parse(args(&["--hidden"]), env(&[]))
                .unwrap()
                .hidden
        );
        let o = LaunchOptions::parse(
            args(&[]),
            env(&[
                ("REFILL_SERVICE_URL", "https://refill.example"),
                ("REFILL_DATA_DIR", "/d"),
            ]),
        )
        .unwrap();
        assert_eq!(o.service_url.as_deref(), Some("https://refill.example"));
        assert_eq!(o.data_dir, Some(PathBuf::from("/d")));
    }

    #[test]
    fn any_oauth_provider_can_be_chosen() {
        let o = LaunchOptions::parse(
            args(&[
                "--token-url",
                "https://id.example/token",
                "--client-id=refill-desktop",
            ]),
            env(&[
                ("REFILL_AUTH_AUTHORIZE_URL", "https://id.example/authorize"),
                ("REFILL_AUTH_SCOPES", "openid profile"),
            ]),
        )
        .unwrap();
        let provider = o.auth_provider.unwrap();
        assert_eq!(provider.authorize_url, "https://id.example/authorize");
        assert_eq!(provider.client_id, "refill-desktop");
        assert_eq!(provider.scopes, ["openid", "profile"]);
        let e = LaunchOptions::parse(args(&["--token-url", "https://id.example/token"]), env(&[]))
            .unwrap_err();
        assert!(e.contains("authorize URL"), "{e}");
    }

    #[test]
    fn bad_launch_options_are_explained() {
        let e = LaunchOptions::parse(args(&["--service", "localhost:8750"]), env(&[])).unwrap_err();
        assert!(e.contains("must start with http://"), "{e}");
        let e = LaunchOptions::parse(args(&["--service"]), env(&[])).unwrap_err();
        assert!(e.contains("needs the URL"), "{e}");
    }

    #[test]
    fn sign_in_can_come_back_as_a_refill_link() {
        let o = LaunchOptions::parse(args(&[]), env(&[])).unwrap();
        assert_eq!(o.redirect, refill_auth::Redirect::Loopback);
        let o = LaunchOptions::parse(args(&["--redirect-uri", "refill://auth"]), env(&[])).unwrap();
        assert_eq!(
            o.redirect,
            refill_auth::Redirect::DeepLink("refill://auth".to_owned())
        );
        let o = LaunchOptions::parse(
            args(&[]),
            env(&[("REFILL_AUTH_REDIRECT_URI", "refill://auth")]),
        )
        .unwrap();
        assert_eq!(
            o.redirect,
            refill_auth::Redirect::DeepLink("refill://auth".to_owned())
        );
        let o = LaunchOptions::parse(args(&["--redirect-uri=loopback"]), env(&[])).unwrap();
        assert_eq!(o.redirect, refill_auth::Redirect::Loopback);
        for bad in ["https://example.com/cb", "refill://", "auth"] {
            let e = LaunchOptions::parse(args(&["--redirect-uri", bad]), env(&[])).unwrap_err();
            assert!(e.contains("give a refill:// address"), "{e}");
        }
        // A link the desktop starts the app with is not an option, nor an option's value.
        let link = "refill://auth?code=c.1&state=s.1";
        let o = LaunchOptions::parse(args(&["--redirect-uri", "refill://auth", link]), env(&[]))
            .unwrap();
        assert_eq!(o.links, [link]);
        assert_eq!(
            links_in(args(&[
                "--redirect-uri=refill://auth",
                "--automation",
                link
            ])),
            [link]
        );
    }

    /// A second launch must find the running app's folder before Tauri is built, so the folder is
    /// worked out by hand: it must be the one Tauri gives the app.
    #[test]
    fn the_data_folder_found_before_start_is_the_one_tauri_gives() {
        let app = tauri::test::mock_builder()
            .build(tauri::generate_context!())
            .unwrap();
        assert_eq!(
            default_data_dir(&app.config().identifier),
            Some(app.path().app_data_dir().unwrap())
        );
    }

    #[test]
    fn the_shell_registers_exactly_the_commands_the_bindings_declare() {
        assert_eq!(COMMANDS, refill_commands::bindings::COMMAND_NAMES);
    }

    fn invoke(
        webview: &tauri::WebviewWindow<tauri::test::MockRuntime>,
        cmd: &str,
        body: serde_json::Value,
    ) -> Result<serde_json::Value, serde_json::Value> {
        tauri::test::get_ipc_response(
            webview,
            tauri::webview::InvokeRequest {
                cmd: cmd.into(),
                callback: tauri::ipc::CallbackFn(0),
                error: tauri::ipc::CallbackFn(1),
                url: "tauri://localhost".parse().unwrap(),
                body: tauri::ipc::InvokeBody::Json(body),
                headers: Default::default(),
                invoke_key: tauri::test::INVOKE_KEY.to_string(),
            },
        )
        .map(|r| r.deserialize::<serde_json::Value>().unwrap())
    }

    /// Every command through Tauri's real IPC and permission checks (mock runtime, no display).
    #[test]
    fn every_command_is_registered_and_permitted_for_the_main_window() {
        let dir = tempfile::tempdir().unwrap();
        let options = LaunchOptions {
            data_dir: Some(dir.path().to_owned()),
            ..LaunchOptions::default()
        };
        let app = configure(tauri::test::mock_builder(), options.clone())
            .build(tauri::generate_context!())
            .unwrap();
        // What the setup hook does once the event loop is ready (the mock app never gets there).
        install_core(app.handle(), &options, Platform::headless()).unwrap();
        let main = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .unwrap();

        let grid = invoke(&main, "list_buttons", serde_json::json!({})).unwrap();
        assert_eq!(grid["tiles"].as_array().unwrap().len(), 6);
        let pressed = invoke(
            &main,
            "press_button",
            serde_json::json!({"asin": "B0RFBEAN01"}),
        )
        .unwrap();
        assert_eq!(pressed["detailCode"], "STANDARD_ORDER_PLACED");
        let id = pressed["eventInstanceId"].clone();
        let cancelled = invoke(
            &main,
            "cancel_order",
            serde_json::json!({"eventInstanceId": id}),
        )
        .unwrap();
        assert_eq!(cancelled["status"], "cancelled");
        let info = invoke(&main, "service_info", serde_json::json!({})).unwrap();
        assert_eq!(info["kind"], "embedded");
        invoke(&main, "ui_ready", serde_json::json!({})).unwrap();
        let account = invoke(&main, "account", serde_json::json!({})).unwrap();
        assert_eq!(account["signedIn"], false);
        let started = invoke(&main, "start_sign_in", serde_json::json!({})).unwrap();
        assert_eq!(
            started["browserOpened"], false,
            "a headless platform opens no browser"
        );
        invoke(&main, "cancel_sign_in", serde_json::json!({})).unwrap();
        let err = invoke(&main, "finish_sign_in", serde_json::json!({})).unwrap_err();
        assert_eq!(err["code"], "sign_in_failed");
        let account = invoke(&main, "sign_out", serde_json::json!({})).unwrap();
        assert_eq!(account["signedIn"], false);

        // The device setup wizard, on a sandbox device.
        let found = invoke(&main, "onboarding_scan", serde_json::json!({})).unwrap();
        let device = found["devices"][0].clone();
        assert_eq!(device["sandbox"], true);
        let opened = invoke(
            &main,
            "onboarding_open",
            serde_json::json!({"deviceId": device["id"]}),
        )
        .unwrap();
        assert_eq!(opened["trust"], "proofOfPossession");
        let networks = invoke(
            &main,
            "onboarding_secure",
            serde_json::json!({"secret": {"qr": device["sandboxLabel"], "pop": null, "username": null}}),
        )
        .unwrap();
        assert_eq!(networks["networks"][0]["ssid"], "Refill Home");
        let more = invoke(&main, "onboarding_more_networks", serde_json::json!({})).unwrap();
        assert_eq!(more["more"], false);
        let joined = invoke(
            &main,
            "onboarding_join",
            serde_json::json!({"ssid": "Refill Home", "password": "refill-sandbox-wifi", "remember": false}),
        )
        .unwrap();
        assert_eq!(joined["ssid"], "Refill Home");
        let linking = invoke(&main, "onboarding_link", serde_json::json!({})).unwrap();
        assert_eq!(linking["browserOpened"], false);
        invoke(&main, "onboarding_cancel", serde_json::json!({})).unwrap();
        let err = invoke(&main, "onboarding_finish_link", serde_json::json!({})).unwrap_err();
        assert_eq!(err["code"], "no_device_setup");
        let devices = invoke(&main, "list_devices", serde_json::json!({})).unwrap();
        assert_eq!(devices["devices"].as_array().unwrap().len(), 4);
        // The sandbox's fridge: its limits, its screen (served next to the sandbox), and the
        // presses waiting for an answer (none yet).
        let fridge = serde_json::json!({"model": "RefillFridge-1", "serial": "SANDBOX-FRIDGE"});
        let limits = invoke(&main, "device_limits", fridge.clone()).unwrap();
        assert_eq!(limits["askFirst"], true);
        let changed = invoke(
            &main,
            "change_device_limits",
            serde_json::json!({"model": "RefillFridge-1", "serial": "SANDBOX-FRIDGE",
                "change": {"perOrderMinor": 2500, "perMonthMinor": null, "askFirst": true}}),
        )
        .unwrap();
        assert_eq!(changed["perOrder"]["amountMinor"], 2500);
        let shows = invoke(
            &main,
            "change_device_buttons",
            serde_json::json!({"model": "RefillFridge-1", "serial": "SANDBOX-FRIDGE",
                "asins": ["B0RFFILT04", "B0RFBEAN01"]}),
        )
        .unwrap();
        assert_eq!(shows[0]["asin"], "B0RFFILT04");
        let url = invoke(&main, "device_screen_url", fridge.clone()).unwrap();
        assert!(
            url.as_str().unwrap().starts_with("http://127.0.0.1:"),
            "{url}"
        );
        assert_eq!(invoke(&main, "open_device_screen", fridge).unwrap(), url);
        let brewer = serde_json::json!({"model": "RefillBrew-200", "serial": "SANDBOX-0001"});
        assert!(invoke(&main, "device_screen_url", brewer)
            .unwrap()
            .is_null());
        assert_eq!(
            invoke(&main, "approvals", serde_json::json!({})).unwrap(),
            serde_json::json!([])
        );
        let err = invoke(
            &main,
            "decide_approval",
            serde_json::json!({"id": "nope", "approve": true}),
        )
        .unwrap_err();
        assert_eq!(err["code"], "not_found");

        // Errors reach the UI as { code, message }.
        let err = invoke(&main, "press_button", serde_json::json!({"asin": "nope"})).unwrap_err();
        assert_eq!(err["code"], "bad_request");
        // So do arguments that are missing or of the wrong kind, in words.
        let err = invoke(&main, "press_button", serde_json::json!({})).unwrap_err();
        assert_eq!(err["code"], "bad_request");
        assert!(
            err["message"].as_str().unwrap().contains("wrong asin"),
            "{err}"
        );
        let err = invoke(
            &main,
            "onboarding_join",
            serde_json::json!({"ssid": "Refill Home", "remember": "yes"}),
        )
        .unwrap_err();
        assert!(
            err["message"].as_str().unwrap().contains("wrong remember"),
            "{err}"
        );

        // A window the capability does not name gets nothing.
        let other = tauri::WebviewWindowBuilder::new(&app, "other", Default::default())
            .build()
            .unwrap();
        assert!(invoke(&other, "list_buttons", serde_json::json!({})).is_err());
    }
}
