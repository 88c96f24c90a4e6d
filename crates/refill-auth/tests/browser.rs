//! Opening the system browser: the real `open_in_browser`, with a stand-in `xdg-open` on `PATH`
//! that writes down what it was given (there is no browser on a test machine). One test in this
//! binary: it changes the process's `PATH`.

#![cfg(target_os = "linux")]

use std::os::unix::fs::PermissionsExt;

#[test]
fn the_whole_address_reaches_the_browser_and_no_browser_is_reported() {
    let bin = tempfile::tempdir().unwrap();
    let seen = bin.path().join("seen");
    let opener = bin.path().join("xdg-open");
    std::fs::write(
        &opener,
        format!("#!/bin/sh\nprintf '%s' \"$*\" > '{}'\n", seen.display()),
    )
    .unwrap();
    std::fs::set_permissions(&opener, std::fs::Permissions::from_mode(0o755)).unwrap();
    let old_path = std::env::var_os("PATH").unwrap_or_default();

    // A sign-in address with several parameters: the part after the first `&` must not be lost.
    let url = "http://127.0.0.1:8750/ap/oa?client_id=refill&response_type=code&scope=profile%20refill%3Acustomer&state=a%26b";
    std::env::set_var("PATH", bin.path());
    let opened = refill_auth::open_in_browser(url);
    std::env::set_var("PATH", &old_path);
    assert!(opened);
    assert_eq!(std::fs::read_to_string(&seen).unwrap(), url);

    // No opener at all: false, so the app shows the address instead.
    let empty = tempfile::tempdir().unwrap();
    std::env::set_var("PATH", empty.path());
    let opened = refill_auth::open_in_browser(url);
    std::env::set_var("PATH", &old_path);
    assert!(!opened, "nothing could open a browser, yet it said it did");
}
