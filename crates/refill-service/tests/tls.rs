//! HTTPS, on the real `refill-service` binary: a self-signed certificate made on the first start
//! and kept (so its fingerprint, which clients pin, stays), or the operator's own certificate;
//! off a loopback address it is never plain HTTP unless told so. Fingerprints are checked
//! against code we did not write: OpenSSL's `openssl x509 -fingerprint -sha256` and Python's
//! `ssl` module. Clients that pin the fingerprint connect; others are refused, in words.

use refill_tls::{CertificateProblem, Fingerprint, Trust};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn service(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_refill-service"));
    c.env("REFILL_LOG", "warn")
        .env_remove("REFILL_LISTEN")
        .env_remove("REFILL_CONFIG")
        .env_remove("REFILL_DATA_DIR")
        .env("REFILL_DB", dir.join("refill.sqlite"));
    c
}

/// A started service: its URL and the lines it printed after it (the fingerprint).
struct Started {
    child: Child,
    url: String,
    told: Vec<String>,
}

fn start(mut command: Command) -> Started {
    let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("Refill service listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    // With HTTPS: perhaps where a new certificate is kept, then the fingerprint, last.
    let mut told = Vec::new();
    while url.starts_with("https://")
        && !told
            .last()
            .is_some_and(|l: &String| l.contains("fingerprint"))
    {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "no fingerprint printed: {told:?}"
        );
        told.push(line.trim().to_owned());
    }
    Started { child, url, told }
}

impl Started {
    /// The fingerprint it printed.
    fn printed(&self) -> Fingerprint {
        self.told
            .last()
            .unwrap()
            .strip_prefix("Its HTTPS certificate's SHA-256 fingerprint: ")
            .unwrap_or_else(|| panic!("no fingerprint in {:?}", self.told))
            .parse()
            .unwrap()
    }

    /// Its URL with 127.0.0.1 for an address it listens on everywhere.
    fn reachable(&self) -> String {
        self.url.replace("0.0.0.0", "127.0.0.1")
    }

    fn port(&self) -> u16 {
        self.url.rsplit(':').next().unwrap().parse().unwrap()
    }

    fn stop(mut self) {
        refill_testkit::terminate(&mut self.child);
    }
}

fn run(command: &mut Command) -> Output {
    command.output().unwrap()
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// The certificate the service presents, as Python's `ssl` module fetches it, fingerprinted
/// by Python's hashlib.
fn python_fingerprint(port: u16) -> Fingerprint {
    let out = run(Command::new("python3").args([
        "-c",
        "import ssl, hashlib, sys\n\
         pem = ssl.get_server_certificate(('127.0.0.1', int(sys.argv[1])))\n\
         print(hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest())",
        &port.to_string(),
    ]));
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8(out.stdout).unwrap().parse().unwrap()
}

async fn health_with(trust: &Trust, url: &str) -> Result<serde_json::Value, reqwest::Error> {
    trust
        .client_builder()
        .build()
        .unwrap()
        .get(format!("{url}/health"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await
}

#[tokio::test]
async fn a_self_signed_certificate_is_made_on_the_first_start_and_kept_and_pinned_clients_trust_only_it(
) {
    let dir = tempfile::tempdir().unwrap();
    let first = start({
        let mut c = service(dir.path());
        c.args(["--listen", "127.0.0.1:0", "--self-signed"]);
        c
    });
    assert!(first.url.starts_with("https://127.0.0.1:"), "{}", first.url);
    let fingerprint = first.printed();
    // Kept in the data folder (the database's): the key readable by the service's user only.
    let kept = dir.path().join("tls");
    assert!(kept.join("certificate.pem").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(kept.join("key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    // What a client that did not come from us sees.
    assert_eq!(python_fingerprint(first.port()), fingerprint);

    // Pinned: it connects, whatever the certificate's names.
    let certificate = refill_tls::pin(&first.url, fingerprint).await.unwrap();
    let pinned = Trust::Pinned(certificate.clone());
    let health = health_with(&pinned, &first.url).await.unwrap();
    assert!(health["version"].is_string(), "{health}");
    // The system's authorities do not vouch for it: refused, and said why.
    assert!(health_with(&Trust::System, &first.url).await.is_err());
    match refill_tls::problem(&first.url, &Trust::System).await {
        Some(CertificateProblem::Untrusted { found, .. }) => assert_eq!(found, fingerprint),
        other => panic!("{other:?}"),
    }
    assert_eq!(refill_tls::problem(&first.url, &pinned).await, None);
    // A wrong fingerprint is refused before anything is sent.
    let wrong: Fingerprint = "00".repeat(32).parse().unwrap();
    let e = refill_tls::pin(&first.url, wrong).await.unwrap_err();
    assert!(e.to_string().contains("different certificate"), "{e}");
    first.stop();

    // The next start uses the same certificate (and says nothing of a new one).
    let second = start({
        let mut c = service(dir.path());
        c.args(["--listen", "127.0.0.1:0", "--self-signed"]);
        c
    });
    assert_eq!(second.printed(), fingerprint);
    health_with(&pinned, &second.url).await.unwrap();
    // The operator can read it at any time.
    let out = run(service(dir.path()).arg("fingerprint"));
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<Fingerprint>(),
        Ok(fingerprint)
    );
    second.stop();

    // Another service (another certificate) at an address a client pinned: refused, in words.
    let other_dir = tempfile::tempdir().unwrap();
    let other = start({
        let mut c = service(other_dir.path());
        c.args(["--listen", "127.0.0.1:0", "--self-signed"]);
        c
    });
    assert_ne!(other.printed(), fingerprint);
    assert!(health_with(&pinned, &other.url).await.is_err());
    match refill_tls::problem(&other.url, &pinned).await {
        Some(problem @ CertificateProblem::Changed { .. }) => {
            let words = problem.to_string();
            assert!(words.contains(&other.printed().to_string()), "{words}");
            assert!(words.contains(&fingerprint.to_string()), "{words}");
        }
        other => panic!("{other:?}"),
    }
    other.stop();
}

#[tokio::test]
async fn off_loopback_the_service_is_https_unless_told_plain_http_and_slow_handshakes_are_dropped()
{
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let served = start({
        let mut c = service(dir.path());
        // Not announced: nothing of the test leaves this machine.
        c.args([
            "--listen",
            "0.0.0.0:0",
            "--read-timeout",
            "1",
            "--no-announce",
        ])
        .env("REFILL_DATA_DIR", &data);
        c
    });
    assert!(served.url.starts_with("https://"), "{}", served.url);
    assert!(
        served.told.iter().any(|l| l.contains("self-signed")),
        "{:?}",
        served.told
    );
    assert!(data.join("tls/certificate.pem").exists());
    let url = served.reachable();
    let pinned = Trust::Pinned(refill_tls::pin(&url, served.printed()).await.unwrap());

    // Plain HTTP to the HTTPS port gets no answer, and a client that opens a connection and
    // says nothing is dropped after the read timeout: both leave the service serving.
    let mut plain = std::net::TcpStream::connect(("127.0.0.1", served.port())).unwrap();
    plain
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(!String::from_utf8_lossy(&answer).contains("version"));
    let mut silent = std::net::TcpStream::connect(("127.0.0.1", served.port())).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let began = Instant::now();
    let read = silent.read(&mut [0u8; 16]);
    assert!(
        matches!(read, Ok(0)) || read.is_err() && began.elapsed() < Duration::from_secs(9),
        "{read:?}"
    );
    assert!(
        began.elapsed() < Duration::from_secs(9),
        "{:?}",
        began.elapsed()
    );
    health_with(&pinned, &url).await.unwrap();
    served.stop();

    // Behind a reverse proxy: plain HTTP, said so.
    let plain = start({
        let mut c = service(dir.path());
        c.args(["--listen", "0.0.0.0:0", "--plain-http", "--no-announce"]);
        c
    });
    assert!(plain.url.starts_with("http://"), "{}", plain.url);
    health_with(&Trust::System, &plain.reachable())
        .await
        .unwrap();
    plain.stop();
}

#[tokio::test]
async fn the_operators_own_certificate_is_served_and_its_fingerprint_is_openssls() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let out = run(Command::new("openssl").args([
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=refill.test",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        cert.to_str().unwrap(),
    ]));
    assert!(out.status.success(), "{}", text(&out));
    let out = run(Command::new("openssl").args([
        "x509",
        "-noout",
        "-fingerprint",
        "-sha256",
        "-in",
        cert.to_str().unwrap(),
    ]));
    // "sha256 Fingerprint=AB:CD:…", as people copy it.
    let openssl: Fingerprint = String::from_utf8_lossy(&out.stdout).parse().unwrap();

    let served = start({
        let mut c = service(dir.path());
        c.args(["--listen", "127.0.0.1:0"])
            .env("REFILL_TLS_CERT", &cert)
            .env("REFILL_TLS_KEY", &key);
        c
    });
    assert!(served.url.starts_with("https://"), "{}", served.url);
    assert_eq!(served.printed(), openssl);
    // Written the same way OpenSSL writes it.
    assert!(String::from_utf8_lossy(&out.stdout).contains(&openssl.to_string()));
    let pinned = Trust::Pinned(refill_tls::pin(&served.url, openssl).await.unwrap());
    health_with(&pinned, &served.url).await.unwrap();
    assert!(
        !dir.path().join("tls").exists(),
        "no self-signed one was made"
    );
    served.stop();

    // Mistakes stop the start, in words naming the file.
    let missing = run(service(dir.path())
        .args(["--listen", "127.0.0.1:0", "--tls-key"])
        .arg(&key)
        .arg("--tls-cert")
        .arg(dir.path().join("nowhere.pem")));
    assert!(!missing.status.success());
    assert!(text(&missing).contains("nowhere.pem"), "{}", text(&missing));
    let swapped = run(service(dir.path())
        .args(["--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&key)
        .arg("--tls-key")
        .arg(&cert));
    assert!(!swapped.status.success());
    assert!(
        text(&swapped).contains("holds no certificate"),
        "{}",
        text(&swapped)
    );
    let alone = run(service(dir.path())
        .args(["--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&cert));
    assert_eq!(alone.status.code(), Some(2), "{}", text(&alone));
    assert!(text(&alone).contains("--tls-key"), "{}", text(&alone));

    // A kept key without its certificate is not replaced (that would break every pin).
    let half = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(half.path().join("tls")).unwrap();
    std::fs::write(half.path().join("tls/key.pem"), "").unwrap();
    let out = run(service(half.path()).args(["--listen", "127.0.0.1:0", "--self-signed"]));
    assert!(!out.status.success());
    assert!(text(&out).contains("certificate.pem"), "{}", text(&out));
}
