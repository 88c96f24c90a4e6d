//! `refill items` against a sandbox service over real HTTP on loopback (no sign-in: a sandbox
//! on this computer acts for its customer).

mod common;

use common::refill;
use refill_service::{start, ServiceConfig};

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
            "required arguments were not provided:\n  --size <AMOUNT>\n  --unit <UNIT>",
        ),
        (
            &["items", "add"][..],
            "--product ASIN, or --name, --size and --unit",
        ),
        (
            &[
                "items", "add", "--name", "Salt", "--size", "a lot", "--unit", "g",
            ][..],
            "invalid value 'a lot' for '--size <AMOUNT>'",
        ),
        (&["items", "opened", "item-9"][..], "no item item-9"),
        (&["items", "opened"][..], "<ITEM>"),
        (&["items", "remove", "item-2"][..], "no item item-2"),
        (&["items", "remove"][..], "<ITEM>"),
    ] {
        let (ok, _, err) = refill(args, &url).await;
        assert!(!ok && err.contains(want), "{args:?}: {err}");
    }
    service.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_runs_low_by_its_forecast_as_the_command_line_shows() {
    use refill_core::Clock;
    let dir = tempfile::tempdir().unwrap();
    let clock = std::sync::Arc::new(refill_core::ManualClock::new(
        time::macros::datetime!(2026-11-22 09:00 UTC),
    ));
    let mut config = ServiceConfig::sandbox(dir.path().join("sandbox.sqlite"));
    config.clock = clock.clone();
    config.review_items_every = None;
    let policy = config.policy;
    let service = start(config).await.unwrap();
    let url = service.base_url();
    let (ok, _, err) = refill(&["items", "add", "--product", "B0RFBEAN02"], &url).await;
    assert!(ok, "{err}");
    // A 500 g pack lasts 10 days.
    for _ in 0..4 {
        let (ok, _, err) = refill(&["items", "opened", "item-1"], &url).await;
        assert!(ok, "{err}");
        clock.advance(time::Duration::days(10));
    }
    let (ok, out, err) = refill(&["items", "opened", "item-1"], &url).await;
    assert!(ok, "{err}");
    assert!(out.contains("about 50 g a day"), "{out}");
    assert!(!out.contains("low"), "{out}");
    // Eight days on, the open pack is estimated down to low: the list says so.
    for _ in 0..8 {
        clock.advance(time::Duration::days(1));
        service
            .store()
            .review_items(clock.now(), &policy)
            .await
            .unwrap();
    }
    let (ok, out, err) = refill(&["items", "list"], &url).await;
    assert!(ok, "{err}");
    assert!(out.starts_with("item-1\t"), "{out}");
    assert!(out.trim_end().ends_with(" · low"), "{out}");
    service.shutdown().await;
}

/// A home server's service, with its own certificate: the command line connects only with its
/// fingerprint (`--fingerprint` or `REFILL_SERVICE_FINGERPRINT`), and says why otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_home_servers_own_certificate_is_used_with_its_fingerprint_and_refused_without() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServiceConfig::sandbox(dir.path().join("sandbox.sqlite"))
        .with_self_signed(dir.path())
        .unwrap();
    let service = start(config).await.unwrap();
    let fingerprint = service.certificate().unwrap().fingerprint().to_string();
    let url = service.base_url();
    assert!(url.starts_with("https://"), "{url}");

    let (ok, out, err) = refill(&["items", "list", "--fingerprint", &fingerprint], &url).await;
    assert!(ok, "{err}");
    assert!(out.contains("No items yet"), "{out}");
    // OpenSSL's way of writing it is taken too.
    let openssl = format!("sha256 Fingerprint={fingerprint}");
    let (ok, _, err) = refill(&["devices", "list", "--fingerprint", &openssl], &url).await;
    assert!(ok, "{err}");

    let (ok, _, err) = refill(&["items", "list"], &url).await;
    assert!(!ok);
    assert!(err.contains("no authority this computer trusts"), "{err}");
    assert!(err.contains(&fingerprint), "{err}");
    let other = "0".repeat(64);
    let (ok, _, err) = refill(&["items", "list", "--fingerprint", &other], &url).await;
    assert!(!ok);
    assert!(err.contains("different certificate"), "{err}");
    let (ok, _, err) = refill(&["items", "list", "--fingerprint", "12:34"], &url).await;
    assert!(!ok);
    assert!(err.contains("not a SHA-256 fingerprint"), "{err}");
    service.shutdown().await;
}
