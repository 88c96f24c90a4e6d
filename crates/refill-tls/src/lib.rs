//! HTTPS to a Refill service whose certificate no authority vouches for: a home server's own,
//! self-signed certificate, trusted because its SHA-256 fingerprint is the one the person was
//! given (the service prints it when it starts; a device learns it while it is onboarded; the
//! app shows it and asks).
//!
//! * [`Fingerprint`]: a certificate's SHA-256, written as browsers and `openssl x509
//!   -fingerprint -sha256` write it (`AB:CD:…`, 32 pairs), read in any of the usual forms.
//! * [`presented`]: the certificate a service presents, looked at without trusting it (its
//!   `GET /health`: nothing secret is sent).
//! * [`pin`]: that certificate, when its fingerprint is the one given.
//! * [`Trust`]: how a client trusts the service: the system's authorities, or one pinned
//!   certificate and no other. [`Trust::client_builder`] makes the `reqwest` client of every
//!   Refill client (app, command line, devices) from it.
//! * [`problem`]: after a connection failed, whether the certificate was why, in words
//!   ([`CertificateProblem`]): not trusted by the system, or not the one that was pinned.

use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// How long [`presented`] waits for a connection, and then for the handshake.
const TIMEOUT: Duration = Duration::from_secs(5);

/// A certificate's SHA-256 fingerprint.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a certificate in DER.
    pub fn of(der: &[u8]) -> Self {
        Self(Sha256::digest(der).into())
    }
}

impl std::fmt::Display for Fingerprint {
    /// `AB:CD:…:EF`: 32 pairs of upper-case hex digits, as browsers and OpenSSL show it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{byte:02X}")?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl std::str::FromStr for Fingerprint {
    type Err = String;

    /// `AB:CD:…`, `abcd…`, `SHA256:AB:CD…` or OpenSSL's `sha256 Fingerprint=AB:CD:…`: 64 hex
    /// digits, with or without colons or spaces between the pairs.
    fn from_str(text: &str) -> Result<Self, String> {
        let refused = || {
            format!(
                "'{}' is not a SHA-256 fingerprint: give its 64 hex digits, such as \
                 3F:A2:…:9C (the service prints it when it starts)",
                text.trim()
            )
        };
        let mut rest = text.trim();
        for prefix in ["sha256 fingerprint=", "sha-256:", "sha256:", "sha256="] {
            if rest.len() >= prefix.len() && rest[..prefix.len()].eq_ignore_ascii_case(prefix) {
                rest = rest[prefix.len()..].trim_start();
            }
        }
        let digits: Vec<u8> = rest
            .bytes()
            .filter(|b| !matches!(b, b':' | b' ' | b'-'))
            .collect();
        if digits.len() != 64 {
            return Err(refused());
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(digits.chunks(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| refused())?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| refused())?;
        }
        Ok(Self(bytes))
    }
}

/// A service's certificate (DER).
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Certificate({})", self.fingerprint())
    }
}

impl Certificate {
    /// A certificate from its DER bytes.
    pub fn from_der(der: Vec<u8>) -> Self {
        Self { der }
    }

    /// Its DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// Its SHA-256 fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(&self.der)
    }

    /// Its DER bytes in standard base64 (how settings keep it).
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.der)
    }

    /// A certificate kept with [`Certificate::to_base64`].
    pub fn from_base64(text: &str) -> Option<Self> {
        base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .ok()
            .filter(|der| !der.is_empty())
            .map(Self::from_der)
    }
}

/// How a client trusts a service's certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Trust {
    /// The system's certificate authorities (a service with a certificate from Let's Encrypt,
    /// say), and plain HTTP where the URL says so.
    #[default]
    System,
    /// This certificate and no other, whatever names it carries (a home server is reached by
    /// its IP address or a `.local` name its certificate may not list).
    Pinned(Certificate),
}

impl Trust {
    /// A `reqwest` client builder that trusts what this says.
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        let builder = reqwest::Client::builder();
        match self {
            Trust::System => builder,
            Trust::Pinned(certificate) => match reqwest::Certificate::from_der(&certificate.der) {
                Ok(root) => builder
                    .tls_built_in_root_certs(false)
                    .add_root_certificate(root)
                    .danger_accept_invalid_hostnames(true),
                // Not a certificate at all: trust nothing, so every connection fails (and
                // `problem` says why).
                Err(_) => builder.tls_built_in_root_certs(false),
            },
        }
    }

    /// The pinned certificate's fingerprint, if one is pinned.
    pub fn fingerprint(&self) -> Option<Fingerprint> {
        match self {
            Trust::System => None,
            Trust::Pinned(certificate) => Some(certificate.fingerprint()),
        }
    }
}

/// What went wrong while looking at a service's certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    /// The address is not an `https://` one.
    #[error("{url} is not an https:// address, so it has no certificate to check.")]
    NotHttps {
        /// The address.
        url: String,
    },
    /// No TLS connection could be made.
    #[error("Can't reach a secure (HTTPS) service at {url}: {detail}")]
    Unreachable {
        /// The address.
        url: String,
        /// What happened.
        detail: String,
    },
    /// The service presented another certificate than the one given.
    #[error(transparent)]
    Certificate(#[from] CertificateProblem),
}

/// Why a service's certificate was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateProblem {
    /// No authority this computer trusts vouches for it (a home server's own certificate):
    /// compare its fingerprint with the one the service printed, then pin it.
    #[error(
        "The Refill service at {url} has a certificate that no authority this computer trusts \
         vouches for (a home server's own certificate). Its SHA-256 fingerprint is {found}: if \
         it is the one the service printed when it started, trust it."
    )]
    Untrusted {
        /// The service's address.
        url: String,
        /// The fingerprint of the certificate it presented.
        found: Fingerprint,
    },
    /// It is not the certificate that was pinned or given.
    #[error(
        "The Refill service at {url} presented a different certificate (SHA-256 {found}) from \
         the one Refill was told to trust ({expected}), so Refill did not connect: someone may \
         be pretending to be the service. If its operator gave it a new certificate, trust the \
         new fingerprint they give you."
    )]
    Changed {
        /// The service's address.
        url: String,
        /// The fingerprint Refill trusts.
        expected: Fingerprint,
        /// The fingerprint of the certificate it presented.
        found: Fingerprint,
    },
    /// It is the pinned certificate, but this computer's TLS library will not take it as the
    /// only one to trust (a certificate signed by a private authority, not self-signed).
    #[error(
        "The Refill service at {url} presented the certificate Refill trusts (SHA-256 {found}), \
         but this computer can't check connections against it alone ({detail}). If your own \
         certificate authority signed it, add that authority to the system's trusted \
         certificates and use the service without a fingerprint."
    )]
    Unusable {
        /// The service's address.
        url: String,
        /// Its fingerprint.
        found: Fingerprint,
        /// What the TLS library said.
        detail: String,
    },
}

/// `url` if it is an `https://` address.
fn https(url: &str) -> Result<url::Url, TlsError> {
    let not_https = || TlsError::NotHttps {
        url: url.to_owned(),
    };
    let parsed = url::Url::parse(url).map_err(|_| not_https())?;
    if parsed.scheme() != "https" || parsed.host().is_none() {
        return Err(not_https());
    }
    Ok(parsed)
}

/// `GET /health` on the service at `url` with a client built by `builder`: the certificate it
/// presented (when the client asked for it), or why no answer came. (Through reqwest, whose TLS
/// the app has anyway: a handshake of our own cost the app's binary more.)
async fn ask(
    url: &url::Url,
    builder: reqwest::ClientBuilder,
) -> Result<Option<Certificate>, String> {
    let client = builder
        .connect_timeout(TIMEOUT)
        .timeout(TIMEOUT * 2)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let health = url.join("health").map_err(|e| e.to_string())?;
    let response = client.get(health).send().await.map_err(|e| causes(&e))?;
    Ok(response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(reqwest::tls::TlsInfo::peer_certificate)
        .map(|der| Certificate::from_der(der.to_vec())))
}

/// An error and its causes, in one line.
fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The base of `url` as a directory, so that joining `health` keeps its path.
fn base(mut url: url::Url) -> url::Url {
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

/// The certificate the service at `url` (`https://…`) presents, looked at without trusting it
/// (nothing secret is sent: a `GET /health`).
pub async fn presented(url: &str) -> Result<Certificate, TlsError> {
    let parsed = base(https(url)?);
    let looking = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .danger_accept_invalid_hostnames(true)
        .tls_info(true);
    let unreachable = |detail: String| TlsError::Unreachable {
        url: url.to_owned(),
        detail,
    };
    ask(&parsed, looking)
        .await
        .map_err(unreachable)?
        .ok_or_else(|| unreachable("it presented no certificate".to_owned()))
}

/// The certificate of the service at `url`, when its fingerprint is `expected`.
pub async fn pin(url: &str, expected: Fingerprint) -> Result<Certificate, TlsError> {
    let certificate = presented(url).await?;
    let found = certificate.fingerprint();
    if found != expected {
        return Err(CertificateProblem::Changed {
            url: url.to_owned(),
            expected,
            found,
        }
        .into());
    }
    Ok(certificate)
}

/// After a connection to `url` failed: the certificate's part in it, if it had one. `None` when
/// the certificate is fine by `trust` (or the URL is plain HTTP, or nothing answers at all):
/// the failure was something else.
pub async fn problem(url: &str, trust: &Trust) -> Option<CertificateProblem> {
    let presented = presented(url).await.ok()?;
    let found = presented.fingerprint();
    if let Some(expected) = trust.fingerprint() {
        if expected != found {
            return Some(CertificateProblem::Changed {
                url: url.to_owned(),
                expected,
                found,
            });
        }
    }
    let detail = ask(&base(https(url).ok()?), trust.client_builder())
        .await
        .err()?;
    Some(match trust {
        Trust::System => CertificateProblem::Untrusted {
            url: url.to_owned(),
            found,
        },
        Trust::Pinned(_) => CertificateProblem::Unusable {
            url: url.to_owned(),
            found,
            detail,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_reads_in_the_forms_people_copy_and_writes_as_browsers_do() {
        let der = b"not really a certificate";
        let fingerprint = Fingerprint::of(der);
        let shown = fingerprint.to_string();
        assert_eq!(shown.len(), 95, "{shown}");
        assert_eq!(shown.matches(':').count(), 31);
        assert_eq!(shown, shown.to_uppercase());
        let bare = shown.replace(':', "").to_lowercase();
        for text in [
            shown.clone(),
            bare.clone(),
            format!("SHA256:{shown}"),
            format!("sha256 Fingerprint={shown}"),
            format!("  {} ", shown.replace(':', " ")),
        ] {
            assert_eq!(text.parse::<Fingerprint>(), Ok(fingerprint), "{text}");
        }
        for bad in ["", "AB:CD", &format!("{bare}00"), &bare.replace('a', "g")] {
            let e = bad.parse::<Fingerprint>().unwrap_err();
            assert!(e.contains("not a SHA-256 fingerprint"), "{e}");
        }
        assert_ne!(Fingerprint::of(b"another"), fingerprint);
    }

    #[test]
    fn a_certificate_kept_in_settings_comes_back_the_same() {
        let certificate = Certificate::from_der(vec![0x30, 0x82, 1, 2, 3]);
        let kept = certificate.to_base64();
        assert_eq!(Certificate::from_base64(&kept), Some(certificate));
        assert_eq!(Certificate::from_base64("not base64!"), None);
        assert_eq!(Certificate::from_base64(""), None);
    }

    #[test]
    fn only_https_addresses_have_certificates_and_health_is_asked_below_their_path() {
        assert!(matches!(
            https("http://127.0.0.1:8750"),
            Err(TlsError::NotHttps { .. })
        ));
        assert!(matches!(https("not a url"), Err(TlsError::NotHttps { .. })));
        let at = |u: &str| base(https(u).unwrap()).join("health").unwrap().to_string();
        assert_eq!(at("https://[::1]:8750"), "https://[::1]:8750/health");
        assert_eq!(
            at("https://home.local/refill"),
            "https://home.local/refill/health"
        );
    }
}
