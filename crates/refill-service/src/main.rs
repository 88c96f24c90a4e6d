//! `refill-service`: runs the Refill service on its own, and the operator's commands on its
//! database. Every option is declared once (clap), with its help and environment variable; a
//! configuration file (`--config`) can set the service's, and flags and environment override it.

use clap::{Args, Parser, Subcommand};
use refill_core::{FastClock, Handover, OrderPolicy, Sensitive, SystemClock};
use refill_service::config::FileConfig;
use refill_service::http::tls::Tls;
use refill_service::mail::{MailSettings, Mailer};
use refill_service::operator::Refused;
use refill_service::{
    admin_tokens, catalog, clients, customers, models, start, Database, ServiceConfig,
};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// The self-hostable Refill replenishment service.
///
/// Without a command it runs the service; the commands manage what it serves, on its database.
#[derive(Parser, Debug)]
#[command(name = "refill-service", version)]
struct Cli {
    #[command(flatten)]
    place: Place,
    #[command(flatten)]
    run: Run,
    #[command(subcommand)]
    command: Option<Command>,
}

/// Where the configuration and the data are: every command takes these.
#[derive(Args, Debug)]
struct Place {
    /// A configuration file (TOML) with the service's settings; flags and environment
    /// variables override what it says
    #[arg(long, env = "REFILL_CONFIG", value_name = "FILE", global = true)]
    config: Option<PathBuf>,
    /// Where the data lives: a SQLite file, created if missing, or a
    /// postgres://user:password@host:5432/database URL, which several instances can share
    /// [default: refill.sqlite]
    #[arg(long, env = "REFILL_DB", value_name = "FILE|URL", global = true)]
    db: Option<String>,
    /// Where the service keeps its own files (its self-signed certificate, in tls/)
    /// [default: the SQLite database's folder, else the current folder]
    #[arg(long, env = "REFILL_DATA_DIR", value_name = "DIR", global = true)]
    data_dir: Option<PathBuf>,
}

/// How the service runs.
#[derive(Args, Debug)]
struct Run {
    /// Address to listen on [default: 127.0.0.1:8750]
    #[arg(long, env = "REFILL_LISTEN", value_name = "ADDR")]
    listen: Option<String>,
    /// Seed a new database with the sandbox customer, devices and catalog, fulfil orders itself
    /// (shipped when they can no longer be cancelled, delivered when due), and have its devices
    /// use up their supplies and report them through the DRS API
    #[arg(long, env = "REFILL_SANDBOX")]
    sandbox: bool,
    /// Run the service's time N times faster than real time (8640: a day every ten seconds),
    /// for demos [default: 1]
    #[arg(long, env = "REFILL_SPEED", value_name = "N", value_parser = speed)]
    speed: Option<f64>,
    /// Make a sandbox refuse API requests without a valid sign-in too (a service that is not a
    /// sandbox always does; a sandbox serves callers without one as its demo customer, and only
    /// on a loopback address)
    #[arg(long, env = "REFILL_REQUIRE_SIGN_IN")]
    require_sign_in: bool,
    /// Let device makers' webhooks reach loopback, link-local and private addresses (a home
    /// network); by default they reach public addresses only
    #[arg(long, env = "REFILL_ALLOW_PRIVATE_WEBHOOKS")]
    allow_private_webhooks: bool,
    /// Connections served at once (an eighth of them, at least 16, from one address); more are
    /// closed as soon as they arrive [default: 768]
    #[arg(long, env = "REFILL_MAX_CONNECTIONS", value_name = "N", value_parser = max_connections)]
    max_connections: Option<usize>,
    /// How long a request's headers, and then its body, may take to arrive, and how long a
    /// kept-alive connection may sit idle [default: 10]
    #[arg(long, env = "REFILL_READ_TIMEOUT", value_name = "SECONDS", value_parser = read_timeout)]
    read_timeout: Option<f64>,
    /// How long a press that waits for the customer's approval waits before it expires
    /// unanswered, 1 to 720 [default: 24]
    #[arg(long, env = "REFILL_APPROVAL_HOURS", value_name = "N", value_parser = approval_hours)]
    approval_hours: Option<i64>,
    /// Where customers' orders go unless they choose otherwise (in the app's settings):
    /// manual, they buy them where they like and say so in the app; webhook, to their own
    /// automation, once they give its address; email, mailed to them (needs --mail-server).
    /// A sandbox fulfils orders itself [default: manual]
    #[arg(long, env = "REFILL_ORDERS_GO", value_name = "METHOD", value_parser = orders_go)]
    orders_go: Option<Handover>,
    #[command(flatten)]
    mail: Mail,
    #[command(flatten)]
    https: Https,
    /// Don't announce the service on the local network (mDNS / DNS-SD, _refill._tcp), as it
    /// does when it listens off a loopback address so that the app can find it
    #[arg(long, env = "REFILL_NO_ANNOUNCE")]
    no_announce: bool,
    /// The name the app shows for it among the Refill services on the network
    /// [default: "Refill on <host name>"]
    #[arg(long, env = "REFILL_NAME", value_name = "NAME")]
    name: Option<String>,
}

/// The mail server orders are emailed through, for customers who choose email.
#[derive(Args, Debug)]
struct Mail {
    /// The mail server to send orders by email through: smtps://host (TLS, port 465) or
    /// smtp://host (STARTTLS, port 587; smtp://localhost:25 for a relay on this machine).
    /// Without one, customers cannot choose email
    #[arg(long, env = "REFILL_MAIL_SERVER", value_name = "URL")]
    mail_server: Option<String>,
    /// The user name to sign in to the mail server with
    #[arg(long, env = "REFILL_MAIL_USER", value_name = "NAME")]
    mail_user: Option<String>,
    /// Its password. Better in the configuration file (readable by the service only) or the
    /// environment than here, where others on this machine can see it
    #[arg(long, env = "REFILL_MAIL_PASSWORD", value_name = "PASSWORD", hide_env_values = true,
          value_parser = sensitive)]
    mail_password: Option<Sensitive<String>>,
    /// Who order emails come from, such as "Refill <refill@example.com>"
    #[arg(long, env = "REFILL_MAIL_FROM", value_name = "ADDRESS")]
    mail_from: Option<String>,
    /// A certificate (PEM) to trust for the mail server besides the system's, for a server with a
    /// certificate of its own
    #[arg(long, env = "REFILL_MAIL_CA", value_name = "FILE")]
    mail_ca: Option<PathBuf>,
}

fn sensitive(s: &str) -> Result<Sensitive<String>, String> {
    Ok(Sensitive::new(s.to_owned()))
}

/// How the service serves HTTPS. Off a loopback address it always does (with --tls-cert and
/// --tls-key, or else a self-signed certificate), unless told --plain-http.
#[derive(Args, Debug)]
struct Https {
    /// Serve HTTPS with this certificate (PEM: the certificate, then its chain), such as one
    /// from Let's Encrypt; give --tls-key too
    #[arg(
        long,
        env = "REFILL_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert
    #[arg(
        long,
        env = "REFILL_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    tls_key: Option<PathBuf>,
    /// Serve HTTPS with a self-signed certificate, made on the first start and kept in the data
    /// folder, even on a loopback address (off one, that is what happens without --tls-cert)
    #[arg(long, env = "REFILL_SELF_SIGNED", conflicts_with_all = ["tls_cert", "plain_http"])]
    self_signed: bool,
    /// Serve plain HTTP even off a loopback address: only behind a reverse proxy that serves
    /// HTTPS to everyone else
    #[arg(long, env = "REFILL_PLAIN_HTTP", conflicts_with = "tls_cert")]
    plain_http: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The OAuth clients of device makers: their servers sign in with HTTP Basic ID:secret (to
    /// redeem codes and manage webhooks at /v1/webhooks); their phone apps have no secret and
    /// use PKCE
    #[command(subcommand)]
    Clients(ClientsCommand),
    /// The people who use the service: list them, disable or enable an account, delete one
    #[command(subcommand)]
    Customers(CustomersCommand),
    /// The products the service sells: import them from a CSV or JSON file, list them
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// The device models the service knows, as their makers publish them: add one from a TOML
    /// file, list them
    #[command(subcommand)]
    Models(ModelsCommand),
    /// The tokens of the admin API (/admin/v1/…), which does what these commands do: make one
    /// (shown once), list them, revoke one
    #[command(subcommand)]
    AdminTokens(AdminTokensCommand),
    /// Prints the SHA-256 fingerprint of the service's HTTPS certificate (--tls-cert, or the
    /// self-signed one in the data folder, made now if there is none yet), to compare with what
    /// the app shows or to give to the command line's --fingerprint
    Fingerprint,
}

#[derive(Subcommand, Debug)]
enum AdminTokensCommand {
    /// Makes a token for the admin API, shown only once
    Create {
        /// What the token is for ("backup-script"): 1 to 64 letters, digits, '.', '_' and '-'
        #[arg(value_parser = admin_tokens::token_name)]
        name: String,
    },
    /// Every token's name, when it was made and last used, and whether it was revoked
    List,
    /// Stops a token working, at once
    Revoke {
        /// The token's name
        name: String,
    },
}

#[derive(Subcommand, Debug)]
enum ModelsCommand {
    /// Adds a device model, or updates one, from FILE.toml: id, name, and [[slots]] each with
    /// id, name, unit (count, g or ml), capacity and products (ASINs in the catalog)
    Add {
        /// The model file
        file: PathBuf,
    },
    /// Every device model: id, name, devices registered, slots
    List,
}

#[derive(Subcommand, Debug)]
enum CatalogCommand {
    /// Adds or updates products by ASIN from FILE.csv (a header line naming the columns) or
    /// FILE.json (a list of objects), all or nothing. Fields: asin, title, pack_size, unit
    /// (count, g or ml), price (such as 18.99), currency (such as USD), image_url (https://…,
    /// optional)
    Import {
        /// The catalog file
        file: PathBuf,
    },
    /// The catalog: ASIN, title, pack size and unit, price
    List,
}

#[derive(Subcommand, Debug)]
enum CustomersCommand {
    /// A one-time invitation code with which a person creates an account on the sign-in page (a
    /// service that is not a sandbox takes new accounts only so)
    Invite {
        /// The person's email, which the account will have
        email: String,
        /// How many days the code stays valid
        #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=90))]
        days: u32,
    },
    /// Everyone with an account: email, name, active or disabled, devices linked
    List,
    /// Stops an account working (sign-in, the app, its devices) without deleting anything
    Disable {
        /// The account's email
        email: String,
    },
    /// Lets a disabled account work again
    Enable {
        /// The account's email
        email: String,
    },
    /// Deletes an account for good, as its owner can from the app: devices deregistered, open
    /// orders cancelled, its data removed
    Delete {
        /// The account's email
        email: String,
        /// Yes, delete it
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand, Debug)]
enum ClientsCommand {
    /// Registers a client; a confidential one gets a secret, shown only once
    Add {
        /// The client's id: up to 64 letters, digits, '.', '_' and '-'
        #[arg(value_parser = clients::client_id)]
        id: String,
        /// The maker's name, which people see on the consent page
        #[arg(long)]
        name: String,
        /// Where sign-ins return to (https://…); give it again for each address
        #[arg(long = "redirect-uri", value_name = "URI", required = true, value_parser = clients::redirect_uri)]
        redirect_uris: Vec<String>,
        /// An app on a phone: no secret, PKCE required
        #[arg(long)]
        public: bool,
    },
    /// The registered clients, without their secrets
    List,
    /// Gives a confidential client a new secret (the old one stops working at once), for a
    /// secret that leaked
    NewSecret {
        /// The client's id
        id: String,
    },
}

/// A flag's text as a number `check` accepts; `check` says what is wrong in words.
fn number<T: std::str::FromStr>(
    s: &str,
    check: fn(T) -> Result<T, String>,
    what: &str,
) -> Result<T, String> {
    s.parse()
        .map_err(|_| format!("'{s}' is not a number: give {what}"))
        .and_then(check)
}

fn check_speed(n: f64) -> Result<f64, String> {
    if n.is_finite() && n >= 1.0 {
        Ok(n)
    } else {
        Err(format!("{n} is not a speed: give a number of 1 or more"))
    }
}

fn speed(s: &str) -> Result<f64, String> {
    number(s, check_speed, "a speed of 1 or more")
}

fn check_connections(n: usize) -> Result<usize, String> {
    if n >= 16 {
        Ok(n)
    } else {
        Err(format!("{n} connections are too few: give 16 or more"))
    }
}

fn max_connections(s: &str) -> Result<usize, String> {
    number(s, check_connections, "a number of connections, 16 or more")
}

fn check_timeout(n: f64) -> Result<f64, String> {
    if n.is_finite() && (0.5..=600.0).contains(&n) {
        Ok(n)
    } else {
        Err(format!(
            "{n} is not a timeout: give a number of seconds from 0.5 to 600"
        ))
    }
}

fn read_timeout(s: &str) -> Result<f64, String> {
    number(s, check_timeout, "a number of seconds from 0.5 to 600")
}

fn check_hours(n: i64) -> Result<i64, String> {
    if (1..=720).contains(&n) {
        Ok(n)
    } else {
        Err(format!("{n} is not a number of hours from 1 to 720"))
    }
}

fn orders_go(s: &str) -> Result<Handover, String> {
    match Handover::parse(s) {
        Some(h @ (Handover::Manual | Handover::Webhook | Handover::Email)) => Ok(h),
        _ => Err(format!(
            "'{s}' is not where orders can go: manual, webhook or email"
        )),
    }
}

/// The mail server, from the flags and the configuration file; `None` without one.
fn mailer(mail: Mail, file: &FileConfig) -> Result<Option<Mailer>, String> {
    let Some(server) = mail.mail_server.or(file.mail_server.clone()) else {
        let stray = [
            (
                "mail_user",
                mail.mail_user.is_some() || file.mail_user.is_some(),
            ),
            (
                "mail_from",
                mail.mail_from.is_some() || file.mail_from.is_some(),
            ),
        ];
        if let Some((key, _)) = stray.iter().find(|(_, set)| *set) {
            return Err(format!(
                "{key} is set but mail_server is not: give the mail server orders are sent through"
            ));
        }
        return Ok(None);
    };
    let settings = MailSettings {
        server,
        user: mail.mail_user.or(file.mail_user.clone()),
        password: mail.mail_password.or(file.mail_password.clone()),
        from: mail
            .mail_from
            .or(file.mail_from.clone())
            .unwrap_or_default(),
        ca: mail.mail_ca.or(file.mail_ca.clone()),
    };
    Mailer::new(&settings)
        .map(Some)
        .map_err(|e| format!("the mail server settings: {e}"))
}

fn approval_hours(s: &str) -> Result<i64, String> {
    number(s, check_hours, "a number of hours from 1 to 720")
}

/// The flag's value, else the configuration file's (checked as the flag's would be), else none.
fn either<T>(
    flag: Option<T>,
    file: Option<T>,
    key: &str,
    check: fn(T) -> Result<T, String>,
) -> Result<Option<T>, String> {
    match (flag, file) {
        (Some(n), _) => Ok(Some(n)),
        (None, Some(n)) => check(n)
            .map(Some)
            .map_err(|e| format!("the configuration file's {key}: {e}")),
        (None, None) => Ok(None),
    }
}

/// The command line; the service's own flags refused beside an operator's command (its global
/// options, and the environment, are fine there).
fn parse() -> Result<Cli, clap::Error> {
    use clap::{CommandFactory, FromArgMatches};
    let mut command = Cli::command();
    let matches = command.get_matches_mut();
    if matches.subcommand_name().is_some() {
        let run = <Run as Args>::augment_args(clap::Command::new("run"));
        for arg in run.get_arguments() {
            let id = arg.get_id().as_str();
            if matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine) {
                let flag = arg.get_long().map_or(id.to_owned(), |l| format!("--{l}"));
                return Err(command.error(
                    clap::error::ErrorKind::ArgumentConflict,
                    format!(
                        "{flag} cannot be used with a command: it is an option of the service \
                         itself"
                    ),
                ));
            }
        }
    }
    Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut command))
}

/// The configuration file's settings, if one was given.
fn file_config(place: &Place) -> Result<FileConfig, String> {
    match &place.config {
        Some(path) => FileConfig::load(path),
        None => Ok(FileConfig::default()),
    }
}

/// The database: `--db`, `REFILL_DB`, the configuration file's `database`, or refill.sqlite.
fn database(place: &Place, file: &FileConfig) -> Result<Database, String> {
    let db = place
        .db
        .clone()
        .or_else(|| file.database.clone())
        .unwrap_or_else(|| "refill.sqlite".to_owned());
    Database::parse(&db)
}

/// The service's settings: flags and environment first, then the configuration file, then the
/// defaults. A value from the file is checked as its flag's would be.
fn service_config(
    run: Run,
    place: &Place,
    file: FileConfig,
) -> Result<(ServiceConfig, Option<Certificate>, Option<String>), String> {
    let database = database(place, &file)?;
    let listen = run
        .listen
        .or(file.listen.clone())
        .unwrap_or_else(|| "127.0.0.1:8750".to_owned());
    let listen: SocketAddr = listen
        .parse()
        .map_err(|_| format!("'{listen}' is not an address such as 127.0.0.1:8750"))?;
    let certificate = certificate(place, &run.https, &file, &database, Some(listen))?;
    // Announced off loopback (where others can reach it), under this name.
    let announce = (!listen.ip().is_loopback()
        && !run.no_announce
        && file.announce.unwrap_or(true))
    .then(|| {
        run.name
            .clone()
            .or_else(|| file.name.clone())
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(refill_service::announce::default_name)
    });
    let sandbox = run.sandbox || file.sandbox.unwrap_or(false);
    let speed = either(run.speed, file.speed, "speed", check_speed)?.unwrap_or(1.0);
    let mut limits = refill_service::http::serve::Limits::default();
    let connections = either(
        run.max_connections,
        file.max_connections,
        "max_connections",
        check_connections,
    )?;
    if let Some(n) = connections {
        limits.connections = n;
        limits.per_address = (n / 8).max(16);
    }
    if let Some(seconds) = either(
        run.read_timeout,
        file.read_timeout,
        "read_timeout",
        check_timeout,
    )? {
        limits.headers = std::time::Duration::from_secs_f64(seconds);
        limits.body = limits.headers;
    }
    let approval_lifetime = match either(
        run.approval_hours,
        file.approval_hours,
        "approval_hours",
        check_hours,
    )? {
        Some(hours) => time::Duration::hours(hours),
        None => OrderPolicy::default().approval_lifetime,
    };
    let handover = match (run.orders_go, file.orders_go.as_deref()) {
        (Some(h), _) => h,
        (None, Some(text)) => {
            orders_go(text).map_err(|e| format!("the configuration file's orders_go: {e}"))?
        }
        // A sandbox fulfils its orders itself; another service leaves them to the customer.
        (None, None) if sandbox => Handover::Service,
        (None, None) => Handover::Manual,
    };
    let mail = mailer(run.mail, &file)?;
    if handover == Handover::Email && mail.is_none() {
        return Err(
            "orders cannot go by email without a mail server: give mail_server (--mail-server)"
                .to_owned(),
        );
    }
    let config = ServiceConfig {
        database,
        listen,
        tls: certificate.as_ref().map(|c| c.tls.clone()),
        sandbox,
        require_sign_in: run.require_sign_in || file.require_sign_in.unwrap_or(false),
        policy: OrderPolicy {
            approval_lifetime,
            handover,
            ..OrderPolicy::default()
        },
        clock: if speed > 1.0 {
            Arc::new(FastClock::new(speed))
        } else {
            Arc::new(SystemClock)
        },
        fulfil_every: sandbox.then_some(std::time::Duration::from_secs(1)),
        // The sandbox's simulated devices stand still while nothing runs: after a pause they
        // would all look silent.
        watch_every: (!sandbox).then_some(std::time::Duration::from_secs(60)),
        deliver_every: Some(std::time::Duration::from_millis(500)),
        allow_private_webhooks: run.allow_private_webhooks
            || file.allow_private_webhooks.unwrap_or(false),
        approvals_every: Some(std::time::Duration::from_secs(30)),
        compact_levels_every: Some(std::time::Duration::from_secs(600)),
        mail,
        // A sandbox's simulated devices report as fast as its sped-up time asks.
        limits: if sandbox {
            limits.without_rates()
        } else {
            limits
        },
        simulate_every: sandbox.then_some(std::time::Duration::from_millis(500)),
        review_items_every: Some(if sandbox {
            std::time::Duration::from_secs(1)
        } else {
            std::time::Duration::from_secs(60)
        }),
    };
    Ok((config, certificate, announce))
}

/// The service's HTTPS certificate, and whether it was made just now.
struct Certificate {
    tls: Tls,
    /// The folder of a self-signed certificate made just now.
    made_in: Option<PathBuf>,
}

/// The certificate to serve HTTPS with: the operator's, or the self-signed one in the data
/// folder (made if missing) when asked or when `listen` is off loopback; `None` for plain HTTP.
/// With no `listen` (the `fingerprint` command), the one the service would use off loopback.
fn certificate(
    place: &Place,
    https: &Https,
    file: &FileConfig,
    database: &Database,
    listen: Option<SocketAddr>,
) -> Result<Option<Certificate>, String> {
    let cert = https.tls_cert.clone().or_else(|| file.tls_cert.clone());
    let key = https.tls_key.clone().or_else(|| file.tls_key.clone());
    match (cert, key) {
        (Some(cert), Some(key)) => {
            if https.self_signed || https.plain_http {
                return Err(
                    "the configuration file gives a certificate (tls_cert): leave out \
                     --self-signed and --plain-http"
                        .to_owned(),
                );
            }
            return Tls::from_files(&cert, &key)
                .map(|tls| Some(Certificate { tls, made_in: None }))
                .map_err(|e| e.to_string());
        }
        (Some(_), None) => return Err("tls_cert needs tls_key, its private key".to_owned()),
        (None, Some(_)) => return Err("tls_key needs tls_cert, its certificate".to_owned()),
        (None, None) => {}
    }
    let self_signed = https.self_signed || file.self_signed.unwrap_or(false);
    let plain = https.plain_http || file.plain_http.unwrap_or(false);
    if self_signed && plain {
        return Err("choose either self_signed or plain_http, not both".to_owned());
    }
    let off_loopback = listen.is_some_and(|l| !l.ip().is_loopback());
    if plain || !(self_signed || off_loopback || listen.is_none()) {
        return Ok(None);
    }
    let folder = place
        .data_dir
        .clone()
        .or_else(|| file.data_dir.clone())
        .or_else(|| match database {
            Database::File(path) => path.parent().map(std::path::Path::to_owned),
            #[allow(unreachable_patterns)]
            _ => None,
        })
        .filter(|folder| !folder.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));
    let also: Vec<String> = listen
        .map(|l| l.ip())
        .filter(|ip| !ip.is_unspecified())
        .map(|ip| ip.to_string())
        .into_iter()
        .collect();
    let (tls, made) = Tls::self_signed(&folder, &also).map_err(|e| e.to_string())?;
    Ok(Some(Certificate {
        tls,
        made_in: made.then(|| folder.join(refill_service::http::tls::FOLDER)),
    }))
}

/// Runs an operator's command on the database; exit code 2 for what the operator must change.
async fn operate(place: &Place, https: &Https, command: Command) -> ExitCode {
    let name = command.name();
    if let Command::Fingerprint = command {
        return match file_config(place).and_then(|file| {
            let database = database(place, &file)?;
            certificate(place, https, &file, &database, None)
        }) {
            Ok(Some(certificate)) => {
                println!("{}", certificate.tls.fingerprint());
                if let Some(folder) = certificate.made_in {
                    eprintln!(
                        "(a new self-signed certificate, kept in {})",
                        folder.display()
                    );
                }
                ExitCode::SUCCESS
            }
            Ok(None) => refused(
                name,
                "the service serves plain HTTP (plain_http): it has no certificate",
            ),
            Err(message) => refused(name, &message),
        };
    }
    let operation = match Operation::of(command) {
        Ok(operation) => operation,
        Err(message) => return refused(name, &message),
    };
    let database = match file_config(place).and_then(|file| database(place, &file)) {
        Ok(database) => database,
        Err(message) => {
            eprintln!("refill-service: {message}");
            return ExitCode::from(2);
        }
    };
    let store = match refill_service::Store::open(&database).await {
        Ok(store) => store,
        Err(e) => {
            eprintln!("refill-service: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match operation {
        Operation::Clients(command) => clients::run(&store, command).await,
        Operation::Catalog(command) => catalog::run(&store, command).await,
        Operation::Models(command) => models::run(&store, command).await,
        Operation::Customers(command) => {
            customers::run(&store, command, time::OffsetDateTime::now_utc()).await
        }
        Operation::AdminTokens(command) => {
            admin_tokens::run(&store, command, time::OffsetDateTime::now_utc()).await
        }
    };
    store.close().await;
    match outcome {
        Ok(done) => {
            print!("{}", done.text);
            ExitCode::SUCCESS
        }
        Err(refusal) if refusal.kind == Refused::Database => {
            eprintln!("refill-service {name}: {}", refusal.message);
            ExitCode::FAILURE
        }
        Err(refusal) => refused(name, &refusal.message),
    }
}

/// An operator's command, made into the operation it runs (files read first).
enum Operation {
    Clients(clients::Command),
    Catalog(catalog::Command),
    Models(models::Command),
    Customers(customers::Command),
    AdminTokens(admin_tokens::Command),
}

impl Command {
    /// Its name, as the operator typed it.
    fn name(&self) -> &'static str {
        match self {
            Command::Clients(_) => "clients",
            Command::Catalog(_) => "catalog",
            Command::Models(_) => "models",
            Command::Customers(_) => "customers",
            Command::AdminTokens(_) => "admin-tokens",
            Command::Fingerprint => "fingerprint",
        }
    }
}

impl Operation {
    fn of(command: Command) -> Result<Self, String> {
        Ok(match command {
            Command::Clients(command) => Operation::Clients(match command {
                ClientsCommand::Add {
                    id,
                    name,
                    redirect_uris,
                    public,
                } => clients::Command::Add(clients::NewClient {
                    id,
                    name,
                    redirect_uris,
                    public,
                }),
                ClientsCommand::List => clients::Command::List,
                ClientsCommand::NewSecret { id } => clients::Command::NewSecret(id),
            }),
            Command::Catalog(command) => Operation::Catalog(match command {
                CatalogCommand::Import { file } => catalog::Command::import_file(&file)?,
                CatalogCommand::List => catalog::Command::List,
            }),
            Command::Models(command) => Operation::Models(match command {
                ModelsCommand::Add { file } => models::Command::add_file(&file)?,
                ModelsCommand::List => models::Command::List,
            }),
            Command::AdminTokens(command) => Operation::AdminTokens(match command {
                AdminTokensCommand::Create { name } => admin_tokens::Command::Create(name),
                AdminTokensCommand::List => admin_tokens::Command::List,
                AdminTokensCommand::Revoke { name } => admin_tokens::Command::Revoke(name),
            }),
            Command::Fingerprint => return Err("it has no operation".to_owned()),
            Command::Customers(command) => Operation::Customers(match command {
                CustomersCommand::Invite { email, days } => {
                    customers::Command::Invite { email, days }
                }
                CustomersCommand::List => customers::Command::List,
                CustomersCommand::Disable { email } => customers::Command::Disable(email),
                CustomersCommand::Enable { email } => customers::Command::Enable(email),
                CustomersCommand::Delete { email, yes } => {
                    customers::Command::Delete { email, yes }
                }
            }),
        })
    }
}

/// What the operator must change: said, and exit code 2.
fn refused(command: &str, message: &str) -> ExitCode {
    eprintln!("refill-service {command}: {message}");
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    refill_service::init_logging();
    let cli = match parse() {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    if let Some(command) = cli.command {
        return operate(&cli.place, &cli.run.https, command).await;
    }
    let (config, certificate, announce) =
        match file_config(&cli.place).and_then(|file| service_config(cli.run, &cli.place, file)) {
            Ok(config) => config,
            Err(message) => {
                eprintln!("refill-service: {message}");
                return ExitCode::from(2);
            }
        };
    let stopped = stop_signals();
    let service = match start(config).await {
        Ok(service) => service,
        Err(e) => {
            eprintln!("refill-service: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("Refill service listening on {}", service.base_url());
    let fingerprint = certificate
        .as_ref()
        .map(|c| c.tls.fingerprint().to_string());
    let announcement = announce.and_then(|name| {
        match refill_service::announce::Announcement::start(
            &name,
            service.local_addr().port(),
            fingerprint.as_deref(),
        ) {
            Ok(announcement) => {
                println!("Announced on the local network as \"{name}\" (_refill._tcp).");
                Some(announcement)
            }
            Err(e) => {
                // The service works without it: the app can be given its address.
                eprintln!("refill-service: {e}");
                None
            }
        }
    });
    if let Some(certificate) = certificate {
        if let Some(folder) = certificate.made_in {
            println!(
                "A new self-signed certificate, kept in {}: the same one is used from now on.",
                folder.display()
            );
        }
        // What the app shows when it first connects, and what devices are given: the person
        // compares the two.
        println!(
            "Its HTTPS certificate's SHA-256 fingerprint: {}",
            certificate.tls.fingerprint()
        );
    }
    stopped.await;
    if let Some(announcement) = announcement {
        announcement.stop();
    }
    service.shutdown().await;
    ExitCode::SUCCESS
}

/// Ctrl+C, or SIGTERM (how systemd stops a service): listened for from when this is called, so
/// that a signal that comes as soon as the service says it listens (or while it starts) stops
/// it cleanly too, instead of killing it.
fn stop_signals() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let signals = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        );
        async move {
            match signals {
                (Ok(mut term), Ok(mut interrupt)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = interrupt.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
