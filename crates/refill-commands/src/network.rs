//! "Let devices on this network reach Refill" (off by default), for people without a server:
//! the embedded sandbox also listens on the home network, at [`NETWORK_PORT`] of every address
//! of this computer, over HTTPS with a self-signed certificate kept in the app's data folder
//! (`network-tls/`, so its fingerprint stays the same across starts; made and served with the
//! system's OpenSSL, which the app links anyway), and serves there the device API
//! only (the token endpoint and DRS: every call needs a device's token). Devices set up while it
//! is on are handed this computer's address on the home network and the certificate's
//! fingerprint, which they pin. They report only while this computer is on and Refill runs.

use crate::{AppCore, AppError};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use ts_rs::TS;

/// The port devices reach the app's sandbox on (the Refill service's own), unless
/// `REFILL_NETWORK_PORT` says another (0: any free one).
pub const NETWORK_PORT: u16 = 8750;

/// Whether and where devices on the home network reach the app's sandbox.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct NetworkAccess {
    /// Whether it can be turned on: only while the sandbox on this computer is the service in
    /// use (a Refill service elsewhere serves its devices itself).
    pub available: bool,
    /// Whether it is turned on (kept in the settings).
    pub on: bool,
    /// Where devices reach it (`https://192.168.1.20:8750`), while it serves.
    pub url: Option<String>,
    /// The SHA-256 fingerprint of its certificate, which devices pin, while it serves.
    pub fingerprint: Option<String>,
    /// Why it does not serve although turned on, in words.
    pub problem: Option<String>,
    /// Where devices set up before were told to reach it, when that is no longer where it
    /// serves (this computer's address on the network changed): they cannot report until it is
    /// back there or they are set up again.
    pub moved_from: Option<String>,
}

/// The listener, while it serves, and where devices reach it.
#[derive(Default)]
pub(crate) struct NetworkSlot {
    serving: tokio::sync::Mutex<Option<Serving>>,
    /// Why the last start failed, in words.
    problem: std::sync::Mutex<Option<String>>,
}

struct Serving {
    listener: refill_service::NetworkListener,
    url: String,
    fingerprint: String,
}

/// The folder in the data folder with the certificate and its key.
const FOLDER: &str = "network-tls";
/// The file in [`FOLDER`] with the address the last device set up was handed.
const HANDED: &str = "handed-address";

/// A certificate and its key (PEM), with the certificate's DER (for its fingerprint).
type Pems = (Vec<u8>, Vec<u8>, Vec<u8>);

/// The certificate devices pin and its key, made on first use and kept.
fn certificate(data_dir: &std::path::Path, ip: IpAddr) -> Result<Pems, String> {
    use openssl::{asn1, bn, ec, hash, nid, pkey, x509};
    let folder = data_dir.join(FOLDER);
    let (cert_file, key_file) = (folder.join("certificate.pem"), folder.join("key.pem"));
    if cert_file.exists() && key_file.exists() {
        let cert = std::fs::read(&cert_file).map_err(|e| e.to_string())?;
        let key = std::fs::read(&key_file).map_err(|e| e.to_string())?;
        let der = x509::X509::from_pem(&cert)
            .and_then(|c| c.to_der())
            .map_err(|e| format!("{} is not a certificate: {e}", cert_file.display()))?;
        return Ok((cert, key, der));
    }
    let made = || -> Result<Pems, openssl::error::ErrorStack> {
        let group = ec::EcGroup::from_curve_name(nid::Nid::X9_62_PRIME256V1)?;
        let key = pkey::PKey::from_ec_key(ec::EcKey::generate(&group)?)?;
        let mut name = x509::X509NameBuilder::new()?;
        name.append_entry_by_nid(nid::Nid::COMMONNAME, "Refill on this computer")?;
        let name = name.build();
        let mut serial = bn::BigNum::new()?;
        serial.rand(127, bn::MsbOption::MAYBE_ZERO, false)?;
        let mut builder = x509::X509::builder()?;
        builder.set_version(2)?;
        let serial = serial.to_asn1_integer()?;
        builder.set_serial_number(&serial)?;
        builder.set_subject_name(&name)?;
        builder.set_issuer_name(&name)?;
        builder.set_pubkey(&key)?;
        let (from, until) = (
            asn1::Asn1Time::days_from_now(0)?,
            asn1::Asn1Time::days_from_now(3650)?,
        );
        builder.set_not_before(&from)?;
        builder.set_not_after(&until)?;
        let names = x509::extension::SubjectAlternativeName::new()
            .ip(&ip.to_string())
            .dns("localhost")
            .build(&builder.x509v3_context(None, None))?;
        builder.append_extension(names)?;
        builder.sign(&key, hash::MessageDigest::sha256())?;
        let cert = builder.build();
        Ok((
            cert.to_pem()?,
            key.private_key_to_pem_pkcs8()?,
            cert.to_der()?,
        ))
    };
    let (cert, key, der) = made().map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&folder).map_err(|e| e.to_string())?;
    // The key first, readable by this user only; the certificate last (with both, it is used).
    write_private(&key_file, &key).map_err(|e| e.to_string())?;
    std::fs::write(&cert_file, &cert).map_err(|e| e.to_string())?;
    Ok((cert, key, der))
}

/// Writes `bytes` to a file only its owner can read.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

/// A TLS handshake with `cert` and `key` (PEM) by the system's TLS.
fn handshake(cert: &[u8], key: &[u8]) -> Result<refill_service::http::serve::Handshake, String> {
    let identity = native_tls::Identity::from_pkcs8(cert, key).map_err(|e| e.to_string())?;
    let acceptor = native_tls::TlsAcceptor::new(identity).map_err(|e| e.to_string())?;
    let acceptor = std::sync::Arc::new(tokio_native_tls::TlsAcceptor::from(acceptor));
    Ok(std::sync::Arc::new(move |stream| {
        let acceptor = acceptor.clone();
        Box::pin(async move {
            let stream = acceptor
                .accept(stream)
                .await
                .map_err(std::io::Error::other)?;
            Ok(Box::new(stream) as Box<dyn refill_service::http::serve::Io>)
        })
    }))
}

/// This computer's address on its network: the one the system would send from towards other
/// hosts (asked of a UDP socket, which sends nothing to find it).
fn lan_address() -> Option<IpAddr> {
    ["192.0.2.1:9", "10.255.255.255:9", "[2001:db8::1]:9"]
        .iter()
        .find_map(|target| {
            let target: SocketAddr = target.parse().ok()?;
            let bind: SocketAddr = if target.is_ipv4() {
                "0.0.0.0:0".parse().ok()?
            } else {
                "[::]:0".parse().ok()?
            };
            let socket = std::net::UdpSocket::bind(bind).ok()?;
            socket.connect(target).ok()?;
            let ip = socket.local_addr().ok()?.ip();
            (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
        })
}

fn port() -> u16 {
    std::env::var("REFILL_NETWORK_PORT")
        .ok()
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(NETWORK_PORT)
}

impl AppCore {
    /// Whether devices on the home network reach the sandbox on this computer; `on` turns it
    /// on or off first (kept in the settings, started or stopped at once).
    pub async fn network_access(&self, on: Option<bool>) -> Result<NetworkAccess, AppError> {
        if let Some(on) = on {
            let before = self.settings();
            if before.serve_network != on {
                let after = crate::Settings {
                    serve_network: on,
                    ..before.clone()
                };
                self.write_settings(&before, after)?;
            }
        }
        let available = self.service_url().is_none();
        let on = self.settings().serve_network;
        if available && on {
            // The sandbox starts it as it starts.
            self.start_sandbox().await?;
            self.serve_network().await;
        } else if !on {
            self.stop_network().await;
        }
        let serving = self.inner.network.serving.lock().await;
        let url = serving.as_ref().map(|s| s.url.clone());
        let moved_from = url.as_ref().and_then(|url| {
            std::fs::read_to_string(self.handed_file())
                .ok()
                .map(|handed| handed.trim().to_owned())
                .filter(|handed| !handed.is_empty() && handed != url)
        });
        Ok(NetworkAccess {
            available,
            on,
            url,
            moved_from,
            fingerprint: serving.as_ref().map(|s| s.fingerprint.clone()),
            problem: if on && serving.is_none() {
                self.network_problem()
            } else {
                None
            },
        })
    }

    fn network_problem(&self) -> Option<String> {
        self.inner
            .network
            .problem
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn handed_file(&self) -> std::path::PathBuf {
        self.inner.config.data_dir.join(FOLDER).join(HANDED)
    }

    /// Where devices being set up reach the sandbox from the home network, and the fingerprint
    /// they pin, while it serves there. The address is remembered, so that a later change of
    /// this computer's address can be told ([`NetworkAccess::moved_from`]).
    pub(crate) async fn network_handoff(&self) -> Option<(String, String)> {
        let serving = self.inner.network.serving.lock().await;
        let serving = serving.as_ref()?;
        let file = self.handed_file();
        if std::fs::read_to_string(&file).ok().as_deref() != Some(serving.url.as_str()) {
            if let Err(e) = std::fs::write(&file, &serving.url) {
                tracing::warn!(
                    "could not remember where devices reach Refill ({}): {e}",
                    file.display()
                );
            }
        }
        Some((serving.url.clone(), serving.fingerprint.clone()))
    }

    /// Starts serving the home network, if the settings say so and it does not yet; a failure
    /// is kept in words for [`AppCore::network_access`].
    pub(crate) async fn serve_network(&self) {
        if !self.settings().serve_network {
            return;
        }
        let mut serving = self.inner.network.serving.lock().await;
        if serving.is_some() {
            return;
        }
        let outcome = self.start_network();
        let mut problem = self
            .inner
            .network
            .problem
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match outcome {
            Ok(started) => {
                tracing::info!(url = started.url, "devices on this network reach Refill");
                *serving = Some(started);
                *problem = None;
            }
            Err(e) => {
                tracing::warn!("devices on this network cannot reach Refill: {e}");
                *problem = Some(e);
            }
        }
    }

    fn start_network(&self) -> Result<Serving, String> {
        let ip = lan_address().ok_or_else(|| {
            "this computer is not on a network, so no device can reach it. Connect it to your \
             home network, then turn this on again"
                .to_owned()
        })?;
        let (cert, key, der) = certificate(&self.inner.config.data_dir, ip)
            .map_err(|e| format!("its certificate could not be made or read: {e}"))?;
        let fingerprint = refill_tls::Certificate::from_der(der)
            .fingerprint()
            .to_string();
        let handshake = handshake(&cert, &key)
            .map_err(|e| format!("its certificate could not be used: {e}"))?;
        let port = port();
        let embedded = self
            .inner
            .embedded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let service = embedded
            .as_ref()
            .ok_or_else(|| "the sandbox on this computer is not running".to_owned())?;
        let unspecified = if ip.is_ipv4() {
            IpAddr::from([0u8; 4])
        } else {
            IpAddr::from([0u16; 8])
        };
        let listener = service
            .serve_network(SocketAddr::new(unspecified, port), handshake)
            .map_err(|e| match e {
                refill_service::StartError::Listen { source, .. }
                    if source.kind() == std::io::ErrorKind::AddrInUse =>
                {
                    format!(
                        "port {port} is in use by another program on this computer (a Refill \
                         service of its own?), so devices cannot reach Refill here"
                    )
                }
                other => other.to_string(),
            })?;
        let url = format!(
            "https://{}",
            SocketAddr::new(ip, listener.local_addr().port())
        );
        Ok(Serving {
            listener,
            url,
            fingerprint,
        })
    }

    /// Stops serving the home network, if it does.
    pub(crate) async fn stop_network(&self) {
        let serving = self.inner.network.serving.lock().await.take();
        if let Some(serving) = serving {
            serving.listener.stop().await;
            tracing::info!("devices on this network no longer reach Refill");
        }
    }
}
