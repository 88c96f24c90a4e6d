//! Installs what is missing; every step is skipped quickly when already done.

use crate::util::{cargo_bin, cmd, on_path, root, run_step};
use anyhow::{bail, Result};
use std::path::Path;
use std::time::SystemTime;

/// What the setup is for: running needs less than testing.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `cargo xtask run`.
    Run,
    /// `cargo xtask test` and `bench`.
    Test,
}

/// Debian packages: the WebKitGTK build and runtime for both, and the headless test tools.
const RUN_PACKAGES: &[&str] = &[
    "libwebkit2gtk-4.1-dev",
    "libssl-dev",
    "pkg-config",
    "xvfb",
    "xauth",
    "dbus-daemon",
    // xdg-open: opens the browser for sign-in, and refill:// links in the app.
    "xdg-utils",
    // The tray icon: Tauri's tray loads libayatana-appindicator at run time.
    "libayatana-appindicator3-1",
];
const TEST_PACKAGES: &[&str] = &[
    "webkit2gtk-driver",
    "imagemagick",
    "gnome-keyring",
    // The fake BlueZ rig: a venv for BlueZoo and the GATT peripheral (and for the fake
    // notification server of the end-to-end tests, which dbus-send clicks).
    "python3-venv",
    "dbus-bin",
    // The sign-in pages are also tested in Chromium, most people's browser (headless, through
    // its WebDriver).
    "chromium",
    "chromium-driver",
    // The service's tests run a second time on PostgreSQL (a server of their own, see
    // xtask/src/postgres.rs).
    "postgresql",
    // The package gate validates the installed menu entry, and dpkg's trigger of this package
    // registers it as the handler of refill:// links.
    "desktop-file-utils",
    // ... and reads the .rpm's requirements and files with rpm's own tool.
    "rpm",
    // The service's HTTPS tests make an operator's certificate and read fingerprints with
    // OpenSSL's own command.
    "openssl",
    // The mDNS tests make a private network of two namespaces with `ip`.
    "iproute2",
];

/// tauri-driver, pinned to 2.x.
const TAURI_DRIVER_VERSION: &str = "^2";

/// Everything, in order.
pub fn all(purpose: Purpose) -> Result<()> {
    let mut packages = RUN_PACKAGES.to_vec();
    if purpose == Purpose::Test {
        packages.extend_from_slice(TEST_PACKAGES);
    }
    apt(&packages)?;
    npm()?;
    if purpose == Purpose::Test {
        tauri_driver()?;
        cargo_fuzz()?;
        ble_rig()?;
        schemathesis_venv()?;
        interop_venv()?;
    }
    ui_build()
}

fn installed(package: &str) -> bool {
    std::process::Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
}

fn apt(packages: &[&str]) -> Result<()> {
    let missing: Vec<&str> = packages.iter().copied().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        println!("xtask: system packages: already installed");
        return Ok(());
    }
    if !on_path("apt-get") {
        bail!(
            "these packages are missing and this is not a Debian or Ubuntu system: {}. \
             Install their equivalents and run again.",
            missing.join(" ")
        );
    }
    let root_user = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let sudo: &[&str] = if root_user { &[] } else { &["sudo"] };
    let apt = |args: &[&str]| {
        let mut all: Vec<&str> = sudo.to_vec();
        all.extend_from_slice(args);
        let mut c = cmd(all[0], &all[1..]);
        c.env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    run_step("apt-get update", &mut apt(&["apt-get", "update", "-qq"]))?;
    let mut install = vec!["apt-get", "install", "-y", "-qq", "--no-install-recommends"];
    install.extend(&missing);
    run_step(
        &format!("install system packages: {}", missing.join(" ")),
        &mut apt(&install),
    )
}

/// A short fingerprint of a file's bytes (FNV-1a), to know when the lockfile changed.
fn fingerprint(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    Some(format!("{hash:016x}"))
}

/// Runs `install` unless `stamp` records the fingerprint `source` has now; records it after.
fn unless_unchanged(
    what: &str,
    source: &Path,
    stamp: &Path,
    install: impl FnOnce() -> Result<()>,
) -> Result<()> {
    let want = fingerprint(source);
    if want.is_some() && std::fs::read_to_string(stamp).ok() == want {
        println!("xtask: {what}: already installed");
        return Ok(());
    }
    install()?;
    if let Some(want) = want {
        std::fs::write(stamp, want)?;
    }
    Ok(())
}

fn npm() -> Result<()> {
    // The app's UI, and the web SDK for device makers.
    for (dir, what) in [("ui", "UI"), ("sdk/web", "web SDK")] {
        let dir = root().join(dir);
        unless_unchanged(
            &format!("npm packages ({what})"),
            &dir.join("package-lock.json"),
            &dir.join("node_modules/.refill-lock-fingerprint"),
            || {
                run_step(
                    &format!("npm ci ({what} packages from the lockfile)"),
                    cmd("npm", ["ci", "--no-audit", "--no-fund"]).current_dir(&dir),
                )
            },
        )?;
    }
    Ok(())
}

/// cargo-fuzz, for the fuzz gate.
fn cargo_fuzz() -> Result<()> {
    if cargo_bin().join("cargo-fuzz").is_file() || on_path("cargo-fuzz") {
        println!("xtask: cargo-fuzz: already installed");
        return Ok(());
    }
    run_step(
        "cargo install cargo-fuzz (0.13)",
        &mut cmd(
            "cargo",
            ["install", "cargo-fuzz", "--version", "^0.13", "--locked"],
        ),
    )
}

/// The fake BlueZ rig's Python, in its own venv under `target/`.
pub fn ble_rig_python() -> std::path::PathBuf {
    crate::util::target_dir().join("ble-rig/venv/bin/python")
}

/// Installs the rig's pinned Python packages (BlueZoo, dbus-fast) from PyPI into its venv.
fn ble_rig() -> Result<()> {
    python_venv(
        "Bluetooth rig",
        "crates/refill-device-sim/rig/requirements.txt",
        "ble-rig",
    )
}

/// schemathesis, which checks the running service against its OpenAPI description.
pub fn schemathesis() -> std::path::PathBuf {
    crate::util::target_dir().join("schemathesis/venv/bin/schemathesis")
}

/// The Python of the venv with provisioning clients Refill did not write (esp-protocomm).
pub fn interop_python() -> std::path::PathBuf {
    crate::util::target_dir().join("interop/venv/bin/python")
}

fn interop_venv() -> Result<()> {
    python_venv(
        "interop clients",
        "crates/refill-device-sim/interop/requirements.txt",
        "interop",
    )
}

fn schemathesis_venv() -> Result<()> {
    python_venv(
        "schemathesis",
        "crates/refill-service/tests/schemathesis-requirements.txt",
        "schemathesis",
    )
}

/// A venv in `target/<folder>/venv` with the pinned packages of `requirements` (a path from the
/// repository root), made again when that file changes.
fn python_venv(what: &str, requirements: &str, folder: &str) -> Result<()> {
    let requirements = root().join(requirements);
    let venv = crate::util::target_dir().join(folder).join("venv");
    let python = venv.join("bin/python");
    if !python.is_file() {
        // A stamp without its venv (target/ partly cleaned) must not skip the install.
        let _ = std::fs::remove_dir_all(&venv);
    }
    unless_unchanged(
        what,
        &requirements,
        &venv.join(".refill-requirements-fingerprint"),
        || {
            run_step(
                &format!("python3 -m venv ({what})"),
                cmd("python3", ["-m", "venv", "--clear"]).arg(&venv),
            )?;
            run_step(
                &format!("pip install -r {} ({what})", requirements.display()),
                cmd(
                    &python,
                    [
                        "-m",
                        "pip",
                        "install",
                        "-q",
                        "--disable-pip-version-check",
                        "-r",
                    ],
                )
                .arg(&requirements),
            )
        },
    )
}

fn tauri_driver() -> Result<()> {
    if on_path("tauri-driver") || cargo_bin().join("tauri-driver").is_file() {
        println!("xtask: tauri-driver: already installed");
        return Ok(());
    }
    run_step(
        "cargo install tauri-driver (2.x)",
        &mut cmd(
            "cargo",
            [
                "install",
                "tauri-driver",
                "--version",
                TAURI_DRIVER_VERSION,
                "--locked",
            ],
        ),
    )
}

fn newest(dir: &Path) -> SystemTime {
    let mut newest = SystemTime::UNIX_EPOCH;
    let mut stack = vec![dir.to_owned()];
    while let Some(path) = stack.pop() {
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&path) {
                stack.extend(entries.flatten().map(|e| e.path()));
            }
        } else if let Ok(modified) = meta.modified() {
            newest = newest.max(modified);
        }
    }
    newest
}

fn ui_build() -> Result<()> {
    let ui = root().join("ui");
    let built = std::fs::metadata(ui.join("dist/index.html")).and_then(|m| m.modified());
    let sources = [
        "src",
        "index.html",
        "vite.config.ts",
        "svelte.config.js",
        "package-lock.json",
    ]
    .iter()
    .map(|p| newest(&ui.join(p)))
    .max()
    .unwrap_or(SystemTime::UNIX_EPOCH);
    if built.is_ok_and(|built| built >= sources) {
        println!("xtask: UI: already built");
        return Ok(());
    }
    run_step(
        "build the UI (vite)",
        cmd("npm", ["run", "--silent", "build"]).current_dir(&ui),
    )
}
