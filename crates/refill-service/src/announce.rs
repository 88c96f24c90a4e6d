//! Announcing the service on the local network over mDNS / DNS-SD (`mdns-sd`), so that the app
//! can offer "Refill services on this network": service type [`SERVICE_TYPE`], the instance
//! named after this computer, its port, and TXT records saying how to reach it (`scheme`), its
//! certificate's SHA-256 fingerprint (`fp`, when it serves HTTPS) and its version. The addresses
//! follow the machine's interfaces as they come and go.
//!
//! An announcement is a hint, not a proof: anyone on the network can announce anything, so the
//! app still asks the person to compare the fingerprint with the one the service printed.

/// The DNS-SD service type.
pub const SERVICE_TYPE: &str = "_refill._tcp.local.";

/// The service's announcement; stopped (a goodbye sent) by [`Announcement::stop`].
pub struct Announcement {
    daemon: mdns_sd::ServiceDaemon,
    fullname: String,
}

impl std::fmt::Debug for Announcement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Announcement")
            .field("fullname", &self.fullname)
            .finish_non_exhaustive()
    }
}

impl Announcement {
    /// Announces the service listening on `port`: over HTTPS with the certificate of
    /// `fingerprint`, or plain HTTP (`None`). `name` is the instance's name ("Refill on nas").
    pub fn start(name: &str, port: u16, fingerprint: Option<&str>) -> Result<Self, String> {
        let failed =
            |e: mdns_sd::Error| format!("could not announce the service on the network: {e}");
        let daemon = mdns_sd::ServiceDaemon::new().map_err(failed)?;
        let host = host_label(&crate::http::tls::host_name().unwrap_or_default());
        let mut properties = vec![
            (
                "scheme",
                if fingerprint.is_some() {
                    "https"
                } else {
                    "http"
                },
            ),
            ("version", env!("CARGO_PKG_VERSION")),
        ];
        if let Some(fingerprint) = fingerprint {
            properties.push(("fp", fingerprint));
        }
        let info = mdns_sd::ServiceInfo::new(
            SERVICE_TYPE,
            name,
            &format!("{host}.local."),
            (),
            port,
            &properties[..],
        )
        .map_err(failed)?
        .enable_addr_auto();
        let fullname = info.get_fullname().to_owned();
        daemon.register(info).map_err(failed)?;
        Ok(Self { daemon, fullname })
    }

    /// Says goodbye on the network and stops answering.
    pub fn stop(self) {
        if let Ok(done) = self.daemon.unregister(&self.fullname) {
            let _ = done.recv_timeout(std::time::Duration::from_secs(2));
        }
        if let Ok(done) = self.daemon.shutdown() {
            let _ = done.recv_timeout(std::time::Duration::from_secs(2));
        }
    }
}

/// The instance's name: "Refill on" this computer's host name.
pub fn default_name() -> String {
    match crate::http::tls::host_name() {
        Some(host) => format!("Refill on {host}"),
        None => "Refill".to_owned(),
    }
}

/// A host label for `name`: letters, digits and '-' only.
fn host_label(name: &str) -> String {
    let label: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let label = label.trim_matches('-');
    if label.is_empty() {
        "refill".to_owned()
    } else {
        label.chars().take(63).collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn host_labels_are_what_dns_takes() {
        assert_eq!(super::host_label("Refill on nas"), "refill-on-nas");
        assert_eq!(super::host_label("  "), "refill");
        assert_eq!(super::host_label(&"x".repeat(80)).len(), 63);
    }
}
