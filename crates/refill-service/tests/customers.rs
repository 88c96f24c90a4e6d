//! `refill-service customers`: the operator lists the people with accounts, disables one (their
//! sign-in, app and devices refused, nothing deleted), enables them again, and deletes one, with
//! the real binary on the database a running service uses.

mod common;

use common::{
    browser_client, database, device_token, drs, fresh, sandbox_with, start_with, tokens_of,
    Fixture,
};
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
    let f = sandbox_with(|c| c.require_sign_in = true).await;
    let db = f.db.clone();
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

/// Fills in the sign-up form of the sign-in page of `base` (an authorization request of the
/// Refill app) and sends it: the status and the page it answers with.
async fn sign_up(base: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let http = browser_client();
    let client = refill_testkit::OAuthClient {
        id: refill_service::auth::SANDBOX_CLIENT_ID,
        secret: None,
        redirect_uri: common::REDIRECT,
    };
    let url = refill_testkit::authorize_url(base, client, "profile refill:customer", None);
    let page = http.get(url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Invited? Create your account"), "{page}");
    let mut form = refill_testkit::hidden_fields(&page, Some("/ap/signup"));
    form.extend(
        fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let res = http
        .post(format!("{base}/ap/signup"))
        .form(&form)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

#[tokio::test]
async fn a_service_that_is_not_a_sandbox_takes_new_accounts_by_invitation() {
    let (dir, clock) = fresh();
    let db = database(dir.path(), "invited").await;
    // Not a sandbox: no demo data, and still the Refill app's client, so the app can sign in.
    let service = start_with(&db, clock, |c| c.sandbox = false).await;
    let base = service.base_url();
    let (code, said, err) = customers(&db, &["invite", "Sam@Example.com", "--days", "3"]);
    assert_eq!(code, 0, "{err}");
    assert!(said.starts_with("Invited sam@example.com."), "{said}");
    let invitation = said
        .lines()
        .find_map(|l| {
            l.split_once("shown only now: ")
                .map(|(_, c)| c.trim().to_owned())
        })
        .unwrap();
    let person = |email: &'static str, code: &str| {
        [
            ("name", "Sam"),
            ("email", email),
            ("password", "a-long-password"),
            ("invitation", code),
        ]
        .map(|(k, v)| (k, v.to_owned()))
    };
    let send = |fields: [(&'static str, String); 4]| {
        let base = base.clone();
        async move {
            let borrowed: Vec<(&str, &str)> =
                fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            sign_up(&base, &borrowed).await
        }
    };

    // Without the code, with another email or a made-up code: refused in words.
    for fields in [
        person("sam@example.com", ""),
        person("someone@example.com", &invitation),
        person("sam@example.com", "made-up-code"),
    ] {
        let (status, page) = send(fields).await;
        assert_eq!(status, 403, "{page}");
        assert!(page.contains("takes new accounts by invitation"), "{page}");
    }
    // With it: the account is made and the consent page follows; the code works once.
    let (status, page) = send(person("sam@example.com", &invitation)).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("action=\"/ap/consent\""), "{page}");
    let (_, listed, _) = customers(&db, &["list"]);
    assert!(
        listed.contains("sam@example.com\tSam\tactive\t0 devices"),
        "{listed}"
    );
    let (status, _) = send(person("sam@example.com", &invitation)).await;
    assert_eq!(status, 403);
    // An email with an account is not invited again; a bad one is refused.
    let (code, _, err) = customers(&db, &["invite", "sam@example.com"]);
    assert_eq!(code, 2);
    assert!(err.contains("has an account already"), "{err}");
    let (code, _, err) = customers(&db, &["invite", "sam"]);
    assert_eq!(code, 2);
    assert!(err.contains("is not an email address"), "{err}");
    service.shutdown().await;
}
