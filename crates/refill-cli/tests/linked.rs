//! `refill devices list | rename | product | remove` and `refill account export | delete`
//! against a sandbox service over real HTTP on loopback (no sign-in: a sandbox on this computer
//! acts for its customer, except for deleting the account).

mod common;

use common::refill;
use refill_service::{start, ServiceConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linked_devices_and_the_account_are_managed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let service = start(ServiceConfig::sandbox(dir.path().join("sandbox.sqlite")))
        .await
        .unwrap();
    let url = service.base_url();

    let (ok, out, err) = refill(&["devices", "list"], &url).await;
    assert!(ok, "{err}");
    let brewer = out
        .lines()
        .find(|l| l.starts_with("RefillBrew-200\t"))
        .unwrap_or_else(|| panic!("no coffee maker listed: {out}"));
    let serial = brewer.split('\t').nth(1).unwrap().to_owned();
    assert!(out.contains("brew-beans"), "{out}");

    let (ok, out, err) = refill(
        &["devices", "rename", "RefillBrew-200", &serial, "Kitchen"],
        &url,
    )
    .await;
    assert!(ok, "{err}");
    assert!(out.contains("is now \"Kitchen\""), "{out}");
    let (ok, _, err) = refill(&["devices", "rename", "RefillBrew-200", &serial, ""], &url).await;
    assert!(!ok);
    assert!(err.contains("1 to 60 characters"), "{err}");

    let (ok, _, err) = refill(
        &[
            "devices",
            "product",
            "RefillBrew-200",
            &serial,
            "brew-beans",
            "B0RFINKBK1",
        ],
        &url,
    )
    .await;
    assert!(!ok);
    assert!(err.contains("measured in"), "{err}");
    let (ok, out, err) = refill(
        &[
            "devices",
            "product",
            "RefillBrew-200",
            &serial,
            "brew-beans",
            "B0RFBEAN02",
        ],
        &url,
    )
    .await;
    assert!(ok, "{err}");
    assert!(out.contains("now reorders B0RFBEAN02"), "{out}");
    let (_, out, _) = refill(&["devices", "list"], &url).await;
    assert!(out.contains("Kitchen"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains("brew-beans") && l.contains("(B0RFBEAN02)")),
        "{out}"
    );

    let file = dir.path().join("my-data.json");
    let (ok, _, err) = refill(
        &["account", "export", "--output", file.to_str().unwrap()],
        &url,
    )
    .await;
    assert!(ok, "{err}");
    let export: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(export["email"], refill_service::sandbox::CUSTOMER_EMAIL);
    assert!(export["devices"].to_string().contains(&serial));
    assert!(!export["orders"].as_array().unwrap().is_empty());

    // Deleting the account needs a sign-in, even for a sandbox on this computer.
    let (ok, _, err) = refill(
        &[
            "account",
            "delete",
            "--confirm",
            refill_service::sandbox::CUSTOMER_EMAIL,
        ],
        &url,
    )
    .await;
    assert!(!ok);
    assert!(err.contains("Sign in first"), "{err}");
    let (ok, _, err) = refill(&["account", "delete"], &url).await;
    assert!(!ok);
    assert!(err.contains("--confirm EMAIL"), "{err}");

    let (ok, out, err) = refill(
        &[
            "devices",
            "remove",
            "RefillBrew-200",
            &serial,
            "--cancel-orders",
        ],
        &url,
    )
    .await;
    assert!(ok, "{err}");
    assert!(out.contains("Removed RefillBrew-200"), "{out}");
    let (_, out, _) = refill(&["devices", "list"], &url).await;
    assert!(!out.contains(&serial), "{out}");
    let (ok, _, err) = refill(&["devices", "remove", "RefillBrew-200", &serial], &url).await;
    assert!(!ok);
    assert!(err.contains("You have no device"), "{err}");
}
