//! Tokens in the real Secret Service keyring (gnome-keyring), as the app and CLI keep them.
//!
//! Run by `cargo xtask test` inside `dbus-run-session` with a gnome-keyring of its own and a fresh
//! `XDG_DATA_HOME`; it refuses to run anywhere else, so it never touches a person's keyring.

use refill_auth::{KeyringStore, TokenStore, Tokens, WifiPasswords};
use std::path::Path;

fn isolated() -> std::path::PathBuf {
    assert_eq!(
        std::env::var("REFILL_KEYRING_ISOLATED").as_deref(),
        Ok("1"),
        "run through `cargo xtask test`, which gives this test a keyring of its own"
    );
    std::env::var_os("XDG_DATA_HOME")
        .expect("an isolated XDG_DATA_HOME")
        .into()
}

fn contains(dir: &Path, needle: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let path = entry.path();
        if path.is_dir() {
            contains(&path, needle)
        } else {
            std::fs::read(&path)
                .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
        }
    })
}

#[test]
#[ignore = "needs a Secret Service: run by `cargo xtask test`"]
fn tokens_round_trip_through_the_secret_service_and_never_reach_a_file() {
    let data_home = isolated();
    KeyringStore::use_os_keyring().expect("the Secret Service is reachable");
    let tokens = Tokens {
        access_token: "Atza|fake.keyring.test.access".to_owned().into(),
        refresh_token: Some("Atzr|fake.keyring.test.refresh".to_owned().into()),
        expires_at: Some(time::OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap()),
    };
    let store = KeyringStore::with_service("dev.refill.app.test");
    assert_eq!(store.load("sandbox").unwrap(), None);
    store.save("sandbox", &tokens).unwrap();

    // Another store object (as after a restart) reads them back from the keyring.
    let reopened = KeyringStore::with_service("dev.refill.app.test");
    assert_eq!(reopened.load("sandbox").unwrap(), Some(tokens.clone()));
    // Entries are namespaced: another build kind or provider sees nothing.
    assert_eq!(
        KeyringStore::with_service("dev.refill.app")
            .load("sandbox")
            .unwrap(),
        None
    );
    assert_eq!(reopened.load("another-provider").unwrap(), None);

    // The keyring keeps them encrypted: no file holds a token in the clear.
    assert!(
        !contains(&data_home, "fake.keyring.test.access"),
        "a token reached a file"
    );
    assert!(
        !contains(&data_home, "fake.keyring.test.refresh"),
        "a token reached a file"
    );

    reopened.delete("sandbox").unwrap();
    assert_eq!(store.load("sandbox").unwrap(), None);
    reopened.delete("sandbox").unwrap();
}

#[test]
#[ignore = "needs a Secret Service: run by `cargo xtask test`"]
fn wifi_passwords_are_remembered_per_network_in_the_secret_service_only() {
    let data_home = isolated();
    KeyringStore::use_os_keyring().expect("the Secret Service is reachable");
    let passwords = WifiPasswords::with_service("dev.refill.app.test.wifi");
    let password = "kitchen.router.pw".to_owned().into();
    assert_eq!(passwords.recall("Home").unwrap(), None);
    passwords.remember("Home", &password).unwrap();
    let again = WifiPasswords::with_service("dev.refill.app.test.wifi");
    assert_eq!(again.recall("Home").unwrap(), Some(password));
    assert_eq!(again.recall("Cafe").unwrap(), None, "one entry per network");
    assert!(
        !contains(&data_home, "kitchen.router.pw"),
        "only the keyring holds it, encrypted"
    );
    again.forget("Home").unwrap();
    assert_eq!(passwords.recall("Home").unwrap(), None);
    again.forget("Home").unwrap();
}
