//! `refill`: sign in to a Refill service (or any OAuth 2.0 provider), see who is signed in, sign
//! out. Tokens live only in the system keyring, shared with the Refill app. And `refill devices`
//! finds devices and gives them Wi-Fi; `refill items` tracks things without a device.

mod devices;
mod items;
mod linked;

use clap::{Args, Parser, Subcommand};
use refill_auth::{
    start_sign_in, AuthError, KeyringStore, Profile, Provider, Session, SIGN_IN_TIMEOUT,
};
use refill_core::SystemClock;
use refill_tls::{Fingerprint, Trust};
use std::process::ExitCode;
use std::sync::Arc;

/// Sign in to Refill from the command line (the sign-in is kept in the system keyring, shared
/// with the Refill app), and manage devices, items and the account.
#[derive(Parser, Debug)]
#[command(name = "refill", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Sign in: the sign-in page opens in the browser
    Login {
        /// Print the sign-in address instead of opening a browser
        #[arg(long)]
        no_browser: bool,
        #[command(flatten)]
        provider: ProviderArgs,
    },
    /// Who is signed in
    Whoami {
        #[command(flatten)]
        provider: ProviderArgs,
    },
    /// Sign out: the sign-in is revoked and forgotten
    Logout {
        #[command(flatten)]
        provider: ProviderArgs,
    },
    /// Find devices and give them Wi-Fi, and manage those linked to your account
    #[command(subcommand)]
    Devices(devices::Command),
    /// Your account on a Refill service
    #[command(subcommand)]
    Account(linked::AccountCommand),
    /// Track things without a device (they get forecasts, low-supply notices and smart reorder
    /// like a device's supplies)
    #[command(subcommand)]
    Items(items::Command),
    /// The Refill services that announce themselves on this network (mDNS): name, address,
    /// certificate fingerprint
    Services {
        /// How long to listen, 0.5 to 60
        #[arg(long, value_name = "N", default_value_t = 2.0, value_parser = seconds)]
        seconds: f64,
    },
}

/// The Refill service a command talks to: every command that needs one takes these.
#[derive(Args, Debug, Clone, Default)]
pub(crate) struct ServiceArgs {
    /// The Refill service (a sandbox on this computer needs no sign-in)
    #[arg(long, env = "REFILL_SERVICE_URL", value_name = "URL", value_parser = service_url_arg)]
    pub service: Option<String>,
    /// The SHA-256 fingerprint of its own certificate (a home server's: the service prints it
    /// when it starts)
    #[arg(long, env = FINGERPRINT_VAR, value_name = "FP")]
    pub fingerprint: Option<String>,
}

/// Who to sign in with: a Refill service, or any OAuth 2.0 provider (authorization code + PKCE,
/// loopback redirect).
#[derive(Args, Debug)]
struct ProviderArgs {
    #[command(flatten)]
    service: ServiceArgs,
    /// Another provider's authorization endpoint
    #[arg(long, env = "REFILL_AUTH_AUTHORIZE_URL", value_name = "URL")]
    authorize_url: Option<String>,
    /// Its token endpoint
    #[arg(long, env = "REFILL_AUTH_TOKEN_URL", value_name = "URL")]
    token_url: Option<String>,
    /// Its revocation endpoint (optional)
    #[arg(long, env = "REFILL_AUTH_REVOKE_URL", value_name = "URL")]
    revoke_url: Option<String>,
    /// Its profile or userinfo endpoint (optional)
    #[arg(long, env = "REFILL_AUTH_PROFILE_URL", value_name = "URL")]
    profile_url: Option<String>,
    /// This app's client id with it
    #[arg(long, env = "REFILL_AUTH_CLIENT_ID", value_name = "ID")]
    client_id: Option<String>,
    /// The secret some providers give installed apps (optional)
    #[arg(
        long,
        env = "REFILL_AUTH_CLIENT_SECRET",
        value_name = "TEXT",
        hide_env_values = true
    )]
    client_secret: Option<String>,
    /// A scope to ask for (repeatable; the environment variable's are space-separated)
    #[arg(
        long = "scope",
        env = "REFILL_AUTH_SCOPES",
        value_name = "SCOPE",
        value_delimiter = ' '
    )]
    scopes: Vec<String>,
}

/// A sign-in command's settings.
#[derive(Debug)]
struct SignIn {
    command: &'static str,
    no_browser: bool,
    provider: Provider,
    /// The Refill service's base URL, when the provider is one, and the fingerprint of its
    /// certificate given with `--fingerprint`.
    pinned: Option<(String, String)>,
}

/// `--service`'s value: an http:// or https:// URL, without a trailing slash.
fn service_url_arg(service: &str) -> Result<String, String> {
    let base = service.trim().trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(format!(
            "'{service}' is not a service URL: it must start with http:// or https://"
        ));
    }
    Ok(base.to_owned())
}

/// `--seconds`' value for `refill services`.
fn seconds(n: &str) -> Result<f64, String> {
    n.parse::<f64>()
        .ok()
        .filter(|n| (0.5..=60.0).contains(n))
        .ok_or_else(|| format!("'{n}' is not a number of seconds from 0.5 to 60"))
}

impl ProviderArgs {
    /// The provider these name, for `command`.
    fn sign_in(self, command: &'static str, no_browser: bool) -> Result<SignIn, String> {
        let scopes = (!self.scopes.is_empty()).then(|| self.scopes.join(" "));
        let setting = |name: &str| -> Option<String> {
            match name {
                "authorize-url" => self.authorize_url.clone(),
                "token-url" => self.token_url.clone(),
                "revoke-url" => self.revoke_url.clone(),
                "profile-url" => self.profile_url.clone(),
                "client-id" => self.client_id.clone(),
                "client-secret" => self.client_secret.clone(),
                "scopes" => scopes.clone(),
                _ => None,
            }
        };
        let mut pinned = None;
        let provider = if let Some(provider) = Provider::from_settings(setting)? {
            provider
        } else if let Some(base) = self.service.service.clone() {
            let mut provider = Provider::refill(&base, &base);
            if let Some(scopes) = &scopes {
                provider.scopes = scopes.split(' ').map(str::to_owned).collect();
            }
            pinned = self
                .service
                .fingerprint
                .filter(|f| !f.trim().is_empty())
                .map(|f| (base, f));
            provider
        } else {
            return Err(
                "say which service to sign in to: --service URL (or REFILL_SERVICE_URL), \
                 or a provider's --authorize-url, --token-url and --client-id"
                    .to_owned(),
            );
        };
        Ok(SignIn {
            command,
            no_browser,
            provider,
            pinned,
        })
    }
}

/// What the provider said of the person: their name and `<email>`, whichever it gave.
fn describe(profile: &Profile) -> String {
    let email = profile.email.as_ref().map(|e| format!("<{e}>"));
    let parts: Vec<&str> = [profile.name.as_deref(), email.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    if parts.is_empty() {
        "someone the provider did not name".to_owned()
    } else {
        parts.join(" ")
    }
}

async fn run(mut args: SignIn) -> Result<(), String> {
    if let Some((base, fingerprint)) = &args.pinned {
        args.provider.trust = trust(base, Some(fingerprint)).await?;
    }
    KeyringStore::use_os_keyring()
        .map_err(|e| format!("{e} Refill keeps sign-ins only in the system keyring."))?;
    let session = Session::new(
        args.provider.clone(),
        Arc::new(KeyringStore::default()),
        Arc::new(SystemClock),
    );
    match args.command {
        "login" => {
            // Before the browser: a sign-in the keyring can't keep would be lost.
            session.check_store().await.map_err(|e| e.to_string())?;
            let pending = start_sign_in(&args.provider)
                .await
                .map_err(|e| e.to_string())?;
            if args.no_browser || !refill_auth::open_in_browser(pending.authorize_url()) {
                eprintln!("Open this address in a browser to sign in (waiting up to 5 minutes, Ctrl-C to cancel):");
                println!("{}", pending.authorize_url());
            } else {
                eprintln!(
                    "Your browser is open to sign in (waiting up to 5 minutes, Ctrl-C to cancel)."
                );
            }
            let cancel = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            // The browser's page says "Signed in" once the tokens are in the keyring.
            pending
                .finish_and_keep(SIGN_IN_TIMEOUT, cancel, &SystemClock, async |tokens| {
                    session.store_tokens(tokens).await
                })
                .await
                .map_err(|e| e.to_string())?;
            match session.profile().await {
                Ok(Some(p)) => println!("Signed in as {}.", describe(&p)),
                Ok(None) => println!("Signed in."),
                Err(e) => println!("Signed in (but the profile could not be read: {e})."),
            }
            Ok(())
        }
        "whoami" => match session.profile().await {
            Ok(Some(p)) => {
                match &p.user_id {
                    Some(id) => println!("{} ({id})", describe(&p)),
                    None => println!("{}", describe(&p)),
                }
                Ok(())
            }
            Ok(None) if session.is_signed_in().await.unwrap_or(false) => {
                println!("Signed in (this provider has no profile endpoint).");
                Ok(())
            }
            Ok(None) => Err(AuthError::SignedOut.to_string()),
            Err(e) => Err(e.to_string()),
        },
        _ => {
            if !session.is_signed_in().await.map_err(|e| e.to_string())? {
                println!("You were not signed in.");
                return Ok(());
            }
            let revoked = session.sign_out().await.map_err(|e| e.to_string())?;
            if revoked || session.provider().revoke_url.is_none() {
                println!("Signed out.");
            } else {
                println!("Signed out here; the sign-in service did not confirm that it revoked the sign-in.");
            }
            Ok(())
        }
    }
}

/// The Refill service's base URL from `--service` (or `REFILL_SERVICE_URL`); `missing` says
/// what needs it when neither is set.
pub(crate) fn service_url(service: &ServiceArgs, missing: &str) -> Result<String, String> {
    service
        .service
        .clone()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("{missing}: --service URL (or REFILL_SERVICE_URL)"))
}

/// `refill services`: the Refill services announced on this network, one a line (name,
/// address, certificate fingerprint as announced: compare it before trusting it).
async fn services(seconds: f64) -> Result<(), String> {
    let found = refill_client::discover::browse(std::time::Duration::from_secs_f64(seconds))
        .await
        .map_err(|e| format!("could not look for Refill services on this network: {e}"))?;
    if found.is_empty() {
        println!("No Refill service announced itself on this network.");
    }
    for service in found {
        println!(
            "{}\t{}\t{}",
            service.name,
            service.url,
            service.fingerprint.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}

/// The environment variable of `--fingerprint`.
const FINGERPRINT_VAR: &str = "REFILL_SERVICE_FINGERPRINT";

/// How to trust the service at `base`: with `--fingerprint` (`given`, or
/// `REFILL_SERVICE_FINGERPRINT`), its own certificate when that is its fingerprint (refused in
/// words otherwise, before anything is sent); else the system's authorities.
pub(crate) async fn trust(base: &str, given: Option<&str>) -> Result<Trust, String> {
    let given = given.filter(|f| !f.trim().is_empty());
    let Some(given) = given else {
        return Ok(Trust::System);
    };
    let fingerprint: Fingerprint = given.parse()?;
    refill_tls::pin(base, fingerprint)
        .await
        .map(Trust::Pinned)
        .map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    let done = match Cli::parse().command {
        Command::Login {
            no_browser,
            provider,
        } => match provider.sign_in("login", no_browser) {
            Ok(args) => run(args).await,
            Err(e) => Err(e),
        },
        Command::Whoami { provider } => match provider.sign_in("whoami", false) {
            Ok(args) => run(args).await,
            Err(e) => Err(e),
        },
        Command::Logout { provider } => match provider.sign_in("logout", false) {
            Ok(args) => run(args).await,
            Err(e) => Err(e),
        },
        Command::Devices(command) => devices::main(command).await,
        Command::Account(command) => linked::account(command).await,
        Command::Items(command) => items::main(command).await,
        Command::Services { seconds } => services(seconds).await,
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("refill: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(a: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("refill").chain(a.iter().copied()))
    }

    fn sign_in(a: &[&str]) -> Result<SignIn, String> {
        match parse(a).map_err(|e| e.to_string())?.command {
            Command::Login {
                provider,
                no_browser,
            } => provider.sign_in("login", no_browser),
            Command::Whoami { provider } => provider.sign_in("whoami", false),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_refill_service_or_any_provider_can_be_named() {
        let a = sign_in(&["login", "--service", "http://svc:8750/"]).unwrap();
        assert_eq!(a.provider.token_url, "http://svc:8750/auth/o2/token");
        assert_eq!(
            a.provider.profile_url.as_deref(),
            Some("http://svc:8750/user/profile")
        );
        let a = sign_in(&[
            "login",
            "--no-browser",
            "--authorize-url",
            "https://id.example/authorize",
            "--token-url",
            "https://id.example/token",
            "--client-id",
            "cli",
            "--scope",
            "openid",
            "--scope",
            "email",
        ])
        .unwrap();
        assert!(a.no_browser);
        assert_eq!(a.provider.client_id, "cli");
        assert_eq!(a.provider.scopes, ["openid", "email"]);
        assert_eq!(a.provider.revoke_url, None);
    }

    #[test]
    fn usage_errors_say_what_is_wrong() {
        assert!(parse(&["fly"]).unwrap_err().to_string().contains("'fly'"));
        assert!(sign_in(&["whoami"]).unwrap_err().contains("--service URL"));
        assert!(sign_in(&["login", "--service", "svc:8750"])
            .unwrap_err()
            .contains("is not a service URL: it must start with http://"));
        assert!(sign_in(&["login", "--token-url", "https://x/t"])
            .unwrap_err()
            .contains("--authorize-url"));
        assert!(parse(&["services", "--seconds", "600"])
            .unwrap_err()
            .to_string()
            .contains("from 0.5 to 60"));
    }

    #[test]
    fn every_option_is_declared_once_and_consistently() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
