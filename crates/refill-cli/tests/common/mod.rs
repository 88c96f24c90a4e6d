//! What the `refill` tests share.

/// Runs `refill ARGS --service SERVICE` without a keyring; whether it succeeded, its standard
/// output and its standard error.
pub async fn refill(args: &[&str], service: &str) -> (bool, String, String) {
    let mut args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    args.extend(["--service".to_owned(), service.to_owned()]);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_refill"))
            .args(args)
            // No keyring here: the CLI goes on without a sign-in.
            .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
