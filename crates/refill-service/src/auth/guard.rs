//! Sign-in under attack.
//!
//! * [`PasswordPool`]: every password hash or check (argon2id: 19 MiB and tens of milliseconds
//!   each) runs on [`PasswordPool::AT_ONCE`] threads of its own, each keeping its 19 MiB. A request waits at most
//!   [`PasswordPool::QUEUE_DEADLINE`] for its turn and is then answered `503` with
//!   `Retry-After`, so a flood of sign-ins costs bounded memory and CPU and leaves the rest of the
//!   service answering.
//! * [`Throttle`]: failed sign-ins are counted per email (known or not, so a lock tells nothing
//!   about which accounts exist) and per address. After a few failures each next attempt must
//!   wait twice as long as the one before, up to [`MAX_WAIT`]; while an email waits, even the
//!   right password is not checked, and the page says until when. The owner is told, after
//!   signing in, how many wrong passwords were tried.
//!
//! Both are kept in memory, per service instance.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::Semaphore;

/// Every password hash and check, a few at a time, on threads of its own.
///
/// The threads are [`PasswordPool::AT_ONCE`] long-lived ones, each keeping one argon2 memory
/// ([`super::crypto::Argon2Memory`]) for all its checks: memory allocated and freed per check
/// was not given back, and 20 checks left 400 MB held.
#[derive(Clone, Default)]
pub struct PasswordPool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    /// Turns to wait for (with a deadline) before a job is handed to the threads.
    permits: Semaphore,
    /// The threads' queue, made at the first use.
    jobs: std::sync::OnceLock<Mutex<std::sync::mpsc::Sender<Job>>>,
}

type Job = Box<dyn FnOnce(&mut super::crypto::Argon2Memory) + Send>;

impl Default for PoolInner {
    fn default() -> Self {
        Self {
            permits: Semaphore::new(PasswordPool::AT_ONCE),
            jobs: std::sync::OnceLock::new(),
        }
    }
}

impl std::fmt::Debug for PasswordPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordPool")
    }
}

/// The pool was full for longer than [`PasswordPool::QUEUE_DEADLINE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

impl PasswordPool {
    /// How many password checks run at once.
    pub const AT_ONCE: usize = 2;
    /// How long a request waits for its turn.
    pub const QUEUE_DEADLINE: Duration = Duration::from_secs(2);
    /// What a refused request is told to wait (`Retry-After`, seconds).
    pub const RETRY_AFTER: u64 = 5;

    /// The threads' queue, starting them at the first use (none at start-up).
    fn jobs(&self) -> &Mutex<std::sync::mpsc::Sender<Job>> {
        self.inner.jobs.get_or_init(|| {
            let (send, receive) = std::sync::mpsc::channel::<Job>();
            let receive = Arc::new(Mutex::new(receive));
            for i in 0..Self::AT_ONCE {
                let receive = receive.clone();
                let started = std::thread::Builder::new()
                    .name(format!("refill-passwords-{i}"))
                    .spawn(move || {
                        let mut memory = super::crypto::Argon2Memory::default();
                        loop {
                            let job = receive
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner)
                                .recv();
                            match job {
                                Ok(job) => job(&mut memory),
                                Err(_) => return, // the pool is gone
                            }
                        }
                    });
                if let Err(e) = started {
                    tracing::error!("could not start a password thread: {e}");
                }
            }
            Mutex::new(send)
        })
    }

    /// Runs `work` (a hash or a check, given the thread's argon2 memory) on the pool's threads
    /// once it has room.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut super::crypto::Argon2Memory) -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let _permit = tokio::time::timeout(Self::QUEUE_DEADLINE, self.inner.permits.acquire())
            .await
            .map_err(|_| Busy)?
            .map_err(|_| Busy)?;
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |memory| {
            let _ = done.send(work(memory));
        });
        self.jobs()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .send(job)
            .map_err(|_| Busy)?;
        result.await.map_err(|_| Busy)
    }
}

/// The longest wait between two attempts.
pub const MAX_WAIT: time::Duration = time::Duration::minutes(15);

/// Failures forgotten after this long without another one.
const FORGET_AFTER: time::Duration = time::Duration::hours(1);

/// Failures allowed before waits begin: per email, and per address (an address may be a
/// household or an office behind one router).
const FREE_PER_EMAIL: u32 = 3;
const FREE_PER_ADDRESS: u32 = 20;

/// The most keys remembered; past it, the oldest are forgotten.
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: OffsetDateTime,
    /// No attempt is checked before this.
    until: OffsetDateTime,
}

/// Failed sign-ins per email and per address.
#[derive(Debug, Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, Failures>>,
}

/// What a sign-in attempt may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Check the password.
    Check,
    /// Too many failures: not before this.
    Wait(OffsetDateTime),
}

fn email_key(email: &str) -> String {
    format!("email:{}", email.trim().to_lowercase())
}

fn address_key(address: std::net::IpAddr) -> String {
    format!("addr:{address}")
}

impl Throttle {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Failures>> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether an attempt for `email` from `address` may be checked now.
    pub fn verdict(&self, email: &str, address: std::net::IpAddr, now: OffsetDateTime) -> Verdict {
        let map = self.lock();
        let until = [email_key(email), address_key(address)]
            .iter()
            .filter_map(|key| map.get(key))
            .filter(|f| now - f.last < FORGET_AFTER)
            .map(|f| f.until)
            .max();
        match until {
            Some(until) if until > now => Verdict::Wait(until),
            _ => Verdict::Check,
        }
    }

    /// Counts a failed attempt.
    pub fn failed(&self, email: &str, address: std::net::IpAddr, now: OffsetDateTime) {
        let mut map = self.lock();
        if map.len() >= MAX_KEYS {
            map.retain(|_, f| now - f.last < FORGET_AFTER);
            if map.len() >= MAX_KEYS {
                map.clear();
            }
        }
        for (key, free) in [
            (email_key(email), FREE_PER_EMAIL),
            (address_key(address), FREE_PER_ADDRESS),
        ] {
            let entry = map.entry(key).or_insert(Failures {
                count: 0,
                last: now,
                until: now,
            });
            if now - entry.last >= FORGET_AFTER {
                entry.count = 0;
            }
            entry.count += 1;
            entry.last = now;
            entry.until = now + wait_after(entry.count, free);
        }
    }

    /// Forgets the email's failures after a successful sign-in; how many there were.
    pub fn succeeded(&self, email: &str, now: OffsetDateTime) -> u32 {
        self.lock()
            .remove(&email_key(email))
            .filter(|f| now - f.last < FORGET_AFTER)
            .map_or(0, |f| f.count)
    }
}

/// The wait after the `count`th failure when `free` are allowed: none, then 1 s, 2 s, 4 s, …
/// up to [`MAX_WAIT`].
fn wait_after(count: u32, free: u32) -> time::Duration {
    if count <= free {
        return time::Duration::ZERO;
    }
    let doublings = (count - free - 1).min(20);
    time::Duration::seconds(1_i64 << doublings).min(MAX_WAIT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[tokio::test]
    async fn a_full_pool_answers_busy_after_its_deadline_and_serves_again_after() {
        let pool = PasswordPool::default();
        let slow: Vec<_> = (0..PasswordPool::AT_ONCE)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move {
                    pool.run(|_| std::thread::sleep(Duration::from_millis(2500)))
                        .await
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = std::time::Instant::now();
        assert_eq!(pool.run(|_| 1).await, Err(Busy));
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(1900), "{waited:?}");
        for task in slow {
            assert_eq!(task.await.unwrap(), Ok(()));
        }
        assert_eq!(pool.run(|_| 2).await, Ok(2));
    }

    #[test]
    fn waits_double_after_the_free_failures_and_stop_growing() {
        assert_eq!(wait_after(3, 3), time::Duration::ZERO);
        assert_eq!(wait_after(4, 3), time::Duration::seconds(1));
        assert_eq!(wait_after(5, 3), time::Duration::seconds(2));
        assert_eq!(wait_after(13, 3), time::Duration::seconds(512));
        assert_eq!(wait_after(14, 3), MAX_WAIT);
        assert_eq!(wait_after(300, 3), MAX_WAIT);
    }

    #[test]
    fn an_email_waits_whoever_tries_it_and_an_address_waits_whatever_it_tries() {
        let t = Throttle::default();
        let now = datetime!(2026-12-01 10:00 UTC);
        let a = "1.2.3.4".parse().unwrap();
        let b = "5.6.7.8".parse().unwrap();
        for _ in 0..4 {
            t.failed("Alex@Example.test", a, now);
        }
        let until = now + time::Duration::seconds(1);
        assert_eq!(t.verdict("alex@example.test", b, now), Verdict::Wait(until));
        assert_eq!(t.verdict("robin@example.test", b, now), Verdict::Check);
        assert_eq!(t.verdict("alex@example.test", b, until), Verdict::Check);
        // Twenty different emails from one address: the address waits.
        for i in 0..21 {
            t.failed(&format!("user{i}@example.test"), b, now);
        }
        assert!(matches!(
            t.verdict("someone-new@example.test", b, now),
            Verdict::Wait(_)
        ));
        assert_eq!(
            t.verdict("someone-new@example.test", a, now),
            Verdict::Check
        );
        // The owner signs in later: told of the four failures, which are then forgotten.
        assert_eq!(t.succeeded("alex@example.test", until), 4);
        assert_eq!(t.succeeded("alex@example.test", until), 0);
        // Failures an hour old are forgotten.
        let later = now + time::Duration::hours(2);
        assert_eq!(t.verdict("user1@example.test", b, later), Verdict::Check);
    }
}
