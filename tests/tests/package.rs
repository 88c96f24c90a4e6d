//! The `.deb` as a person installs it: `apt-get install ./Refill_….deb`, Refill started from
//! the installed `/usr/bin/refill-app` under Xvfb (window, grid, a tap on its embedded sandbox),
//! then `apt-get purge refill`, after which nothing of it is left outside the user's own data
//! folder.
//!
//! The service's `.deb` the same way: `apt-get install ./refill-service_….deb` makes its user,
//! data folder and hardened systemd unit (checked by `systemd-analyze verify`), the installed
//! binary serves as that user with the packaged settings, the operator's commands work on its
//! database, and `apt-get purge refill-service` leaves nothing.
//!
//! Changes the machine (installs and removes a system package), so it runs only in the package
//! gate of `cargo xtask test`, which builds the package (`cargo xtask bundle`) and names it in
//! `REFILL_DEB` (and the `.rpm` in `REFILL_RPM`); as root, or where `sudo -n` works.

use anyhow::{bail, ensure, Context, Result};
use refill_e2e::{count_orders, App, AppHome};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const PACKAGE: &str = "refill";
const INSTALLED_BIN: &str = "/usr/bin/refill-app";
const DESKTOP_ENTRY: &str = "/usr/share/applications/Refill.desktop";
const BEANS: &str = "B0RFBEAN01";

/// `args` run as root: directly when we are, else through `sudo -n` (never asking a password).
fn as_root(args: &[&str]) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let mut c = if root {
        let mut c = Command::new(args[0]);
        c.args(&args[1..]);
        c
    } else {
        let mut c = Command::new("sudo");
        c.arg("-n").args(args);
        c
    };
    c.env("DEBIAN_FRONTEND", "noninteractive");
    c
}

/// Runs `command`; its standard output, or an error with what it said.
fn run(mut command: Command) -> Result<String> {
    let output = command
        .output()
        .with_context(|| format!("could not start {:?}", command.get_program()))?;
    if !output.status.success() {
        bail!(
            "{command:?} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8(output.stdout)?)
}

fn installed() -> bool {
    is_installed(PACKAGE)
}

fn is_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
}

/// Every path under the system's folders whose name speaks of Refill.
fn refill_paths() -> Result<BTreeSet<PathBuf>> {
    let out = Command::new("find")
        .args([
            "/usr", "/etc", "/opt", "/var/lib", "-xdev", "-iname", "*refill*",
        ])
        .output()?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        // dpkg's own records of packages it knew (removed ones are dropped by purge).
        .filter(|l| !l.starts_with("/var/lib/dpkg/"))
        .map(PathBuf::from)
        .collect())
}

/// Removes the package and says what was left.
fn purge() -> Result<()> {
    purge_package(PACKAGE)
}

fn purge_package(package: &str) -> Result<()> {
    run(as_root(&["apt-get", "purge", "-y", "-qq", package]))?;
    Ok(())
}

/// Installs the `.deb` named by the environment variable `var`; its path.
fn install(var: &str) -> Result<PathBuf> {
    let deb =
        PathBuf::from(std::env::var_os(var).with_context(|| format!("{var} names the .deb"))?)
            .canonicalize()?;
    run(as_root(&[
        "apt-get",
        "install",
        "-y",
        "-qq",
        "--no-install-recommends",
        deb.to_str().context("a path in UTF-8")?,
    ]))?;
    Ok(deb)
}

/// What `package` put on the system, removed; an error naming what is left (also of `result`).
fn purge_and_check(package: &str, before: &BTreeSet<PathBuf>, result: Result<()>) -> Result<()> {
    let files = run({
        let mut c = Command::new("dpkg-query");
        c.args(["-L", package]);
        c
    });
    purge_package(package)?;
    result?;
    ensure!(
        !is_installed(package),
        "{package} is still installed after purge"
    );
    for file in files?.lines().map(Path::new) {
        ensure!(
            !file.is_file(),
            "{} is left after the package was removed",
            file.display()
        );
    }
    let left: Vec<_> = refill_paths()?.difference(before).cloned().collect();
    ensure!(
        left.is_empty(),
        "left on the system after removal: {left:?}"
    );
    Ok(())
}

const SERVICE_PACKAGE: &str = "refill-service";
const SERVICE_CONFIG: &str = "/etc/refill/refill.toml";

#[tokio::test]
#[ignore = "installs a system package: run by the package gate of `cargo xtask test`"]
async fn package_service_deb_runs_as_its_own_user_under_a_hardened_unit_and_purges_cleanly(
) -> Result<()> {
    if is_installed(SERVICE_PACKAGE) {
        purge_package(SERVICE_PACKAGE)?;
    }
    let before = refill_paths()?;
    let deb = std::env::var("REFILL_SERVICE_DEB").context("REFILL_SERVICE_DEB names the .deb")?;
    let depends = run({
        let mut c = Command::new("dpkg-deb");
        c.args(["-f", &deb, "Depends"]);
        c
    })?;
    for needed in ["libssl3", "adduser"] {
        ensure!(
            depends.contains(needed),
            "it does not depend on {needed}: {depends}"
        );
    }
    install("REFILL_SERVICE_DEB")?;
    let result = use_installed_service().await;
    purge_and_check(SERVICE_PACKAGE, &before, result)?;
    ensure!(
        !Command::new("getent")
            .args(["passwd", "refill"])
            .status()?
            .success(),
        "the service's user is left after purge"
    );
    Ok(())
}

/// The installed service as its operator meets it.
async fn use_installed_service() -> Result<()> {
    // Its unit, as systemd reads it: no warning at all.
    let verified = as_root(&[
        "systemd-analyze",
        "verify",
        "/lib/systemd/system/refill-service.service",
    ])
    .output()?;
    ensure!(
        verified.status.success() && verified.stdout.is_empty() && verified.stderr.is_empty(),
        "systemd-analyze verify: {}{}",
        String::from_utf8_lossy(&verified.stdout),
        String::from_utf8_lossy(&verified.stderr)
    );
    let unit = std::fs::read_to_string("/lib/systemd/system/refill-service.service")?;
    for line in [
        "User=refill",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "StateDirectory=refill",
        "ExecStart=/usr/bin/refill-service --config /etc/refill/refill.toml",
    ] {
        ensure!(unit.lines().any(|l| l == line), "the unit lacks {line}");
    }
    // Its own user; its settings readable by that user alone; its data folder its own.
    let stat = |path: &str| {
        let mut c = Command::new("stat");
        c.args(["-c", "%U:%G %a", path]);
        run(c).map(|s| s.trim().to_owned())
    };
    ensure!(
        stat(SERVICE_CONFIG)? == "root:refill 640",
        "{SERVICE_CONFIG}: {}",
        stat(SERVICE_CONFIG)?
    );
    ensure!(
        stat("/var/lib/refill")? == "refill:refill 750",
        "/var/lib/refill: {}",
        stat("/var/lib/refill")?
    );

    // The installed binary as its user with the packaged settings (the port moved for the test,
    // as an environment variable overrides the file).
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let listen = format!("REFILL_LISTEN=127.0.0.1:{port}");
    let as_service = |args: &[&str]| {
        let mut all = vec![
            "setpriv",
            "--reuid=refill",
            "--regid=refill",
            "--init-groups",
            "env",
            &listen,
            "/usr/bin/refill-service",
            "--config",
            SERVICE_CONFIG,
        ];
        all.extend_from_slice(args);
        as_root(&all)
    };
    let mut child = as_service(&[])
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.as_mut().context("its output")?),
        &mut line,
    )?;
    let served = async {
        ensure!(
            line.trim() == format!("Refill service listening on http://127.0.0.1:{port}"),
            "it said {line:?}"
        );
        let health = reqwest::get(format!("http://127.0.0.1:{port}/health")).await?;
        ensure!(health.status() == 200, "/health: {}", health.status());
        let invited = run(as_service(&["customers", "invite", "sam@example.com"]))?;
        ensure!(invited.starts_with("Invited sam@example.com."), "{invited}");
        ensure!(
            stat("/var/lib/refill/refill.sqlite")?.starts_with("refill:refill "),
            "the database is not the service's own"
        );
        Ok(())
    }
    .await;
    // Stopped as systemd stops it.
    run({
        let mut c = as_root(&["kill", "-TERM", &child.id().to_string()]);
        c.env_remove("DEBIAN_FRONTEND");
        c
    })?;
    let status = child.wait()?;
    served?;
    ensure!(status.success(), "after SIGTERM it exited with {status}");
    Ok(())
}

/// The `.rpm`, read with rpm's own tool: the same files, and what Fedora and openSUSE call the
/// same needs.
#[test]
#[ignore = "reads the package the package gate of `cargo xtask test` builds"]
fn package_rpm_carries_the_app_and_names_its_needs() -> Result<()> {
    let rpm = std::env::var("REFILL_RPM").context("REFILL_RPM names the .rpm to read")?;
    let query = |what: &str| {
        let mut c = Command::new("rpm");
        c.args(["-qp", what, &rpm]);
        run(c)
    };
    let requires = query("--requires")?;
    for needed in [
        "libwebkit2gtk-4.1.so.0",
        "libayatana-appindicator-gtk3",
        "gnome-keyring",
    ] {
        ensure!(
            requires.contains(needed),
            "the .rpm does not require {needed}: {requires}"
        );
    }
    let files = query("--list")?;
    for file in [INSTALLED_BIN, DESKTOP_ENTRY] {
        ensure!(
            files.lines().any(|l| l == file),
            "the .rpm does not carry {file}: {files}"
        );
    }
    Ok(())
}

#[tokio::test]
#[ignore = "installs a system package: run by the package gate of `cargo xtask test`"]
async fn package_deb_installs_runs_from_usr_bin_and_uninstalls_cleanly() -> Result<()> {
    let deb = PathBuf::from(
        std::env::var_os("REFILL_DEB").context("REFILL_DEB names the .deb to install")?,
    )
    .canonicalize()?;
    if installed() {
        // Left by a run that was stopped half-way (ours: the tests' own machine).
        purge()?;
    }
    let before = refill_paths()?;

    // What the package says it needs and carries.
    let depends = run({
        let mut c = Command::new("dpkg-deb");
        c.args(["-f", deb.to_str().context("a path in UTF-8")?, "Depends"]);
        c
    })?;
    for needed in [
        "libwebkit2gtk-4.1-0",
        "libayatana-appindicator3-1",
        "gnome-keyring",
    ] {
        ensure!(
            depends.contains(needed),
            "the package does not depend on {needed}: {depends}"
        );
    }

    install("REFILL_DEB")?;
    let result = use_installed_app().await;
    purge_and_check(PACKAGE, &before, result)
}

/// The installed app as a person finds it: its menu entry, its link handler, its window, the
/// grid, and a tap that orders.
async fn use_installed_app() -> Result<()> {
    ensure!(
        Path::new(INSTALLED_BIN).is_file(),
        "{INSTALLED_BIN} is not installed"
    );
    let entry = std::fs::read_to_string(DESKTOP_ENTRY)
        .with_context(|| format!("no menu entry at {DESKTOP_ENTRY}"))?;
    ensure!(
        entry.lines().any(|l| l == "Exec=refill-app %u"),
        "the menu entry does not start refill-app with the link it opens:\n{entry}"
    );
    ensure!(
        entry.contains("MimeType=x-scheme-handler/refill;"),
        "the menu entry does not handle refill:// links:\n{entry}"
    );
    run({
        let mut c = Command::new("desktop-file-validate");
        c.arg(DESKTOP_ENTRY);
        c
    })?;
    // The desktop's handler for refill:// links is Refill (dpkg's trigger updated the cache).
    let home = AppHome::new()?;
    let handler = run({
        let mut c = Command::new("xdg-mime");
        c.args(["query", "default", "x-scheme-handler/refill"])
            .env("XDG_DATA_HOME", home.xdg_data())
            .env("XDG_CONFIG_HOME", home.xdg_config())
            .env("XDG_DATA_DIRS", "/usr/local/share:/usr/share");
        c
    })?;
    ensure!(
        handler.trim() == "Refill.desktop",
        "refill:// links open {handler:?}, not Refill"
    );
    ensure!(
        Path::new("/usr/share/icons/hicolor/128x128/apps/refill-app.png").is_file(),
        "the package installs no icon"
    );

    let app = App::launch(&home, "installed-package", &[]).await?;
    app.find("[data-testid='grid']").await?;
    assert_eq!(app.text("service").await?, "Sandbox");
    app.click(&format!("tap-{BEANS}")).await?;
    app.wait_text(&format!("status-{BEANS}"), |t| {
        t.starts_with("Ordered, arrives ")
    })
    .await?;
    app.screenshot("installed-package").await?;
    app.quit().await?;
    assert_eq!(
        count_orders(&home.sandbox_db(), BEANS, &["placed", "shipped"]).await?,
        1,
        "one tap in the installed app placed one order"
    );
    ensure!(
        home.app_data().join("logs").is_dir(),
        "the installed app writes its log in the user's data folder"
    );
    Ok(())
}
