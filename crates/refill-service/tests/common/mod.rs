//! The fixture the service's test files share: a sandbox service on loopback, a SQLite file in
//! a temporary folder, a manual clock, and an HTTP client that does not follow redirects.
#![allow(dead_code)] // each test file uses its own part of it

use refill_core::ManualClock;
use refill_service::{start, RunningService, ServiceConfig};
use std::sync::Arc;
use time::macros::datetime;

pub struct Fixture {
    pub _dir: tempfile::TempDir,
    pub db: std::path::PathBuf,
    pub clock: Arc<ManualClock>,
    pub service: RunningService,
    pub http: reqwest::Client,
}

/// A sandbox service on a new database, its clock at 2026-11-22 09:00 UTC.
pub async fn sandbox() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sandbox.sqlite");
    let clock = Arc::new(ManualClock::new(datetime!(2026-11-22 09:00 UTC)));
    let service = start_on(&db, clock.clone()).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Fixture {
        _dir: dir,
        db,
        clock,
        service,
        http,
    }
}

/// A sandbox service on `db`, reading `clock`.
pub async fn start_on(db: &std::path::Path, clock: Arc<ManualClock>) -> RunningService {
    let mut config = ServiceConfig::sandbox(db);
    config.clock = clock;
    start(config).await.unwrap()
}

impl Fixture {
    /// `path` on the service.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.service.base_url())
    }
}
