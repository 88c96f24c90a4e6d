//! `refill items` against a sandbox service over real HTTP on loopback (no sign-in: a sandbox
//! on this computer acts for its customer).

use refill_service::{start, ServiceConfig};

async fn refill(args: &[&str], service: &str) -> (bool, String, String) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_without_a_device_are_added_told_of_and_listed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let service = start(ServiceConfig::sandbox(dir.path().join("sandbox.sqlite")))
        .await
        .unwrap();
    let url = service.base_url();

    let (ok, out, err) = refill(&["items", "list"], &url).await;
    assert!(ok, "{err}");
    assert!(out.contains("No items yet"), "{out}");

    let (ok, out, err) = refill(
        &[
            "items",
            "add",
            "--name",
            "Dishwasher salt",
            "--size",
            "2000",
            "--unit",
            "g",
        ],
        &url,
    )
    .await;
    assert!(ok, "{err}");
    assert!(out.starts_with("Added: item-1\tDishwasher salt"), "{out}");
    let (ok, out, err) = refill(&["items", "add", "--product", "B0RFBEAN02"], &url).await;
    assert!(ok, "{err}");
    assert!(out.contains("item-2\tRefill Roasters"), "{out}");

    let (ok, out, err) = refill(&["items", "opened", "item-1"], &url).await;
    assert!(ok, "{err}");
    assert!(out.contains("2000 g left"), "{out}");
    let (ok, out, err) = refill(&["items", "ran-out", "item-1"], &url).await;
    assert!(ok, "{err}");
    assert!(out.contains("0 g left"), "{out}");

    let (ok, out, err) = refill(&["items", "list"], &url).await;
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with("item-1\tDishwasher salt\t0 g left"),
        "{out}"
    );
    assert!(lines[1].contains("no pack opened yet"), "{out}");

    let (ok, out, err) = refill(&["items", "remove", "item-2"], &url).await;
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "No longer tracked: item-2");
    let (ok, out, err) = refill(&["items", "list"], &url).await;
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");

    // Mistakes are said in words, with a failing exit status.
    for (args, want) in [
        (
            &[
                "items", "add", "--name", "Salt", "--size", "2", "--unit", "kg",
            ][..],
            "unit is count, g or ml",
        ),
        (
            &["items", "add", "--name", "Salt"][..],
            "--name, --size and --unit",
        ),
        (&["items", "opened", "item-9"][..], "no item item-9"),
        (&["items", "opened"][..], "say which item"),
        (&["items", "remove", "item-2"][..], "no item item-2"),
        (&["items", "remove"][..], "say which item"),
    ] {
        let (ok, _, err) = refill(args, &url).await;
        assert!(!ok && err.contains(want), "{args:?}: {err}");
    }
    service.shutdown().await;
}
