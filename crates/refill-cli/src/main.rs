//! `refill`: sign in to a Refill service (or any OAuth 2.0 provider), see who is signed in, sign
//! out. Tokens live only in the system keyring, shared with the Refill app. And `refill devices`
//! finds devices and gives them Wi-Fi; `refill items` tracks things without a device.

mod devices;
mod items;
mod linked;

use refill_auth::{
    start_sign_in, AuthError, KeyringStore, Profile, Provider, Session, SIGN_IN_TIMEOUT,
};
use refill_core::SystemClock;
use refill_tls::{Fingerprint, Trust};
use std::process::ExitCode;
use std::sync::Arc;

const USAGE: &str = "\
refill: sign in to Refill from the command line

USAGE:
    refill login [--no-browser] [PROVIDER OPTIONS]
    refill whoami [PROVIDER OPTIONS]
    refill logout [PROVIDER OPTIONS]
    refill devices list | remove | rename | product | scan | provision …   (refill devices --help)
    refill account export | delete …   (refill account --help)
    refill items list | add | opened | ran-out | remove …   (refill items --help)
    refill services [--seconds N]   the Refill services that announce themselves on this
                                    network (mDNS): name, address, certificate fingerprint

PROVIDER OPTIONS (flags, or the environment variables in brackets):
    --service URL         a Refill service                       [REFILL_SERVICE_URL]
    --fingerprint FP      the SHA-256 fingerprint of its own certificate (a home server's: the
                          service prints it when it starts)      [REFILL_SERVICE_FINGERPRINT]
  or any OAuth 2.0 provider (authorization code + PKCE, loopback redirect):
    --authorize-url URL   its authorization endpoint             [REFILL_AUTH_AUTHORIZE_URL]
    --token-url URL       its token endpoint                     [REFILL_AUTH_TOKEN_URL]
    --revoke-url URL      its revocation endpoint (optional)     [REFILL_AUTH_REVOKE_URL]
    --profile-url URL     its profile/userinfo endpoint (optional) [REFILL_AUTH_PROFILE_URL]
    --client-id ID        this app's client id                   [REFILL_AUTH_CLIENT_ID]
    --client-secret TEXT  the secret some providers give installed apps (optional)
                                                                 [REFILL_AUTH_CLIENT_SECRET]
    --scope SCOPE         a scope to ask for (repeatable)        [REFILL_AUTH_SCOPES, space-separated]

OPTIONS:
    --no-browser          print the sign-in address instead of opening a browser
    -h, --help            show this help
";

#[derive(Debug)]
struct Args {
    command: String,
    no_browser: bool,
    provider: Provider,
    /// The Refill service's base URL, when the provider is one, and the fingerprint of its
    /// certificate given with `--fingerprint`.
    pinned: Option<(String, String)>,
}

fn parse(args: Vec<String>, env: impl Fn(&str) -> Option<String>) -> Result<Option<Args>, String> {
    let mut it = args.into_iter();
    let Some(command) = it.next() else {
        return Ok(None);
    };
    if command == "-h" || command == "--help" {
        return Ok(None);
    }
    if !["login", "whoami", "logout"].contains(&command.as_str()) {
        return Err(format!("unknown command '{command}'"));
    }
    let mut flags: std::collections::HashMap<&str, String> = std::collections::HashMap::new();
    let mut scopes: Vec<String> = Vec::new();
    let mut no_browser = false;
    while let Some(arg) = it.next() {
        let name = match arg.as_str() {
            "--no-browser" => {
                no_browser = true;
                continue;
            }
            "-h" | "--help" => return Ok(None),
            "--service" => "service",
            "--fingerprint" => "fingerprint",
            "--authorize-url" => "authorize-url",
            "--token-url" => "token-url",
            "--revoke-url" => "revoke-url",
            "--profile-url" => "profile-url",
            "--client-id" => "client-id",
            "--client-secret" => "client-secret",
            "--scope" => "scope",
            other => return Err(format!("unknown option '{other}'")),
        };
        let value = it.next().ok_or_else(|| format!("{arg} needs a value"))?;
        if name == "scope" {
            scopes.push(value);
        } else {
            flags.insert(name, value);
        }
    }
    let scopes_flag = (!scopes.is_empty()).then(|| scopes.join(" "));
    let setting = |name: &str| -> Option<String> {
        let flag = match name {
            "scopes" => scopes_flag.clone(),
            other => flags.get(other).cloned(),
        };
        flag.or_else(|| env(&Provider::env_var(name)))
    };
    let service = flags
        .get("service")
        .cloned()
        .or_else(|| env("REFILL_SERVICE_URL"))
        .filter(|v| !v.is_empty());
    let mut pinned = None;
    let provider = if let Some(provider) = Provider::from_settings(setting)? {
        provider
    } else if let Some(service) = service {
        let base = service.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(format!(
                "'{service}' is not a service URL: it must start with http:// or https://"
            ));
        }
        let mut provider = Provider::refill(base, base);
        if let Some(scopes) = scopes_flag {
            provider.scopes = scopes.split(' ').map(str::to_owned).collect();
        }
        pinned = flags
            .get("fingerprint")
            .cloned()
            .or_else(|| env(FINGERPRINT_VAR))
            .filter(|f| !f.trim().is_empty())
            .map(|f| (base.to_owned(), f));
        provider
    } else {
        return Err(
            "say which service to sign in to: --service URL (or REFILL_SERVICE_URL), \
                    or a provider's --authorize-url, --token-url and --client-id"
                .to_owned(),
        );
    };
    Ok(Some(Args {
        command,
        no_browser,
        provider,
        pinned,
    }))
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

async fn run(mut args: Args) -> Result<(), String> {
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
    match args.command.as_str() {
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

/// The Refill service's base URL: `flag`, or `REFILL_SERVICE_URL`; `missing` says what needs it
/// when neither is set.
pub(crate) fn service_url(flag: Option<&str>, missing: &str) -> Result<String, String> {
    let service = flag
        .map(str::to_owned)
        .or_else(|| std::env::var("REFILL_SERVICE_URL").ok())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("{missing}: --service URL (or REFILL_SERVICE_URL)"))?;
    let base = service.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(format!(
            "'{service}' is not a service URL: it must start with http:// or https://"
        ));
    }
    Ok(base.to_owned())
}

/// `refill services [--seconds N]`: the Refill services announced on this network, one a line
/// (name, address, certificate fingerprint as announced: compare it before trusting it).
async fn services(args: &[String]) -> Result<(), String> {
    let seconds = match args {
        [] => 2.0,
        [flag, n] if flag == "--seconds" => n
            .parse::<f64>()
            .ok()
            .filter(|n| (0.5..=60.0).contains(n))
            .ok_or_else(|| format!("'{n}' is not a number of seconds from 0.5 to 60"))?,
        _ => return Err("usage: refill services [--seconds N]".to_owned()),
    };
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

/// How to trust the service at `base`: with `--fingerprint` (`flag`) or
/// `REFILL_SERVICE_FINGERPRINT`, its own certificate when that is its fingerprint (refused in
/// words otherwise, before anything is sent); else the system's authorities.
pub(crate) async fn trust(base: &str, flag: Option<&str>) -> Result<Trust, String> {
    let given = flag
        .map(str::to_owned)
        .or_else(|| std::env::var(FINGERPRINT_VAR).ok())
        .filter(|f| !f.trim().is_empty());
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
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let subcommand = match argv.first().map(String::as_str) {
        Some("items") => Some(items::main(&argv[1..]).await),
        Some("devices") => Some(devices::main(&argv[1..]).await),
        Some("account") => Some(linked::account(&argv[1..]).await),
        Some("services") => Some(services(&argv[1..]).await),
        _ => None,
    };
    if let Some(done) = subcommand {
        return match done {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("refill: {message}");
                ExitCode::FAILURE
            }
        };
    }
    let args = match parse(argv, |k| std::env::var(k).ok()) {
        Ok(Some(args)) => args,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("refill: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
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

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_refill_service_or_any_provider_can_be_named() {
        let a = parse(args(&["login", "--service", "http://svc:8750/"]), |_| None)
            .unwrap()
            .unwrap();
        assert_eq!(a.provider.token_url, "http://svc:8750/auth/o2/token");
        assert_eq!(
            a.provider.profile_url.as_deref(),
            Some("http://svc:8750/user/profile")
        );
        let env = |k: &str| match k {
            "REFILL_AUTH_AUTHORIZE_URL" => Some("https://id.example/authorize".to_owned()),
            "REFILL_AUTH_TOKEN_URL" => Some("https://id.example/token".to_owned()),
            "REFILL_AUTH_CLIENT_ID" => Some("cli".to_owned()),
            "REFILL_AUTH_SCOPES" => Some("openid email".to_owned()),
            _ => None,
        };
        let a = parse(args(&["whoami", "--no-browser"]), env)
            .unwrap()
            .unwrap();
        assert!(a.no_browser);
        assert_eq!(a.provider.client_id, "cli");
        assert_eq!(a.provider.scopes, ["openid", "email"]);
        assert_eq!(a.provider.revoke_url, None);
    }

    #[test]
    fn usage_errors_say_what_is_wrong() {
        assert!(parse(args(&["fly"]), |_| None)
            .unwrap_err()
            .contains("unknown command"));
        assert!(parse(args(&["login"]), |_| None)
            .unwrap_err()
            .contains("--service URL"));
        assert!(parse(args(&["login", "--service", "svc:8750"]), |_| None)
            .unwrap_err()
            .contains("http://"));
        assert!(
            parse(args(&["login", "--token-url", "https://x/t"]), |_| None)
                .unwrap_err()
                .contains("--authorize-url")
        );
        assert!(parse(args(&[]), |_| None).unwrap().is_none());
    }
}
