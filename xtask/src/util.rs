//! Small helpers for running commands.

use anyhow::{bail, Context, Result};
use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// Cargo's target folder.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

/// Where `cargo install` puts binaries.
pub fn cargo_bin() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_default()
        .join("bin")
}

/// `PATH` with cargo's bin folder in front, so tools installed by setup are found.
pub fn path_with_cargo_bin() -> std::ffi::OsString {
    let mut paths = vec![cargo_bin()];
    if let Some(path) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(paths).unwrap_or_default()
}

/// A command run from the repository root.
pub fn cmd<I, S>(program: impl AsRef<OsStr>, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut c = Command::new(program);
    c.args(args).current_dir(root());
    c
}

/// Runs a step, saying what it is and how long it took; fails when it fails.
pub fn run_step(what: &str, command: &mut Command) -> Result<()> {
    println!("\nxtask: {what}");
    let started = Instant::now();
    let status = command
        .status()
        .with_context(|| format!("could not start {:?}", command.get_program()))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    println!(
        "xtask: {what}: ok ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Whether `program` can be found on `PATH`.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}
