//! `refill-service clients`: the operator registers a device maker's client with the real binary
//! on the service's database, and the maker then manages webhooks with the secret it printed.

mod common;

use common::{database, fresh, start_on};
use serde_json::{json, Value};

/// `refill-service clients ARGS` on `db`: exit code, stdout, stderr.
fn clients(db: &refill_service::Database, args: &[&str]) -> (i32, String, String) {
    common::operator(db, &[&["clients"], args].concat())
}

/// The secret in `clients add` / `new-secret` output.
fn secret_of(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| {
            l.split_once("shown only now: ")
                .map(|(_, s)| s.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no secret in {stdout:?}"))
}

async fn create_webhook(base: &str, id: &str, secret: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{base}/v1/webhooks"))
        .basic_auth(id, Some(secret))
        .json(&json!({"url": "https://maker.example/drs", "version": 2}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn an_operator_adds_a_makers_client_whose_secret_then_works() {
    let (dir, clock) = fresh();
    let db = database(dir.path(), "clients").await;

    let (code, out, err) = clients(
        &db,
        &[
            "add",
            "maker-brew",
            "--name",
            "Brew Co.",
            "--redirect-uri",
            "https://brew.example/linked",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("Added the confidential client maker-brew (Brew Co.)."));
    let secret = secret_of(&out);
    assert!(secret.len() >= 40, "{secret}");

    // The same id again is refused, and the first secret stays.
    let (code, _, err) = clients(
        &db,
        &[
            "add",
            "maker-brew",
            "--name",
            "Other",
            "--redirect-uri",
            "https://o.example/cb",
        ],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("there is already a client maker-brew"),
        "{err}"
    );
    // Bad input is refused in words, and nothing is added.
    let (code, _, err) = clients(
        &db,
        &[
            "add",
            "maker-x",
            "--name",
            "X",
            "--redirect-uri",
            "brew.example/cb",
        ],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("'brew.example/cb' is not a redirect address"),
        "{err}"
    );
    let (code, _, err) = clients(&db, &["add", "maker x", "--name", "X"]);
    assert_eq!(code, 2);
    assert!(err.contains("is not a client id"), "{err}");
    let (code, _, err) = clients(
        &db,
        &["add", "maker-y", "--redirect-uri", "https://y.example/"],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("required arguments were not provided") && err.contains("--name <NAME>"),
        "{err}"
    );
    let (_, out, _) = clients(
        &db,
        &[
            "add",
            "phone-app",
            "--name",
            "Brew app",
            "--public",
            "--redirect-uri",
            "https://brew.example/app",
        ],
    );
    assert!(out.contains("public client phone-app"), "{out}");

    // The listing shows both, and never a secret.
    let (code, listed, _) = clients(&db, &["list"]);
    assert_eq!(code, 0);
    assert!(listed.contains("maker-brew\tBrew Co.\tconfidential\thttps://brew.example/linked"));
    assert!(listed.contains("phone-app\tBrew app\tpublic"));
    assert!(!listed.contains("maker-x") && !listed.contains(&secret));

    // The maker manages webhooks with its secret on the running service.
    let service = start_on(&db, clock.clone()).await;
    let base = service.base_url();
    assert_eq!(create_webhook(&base, "maker-brew", &secret).await, 201);
    assert_eq!(create_webhook(&base, "maker-brew", "guess").await, 401);

    // A new secret: the old one stops working at once.
    let (code, out, err) = clients(&db, &["new-secret", "maker-brew"]);
    assert_eq!(code, 0, "{err}");
    let renewed = secret_of(&out);
    assert_ne!(renewed, secret);
    assert_eq!(create_webhook(&base, "maker-brew", &secret).await, 401);
    assert_eq!(create_webhook(&base, "maker-brew", &renewed).await, 201);
    let hooks: Value = reqwest::Client::new()
        .get(format!("{base}/v1/webhooks"))
        .basic_auth("maker-brew", Some(&renewed))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(hooks["webhooks"].as_array().unwrap().len(), 2);
    let (code, _, err) = clients(&db, &["new-secret", "phone-app"]);
    assert_eq!(code, 2);
    assert!(err.contains("public client"), "{err}");
    service.shutdown().await;
}
