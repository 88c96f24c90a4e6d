//! Orders by email (issue 20): a customer who chose `email` gets each order mailed to their
//! shopping address, through the operator's mail server (SMTP with TLS or STARTTLS, lettre over
//! the system's TLS), from the hand-over outbox ([`crate::store::handover`]).
//!
//! The operator gives the server as a URL: `smtps://host` (TLS from the start, port 465) or
//! `smtp://host` (STARTTLS required, port 587). Only a relay on this machine
//! (`smtp://localhost:25`) may be spoken to without TLS when it offers none. The password is held
//! as [`Sensitive`] and never formatted; the mail server's answer to a refusal is kept for the
//! customer's "Could not send this order to …", never the credentials.

use lettre::message::{header::ContentType, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use refill_core::{Currency, Money, Sensitive};
use refill_wire::OrderView;
use std::path::PathBuf;
use std::time::Duration;

/// How long a mail server may take to answer each step.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The operator's mail settings (`--mail-*`, or the configuration file's `mail_*`).
#[derive(Debug, Clone, Default)]
pub struct MailSettings {
    /// `smtps://host[:port]` or `smtp://host[:port]`.
    pub server: String,
    /// The user name to sign in with, if the server asks for one.
    pub user: Option<String>,
    /// Its password.
    pub password: Option<Sensitive<String>>,
    /// The sender, such as `Refill <refill@example.com>`.
    pub from: String,
    /// A certificate (PEM) to trust for the server besides the system's.
    pub ca: Option<PathBuf>,
}

/// Why an order could not be mailed, in words that follow "Could not send this order to …:".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotSent {
    /// What went wrong.
    pub words: String,
    /// The mail server refused it for good (a 5xx answer): trying again would not help.
    pub permanent: bool,
}

/// A mail server orders are sent through.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The server's host and port, for messages.
    server: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("server", &self.server)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

/// Whether `host` names this machine.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Mailer {
    /// A mailer for `settings`; what is wrong with them, in words naming the setting.
    pub fn new(settings: &MailSettings) -> Result<Self, String> {
        let shape = "give smtps://host (TLS, port 465) or smtp://host (STARTTLS, port 587)";
        let url = reqwest::Url::parse(settings.server.trim())
            .map_err(|_| format!("'{}' is not a mail server: {shape}", settings.server))?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("'{}' names no mail server: {shape}", settings.server))?
            .to_owned();
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!(
                "the mail server's address must not hold a user name or password: give them as \
                 mail_user and mail_password ({shape})"
            ));
        }
        let (wrapped, default_port) = match url.scheme() {
            "smtps" => (true, 465),
            "smtp" => (false, 587),
            other => {
                return Err(format!(
                    "'{other}://' is not a way to reach a mail server: {shape}"
                ))
            }
        };
        let port = url.port().unwrap_or(default_port);
        let tls_host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let mut parameters = TlsParameters::builder(tls_host);
        if let Some(ca) = &settings.ca {
            let pem = std::fs::read(ca).map_err(|e| {
                format!(
                    "the mail server's certificate {} cannot be read: {e}",
                    ca.display()
                )
            })?;
            let certificate = Certificate::from_pem(&pem).map_err(|_| {
                format!(
                    "{} is not a PEM certificate to trust for the mail server",
                    ca.display()
                )
            })?;
            parameters = parameters.add_root_certificate(certificate);
        }
        let parameters = parameters
            .build()
            .map_err(|e| format!("TLS for the mail server could not be set up: {e}"))?;
        let tls = if wrapped {
            Tls::Wrapper(parameters)
        } else if is_loopback(&host) {
            Tls::Opportunistic(parameters)
        } else {
            Tls::Required(parameters)
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(port)
            .tls(tls)
            .timeout(Some(TIMEOUT));
        match (&settings.user, &settings.password) {
            (Some(user), Some(password)) => {
                builder =
                    builder.credentials(Credentials::new(user.clone(), password.expose().clone()));
            }
            (None, None) => {}
            (Some(_), None) => return Err("mail_user is set but mail_password is not".to_owned()),
            (None, Some(_)) => return Err("mail_password is set but mail_user is not".to_owned()),
        }
        let from: Mailbox = settings.from.trim().parse().map_err(|_| {
            if settings.from.trim().is_empty() {
                "give the sender of order emails as mail_from, such as \
                 \"Refill <refill@example.com>\""
                    .to_owned()
            } else {
                format!(
                    "'{}' is not an email sender, such as \"Refill <refill@example.com>\"",
                    settings.from
                )
            }
        })?;
        Ok(Self {
            transport: builder.build(),
            from,
            server: format!("{host}:{port}"),
        })
    }

    /// The server's host and port.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Mails `order` to `to`; `None` once the mail server took it.
    pub(crate) async fn send_order(&self, to: &str, order: &OrderView) -> Option<NotSent> {
        let to: Mailbox = match to.parse() {
            Ok(to) => to,
            Err(_) => {
                return Some(NotSent {
                    words: "it is not an email address".to_owned(),
                    permanent: true,
                })
            }
        };
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(format!("To buy: {}", order_line(order)))
            .header(ContentType::TEXT_PLAIN)
            .body(order_text(order));
        let message = match message {
            Ok(message) => message,
            Err(e) => {
                return Some(NotSent {
                    words: format!("the email could not be written ({e})"),
                    permanent: true,
                })
            }
        };
        match self.transport.send(message).await {
            Ok(_) => None,
            Err(e) => Some(self.not_sent(&e)),
        }
    }

    fn not_sent(&self, e: &lettre::transport::smtp::Error) -> NotSent {
        let server = &self.server;
        let (words, permanent) = if e.is_permanent() || e.is_transient() {
            (
                format!("the mail server {server} refused it ({e})"),
                e.is_permanent(),
            )
        } else if e.is_timeout() {
            (
                format!("the mail server {server} did not answer in time"),
                false,
            )
        } else if e.is_tls() {
            (
                format!(
                    "no secure connection could be made to the mail server {server} (is its \
                     certificate trusted? {e})"
                ),
                false,
            )
        } else {
            (
                format!("the mail server {server} could not be reached ({e})"),
                false,
            )
        };
        NotSent { words, permanent }
    }
}

/// Whether `text` looks like an email address a customer could mean (`name@domain`).
pub fn is_address(text: &str) -> bool {
    text.parse::<lettre::Address>().is_ok()
}

/// "2 × Medium roast coffee beans, 1 kg".
fn order_line(order: &OrderView) -> String {
    if order.quantity > 1 {
        format!("{} × {}", order.quantity, order.title)
    } else {
        order.title.clone()
    }
}

/// The email's text.
fn order_text(order: &OrderView) -> String {
    let price = Currency::parse(&order.price.currency)
        .map(|c| Money::new(order.price.amount_minor, c).to_string())
        .unwrap_or_else(|| format!("{} {}", order.price.amount_minor, order.price.currency));
    let placed = order.placed_at.date();
    format!(
        "Refill ordered this for you on {placed}. Buy it where you like; then, in the Refill \
         app's orders, tap \"Bought it\", and \"It arrived\" when it is home.\n\n\
         {title}\n\
         Packs: {quantity}\n\
         Price at Refill: {price}\n\
         ASIN: {asin}\n\
         Order: {id}\n",
        title = order.title,
        quantity = order.quantity,
        asin = order.asin,
        id = order.event_instance_id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(server: &str) -> MailSettings {
        MailSettings {
            server: server.to_owned(),
            from: "Refill <refill@example.com>".to_owned(),
            ..MailSettings::default()
        }
    }

    #[test]
    fn the_server_is_smtps_or_smtp_with_its_default_port() {
        assert_eq!(
            Mailer::new(&settings("smtps://mail.example.com"))
                .unwrap()
                .server(),
            "mail.example.com:465"
        );
        assert_eq!(
            Mailer::new(&settings("smtp://mail.example.com"))
                .unwrap()
                .server(),
            "mail.example.com:587"
        );
        assert_eq!(
            Mailer::new(&settings("smtp://127.0.0.1:2525"))
                .unwrap()
                .server(),
            "127.0.0.1:2525"
        );
        for (server, said) in [
            ("mail.example.com", "is not a mail server"),
            ("http://mail.example.com", "'http://' is not a way"),
            ("smtp://me:pw@mail.example.com", "must not hold a user name"),
        ] {
            let e = Mailer::new(&settings(server)).unwrap_err();
            assert!(e.contains(said), "{server}: {e}");
        }
    }

    #[test]
    fn a_sender_is_needed_and_a_user_needs_a_password() {
        let mut s = settings("smtps://mail.example.com");
        s.from = String::new();
        assert!(Mailer::new(&s).unwrap_err().contains("mail_from"));
        s.from = "not an address".to_owned();
        assert!(Mailer::new(&s)
            .unwrap_err()
            .contains("is not an email sender"));
        let mut s = settings("smtps://mail.example.com");
        s.user = Some("refill".to_owned());
        assert!(Mailer::new(&s).unwrap_err().contains("mail_password"));
        s.password = Some(Sensitive::new("hunter2".to_owned()));
        let mailer = Mailer::new(&s).unwrap();
        // The password never shows.
        assert!(!format!("{mailer:?} {s:?}").contains("hunter2"));
    }

    #[test]
    fn only_a_relay_on_this_machine_is_loopback() {
        assert!(is_loopback("localhost") && is_loopback("127.0.0.1") && is_loopback("[::1]"));
        assert!(!is_loopback("mail.example.com") && !is_loopback("192.168.1.2"));
    }

    #[test]
    fn addresses_need_a_name_and_a_domain() {
        assert!(is_address("shopping@home.example"));
        assert!(!is_address("shopping") && !is_address("a@") && !is_address("a b@c.d"));
    }
}
