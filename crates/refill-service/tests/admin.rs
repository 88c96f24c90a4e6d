//! The admin API (`/admin/v1/…`): an admin token made by the real binary's
//! `admin-tokens create` does what the operator's commands do, over HTTP, with the same words
//! when it is refused; customers' and devices' tokens, no token and a revoked one are refused.

mod common;

use common::{answer, device_token, operator, sandbox, tokens, Fixture, JUG};
use refill_service::sandbox::CUSTOMER_EMAIL;
use serde_json::{json, Value};

/// `admin-tokens create NAME` with the real binary: the token it shows once.
fn create_token(f: &Fixture, name: &str) -> String {
    let (code, out, err) = operator(&f.db, &["admin-tokens", "create", name]);
    assert_eq!(code, 0, "{err}");
    out.split_whitespace()
        .find(|w| w.starts_with("refill-admin-"))
        .unwrap_or_else(|| panic!("no token in {out}"))
        .to_owned()
}

async fn call(f: &Fixture, method: reqwest::Method, path: &str, token: &str) -> (u16, Value) {
    answer(f.http.request(method, f.url(path)).bearer_auth(token)).await
}

#[tokio::test]
async fn only_an_admin_token_reaches_the_admin_api_and_a_revoked_one_stops_at_once() {
    let f = sandbox().await;
    let admin = create_token(&f, "ci-script");
    let customer = tokens(&f, "profile refill:customer", None).await.0;
    let device = device_token(&f, "ADMIN-1", false).await;

    // No token, even on loopback of a sandbox that lets anonymous customers in.
    let (status, body) = answer(f.http.get(f.url("/admin/v1/customers"))).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("admin-tokens create"),
        "{body}"
    );
    for (token, whose) in [(&customer, "a customer's"), (&device, "a device's")] {
        let (status, body) = call(&f, reqwest::Method::GET, "/admin/v1/customers", token).await;
        assert_eq!(status, 403, "{body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with(&format!("This is {whose} token")),
            "{body}"
        );
    }
    let forged = format!("{admin}x");
    let (status, _) = call(&f, reqwest::Method::GET, "/admin/v1/customers", &forged).await;
    assert_eq!(status, 401);

    let (status, body) = call(&f, reqwest::Method::GET, "/admin/v1/customers", &admin).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["customers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["email"] == CUSTOMER_EMAIL),
        "{body}"
    );

    // Listed as used; after `revoke`, refused at once, and listed as revoked.
    let (_, listed, _) = operator(&f.db, &["admin-tokens", "list"]);
    assert!(
        listed.starts_with("ci-script\tmade ") && listed.contains("last used "),
        "{listed}"
    );
    let (code, _, err) = operator(&f.db, &["admin-tokens", "create", "ci-script"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("there is already an admin token named ci-script"),
        "{err}"
    );
    let (code, _, err) = operator(&f.db, &["admin-tokens", "revoke", "ci-script"]);
    assert_eq!(code, 0, "{err}");
    let (status, body) = call(&f, reqwest::Method::GET, "/admin/v1/customers", &admin).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("revoked"),
        "{body}"
    );
    let (_, listed, _) = operator(&f.db, &["admin-tokens", "list"]);
    assert!(listed.contains("\trevoked "), "{listed}");
    let (code, _, err) = operator(&f.db, &["admin-tokens", "revoke", "ci-script"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no admin token named ci-script that works"),
        "{err}"
    );
    // Nothing of a token is kept but its digest.
    if let refill_service::Database::File(path) = &f.db {
        for file in [path.clone(), path.with_extension("sqlite-wal")] {
            let bytes = std::fs::read(&file).unwrap_or_default();
            let secret = admin.trim_start_matches("refill-admin-").as_bytes();
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret),
                "{} holds the token",
                file.display()
            );
        }
    }
}

#[tokio::test]
async fn the_admin_api_does_what_the_operators_commands_do() {
    let f = sandbox().await;
    let admin = create_token(&f, "tools");
    let send = |method: reqwest::Method, path: &str| {
        f.http.request(method, f.url(path)).bearer_auth(&admin)
    };

    // Customers: invite (the code works on the sign-up form's terms), then refuse twice.
    let (status, invited) = answer(
        send(reqwest::Method::POST, "/admin/v1/invitations")
            .json(&json!({ "email": "Sam@Example.test", "days": 3 })),
    )
    .await;
    assert_eq!(status, 201, "{invited}");
    assert_eq!(invited["email"], "sam@example.test");
    assert!(invited["code"].as_str().unwrap().len() >= 20, "{invited}");
    let (status, body) = answer(
        send(reqwest::Method::POST, "/admin/v1/invitations")
            .json(&json!({ "email": CUSTOMER_EMAIL })),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("conflict")),
        "{body}"
    );
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("has an account already"));
    let (status, body) = answer(
        send(reqwest::Method::POST, "/admin/v1/invitations").json(&json!({ "email": "nobody" })),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("is not an email address"));

    // Disable and enable, as `customers disable|enable` (the command line sees it).
    let path = format!("/admin/v1/customers/{CUSTOMER_EMAIL}/disable");
    let (status, body) = answer(send(reqwest::Method::POST, &path)).await;
    assert_eq!((status, &body["disabled"]), (200, &json!(true)), "{body}");
    let (_, listed, _) = operator(&f.db, &["customers", "list"]);
    assert!(listed.contains("\tdisabled since "), "{listed}");
    let path = format!("/admin/v1/customers/{CUSTOMER_EMAIL}/enable");
    assert_eq!(answer(send(reqwest::Method::POST, &path)).await.0, 200);
    let (status, body) = answer(send(
        reqwest::Method::DELETE,
        "/admin/v1/customers/nobody@example.test",
    ))
    .await;
    assert_eq!(status, 404, "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("no customer with the email"));

    // Catalog: a CSV import, a mistake said with its line, the list.
    let (status, imported) = answer(
        send(reqwest::Method::POST, "/admin/v1/catalog")
            .header("content-type", "text/csv; charset=utf-8")
            .body("asin,title,pack_size,unit,price,currency\nB0FILTER01,Jug filter 3-pack,3,count,14.99,USD\n"),
    )
    .await;
    assert_eq!(status, 200, "{imported}");
    assert_eq!(imported, json!({ "added": 1, "updated": 0 }));
    let (status, body) = answer(
        send(reqwest::Method::POST, "/admin/v1/catalog")
            .header("content-type", "text/csv")
            .body(
                "asin,title,pack_size,unit,price,currency\nB0FILTER02,Filter,3,litres,1.00,USD\n",
            ),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("line 2"),
        "{body}"
    );
    let (status, body) = answer(
        send(reqwest::Method::POST, "/admin/v1/catalog")
            .header("content-type", "application/xml")
            .body("<products/>"),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("text/csv or application/json"));
    let (_, catalog) = answer(send(reqwest::Method::GET, "/admin/v1/catalog")).await;
    assert!(
        catalog["products"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["asin"] == "B0FILTER01"),
        "{catalog}"
    );

    // Models: added (201), then the same file updates it (200); a unit change its product's
    // slot depends on is a conflict, in the command's words.
    for expected in [201, 200] {
        let (status, model) = answer(
            send(reqwest::Method::POST, "/admin/v1/models")
                .header("content-type", "application/toml")
                .body(JUG),
        )
        .await;
        assert_eq!(status, expected, "{model}");
        assert_eq!(model["id"], "AcmeJug-1");
        assert_eq!(model["slots"][0]["products"], json!(["B0FILTER01"]));
    }
    let (status, body) = answer(
        send(reqwest::Method::POST, "/admin/v1/catalog")
            .header("content-type", "application/json")
            .body(r#"[{"asin":"B0FILTER01","title":"Filter","pack_size":3,"unit":"ml","price":"14.99","currency":"USD"}]"#),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("fills the slot filter of AcmeJug-1"),
        "{body}"
    );
    let (_, models) = answer(send(reqwest::Method::GET, "/admin/v1/models")).await;
    let jug = models["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "AcmeJug-1")
        .unwrap();
    assert_eq!(jug["devices"], 0);

    // Clients: a confidential one gets a secret once; a new secret replaces it.
    let (status, client) = answer(
        send(reqwest::Method::POST, "/admin/v1/clients").json(&json!({
            "id": "acme-cloud",
            "name": "Acme",
            "redirect_uris": ["https://acme.example/callback"],
        })),
    )
    .await;
    assert_eq!(status, 201, "{client}");
    let first = client["secret"].as_str().unwrap().to_owned();
    let (status, renewed) = answer(send(
        reqwest::Method::POST,
        "/admin/v1/clients/acme-cloud/secret",
    ))
    .await;
    assert_eq!(status, 200, "{renewed}");
    assert_ne!(renewed["secret"].as_str().unwrap(), first);
    let (_, clients) = answer(send(reqwest::Method::GET, "/admin/v1/clients")).await;
    let acme = clients["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client_id"] == "acme-cloud")
        .unwrap();
    assert_eq!(acme["kind"], "confidential");
    assert!(
        acme.get("secret").is_none(),
        "a list never shows secrets: {acme}"
    );
    let (status, body) = answer(
        send(reqwest::Method::POST, "/admin/v1/clients").json(&json!({
            "id": "bad id",
            "name": "Bad",
            "redirect_uris": ["https://bad.example/cb"],
        })),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("is not a client id"),
        "{body}"
    );

    // Deleting over the API needs no --yes: the request is the confirmation.
    let path = format!("/admin/v1/customers/{CUSTOMER_EMAIL}");
    let (status, body) = answer(send(reqwest::Method::DELETE, &path)).await;
    assert_eq!((status, &body["deleted"]), (200, &json!(true)), "{body}");
    let (_, listed, _) = operator(&f.db, &["customers", "list"]);
    assert!(!listed.contains(CUSTOMER_EMAIL), "{listed}");
}
