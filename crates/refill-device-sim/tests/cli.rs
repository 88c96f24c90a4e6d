//! The real `refill-device-sim` binary: its options with their environment variables, a wrong
//! value refused in words, and the JSON line it prints once it serves.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn sim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_refill-device-sim"))
}

#[test]
fn it_prints_where_it_serves_as_the_model_and_serial_it_was_given() {
    let mut child = sim()
        .args(["--model", "RefillWash-1", "--security", "sec2"])
        .env("REFILL_SIM_SERIAL", "WASH-42")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let said: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(said["model"], "RefillWash-1");
    assert_eq!(said["serial"], "WASH-42");
    assert!(said["url"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:"));
    let qr: serde_json::Value = serde_json::from_str(said["qr"].as_str().unwrap()).unwrap();
    assert_eq!(
        qr["username"], "wifiprov",
        "Security 2 has a username: {qr}"
    );
}

#[test]
fn a_wrong_security_is_refused_and_the_help_names_each_environment_variable() {
    let out = sim().args(["--security", "sec9"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid value 'sec9'") && err.contains("sec2"),
        "{err}"
    );

    let out = sim().arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for env in [
        "REFILL_SIM_MODEL",
        "REFILL_SIM_SERIAL",
        "REFILL_SIM_SECURITY",
        "REFILL_SIM_CONNECTION_SESSIONS",
    ] {
        assert!(help.contains(&format!("[env: {env}")), "{env} in {help}");
    }
}
