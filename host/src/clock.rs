//! Time sources that back the component's `real-now` import.
//!
//! A [`TimeSource`] is small, `Send + Sync`, and fails with its own [`TimeError`]; the
//! signer turns a failure into `sign-error.clock-unavailable` (fail closed), never into a
//! trap or a signature with some other clock. The real sources (realtime file, NTP, raw
//! kernel clock, chains) build on this trait; [`SystemClock`] and [`FixedClock`] are the
//! two every host needs.

use std::fmt;
use std::time::SystemTime;

/// A source of the current time for signing.
pub trait TimeSource: Send + Sync + 'static {
    /// The current time, or why this source has none it can vouch for.
    fn now(&self) -> Result<SystemTime, TimeError>;

    /// A short name for messages, e.g. `system` or `fixed`.
    fn name(&self) -> &str;
}

/// Why a time source has no trustworthy time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeError {
    source: String,
    reason: String,
}

impl TimeError {
    /// An error of the source named `source`.
    pub fn new(source: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            source: source.into(),
            reason: reason.into(),
        }
    }

    /// The name of the source that failed.
    pub fn source_name(&self) -> &str {
        &self.source
    }
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "time source {}: {}", self.source, self.reason)
    }
}

impl std::error::Error for TimeError {}

/// The process clock (`SystemTime::now`).
///
/// Untrusted: it is exactly what libfaketime fakes and what drifts in a sleeping VM. It is
/// here for hosts that know their clock is right, and as the last resort a user opts into.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl TimeSource for SystemClock {
    fn now(&self) -> Result<SystemTime, TimeError> {
        Ok(SystemTime::now())
    }

    fn name(&self) -> &str {
        "system"
    }
}

/// Always the same instant: tests, replays, and the CLI's `--time`.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub SystemTime);

impl TimeSource for FixedClock {
    fn now(&self) -> Result<SystemTime, TimeError> {
        Ok(self.0)
    }

    fn name(&self) -> &str {
        "fixed"
    }
}

/// A time source that always fails: proves that signing fails closed.
#[derive(Debug, Clone)]
pub struct NoClock(pub String);

impl TimeSource for NoClock {
    fn now(&self) -> Result<SystemTime, TimeError> {
        Err(TimeError::new("none", self.0.clone()))
    }

    fn name(&self) -> &str {
        "none"
    }
}
