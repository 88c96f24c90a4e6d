//! `refill-service customers`: the operator lists the people with accounts, disables one (their
//! sign-in, app and devices refused, nothing deleted), enables them again, and deletes one, with
//! the real binary on the database a running service uses.

mod common;

use common::{browser_client, database, device_token, drs, fresh, start_with, tokens_of, Fixture};
use refill_service::sandbox::{CUSTOMER_EMAIL, CUSTOMER_PASSWORD};
use refill_testkit::Person;
use reqwest::Method;

/// `refill-service customers ARGS` on `db`: exit code, stdout, stderr.
fn customers(db: &refill_service::Database, args: &[&str]) -> (i32, String, String) {
    common::operator(db, &[&["customers"], args].concat())
}

async fn buttons_status(f: &Fixture, token: &str) -> u16 {
    f.http
        .get(f.url("/v1/buttons"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A device's DRS call: its status, and whether DRS clients would read it as a bad token (400
/// with `InvalidTokenException`, as DRS answers).
async fn device_call(f: &Fixture, token: &str) -> (u16, bool) {
    let (status, headers, _) = drs(
        f,
        Method::GET,
        "/subscriptionInfo",
        token,
        (
            "DrsSubscriptionInfoInput@1.0",
            "DrsSubscriptionInfoResult@1.0",
        ),
        None,
    )
    .await;
    let invalid = headers
        .get("x-amzn-ErrorType")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("InvalidTokenException"));
    (status, invalid)
}

const OWNER: Person<'static> = Person::Existing {
    email: CUSTOMER_EMAIL,
    password: CUSTOMER_PASSWORD,
};

#[tokio::test]
async fn an_operator_disables_enables_and_deletes_a_customer() {
    let (dir, clock) = fresh();
    let db = database(dir.path(), "customers").await;
    let service = start_with(&db, clock.clone(), |c| c.require_sign_in = true).await;
    let f = Fixture {
        _dir: dir,
        db: db.clone(),
        clock,
        service,
        http: browser_client(),
    };
    let (token, _) = tokens_of(&f, &OWNER, "profile refill:customer", None)
        .await
        .unwrap();
    device_token(&f, "CUST-1", false).await;
    assert_eq!(buttons_status(&f, &token).await, 200);

    let (code, listed, err) = customers(&db, &["list"]);
    assert_eq!(code, 0, "{err}");
    let line = listed
        .lines()
        .find(|l| l.starts_with(CUSTOMER_EMAIL))
        .unwrap_or_else(|| panic!("{listed}"));
    assert!(line.contains("\tactive\t"), "{line}");
    assert!(line.ends_with("devices"), "{line}");

    // Disabled: the app's token is refused at once, and so is a device token not used before;
    // the right password is told the account is disabled, a wrong one only that it is wrong.
    let unused_device = device_token(&f, "CUST-2", false).await;
    let (code, said, err) = customers(&db, &["disable", CUSTOMER_EMAIL]);
    assert_eq!(code, 0, "{err}");
    assert!(
        said.starts_with(&format!("Disabled {CUSTOMER_EMAIL}")),
        "{said}"
    );
    assert_eq!(buttons_status(&f, &token).await, 401);
    assert_eq!(device_call(&f, &unused_device).await, (400, true));
    let page = tokens_of(&f, &OWNER, "profile refill:customer", None)
        .await
        .unwrap_err();
    assert!(page.contains("This account is disabled"), "{page}");
    let wrong = Person::Existing {
        email: CUSTOMER_EMAIL,
        password: "not-the-password",
    };
    let page = tokens_of(&f, &wrong, "profile refill:customer", None)
        .await
        .unwrap_err();
    assert!(page.contains("Wrong email or password") && !page.contains("disabled"));
    let (_, listed, _) = customers(&db, &["list"]);
    assert!(listed.contains("\tdisabled since "), "{listed}");

    // Enabled: the same tokens work again; nothing was lost.
    let (code, _, err) = customers(&db, &["enable", CUSTOMER_EMAIL]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(buttons_status(&f, &token).await, 200);
    assert_eq!(device_call(&f, &unused_device).await, (200, false));

    // Unknown emails and a delete without --yes are refused in words, changing nothing.
    let (code, _, err) = customers(&db, &["disable", "nobody@example.com"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("there is no customer with the email nobody@example.com"),
        "{err}"
    );
    let (code, _, err) = customers(&db, &["delete", CUSTOMER_EMAIL]);
    assert_eq!(code, 2);
    assert!(err.contains("add --yes"), "{err}");
    assert_eq!(buttons_status(&f, &token).await, 200);

    let (code, said, err) = customers(&db, &["delete", CUSTOMER_EMAIL, "--yes"]);
    assert_eq!(code, 0, "{err}");
    assert!(said.starts_with("Deleted the account"), "{said}");
    assert_eq!(buttons_status(&f, &token).await, 401);
    let (_, listed, _) = customers(&db, &["list"]);
    assert!(!listed.contains(CUSTOMER_EMAIL), "{listed}");
    f.service.shutdown().await;
}
