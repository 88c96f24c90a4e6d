//! The injectable clock.
//!
//! No rule in Refill reads the system time directly: it asks a [`Clock`]. The app and the service
//! use [`SystemClock`]; tests use [`ManualClock`], which only moves when told to.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use time::{Duration, OffsetDateTime};

/// A source of the current time, in UTC.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> OffsetDateTime;

    /// Moves a clock that may move on its own (a demo's [`FastClock`]) forward to `latest`
    /// when it is behind it: a sped-up sandbox started again on its data continues after what
    /// it recorded, instead of writing a second history dated before the first. Real and manual
    /// clocks stay where they are.
    fn catch_up(&self, _latest: OffsetDateTime) {}
}

/// A clock shared between the parts of a running service.
pub type SharedClock = Arc<dyn Clock>;

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that stands still until it is set or advanced. For tests and simulations.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<OffsetDateTime>,
}

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }

    /// Sets the clock to `to`.
    pub fn set(&self, to: OffsetDateTime) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A clock that starts at the real time and runs `speed` times faster: the sandbox's demo time
/// (at 8640, one day passes every ten seconds).
#[derive(Debug)]
pub struct FastClock {
    start: OffsetDateTime,
    started: std::time::Instant,
    speed: f64,
    /// How far it was moved forward to catch up, in milliseconds.
    ahead_ms: AtomicI64,
}

impl FastClock {
    /// A clock running `speed` times faster than real time from now (a speed below 1 is 1).
    pub fn new(speed: f64) -> Self {
        Self {
            start: OffsetDateTime::now_utc(),
            started: std::time::Instant::now(),
            speed: if speed.is_finite() {
                speed.max(1.0)
            } else {
                1.0
            },
            ahead_ms: AtomicI64::new(0),
        }
    }

    /// How many times faster than real time it runs.
    pub fn speed(&self) -> f64 {
        self.speed
    }
}

impl Clock for FastClock {
    fn now(&self) -> OffsetDateTime {
        let real = self.started.elapsed().as_secs_f64();
        self.start
            + Duration::seconds_f64(real * self.speed)
            + Duration::milliseconds(self.ahead_ms.load(Ordering::Relaxed))
    }

    fn catch_up(&self, latest: OffsetDateTime) {
        let behind = latest - self.now();
        if behind > Duration::ZERO {
            let ms = i64::try_from(behind.whole_milliseconds()).unwrap_or(i64::MAX);
            self.ahead_ms.fetch_add(ms + 1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_fast_clock_runs_faster_than_real_time() {
        let clock = FastClock::new(8640.0);
        let before = clock.now();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let passed = clock.now() - before;
        // 20 ms of real time is at least 172.8 s of demo time.
        assert!(passed >= Duration::seconds(172), "{passed}");
        assert_eq!(FastClock::new(-3.0).speed(), 1.0);
    }

    #[test]
    fn a_fast_clock_catches_up_with_what_it_recorded_and_others_do_not_move() {
        let clock = FastClock::new(8640.0);
        let later = clock.now() + Duration::days(40);
        clock.catch_up(later);
        assert!(clock.now() > later && clock.now() - later < Duration::days(1));
        // Never back.
        let now = clock.now();
        clock.catch_up(now - Duration::days(10));
        assert!(clock.now() >= now);
        let manual = ManualClock::new(datetime!(2026-01-01 00:00 UTC));
        manual.catch_up(datetime!(2026-03-01 00:00 UTC));
        assert_eq!(manual.now(), datetime!(2026-01-01 00:00 UTC));
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(datetime!(2026-01-01 00:00 UTC));
        assert_eq!(clock.now(), datetime!(2026-01-01 00:00 UTC));
        clock.advance(Duration::hours(25));
        assert_eq!(clock.now(), datetime!(2026-01-02 01:00 UTC));
        clock.set(datetime!(2027-05-05 12:00 UTC));
        assert_eq!(clock.now(), datetime!(2027-05-05 12:00 UTC));
    }
}
