//! A PostgreSQL server of the tests' own, from Debian's packages: a new cluster in a temporary
//! folder, on a free loopback port, trusting local connections, stopped and removed when dropped.
//! Nothing of a PostgreSQL the machine may already run is touched.

use crate::util::run_step;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The role the tests connect as (a superuser of the test cluster: they create databases).
const ROLE: &str = "refill";

/// A running test server.
pub struct TestPostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl TestPostgres {
    /// Creates the cluster and starts the server.
    pub fn start() -> Result<Self> {
        let bin = binaries()?;
        // PostgreSQL refuses to run as root: as root, its own `postgres` user runs it.
        let as_postgres = is_root();
        let dir = tempfile::Builder::new()
            .prefix("refill-test-postgres-")
            .tempdir()?;
        if as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status()?;
            if !status.success() {
                bail!(
                    "could not hand {} to the postgres user",
                    dir.path().display()
                );
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let server = Self {
            dir,
            bin,
            port,
            as_postgres,
        };
        let data = server.data();
        run_step(
            "PostgreSQL: a new cluster for the tests (initdb)",
            server
                .command("initdb")
                .args(["-U", ROLE, "--auth=trust", "-E", "UTF8", "--no-sync", "-D"])
                .arg(&data)
                .stdout(std::process::Stdio::null()),
        )?;
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300",
            server.dir.path().display()
        );
        run_step(
            &format!("PostgreSQL: start the test server on 127.0.0.1:{port}"),
            server
                .command("pg_ctl")
                .args(["-w", "-D"])
                .arg(&data)
                .arg("-l")
                .arg(server.dir.path().join("server.log"))
                .args(["-o", &options, "start"])
                .stdout(std::process::Stdio::null()),
        )?;
        Ok(server)
    }

    /// The server's URL, without a database: `postgres://refill@127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("postgres://{ROLE}@127.0.0.1:{}", self.port)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// One of PostgreSQL's programs, run as the user that owns the cluster.
    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .args(["-w", "-m", "immediate", "-D"])
            .arg(self.data())
            .arg("stop")
            .stdout(std::process::Stdio::null())
            .status();
    }
}

/// The folder of the newest PostgreSQL's programs Debian installed (`/usr/lib/postgresql/N/bin`).
fn binaries() -> Result<PathBuf> {
    let base = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(base)
        .with_context(|| {
            format!(
                "PostgreSQL is not installed ({} is missing): `cargo xtask setup` installs it",
                base.display()
            )
        })?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .context("no PostgreSQL server programs (initdb) under /usr/lib/postgresql")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
