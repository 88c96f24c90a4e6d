//! The injectable clock.
//!
//! No rule in Refill reads the system time directly: it asks a [`Clock`]. The app and the service
//! use [`SystemClock`]; tests use [`ManualClock`], which only moves when told to.

use std::sync::{Arc, Mutex, PoisonError};
use time::{Duration, OffsetDateTime};

/// A source of the current time, in UTC.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> OffsetDateTime;
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

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

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
