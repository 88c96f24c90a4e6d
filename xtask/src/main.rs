//! `cargo xtask`: the project's two commands and their helpers.
//!
//! * `cargo xtask run [--service URL] [--release]`: set up what is missing, build the UI and the
//!   app, and open the app (on the embedded sandbox, or on the service at URL).
//! * `cargo xtask test`: the same setup, then every gate: fmt, clippy, TypeScript check, bindings
//!   freshness, Rust tests (the service's a second time on a PostgreSQL server of their own), the
//!   service's release binary under floods, the keyring, Bluetooth and interoperability tests
//!   (third-party clients and providers from PyPI), UI tests, and the end-to-end tests under
//!   dbus-run-session + Xvfb.
//! * `cargo xtask bench`: release builds of Refill and a bare Tauri app, compared (BENCHMARKS.md).
//! * `cargo xtask bundle`: the release app as Linux packages, `.deb` and `.rpm`
//!   (`target/release/bundle/`); `test` installs the `.deb`, runs it and removes it.
//! * `cargo xtask bindings`: regenerate `ui/src/lib/bindings.ts`.
//! * `cargo xtask sdk`: rebuild the web SDK's bundle (`sdk/web/dist/refill-buttons.js`, committed).
//! * `cargo xtask fuzz [--seconds N]`: every fuzz target for a bounded time (cargo fuzz).

mod bench;
mod package;
mod postgres;
mod sdk;
mod setup;
mod util;

use anyhow::{bail, Context, Result};
use std::process::ExitCode;
use util::{cmd, root, run_step};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
    run [--service URL] [--release]   set up, build and open the app
    test                              set up, then run every gate and test
    bench                             benchmark against a bare Tauri app; writes BENCHMARKS.md
    bundle                            the release app as .deb and .rpm (target/release/bundle/)
    bindings                          regenerate ui/src/lib/bindings.ts
    sdk                               rebuild sdk/web/dist/refill-buttons.js (committed)
    fuzz [--seconds N]                run every fuzz target for N seconds each (default 60)
    setup                             only install what is missing and build the UI
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("test") => test(),
        Some("bench") => bench::bench(),
        Some("bindings") => bindings(false),
        Some("sdk") => setup::all(setup::Purpose::Run).and_then(|()| sdk::build()),
        Some("bundle") => {
            setup::all(setup::Purpose::Run).and_then(|()| package::bundle().map(drop))
        }
        Some("fuzz") => fuzz_command(&args[1..]),
        Some("setup") => setup::all(setup::Purpose::Test),
        Some("-h" | "--help") | None => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => {
            eprint!("xtask: unknown command '{other}'\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nxtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<()> {
    let mut app_args = Vec::new();
    let mut release = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--service" => {
                let url = it
                    .next()
                    .context("--service needs the URL of a Refill service")?;
                app_args.extend(["--service".to_owned(), url.clone()]);
            }
            "--release" => release = true,
            other => bail!("unknown option '{other}' for run\n\n{USAGE}"),
        }
    }
    setup::all(setup::Purpose::Run)?;
    let mut build = cmd("cargo", ["build", "-p", "refill-app"]);
    if release {
        build.args(["--release", "--features", "custom-protocol"]);
    }
    run_step("build the app", &mut build)?;
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        bail!(
            "there is no display to open the window on. On a machine without one, run \
             `xvfb-run cargo xtask run`"
        );
    }
    let profile = if release { "release" } else { "debug" };
    let bin = util::target_dir().join(profile).join("refill-app");
    println!("xtask: starting Refill ({})", bin.display());
    // GTK apps need a session bus; without one, give the app its own.
    let mut app = if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
        cmd(&bin, app_args)
    } else {
        let mut c = cmd("dbus-run-session", ["--"]);
        c.arg(&bin).args(app_args);
        c
    };
    let status = app.status().context("could not start the app")?;
    match status.code() {
        Some(0) => Ok(()),
        // Stopped by a signal (Ctrl-C in this terminal, or the session ending): not a failure.
        None => {
            println!("xtask: Refill was stopped");
            Ok(())
        }
        Some(code) => bail!("the app exited with code {code}"),
    }
}

/// Writes (or with `check`, checks) the UI's bindings, by the generator in `refill-commands`:
/// the xtask links none of Refill's crates, so that it builds on a machine before `setup` has
/// installed the system libraries they need.
fn bindings(check: bool) -> Result<()> {
    let mut c = cmd(
        "cargo",
        [
            "run",
            "--quiet",
            "-p",
            "refill-commands",
            "--example",
            "bindings",
        ],
    );
    if check {
        c.args(["--", "--check"]);
    }
    run_step("TypeScript bindings", &mut c)
}

fn test() -> Result<()> {
    // The gates build everything once, from scratch on CI: cargo's incremental caches would only
    // cost time and several GB of disk there. Someone who wants them sets CARGO_INCREMENTAL=1.
    if std::env::var_os("CARGO_INCREMENTAL").is_none() {
        std::env::set_var("CARGO_INCREMENTAL", "0");
    }
    setup::all(setup::Purpose::Test)?;
    let ui = root().join("ui");
    let mut gates = 0;
    let mut gate = |name: &str, f: &mut dyn FnMut() -> Result<()>| -> Result<()> {
        f().with_context(|| format!("gate failed: {name}"))?;
        gates += 1;
        Ok(())
    };
    gate("rustfmt", &mut || {
        run_step(
            "cargo fmt --check",
            &mut cmd("cargo", ["fmt", "--all", "--check"]),
        )
    })?;
    gate("clippy", &mut || {
        run_step(
            "cargo clippy",
            &mut cmd(
                "cargo",
                [
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ],
            ),
        )?;
        // The service as the app embeds it: SQLite only, straight through sqlx's SQLite driver.
        run_step(
            "cargo clippy (the service without PostgreSQL, as the app has it)",
            &mut cmd(
                "cargo",
                [
                    "clippy",
                    "-p",
                    "refill-service",
                    "--no-default-features",
                    "--lib",
                    "--",
                    "-D",
                    "warnings",
                ],
            ),
        )
    })?;
    gate("bindings", &mut || bindings(true))?;
    gate("TypeScript", &mut || {
        run_step(
            "svelte-check",
            cmd("npm", ["run", "--silent", "check"]).current_dir(&ui),
        )
    })?;
    gate("Rust tests", &mut || {
        run_step("cargo test", &mut cmd("cargo", ["test", "--workspace"]))
    })?;
    gate("PostgreSQL tests", &mut on_postgres)?;
    gate("OpenAPI conformance", &mut openapi)?;
    gate("flood tests", &mut flood)?;
    gate("keyring tests", &mut keyring)?;
    gate("Bluetooth tests", &mut ble_rig)?;
    gate("interoperability tests", &mut interop)?;
    gate("UI tests", &mut || {
        run_step(
            "vitest",
            cmd("npm", ["run", "--silent", "test"]).current_dir(&ui),
        )
    })?;
    gate("web SDK for device makers", &mut sdk::gate)?;
    gate("end-to-end tests", &mut || e2e())?;
    gate("the installed package", &mut package::gate)?;
    gate("fuzzing", &mut || fuzz(10))?;
    println!("\ngates: {gates} passed, 0 failed");
    Ok(())
}

/// The service's tests again, on a PostgreSQL server of their own instead of SQLite files, with
/// those that need PostgreSQL (several instances on one database) and the OpenAPI conformance
/// run.
fn on_postgres() -> Result<()> {
    let server = postgres::TestPostgres::start()?;
    // The flood tests run the release binary on a SQLite file of its own, and the mDNS
    // announcement test (no database part) runs with the interop venv: their own gates.
    let mut c = cmd(
        "cargo",
        [
            "test",
            "-p",
            "refill-service",
            "--",
            "--include-ignored",
            "--skip",
            "flood_",
            "--skip",
            "off_loopback_the_service_announces",
        ],
    );
    c.env("REFILL_TEST_POSTGRES", server.url());
    c.env("REFILL_SCHEMATHESIS", setup::schemathesis());
    // Orders by email, to aiosmtpd in the interop venv.
    c.env("REFILL_INTEROP_PYTHON", setup::interop_python());
    run_step("cargo test -p refill-service on PostgreSQL", &mut c)
}

/// The running service against its OpenAPI description, with schemathesis (installed by the
/// setup in a venv of its own).
fn openapi() -> Result<()> {
    ignored_tests(
        "OpenAPI conformance (schemathesis)",
        ("refill-service", "openapi"),
        ("REFILL_SCHEMATHESIS", setup::schemathesis()),
    )
}

/// The service binary, built for release (without LTO), under floods of sign-ins and slow
/// connections at a 1 024 open-files limit (`crates/refill-service/tests/flood.rs`).
fn flood() -> Result<()> {
    run_step(
        "build refill-service for release (profile release-test)",
        &mut cmd(
            "cargo",
            [
                "build",
                "--profile",
                "release-test",
                "-p",
                "refill-service",
                "--bin",
                "refill-service",
            ],
        ),
    )?;
    let bin = util::target_dir()
        .join("release-test")
        .join("refill-service");
    let mut c = cmd(
        "cargo",
        [
            "test",
            "-p",
            "refill-service",
            "--test",
            "flood",
            "--",
            "--ignored",
            "--test-threads=1",
        ],
    );
    c.env("REFILL_SERVICE_BIN", bin);
    run_step("flood tests (the release service binary)", &mut c)
}

/// The ignored tests of `test` in `package`, which need the tool `env` names.
fn ignored_tests(
    what: &str,
    (package, test): (&str, &str),
    env: (&str, std::path::PathBuf),
) -> Result<()> {
    let mut c = cmd(
        "cargo",
        ["test", "-p", package, "--test", test, "--", "--ignored"],
    );
    c.env(env.0, env.1);
    run_step(what, &mut c)
}

/// Tests against the real Secret Service: a gnome-keyring of their own, on a private session
/// bus, with a fresh `XDG_DATA_HOME`, so a person's keyring is never touched.
fn keyring() -> Result<()> {
    let data_home = tempfile::Builder::new()
        .prefix("refill-keyring-")
        .tempdir()?;
    let script =
        "echo -n refill-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null \
                  && cargo test -p refill-auth --test keyring -- --ignored \
                  && exec cargo test -p refill-cli --test cli --test devices -- --ignored \
                  --skip a_keyring_that_cannot_store";
    let mut c = cmd("dbus-run-session", ["--", "sh", "-c", script]);
    c.env("XDG_DATA_HOME", data_home.path());
    c.env("REFILL_KEYRING_ISOLATED", "1");
    c.env("REFILL_INTEROP_PYTHON", setup::interop_python());
    run_step(
        "keyring tests (gnome-keyring on a private session bus)",
        &mut c,
    )?;
    // A fresh keyring unlocked with an empty password has no default collection.
    let empty_home = tempfile::Builder::new()
        .prefix("refill-keyring-empty-")
        .tempdir()?;
    let script = "echo -n '' | gnome-keyring-daemon --unlock --components=secrets >/dev/null \
                  && exec cargo test -p refill-cli --test cli -- --ignored \
                  a_keyring_that_cannot_store";
    let mut c = cmd("dbus-run-session", ["--", "sh", "-c", script]);
    c.env("XDG_DATA_HOME", empty_home.path());
    c.env("REFILL_KEYRING_ISOLATED", "1");
    c.env("REFILL_KEYRING_WITHOUT_COLLECTION", "1");
    run_step(
        "keyring tests (a keyring without a default collection)",
        &mut c,
    )
}

/// The fuzz targets (the decoders of everything a device or an app can send), in
/// `crates/refill-provision/fuzz`.
const FUZZ_TARGETS: &[&str] = &["session", "device", "answers", "improv"];

fn fuzz_command(args: &[String]) -> Result<()> {
    let seconds = match args {
        [] => 60,
        [flag, n] if flag == "--seconds" => n.parse().context("--seconds needs a number")?,
        _ => bail!("usage: cargo xtask fuzz [--seconds N]"),
    };
    setup::all(setup::Purpose::Test)?;
    fuzz(seconds)
}

/// Runs each fuzz target for `seconds` with cargo fuzz (libFuzzer + AddressSanitizer); fails on
/// any crash, leaving the input in `crates/refill-provision/fuzz/artifacts/`.
fn fuzz(seconds: u32) -> Result<()> {
    for target in FUZZ_TARGETS {
        let mut c = cmd("cargo", ["fuzz", "run", "--fuzz-dir", "fuzz", target, "--"]);
        c.arg(format!("-max_total_time={seconds}"));
        // cargo fuzz passes -Z flags (sanitizers); the pinned stable toolchain takes them so.
        c.env("RUSTC_BOOTSTRAP", "1");
        c.env("PATH", util::path_with_cargo_bin());
        c.current_dir(root().join("crates/refill-provision"));
        run_step(&format!("fuzz {target} for {seconds} s"), &mut c)?;
    }
    Ok(())
}

/// The simulated device against provisioning clients Refill did not write (esp-protocomm from
/// PyPI), the forecasts against statsmodels' exponential smoothing, order emails against
/// aiosmtpd, and mDNS announcements and discovery against python-zeroconf, in the venv the setup
/// made.
fn interop() -> Result<()> {
    ignored_tests(
        "esp-protocomm against refill-device-sim",
        ("refill-device-sim", "interop"),
        ("REFILL_INTEROP_PYTHON", setup::interop_python()),
    )?;
    ignored_tests(
        "forecasts against statsmodels",
        ("refill-core", "statsmodels"),
        ("REFILL_INTEROP_PYTHON", setup::interop_python()),
    )?;
    // mDNS on a private network of two namespaces the tests make (root): nothing leaves the
    // machine.
    ignored_tests(
        "the service's mDNS announcement against python-zeroconf's browser",
        ("refill-service", "announce"),
        ("REFILL_INTEROP_PYTHON", setup::interop_python()),
    )?;
    ignored_tests(
        "order emails against aiosmtpd",
        ("refill-service", "mail"),
        ("REFILL_INTEROP_PYTHON", setup::interop_python()),
    )?;
    ignored_tests(
        "`refill services` against python-zeroconf's announcements",
        ("refill-cli", "discover"),
        ("REFILL_INTEROP_PYTHON", setup::interop_python()),
    )
}

/// The real btleplug code against the fake BlueZ rig (a private system bus, BlueZoo and a GATT
/// peripheral in the venv the setup made).
fn ble_rig() -> Result<()> {
    ignored_tests(
        "Bluetooth tests (btleplug on the fake BlueZ rig)",
        ("refill-device-sim", "ble_rig"),
        ("REFILL_BLE_RIG_PYTHON", setup::ble_rig_python()),
    )
}

/// The end-to-end suite: the real app binary through tauri-driver, under a private session bus
/// and a virtual display.
fn e2e() -> Result<()> {
    run_step(
        "build the app binary",
        &mut cmd("cargo", ["build", "-p", "refill-app"]),
    )?;
    let bin = util::target_dir().join("debug").join("refill-app");
    let rig = setup::ble_rig_python();
    under_desktop(
        "end-to-end tests (Xvfb + tauri-driver)",
        // The package gate runs the installed-package test.
        "cargo test -p refill-e2e --tests -- --ignored --test-threads=1 --skip package_",
        &[
            ("REFILL_APP_BIN", bin.as_os_str()),
            // The fake Bluetooth radio's Python (BlueZoo), for the device set up over it.
            ("REFILL_BLE_RIG_PYTHON", rig.as_os_str()),
        ],
    )
}

/// Runs `script` as on a desktop: a private session bus with its own unlocked gnome-keyring
/// (the app keeps tokens there), then a virtual display.
fn under_desktop(what: &str, script: &str, envs: &[(&str, &std::ffi::OsStr)]) -> Result<()> {
    let keyring_home = tempfile::Builder::new()
        .prefix("refill-e2e-keyring-")
        .tempdir()?;
    let script = format!(
        "echo -n refill-test | XDG_DATA_HOME=\"$REFILL_KEYRING_HOME\" \
         gnome-keyring-daemon --unlock --components=secrets >/dev/null \
         && exec xvfb-run -a -s '-screen 0 1280x800x24' {script}"
    );
    let mut c = cmd("dbus-run-session", ["--", "sh", "-c", &script]);
    c.env("REFILL_KEYRING_HOME", keyring_home.path());
    c.env("REFILL_KEYRING_ISOLATED", "1");
    c.envs(envs.iter().copied());
    c.env("PATH", util::path_with_cargo_bin());
    run_step(what, &mut c)
}
