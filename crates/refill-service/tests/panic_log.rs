//! A panic is written to the log file before anything else happens: a desktop app's standard
//! error goes nowhere, so the log is the trace a bug leaves. (Its own test binary: logging is
//! global.)

#[test]
fn a_panic_is_logged_with_its_message_and_place() {
    let folder = tempfile::tempdir().unwrap();
    refill_service::init_logging_to(Some(folder.path()));
    let crashed = std::thread::Builder::new()
        .name("worker-7".into())
        .spawn(|| panic!("the slot vanished"))
        .unwrap()
        .join();
    assert!(crashed.is_err());
    let mut logged = String::new();
    for file in std::fs::read_dir(folder.path()).unwrap() {
        logged.push_str(&std::fs::read_to_string(file.unwrap().path()).unwrap());
    }
    assert!(
        logged.contains("a bug in Refill stopped thread worker-7: the slot vanished (at crates/refill-service/tests/panic_log.rs:"),
        "log: {logged}"
    );
    assert!(logged.contains("ERROR"), "log: {logged}");
}
