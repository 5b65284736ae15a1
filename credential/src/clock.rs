//! Time as an input: the system clock in production, a fixed clock in tests and vectors.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, the unit of JWT and CWT time claims (RFC 7519 `NumericDate`).
pub type UnixTime = i64;

/// A source of the current time. Passed in everywhere a check depends on "now", so that
/// verification is reproducible (vectors carry their own verification time).
pub trait Clock: Send + Sync {
    /// The current time in seconds since the Unix epoch.
    fn now(&self) -> UnixTime;
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    // The one place Segl reads the wall clock; everything else takes a `Clock`.
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> UnixTime {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(elapsed) => i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX),
            // A clock set before 1970 is a broken host; report the epoch rather than panic.
            Err(_) => 0,
        }
    }
}

/// A clock that always reads the same instant: for tests and for checking a credential "as of"
/// a given time (`segl credential verify --now`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedClock(pub UnixTime);

impl Clock for FixedClock {
    fn now(&self) -> UnixTime {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now() > 1_577_836_800);
    }

    #[test]
    fn fixed_clock_reads_its_instant() {
        assert_eq!(FixedClock(42).now(), 42);
    }
}
