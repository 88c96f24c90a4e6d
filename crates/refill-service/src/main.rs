//! `refill-service`: runs the Refill service on its own.

use refill_core::{FastClock, OrderPolicy, SystemClock};
use refill_service::{start, Database, ServiceConfig};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

const USAGE: &str = "\
refill-service: the self-hostable Refill replenishment service

USAGE:
    refill-service [--db FILE|URL] [--listen ADDR] [--sandbox] [--speed N] [--require-sign-in]
                   [--allow-private-webhooks] [--max-connections N] [--read-timeout SECONDS]
                   [--approval-hours N]
    refill-service clients add|list|new-secret …   (device makers' OAuth clients; clients --help)

OPTIONS:
    --db FILE|URL    where the data lives: a SQLite file, created if missing, or a
                     postgres://user:password@host:5432/database URL, which several
                     instances can share [env REFILL_DB; default refill.sqlite]
    --listen ADDR    address to listen on [env REFILL_LISTEN; default 127.0.0.1:8750]
    --sandbox        seed a new database with the sandbox customer, devices and catalog,
                     fulfil orders itself (shipped when they can no longer be cancelled,
                     delivered when due), and have its devices use up their supplies and
                     report them through the DRS API
    --speed N        run the service's time N times faster than real time (8640: a day every
                     ten seconds), for demos [env REFILL_SPEED; default 1]
    --require-sign-in  make a sandbox refuse API requests without a valid sign-in too (a
                     service that is not a sandbox always does; a sandbox serves callers
                     without one as its demo customer, and only on a loopback address)
    --allow-private-webhooks  let device makers' webhooks reach loopback, link-local and
                     private addresses (a home network); by default they reach public
                     addresses only
    --max-connections N  connections served at once (default 768; an eighth of them, at
                     least 16, from one address); more are closed as soon as they arrive
    --read-timeout SECONDS  how long a request's headers, and then its body, may take to
                     arrive, and how long a kept-alive connection may sit idle (default 10)
    --approval-hours N  how long a press that waits for the customer's approval waits
                     before it expires unanswered (1 to 720; default 24)
    -h, --help       show this help
";

struct Args {
    db: Database,
    listen: SocketAddr,
    sandbox: bool,
    speed: f64,
    require_sign_in: bool,
    allow_private_webhooks: bool,
    limits: refill_service::http::serve::Limits,
    approval_lifetime: time::Duration,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut db = std::env::var("REFILL_DB").unwrap_or_else(|_| "refill.sqlite".into());
    let mut listen = std::env::var("REFILL_LISTEN").unwrap_or_else(|_| "127.0.0.1:8750".into());
    let mut sandbox = false;
    let mut speed = std::env::var("REFILL_SPEED").unwrap_or_else(|_| "1".into());
    let mut require_sign_in = false;
    let mut allow_private_webhooks = false;
    let mut limits = refill_service::http::serve::Limits::default();
    let mut approval_lifetime = OrderPolicy::default().approval_lifetime;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--sandbox" => sandbox = true,
            "--require-sign-in" => require_sign_in = true,
            "--allow-private-webhooks" => allow_private_webhooks = true,
            "--max-connections" => {
                let n: usize = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| *n >= 16)
                    .ok_or("--max-connections needs a number of 16 or more")?;
                limits.connections = n;
                limits.per_address = (n / 8).max(16);
            }
            "--read-timeout" => {
                let seconds: f64 = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n: &f64| n.is_finite() && *n >= 0.5 && *n <= 600.0)
                    .ok_or("--read-timeout needs a number of seconds from 0.5 to 600")?;
                limits.headers = std::time::Duration::from_secs_f64(seconds);
                limits.body = limits.headers;
            }
            "--approval-hours" => {
                let hours: i64 = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| (1..=720).contains(n))
                    .ok_or("--approval-hours needs a number of hours from 1 to 720")?;
                approval_lifetime = time::Duration::hours(hours);
            }
            "--speed" => speed = args.next().ok_or("--speed needs a number such as 8640")?,
            "--db" => {
                db = args
                    .next()
                    .ok_or("--db needs a file name or a postgres:// URL")?
            }
            "--listen" => {
                listen = args
                    .next()
                    .ok_or("--listen needs an address such as 127.0.0.1:8750")?
            }
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    let db = Database::parse(&db)?;
    let listen = listen
        .parse()
        .map_err(|_| format!("'{listen}' is not an address such as 127.0.0.1:8750"))?;
    let speed = match speed.parse::<f64>() {
        Ok(n) if n.is_finite() && n >= 1.0 => n,
        _ => {
            return Err(format!(
                "'{speed}' is not a speed: give a number of 1 or more"
            ))
        }
    };
    Ok(Some(Args {
        db,
        listen,
        sandbox,
        speed,
        require_sign_in,
        allow_private_webhooks,
        limits,
        approval_lifetime,
    }))
}

/// `refill-service clients …` (see [`refill_service::clients`]): `--db` as the service takes it.
async fn clients(args: &[String]) -> ExitCode {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{}", refill_service::clients::USAGE);
        return ExitCode::SUCCESS;
    }
    let mut db = std::env::var("REFILL_DB").unwrap_or_else(|_| "refill.sqlite".into());
    let mut rest = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--db" {
            match args.next() {
                Some(value) => db = value.clone(),
                None => {
                    eprintln!("refill-service: --db needs a file name or a postgres:// URL");
                    return ExitCode::from(2);
                }
            }
        } else {
            rest.push(arg.clone());
        }
    }
    let database = match Database::parse(&db) {
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
    let outcome = refill_service::clients::run(&store, &rest).await;
    store.close().await;
    match outcome {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!(
                "refill-service clients: {message}\n\n{}",
                refill_service::clients::USAGE
            );
            ExitCode::from(2)
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    refill_service::init_logging();
    let all: Vec<String> = std::env::args().skip(1).collect();
    if all.first().map(String::as_str) == Some("clients") {
        return clients(&all[1..]).await;
    }
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("refill-service: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let config = ServiceConfig {
        database: args.db,
        listen: args.listen,
        sandbox: args.sandbox,
        require_sign_in: args.require_sign_in,
        policy: OrderPolicy {
            approval_lifetime: args.approval_lifetime,
            ..OrderPolicy::default()
        },
        clock: if args.speed > 1.0 {
            Arc::new(FastClock::new(args.speed))
        } else {
            Arc::new(SystemClock)
        },
        fulfil_every: args.sandbox.then_some(std::time::Duration::from_secs(1)),
        // The sandbox's simulated devices stand still while nothing runs: after a pause they
        // would all look silent.
        watch_every: (!args.sandbox).then_some(std::time::Duration::from_secs(60)),
        deliver_every: Some(std::time::Duration::from_millis(500)),
        allow_private_webhooks: args.allow_private_webhooks,
        approvals_every: Some(std::time::Duration::from_secs(30)),
        // A sandbox's simulated devices report as fast as its sped-up time asks.
        limits: if args.sandbox {
            args.limits.without_rates()
        } else {
            args.limits
        },
        simulate_every: args
            .sandbox
            .then_some(std::time::Duration::from_millis(500)),
        review_items_every: Some(if args.sandbox {
            std::time::Duration::from_secs(1)
        } else {
            std::time::Duration::from_secs(60)
        }),
    };
    let service = match start(config).await {
        Ok(service) => service,
        Err(e) => {
            eprintln!("refill-service: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("Refill service listening on {}", service.base_url());
    let _ = tokio::signal::ctrl_c().await;
    service.shutdown().await;
    ExitCode::SUCCESS
}
