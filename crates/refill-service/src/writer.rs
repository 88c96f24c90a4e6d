//! Group commit: the writes that come in while one transaction is being made durable are
//! gathered into the next one, so that many requests share one fsync (SQLite in WAL mode with
//! `synchronous=FULL` syncs the log at each commit). Each write runs under its own savepoint, so
//! a write that fails is rolled back alone; every caller gets its answer only after the commit
//! that made its write durable.

use crate::ApiError;
use futures_util::future::BoxFuture;
use sqlx::{SqliteConnection, SqlitePool};
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
type Work = Box<dyn for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Finish> + Send>;

/// The queue of writes waiting for the next transaction.
#[derive(Clone, Debug)]
pub(crate) struct Writer {
    queue: mpsc::Sender<Work>,
}

impl Writer {
    /// Starts the task that runs batches on `pool`; `events` is bumped after each commit.
    pub(crate) fn start(pool: SqlitePool, events: Arc<watch::Sender<u64>>) -> Self {
        let (queue, incoming) = mpsc::channel(4096);
        tokio::spawn(run(pool, incoming, events));
        Self { queue }
    }

    /// Runs `work` in the next batch; its answer once the batch is durable.
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, ApiError>>
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
        self.queue.send(job).await.map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

async fn run(
    pool: SqlitePool,
    mut incoming: mpsc::Receiver<Work>,
    events: Arc<watch::Sender<u64>>,
) {
    while let Some(first) = incoming.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match incoming.try_recv() {
                Ok(work) => batch.push(work),
                Err(_) => break,
            }
        }
        let result = run_batch(&pool, batch).await;
        if result {
            events.send_modify(|n| *n = n.wrapping_add(1));
        }
    }
}

/// Runs one batch; whether it was committed.
async fn run_batch(pool: &SqlitePool, batch: Vec<Work>) -> bool {
    let mut finishes = Vec::with_capacity(batch.len());
    let outcome = match pool.acquire().await {
        Ok(mut conn) => {
            let outcome = run_in(&mut conn, batch, &mut finishes).await;
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
    ok
}

async fn run_in(
    conn: &mut SqliteConnection,
    batch: Vec<Work>,
    finishes: &mut Vec<Answer>,
) -> Result<(), sqlx::Error> {
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
    for work in batch {
        sqlx::query("SAVEPOINT work").execute(&mut *conn).await?;
        let (keep, finish) = work(conn).await;
        finishes.push(finish);
        if !keep {
            sqlx::query("ROLLBACK TO work").execute(&mut *conn).await?;
        }
        sqlx::query("RELEASE work").execute(&mut *conn).await?;
    }
    sqlx::query("COMMIT").execute(&mut *conn).await?;
    Ok(())
}
