//! Group commit: the writes that come in while one transaction is being made durable are
//! gathered into the next one, so that many requests share one fsync (SQLite in WAL mode with
//! `synchronous=FULL` syncs the log at each commit). Each write runs under its own savepoint, so
//! a write that fails is rolled back alone; every caller gets its answer only after the commit
//! that made its write durable.
//!
//! On SQLite the writer keeps one connection for as long as it works (a fresh one from the pool
//! only after a failed batch), and the slot states its report batches left (see
//! [`SlotCache`]), so that a batch of reports alone costs no read. On PostgreSQL it takes a
//! connection from the pool for each batch, which checks it first: a server restarted since
//! costs no batch.

use crate::store::db::{Backend, DbConnection, DbPool};
use crate::store::inventory::{report_batch, ReportAnswer, ReportJob, SlotCache};
use crate::store::StoreError;
use futures_util::future::BoxFuture;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};

/// The most writes one transaction gathers.
const MAX_BATCH: usize = 256;

/// What a write hands back: whether to keep it, and how to answer once the batch is committed
/// (or failed, with the reason).
type Finish = (bool, Answer);

/// Answers a write's caller once its batch is committed (or failed).
type Answer = Box<dyn FnOnce(Result<(), Arc<sqlx::Error>>) + Send>;

/// One write of a batch.
type Work = Box<dyn for<'c> FnOnce(&'c mut DbConnection) -> BoxFuture<'c, Finish> + Send>;

/// What the writer is given: a write of any kind, a slot report (written in bulk), or the word
/// to stop once the writes before it are done.
enum Job {
    Work(Work),
    Report(ReportJob),
    Stop(oneshot::Sender<()>),
}

/// The queue of writes waiting for the next transaction.
#[derive(Clone, Debug)]
pub(crate) struct Writer {
    queue: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the task that runs batches on `pool`; `events` is bumped after each commit.
    pub(crate) fn start(pool: DbPool, backend: Backend, events: Arc<watch::Sender<u64>>) -> Self {
        let (queue, incoming) = mpsc::channel(4096);
        tokio::spawn(run(pool, backend, incoming, events));
        Self { queue }
    }

    /// Runs `work` in the next batch; its answer once the batch is durable.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut DbConnection) -> BoxFuture<'c, Result<T, StoreError>>
            + Send
            + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let job: Work = Box::new(move |conn| {
            Box::pin(async move {
                let result = work(conn).await;
                let keep = result.is_ok();
                let finish = move |committed: Result<(), Arc<sqlx::Error>>| {
                    let _ = answer.send(match committed {
                        Ok(()) => result,
                        Err(e) => Err(StoreError::Database(sqlx::Error::Protocol(format!(
                            "the write could not be committed: {e}"
                        )))),
                    });
                };
                (keep, Box::new(finish) as Answer)
            })
        });
        let stopped = || {
            StoreError::Database(sqlx::Error::Protocol(
                "the database writer has stopped".to_owned(),
            ))
        };
        self.queue
            .send(Job::Work(job))
            .await
            .map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }

    /// Finishes the writes queued so far, then stops and gives its connection back to the pool
    /// (which waits for it to close).
    pub(crate) async fn stop(&self) {
        let (done, stopped) = oneshot::channel();
        if self.queue.send(Job::Stop(done)).await.is_ok() {
            let _ = stopped.await;
        }
    }

    /// Queues a slot report for the next batch; the job answers its caller itself.
    pub(crate) async fn report(&self, job: ReportJob) -> Result<(), StoreError> {
        self.queue.send(Job::Report(job)).await.map_err(|e| {
            if let Job::Report(job) = e.0 {
                job.fail("the database writer has stopped");
            }
            StoreError::Database(sqlx::Error::Protocol(
                "the database writer has stopped".to_owned(),
            ))
        })
    }
}

async fn run(
    pool: DbPool,
    backend: Backend,
    mut incoming: mpsc::Receiver<Job>,
    events: Arc<watch::Sender<u64>>,
) {
    let mut conn = None;
    let mut cache = SlotCache::default();
    let mut stop = None;
    while let Some(first) = incoming.recv().await {
        let mut batch = Vec::new();
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Stop(done) => stop = Some(done),
                job => batch.push(job),
            }
            if stop.is_some() || batch.len() >= MAX_BATCH {
                break;
            }
            next = incoming.try_recv().ok();
        }
        if !batch.is_empty() && run_batch(&pool, &mut conn, &mut cache, backend, batch).await {
            events.send_modify(|n| *n = n.wrapping_add(1));
        }
        if let Some(done) = stop.take() {
            // Writes queued after the stop are dropped with the queue: their callers hear that
            // the writer has stopped.
            drop(conn.take());
            let _ = done.send(());
            break;
        }
    }
}

/// Runs one batch on the writer's connection `held` (taken from `pool` when there is none);
/// whether it was committed. After a failure the connection goes back to the pool, rolled
/// back, and the slot cache is emptied.
async fn run_batch(
    pool: &DbPool,
    held: &mut Option<sqlx::pool::PoolConnection<crate::store::db::Db>>,
    cache: &mut SlotCache,
    backend: Backend,
    batch: Vec<Job>,
) -> bool {
    let mut finishes = Vec::with_capacity(batch.len());
    let mut reported = Vec::new();
    if held.is_none() {
        match pool.acquire().await {
            Ok(conn) => *held = Some(conn),
            Err(e) => {
                tracing::error!("a batch of writes failed: {e}");
                cache.clear();
                fail_all(batch, &Arc::new(e));
                return false;
            }
        }
    }
    let Some(conn) = held.as_mut() else {
        return false;
    };
    let outcome = run_in(conn, cache, backend, batch, &mut finishes, &mut reported).await;
    if outcome.is_err() {
        // Leave the connection clean for the pool.
        let _ = sqlx::query("ROLLBACK").execute(&mut **conn).await;
        *held = None;
        cache.clear();
    }
    if backend == Backend::Postgres {
        *held = None;
    }
    let ok = outcome.is_ok();
    if let Err(e) = &outcome {
        tracing::error!("a batch of writes failed: {e}");
    }
    let outcome = outcome.map_err(Arc::new);
    for finish in finishes {
        finish(outcome.clone());
    }
    for (answer, result) in reported {
        let _ = answer.send(match &outcome {
            Ok(()) => result,
            Err(e) => Err(StoreError::Database(sqlx::Error::Protocol(format!(
                "the report could not be committed: {e}"
            )))),
        });
    }
    ok
}

/// Tells every caller of `batch` that it failed before it ran.
fn fail_all(batch: Vec<Job>, why: &Arc<sqlx::Error>) {
    for job in batch {
        match job {
            // Dropping a write drops its answer: the caller hears that the writer failed.
            Job::Work(_) | Job::Stop(_) => {}
            Job::Report(report) => report.fail(&format!("the report could not be recorded: {why}")),
        }
    }
}

async fn run_in(
    conn: &mut DbConnection,
    cache: &mut SlotCache,
    backend: Backend,
    batch: Vec<Job>,
    finishes: &mut Vec<Answer>,
    reported: &mut Vec<ReportAnswer>,
) -> Result<(), sqlx::Error> {
    // A batch of reports alone on SQLite opens and commits its transaction within its own
    // first and last queries (see report_batch).
    let reports_own_transaction =
        backend == Backend::Sqlite && batch.iter().all(|job| matches!(job, Job::Report(_)));
    match backend {
        _ if reports_own_transaction => {}
        Backend::Sqlite => {
            sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        }
        Backend::Postgres => {
            sqlx::query("BEGIN").execute(&mut *conn).await?;
            crate::store::lock_writes(conn).await?;
        }
    }
    if !reports_own_transaction {
        // Other writes may change what the slot states hold.
        cache.clear();
    }
    let mut reports = Vec::new();
    for job in batch {
        let work = match job {
            Job::Work(work) => work,
            Job::Report(report) => {
                reports.push(report);
                continue;
            }
            Job::Stop(_) => continue,
        };
        sqlx::query("SAVEPOINT work").execute(&mut *conn).await?;
        let (keep, finish) = work(conn).await;
        finishes.push(finish);
        if !keep {
            sqlx::query("ROLLBACK TO work").execute(&mut *conn).await?;
        }
        sqlx::query("RELEASE work").execute(&mut *conn).await?;
    }
    if !reports.is_empty() {
        reported
            .extend(report_batch(conn, reports, reports_own_transaction.then_some(cache)).await?);
    }
    if !reports_own_transaction {
        sqlx::query("COMMIT").execute(&mut *conn).await?;
    }
    Ok(())
}
