//! The web SDK for device makers (`sdk/web/`, `<refill-buttons>`): its type check, its tests,
//! its bundle as committed (`sdk/web/dist/refill-buttons.js`, which the device simulator serves
//! on the sandbox fridge's screen and device makers copy) and the bundle's size budget.

use crate::util::{cmd, root, run_step};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;

/// The most the bundle may weigh, gzipped.
pub const BUDGET_GZIPPED: usize = 15 * 1024;

/// The bundle's path in the repository.
fn committed() -> PathBuf {
    root().join("sdk/web/dist/refill-buttons.js")
}

/// `cargo xtask sdk`: builds the bundle into `sdk/web/dist/`, to commit.
pub fn build() -> Result<()> {
    run_step(
        "build the web SDK (vite)",
        cmd("npm", ["run", "--silent", "build"]).current_dir(root().join("sdk/web")),
    )?;
    report(&std::fs::read(committed())?)
}

/// The gate: type check, tests, the committed bundle is the build of the sources, within budget.
pub fn gate() -> Result<()> {
    let sdk = root().join("sdk/web");
    run_step(
        "web SDK type check (tsc)",
        cmd("npm", ["run", "--silent", "check"]).current_dir(&sdk),
    )?;
    run_step(
        "web SDK tests (vitest)",
        cmd("npm", ["run", "--silent", "test"]).current_dir(&sdk),
    )?;
    let out = tempfile::Builder::new().prefix("refill-sdk-").tempdir()?;
    let dir = out.path().to_string_lossy().into_owned();
    run_step(
        "build the web SDK (vite) to compare with the committed bundle",
        cmd(
            "npm",
            [
                "run",
                "--silent",
                "build",
                "--",
                "--outDir",
                dir.as_str(),
                "--emptyOutDir",
            ],
        )
        .current_dir(&sdk),
    )?;
    let built = std::fs::read(out.path().join("refill-buttons.js"))?;
    let kept = std::fs::read(committed()).context("sdk/web/dist/refill-buttons.js is missing")?;
    if built != kept {
        bail!(
            "sdk/web/dist/refill-buttons.js is not the build of sdk/web/src: run `cargo xtask \
             sdk` and commit the bundle"
        );
    }
    report(&built)
}

/// Prints the bundle's size; fails past the budget.
fn report(bundle: &[u8]) -> Result<()> {
    let gzipped = gzipped_len(bundle)?;
    println!(
        "xtask: web SDK bundle: {} bytes, {gzipped} gzipped (budget {BUDGET_GZIPPED})",
        bundle.len()
    );
    if gzipped > BUDGET_GZIPPED {
        bail!(
            "the web SDK's bundle is {gzipped} bytes gzipped, over its budget of {BUDGET_GZIPPED}"
        );
    }
    Ok(())
}

/// The length of `bytes` compressed by `gzip -9`.
fn gzipped_len(bytes: &[u8]) -> Result<usize> {
    use std::io::Write;
    let mut gzip = std::process::Command::new("gzip")
        .args(["-9", "-c", "-n"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("could not run gzip")?;
    let mut input = gzip.stdin.take().context("gzip has no input")?;
    let data = bytes.to_vec();
    let writer = std::thread::spawn(move || input.write_all(&data));
    let output = gzip.wait_with_output()?;
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("gzip's input broke"))??;
    if !output.status.success() {
        bail!("gzip failed");
    }
    Ok(output.stdout.len())
}
