//! Group commit: the writes that come in while one transaction is being made durable are
//! gathered into the next one, so that many requests share one fsync (SQLite in WAL mode with
//! `synchronous=FULL` syncs the log at each commit). Each write runs under its own savepoint, so
//! a write that fails is rolled back alone; every caller gets its answer only after the commit
//! that made its write durable.

use crate::db::{Backend, DbConnection, DbPool};
use crate::inventory::{report_batch, ReportAnswer, ReportJob};
use crate::ApiError;
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

/// What the writer is given: a write of any kind, or a slot report (written in bulk).
enum Job {
    Work(Work),
    Report(ReportJob),
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
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut DbConnection) -> BoxFuture<'c, Result<T, ApiError>>
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
                        Err(e) => Err(ApiError::Internal(sqlx::Error::Protocol(format!(
                            "the write could not be committed: {e}"
                        )))),
                    });
                };
                (keep, Box::new(finish) as Answer)
            })
        });
        let stopped = || {
            ApiError::Internal(sqlx::Error::Protocol(
                "the database writer has stopped".to_owned(),
            ))
        };
        self.queue
            .send(Job::Work(job))
            .await
            .map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }

    /// Queues a slot report for the next batch; the job answers its caller itself.
    pub(crate) async fn report(&self, job: ReportJob) -> Result<(), ApiError> {
        self.queue.send(Job::Report(job)).await.map_err(|e| {
            if let Job::Report(job) = e.0 {
                job.fail("the database writer has stopped");
            }
            ApiError::Internal(sqlx::Error::Protocol(
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
    while let Some(first) = incoming.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match incoming.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let result = run_batch(&pool, backend, batch).await;
        if result {
            events.send_modify(|n| *n = n.wrapping_add(1));
        }
    }
}

/// Runs one batch; whether it was committed.
async fn run_batch(pool: &DbPool, backend: Backend, batch: Vec<Job>) -> bool {
    let mut finishes = Vec::with_capacity(batch.len());
    let mut reported = Vec::new();
    let outcome = match pool.acquire().await {
        Ok(mut conn) => {
            let outcome = run_in(&mut conn, backend, batch, &mut finishes, &mut reported).await;
            if outcome.is_err() {
                // Leave the connection clean for the pool.
                let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
            }
            outcome
        }
        Err(e) => Err(e),
    };
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
            Err(e) => Err(ApiError::Internal(sqlx::Error::Protocol(format!(
                "the report could not be committed: {e}"
            )))),
        });
    }
    ok
}

async fn run_in(
    conn: &mut DbConnection,
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
    let mut reports = Vec::new();
    for job in batch {
        let work = match job {
            Job::Work(work) => work,
            Job::Report(report) => {
                reports.push(report);
                continue;
            }
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
        reported.extend(report_batch(conn, reports, reports_own_transaction).await?);
    }
    if !reports_own_transaction {
        sqlx::query("COMMIT").execute(&mut *conn).await?;
    }
    Ok(())
}
