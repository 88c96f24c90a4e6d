//! HTTPS (rustls): the service's certificate and key, from the operator's PEM files
//! (`--tls-cert`, `--tls-key`), or a self-signed certificate made on first start and kept in the
//! service's data folder, so that its fingerprint, which clients pin, stays the same from one
//! start to the next. A kept certificate that can't be read stops the start: a new one would
//! break every pin.

use refill_tls::{Certificate, Fingerprint};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The folder, inside the data folder, of the self-signed certificate.
pub const FOLDER: &str = "tls";
/// The self-signed certificate's file in [`FOLDER`].
pub const CERTIFICATE_FILE: &str = "certificate.pem";
/// Its private key's file in [`FOLDER`] (readable by the service's user only).
pub const KEY_FILE: &str = "key.pem";

/// The service's certificate, ready to accept connections.
#[derive(Clone)]
pub struct Tls {
    acceptor: tokio_rustls::TlsAcceptor,
    certificate: Certificate,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("certificate", &self.certificate)
            .finish_non_exhaustive()
    }
}

/// Why HTTPS could not be set up, in the operator's words.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// A file could not be read.
    #[error("could not read {}: {detail}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// A certificate file holds no certificate.
    #[error("{} holds no certificate: give a PEM file with a -----BEGIN CERTIFICATE----- block (the server's own first, then its chain)", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// A key file holds no private key.
    #[error("{} holds no private key: give a PEM file with a -----BEGIN PRIVATE KEY----- (or RSA / EC PRIVATE KEY) block", path.display())]
    NoKey {
        /// The file.
        path: PathBuf,
    },
    /// The certificate and the key do not go together, or rustls refuses them.
    #[error("the certificate {} can't be used with the key {}: {detail}", certificate.display(), key.display())]
    Unusable {
        /// The certificate file.
        certificate: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls said.
        detail: String,
    },
    /// A new certificate could not be made or kept.
    #[error("could not make a certificate in {}: {detail}", folder.display())]
    Make {
        /// The folder.
        folder: PathBuf,
        /// Why.
        detail: String,
    },
}

impl Tls {
    /// HTTPS with the certificate chain in `certificate` and the private key in `key` (PEM).
    pub fn from_files(certificate: &Path, key: &Path) -> Result<Self, TlsSetupError> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|e| TlsSetupError::Read {
                path: path.to_owned(),
                detail: e.to_string(),
            })
        };
        let (certificate_pem, key_pem) = (read(certificate)?, read(key)?);
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&certificate_pem)
            .filter_map(Result::ok)
            .collect();
        if chain.is_empty() {
            return Err(TlsSetupError::NoCertificate {
                path: certificate.to_owned(),
            });
        }
        let private =
            PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| TlsSetupError::NoKey {
                path: key.to_owned(),
            })?;
        Self::new(chain, private).map_err(|detail| TlsSetupError::Unusable {
            certificate: certificate.to_owned(),
            key: key.to_owned(),
            detail,
        })
    }

    /// HTTPS with the self-signed certificate kept in `data_folder`/tls, made there first if
    /// there is none (`made` says so). Its names: localhost, this computer's host name and
    /// `.local` name, the loopback addresses and `also` (the address the service listens on);
    /// clients that pin it do not check names.
    pub fn self_signed(data_folder: &Path, also: &[String]) -> Result<(Self, bool), TlsSetupError> {
        let folder = data_folder.join(FOLDER);
        let certificate = folder.join(CERTIFICATE_FILE);
        let key = folder.join(KEY_FILE);
        if certificate.exists() || key.exists() {
            return Self::from_files(&certificate, &key).map(|tls| (tls, false));
        }
        let failed = |detail: String| TlsSetupError::Make {
            folder: folder.clone(),
            detail,
        };
        let mut names = vec!["localhost".to_owned()];
        let host = host_name();
        if let Some(host) = host.clone() {
            names.push(format!("{host}.local"));
            names.push(host);
        }
        names.extend(["127.0.0.1".to_owned(), "::1".to_owned()]);
        names.extend(
            also.iter()
                .filter(|n| !names.contains(n))
                .cloned()
                .collect::<Vec<_>>(),
        );
        let mut params = rcgen::CertificateParams::new(names).map_err(|e| failed(e.to_string()))?;
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            format!("Refill service on {}", host.unwrap_or_default()).trim(),
        );
        let pair = rcgen::KeyPair::generate().map_err(|e| failed(e.to_string()))?;
        let made = params
            .self_signed(&pair)
            .map_err(|e| failed(e.to_string()))?;
        std::fs::create_dir_all(&folder).map_err(|e| failed(e.to_string()))?;
        // The key first, readable by the service's user only; the certificate last, so that a
        // start interrupted here leaves a key alone, which the next start refuses in words
        // rather than replacing.
        write_new(&key, pair.serialize_pem().as_bytes(), true)
            .map_err(|e| failed(e.to_string()))?;
        write_new(&certificate, made.pem().as_bytes(), false).map_err(|e| failed(e.to_string()))?;
        Self::from_files(&certificate, &key).map(|tls| (tls, true))
    }

    fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, String> {
        let leaf = Certificate::from_der(chain[0].to_vec());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| e.to_string())?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
            certificate: leaf,
        })
    }

    /// The certificate it presents (the first of the chain).
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// Its SHA-256 fingerprint, which clients pin.
    pub fn fingerprint(&self) -> Fingerprint {
        self.certificate.fingerprint()
    }

    /// The acceptor of connections.
    pub(crate) fn acceptor(&self) -> &tokio_rustls::TlsAcceptor {
        &self.acceptor
    }
}

/// This computer's host name, if it has one.
pub(crate) fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty() && name != "localhost")
}

/// Writes a new file (never over one); a `private` one only its owner can read.
fn write_new(path: &Path, bytes: &[u8], private: bool) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
