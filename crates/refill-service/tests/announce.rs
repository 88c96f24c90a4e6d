//! The real `refill-service` binary announces itself on the local network (mDNS / DNS-SD,
//! `_refill._tcp`) when it listens off loopback: a browser Refill did not write
//! (python-zeroconf, from PyPI) finds it with its port, address, scheme and certificate
//! fingerprint, on a private network of two namespaces that the test makes (nothing leaves
//! this machine); `--no-announce` keeps it quiet. Needs root (network namespaces), so `cargo
//! xtask test` runs it with `--ignored` and the interop venv (`REFILL_INTEROP_PYTHON`).

use refill_testkit::NetworkPair;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

/// python-zeroconf browsing for `_refill._tcp` on the interface with address argv[1] for
/// argv[2] seconds: one line per service, name, port, addresses, scheme and fingerprint.
const BROWSER: &str = r#"
import sys, time
from zeroconf import ServiceBrowser, ServiceListener, Zeroconf
zc = Zeroconf(interfaces=[sys.argv[1]])
names = set()
class Listener(ServiceListener):
    def add_service(self, zc, kind, name): names.add(name)
    def update_service(self, zc, kind, name): names.add(name)
    def remove_service(self, zc, kind, name): pass
ServiceBrowser(zc, "_refill._tcp.local.", Listener())
time.sleep(float(sys.argv[2]))
for name in sorted(names):
    info = zc.get_service_info("_refill._tcp.local.", name, timeout=3000)
    if info is None:
        continue
    props = {k.decode(): (v or b"").decode() for k, v in info.properties.items()}
    addresses = ",".join(a for a in info.parsed_addresses() if ":" not in a)
    print(name, info.port, addresses, props.get("scheme"), props.get("fp"), sep="\t")
zc.close()
"#;

/// The service, started in the namespace `ns` of `net` with `args`, once it has printed its
/// fingerprint (HTTPS) or that it listens (plain HTTP); and the lines it printed.
fn service(net: &NetworkPair, dir: &std::path::Path, args: &[&str]) -> (Child, Vec<String>) {
    let mut child = net
        .command(&net.service, env!("CARGO_BIN_EXE_refill-service"))
        .args(["--db"])
        .arg(dir.join("refill.sqlite"))
        .args(args)
        .env("REFILL_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "it stopped: {lines:?}"
        );
        lines.push(line.trim().to_owned());
        if line.contains("fingerprint") || line.starts_with("Refill service listening on http:") {
            break;
        }
    }
    (child, lines)
}

fn stop(mut child: Child) {
    // SIGTERM: the announcement says goodbye, the service exits 0.
    refill_testkit::terminate(&mut child);
}

fn browse(net: &NetworkPair, python: &str, seconds: &str) -> String {
    let out = net
        .command(&net.app, python)
        .args(["-c", BROWSER, &net.app_ip, seconds])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[ignore = "needs root (network namespaces) and the interop venv: cargo xtask test runs it"]
fn off_loopback_the_service_announces_its_address_and_fingerprint_and_no_announce_keeps_it_quiet() {
    let python = std::env::var("REFILL_INTEROP_PYTHON")
        .expect("REFILL_INTEROP_PYTHON names the interop venv's python (cargo xtask test sets it)");
    let net = NetworkPair::new("announce").unwrap();
    let dir = tempfile::tempdir().unwrap();

    let (child, lines) = service(
        &net,
        dir.path(),
        &["--listen", "0.0.0.0:8751", "--name", "Refill in the attic"],
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("Announced on the local network as \"Refill in the attic\"")),
        "{lines:?}"
    );
    let fingerprint = lines.last().unwrap().rsplit(' ').next().unwrap().to_owned();
    let found = browse(&net, &python, "3");
    let line = found
        .lines()
        .find(|l| l.starts_with("Refill in the attic._refill._tcp.local."))
        .unwrap_or_else(|| panic!("not found: {found:?}"));
    let fields: Vec<&str> = line.split('\t').collect();
    assert_eq!(fields[1], "8751", "{line}");
    assert!(fields[2].split(',').any(|a| a == net.service_ip), "{line}");
    assert_eq!(fields[3], "https", "{line}");
    assert_eq!(fields[4], fingerprint, "{line}");
    stop(child);

    // Told not to: nothing to find (plain HTTP here, behind a proxy).
    let (child, _) = service(
        &net,
        dir.path(),
        &["--listen", "0.0.0.0:8752", "--no-announce", "--plain-http"],
    );
    let found = browse(&net, &python, "2");
    assert!(found.trim().is_empty(), "{found:?}");
    stop(child);
}
