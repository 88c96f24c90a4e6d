//! `cargo xtask bundle`: the release app as Linux packages (`.deb` and `.rpm`), made by Tauri's
//! bundler (the `@tauri-apps/cli` the UI's `npm ci` installs); and the package gate of
//! `cargo xtask test`, which installs the `.deb` as a person would, starts the installed app
//! under Xvfb, and removes it again (`tests/tests/package.rs`).
//!
//! AppImage is left out: its bundler downloads its runtime at bundle time.

use crate::util::{cmd, root, run_step, target_dir};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// The packages `bundle` made.
pub struct Packages {
    /// The Debian package.
    pub deb: PathBuf,
    /// The RPM package.
    pub rpm: PathBuf,
    /// The service's Debian package, for a home server.
    pub service_deb: PathBuf,
}

/// `tauri build` of the app in `app_dir` (a folder with its `tauri.conf.json`) with `bundles`.
fn tauri_build(what: &str, app_dir: &Path, bundles: &str) -> Result<()> {
    let tauri = root().join("ui/node_modules/.bin/tauri");
    if !tauri.is_file() {
        bail!("Tauri's bundler is missing: `npm ci` in ui/ installs it (the setup does)");
    }
    run_step(
        what,
        cmd(&tauri, ["build", "--ci", "--bundles", bundles]).current_dir(app_dir),
    )
}

/// Builds the release app and its `.deb` and `.rpm` (the UI must be built: the setup does it).
pub fn bundle() -> Result<Packages> {
    tauri_build(
        "the release app and its Linux packages (tauri build --bundles deb,rpm)",
        &root().join("src-tauri"),
        "deb,rpm",
    )?;
    let bundles = target_dir().join("release/bundle");
    let packages = Packages {
        deb: newest(&bundles.join("deb"), "Refill_", "deb")?,
        rpm: newest(&bundles.join("rpm"), "Refill-", "rpm")?,
        service_deb: service_deb()?,
    };
    for package in [&packages.deb, &packages.rpm, &packages.service_deb] {
        let size = std::fs::metadata(package)?.len();
        println!(
            "xtask: {} ({:.2} MiB)",
            package.display(),
            size as f64 / (1024.0 * 1024.0)
        );
    }
    Ok(packages)
}

/// Builds the release `refill-service` and its `.deb` (with `dpkg-deb`): the binary, a hardened
/// systemd unit, `/etc/refill/refill.toml` (a conffile) and the scripts that make its user and
/// data folder (`crates/refill-service/package/`).
pub fn service_deb() -> Result<PathBuf> {
    run_step(
        "the release refill-service",
        &mut cmd("cargo", ["build", "--release", "-p", "refill-service"]),
    )?;
    let version = env!("CARGO_PKG_VERSION");
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let out = target_dir().join("release/bundle/deb");
    let tree = out.join("refill-service-tree");
    let _ = std::fs::remove_dir_all(&tree);
    let files = root().join("crates/refill-service/package");
    let put = |from: &Path, to: &str, mode: u32| -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let to = tree.join(to);
        std::fs::create_dir_all(to.parent().context("a file in a folder")?)?;
        std::fs::copy(from, &to).with_context(|| format!("copying {}", from.display()))?;
        std::fs::set_permissions(&to, std::fs::Permissions::from_mode(mode))?;
        Ok(())
    };
    put(
        &target_dir().join("release/refill-service"),
        "usr/bin/refill-service",
        0o755,
    )?;
    put(
        &files.join("refill-service.service"),
        "lib/systemd/system/refill-service.service",
        0o644,
    )?;
    put(&files.join("refill.toml"), "etc/refill/refill.toml", 0o640)?;
    for script in ["postinst", "prerm", "postrm"] {
        put(&files.join(script), &format!("DEBIAN/{script}"), 0o755)?;
    }
    std::fs::write(tree.join("DEBIAN/conffiles"), "/etc/refill/refill.toml\n")?;
    let size_kib = std::fs::metadata(tree.join("usr/bin/refill-service"))?.len() / 1024 + 64;
    std::fs::write(
        tree.join("DEBIAN/control"),
        format!(
            "Package: refill-service\n\
             Version: {version}\n\
             Architecture: {arch}\n\
             Maintainer: Refill <refill@localhost>\n\
             Installed-Size: {size_kib}\n\
             Depends: libc6, libgcc-s1, libssl3, adduser\n\
             Section: net\n\
             Priority: optional\n\
             Description: Refill replenishment service for a home server\n \
             Self-hosted and wire-compatible with Amazon's Dash Replenishment Service: devices\n \
             report their supplies, and the Refill app orders before anything runs out.\n"
        ),
    )?;
    let deb = out.join(format!("refill-service_{version}_{arch}.deb"));
    run_step(
        "the refill-service .deb (dpkg-deb)",
        &mut cmd(
            "dpkg-deb",
            [
                "--root-owner-group".as_ref(),
                "--build".as_ref(),
                tree.as_os_str(),
                deb.as_os_str(),
            ],
        ),
    )?;
    Ok(deb)
}

/// The bench's bare Tauri app as a `.deb`, the baseline of the package's size.
pub fn bare_deb() -> Result<PathBuf> {
    tauri_build(
        "the bare Tauri app's .deb",
        &root().join("xtask/bare-tauri"),
        "deb",
    )?;
    newest(
        &target_dir().join("release/bundle/deb"),
        "bare-tauri_",
        "deb",
    )
}

/// The newest `{prefix}….{ext}` in `dir` (the bundler leaves older versions' packages).
fn newest(dir: &Path, prefix: &str, ext: &str) -> Result<PathBuf> {
    std::fs::read_dir(dir)
        .with_context(|| format!("the bundler made no {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.extension().is_some_and(|e| e == ext)
                && path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(prefix))
        })
        .max_by_key(|path| std::fs::metadata(path).and_then(|m| m.modified()).ok())
        .with_context(|| format!("the bundler made no {prefix}….{ext} in {}", dir.display()))
}

/// The package gate: bundles, then runs the installed-package test, which installs the `.deb`
/// (as root, or through `sudo -n`), starts `/usr/bin/refill-app` and removes the package.
pub fn gate() -> Result<()> {
    let packages = bundle()?;
    crate::under_desktop(
        "the installed .deb (installed, started under Xvfb, removed)",
        "cargo test -p refill-e2e --test package -- --ignored --test-threads=1",
        &[
            ("REFILL_DEB", packages.deb.as_os_str()),
            ("REFILL_RPM", packages.rpm.as_os_str()),
            ("REFILL_SERVICE_DEB", packages.service_deb.as_os_str()),
            ("REFILL_APP_BIN", "/usr/bin/refill-app".as_ref()),
        ],
    )
}
