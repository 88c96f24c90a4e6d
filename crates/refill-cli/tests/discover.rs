//! `refill services` finds the Refill services announced on the local network (mDNS), against
//! an announcer Refill did not write (python-zeroconf, from PyPI), on a private network of two
//! namespaces that the test makes: nothing leaves this machine. Needs root (network
//! namespaces), so `cargo xtask test` runs it with `--ignored` and the interop venv
//! (`REFILL_INTEROP_PYTHON`).

use refill_testkit::NetworkPair;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

/// python-zeroconf announcing a Refill service on `ip`, until its standard input closes.
const ANNOUNCER: &str = r#"
import socket, sys
from zeroconf import ServiceInfo, Zeroconf
ip, fingerprint = sys.argv[1], sys.argv[2]
zc = Zeroconf(interfaces=[ip])
info = ServiceInfo(
    "_refill._tcp.local.",
    "Refill on the Pi._refill._tcp.local.",
    addresses=[socket.inet_aton(ip)],
    port=8750,
    properties={"scheme": "https", "fp": fingerprint, "version": "9.9.9"},
    server="pi.local.",
)
zc.register_service(info)
print("announced", flush=True)
sys.stdin.read()
zc.unregister_service(info)
zc.close()
"#;

#[test]
#[ignore = "needs root (network namespaces) and the interop venv: cargo xtask test runs it"]
fn the_services_announced_on_the_network_are_listed_with_their_address_and_fingerprint() {
    let python = std::env::var("REFILL_INTEROP_PYTHON")
        .expect("REFILL_INTEROP_PYTHON names the interop venv's python (cargo xtask test sets it)");
    let net = NetworkPair::new("mdns").unwrap();
    let refill = env!("CARGO_BIN_EXE_refill");

    // Nothing announced yet: said so.
    let out = net
        .command(&net.app, refill)
        .args(["services", "--seconds", "1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("No Refill service announced"),
        "{out:?}"
    );

    let fingerprint = ["3F"; 32].join(":");
    let mut announcer = net
        .command(&net.service, &python)
        .args(["-c", ANNOUNCER, &net.service_ip, &fingerprint])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(announcer.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "announced");

    let out = net
        .command(&net.app, refill)
        .args(["services", "--seconds", "3"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        listed.trim(),
        format!(
            "Refill on the Pi\thttps://{}:8750\t{fingerprint}",
            net.service_ip
        ),
        "{out:?}"
    );
    // Its standard input closed: it says goodbye and stops.
    drop(announcer.stdin.take());
    assert!(announcer.wait().unwrap().success());
}
