//! The real `refill-service` binary reads its settings from a configuration file, and flags and
//! environment variables override it; a mistake in any of them stops it with exit code 2 and
//! words that say where the mistake is. A SIGTERM (how systemd stops it) shuts it down cleanly.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn service() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_refill-service"));
    c.env("REFILL_LOG", "warn")
        .env_remove("REFILL_DB")
        .env_remove("REFILL_LISTEN")
        .env_remove("REFILL_CONFIG");
    c
}

/// Starts the service and returns it with the address it says it listens on.
fn started(mut command: Command) -> (Child, String) {
    let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("Refill service listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (child, url)
}

/// `GET /health` over a plain socket: the answer's text.
fn health(url: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    s.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
}

fn stop(child: &mut Child) {
    // SIGTERM, as systemd sends it: the service shuts down and exits 0.
    refill_testkit::terminate(child);
}

fn write(dir: &Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("refill.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn failed(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    String::from_utf8(out.stdout.clone()).unwrap() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn the_file_sets_the_address_and_database_and_flags_and_environment_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let from_file = free_port();
    let config = write(
        dir.path(),
        &format!(
            "listen = \"127.0.0.1:{from_file}\"\ndatabase = \"{}\"\nmax_connections = 64\n",
            dir.path().join("data/refill.sqlite").display()
        ),
    );
    let mut c = service();
    c.arg("--config").arg(&config);
    let (mut child, url) = started(c);
    assert_eq!(url, format!("http://127.0.0.1:{from_file}"));
    assert!(health(&url).starts_with("HTTP/1.1 200"));
    assert!(dir.path().join("data/refill.sqlite").exists());
    stop(&mut child);

    // A flag wins over the file; so does an environment variable (here the file comes from
    // REFILL_CONFIG).
    let by_flag = free_port();
    let mut c = service();
    c.env("REFILL_CONFIG", &config)
        .args(["--listen", &format!("127.0.0.1:{by_flag}")]);
    let (mut child, url) = started(c);
    assert_eq!(url, format!("http://127.0.0.1:{by_flag}"));
    stop(&mut child);
    let by_env = free_port();
    let mut c = service();
    c.env("REFILL_CONFIG", &config)
        .env("REFILL_LISTEN", format!("127.0.0.1:{by_env}"));
    let (mut child, url) = started(c);
    assert_eq!(url, format!("http://127.0.0.1:{by_env}"));
    stop(&mut child);
}

#[test]
fn mistakes_in_the_file_or_the_flags_are_refused_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let misspelt = write(
        dir.path(),
        "listen = \"127.0.0.1:0\"\nlisten_adress = \"x\"\n",
    );
    let said = failed(&service().arg("--config").arg(&misspelt).output().unwrap());
    assert!(
        said.contains("refill.toml") && said.contains("line 2") && said.contains("listen_adress"),
        "{said}"
    );

    let out_of_range = write(dir.path(), "approval_hours = 0\n");
    let said = failed(
        &service()
            .arg("--config")
            .arg(&out_of_range)
            .output()
            .unwrap(),
    );
    assert!(
        said.contains("the configuration file's approval_hours: 0 is not a number of hours"),
        "{said}"
    );

    let missing = dir.path().join("nowhere.toml");
    let out = service().arg("--config").arg(&missing).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be read"));

    let said = failed(&service().args(["--read-timeout", "soon"]).output().unwrap());
    assert!(said.contains("'soon' is not a number"), "{said}");
    let said = failed(&service().args(["--listen", "my-laptop"]).output().unwrap());
    assert!(said.contains("'my-laptop' is not an address"), "{said}");
    // Flags of the service itself do not go with an operator's command.
    let said = failed(
        &service()
            .args(["--sandbox", "clients", "list"])
            .output()
            .unwrap(),
    );
    assert!(said.contains("cannot be used with"), "{said}");

    // Orders by email need a mail server that makes sense; its password is never repeated.
    let said = failed(&service().args(["--orders-go", "email"]).output().unwrap());
    assert!(said.contains("without a mail server"), "{said}");
    let said = failed(&service().args(["--orders-go", "fax"]).output().unwrap());
    assert!(said.contains("manual, webhook or email"), "{said}");
    let mail = write(
        dir.path(),
        "mail_server = \"mail.example.com\"\nmail_user = \"refill\"\n\
         mail_password = \"s3cret-in-file\"\nmail_from = \"refill@example.com\"\n",
    );
    let said = failed(&service().arg("--config").arg(&mail).output().unwrap());
    assert!(
        said.contains("'mail.example.com' is not a mail server: give smtps://host"),
        "{said}"
    );
    assert!(!said.contains("s3cret-in-file"), "{said}");
    let said = failed(
        &service()
            .args(["--mail-from", "refill@example.com"])
            .output()
            .unwrap(),
    );
    assert!(
        said.contains("mail_from is set but mail_server is not"),
        "{said}"
    );
}

#[test]
fn the_help_names_each_option_with_its_environment_variable() {
    let out = service().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for (flag, env) in [
        ("--config", "REFILL_CONFIG"),
        ("--db", "REFILL_DB"),
        ("--listen", "REFILL_LISTEN"),
        ("--max-connections", "REFILL_MAX_CONNECTIONS"),
        ("--approval-hours", "REFILL_APPROVAL_HOURS"),
        ("--mail-server", "REFILL_MAIL_SERVER"),
        ("--mail-password", "REFILL_MAIL_PASSWORD"),
    ] {
        let lines: Vec<&str> = help.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.trim_start().starts_with(flag))
            .unwrap_or_else(|| panic!("{flag} missing from {help}"));
        let line = lines[at + 1..]
            .iter()
            .take_while(|l| !l.trim_start().starts_with('-'))
            .copied()
            .collect::<Vec<_>>()
            .join("\n");
        assert!(line.contains(&format!("[env: {env}")), "{line}");
    }
    assert!(help.contains("clients"), "{help}");
}

/// Regression: `--config` and `--db` given before an operator's command were refused as if they
/// were the service's own flags, so that the packaged service's operator could not name its
/// settings (`refill-service --config /etc/refill/refill.toml customers list`).
#[test]
fn the_configuration_file_and_database_go_before_an_operators_command_too() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        &format!(
            "database = \"{}\"\n",
            dir.path().join("home.sqlite").display()
        ),
    );
    let out = service()
        .arg("--config")
        .arg(&config)
        .args(["customers", "list"])
        .env("REFILL_LISTEN", "0.0.0.0:1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("No customers yet"));
    assert!(
        dir.path().join("home.sqlite").exists(),
        "the file's database was used"
    );
    let other = dir.path().join("other.sqlite");
    let out = service()
        .arg("--db")
        .arg(&other)
        .args(["models", "list"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(other.exists());
}
