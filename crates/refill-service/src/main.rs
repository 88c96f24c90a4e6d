//! `refill-service`: runs the Refill service on its own.

use refill_core::{OrderPolicy, SystemClock};
use refill_service::{start, ServiceConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

const USAGE: &str = "\
refill-service: the self-hostable Refill replenishment service

USAGE:
    refill-service [--db FILE] [--listen ADDR] [--sandbox] [--require-sign-in]

OPTIONS:
    --db FILE        SQLite database file, created if missing [env REFILL_DB; default refill.sqlite]
    --listen ADDR    address to listen on [env REFILL_LISTEN; default 127.0.0.1:8750]
    --sandbox        seed a new database with the sandbox customer, devices and catalog
    --require-sign-in  refuse API requests without a valid sign-in (bearer token)
    -h, --help       show this help
";

struct Args {
    db: PathBuf,
    listen: SocketAddr,
    sandbox: bool,
    require_sign_in: bool,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut db =
        std::env::var_os("REFILL_DB").map_or_else(|| "refill.sqlite".into(), PathBuf::from);
    let mut listen = std::env::var("REFILL_LISTEN").unwrap_or_else(|_| "127.0.0.1:8750".into());
    let mut sandbox = false;
    let mut require_sign_in = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--sandbox" => sandbox = true,
            "--require-sign-in" => require_sign_in = true,
            "--db" => db = args.next().ok_or("--db needs a file name")?.into(),
            "--listen" => {
                listen = args
                    .next()
                    .ok_or("--listen needs an address such as 127.0.0.1:8750")?
            }
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    let listen = listen
        .parse()
        .map_err(|_| format!("'{listen}' is not an address such as 127.0.0.1:8750"))?;
    Ok(Some(Args {
        db,
        listen,
        sandbox,
        require_sign_in,
    }))
}

#[tokio::main]
async fn main() -> ExitCode {
    refill_service::init_logging();
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
        policy: OrderPolicy::default(),
        clock: Arc::new(SystemClock),
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
