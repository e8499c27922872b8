//! The kernel's clocks read without libc, which LD_PRELOAD fakers cannot intercept.
//!
//! libfaketime replaces libc's `clock_gettime` (every clock id, `CLOCK_MONOTONIC` too), so
//! `SystemTime::now()` and `Instant::now()` are both fake under it. `rustix`'s default
//! `linux_raw` backend reads the vDSO (or makes the syscall) itself and never goes through
//! libc, so what it returns is the kernel's clock. This only holds while nothing in the
//! build enables rustix's `use-libc` feature; the `faketime` tests in `tests/all/time_sources.rs`
//! are what prove it.
//!
//! What the raw clock does not fix is a kernel clock that is itself wrong (a VM that slept):
//! for that, use NTP ([`super::ntp`]).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustix::time::{ClockId, clock_gettime};

use super::{Reading, TimeError, TimeSource};

/// The kernel's `CLOCK_REALTIME`, read without libc.
#[derive(Debug, Clone)]
pub struct RawClock {
    name: Arc<str>,
}

impl Default for RawClock {
    fn default() -> Self {
        Self { name: "raw".into() }
    }
}

impl TimeSource for RawClock {
    fn now(&self) -> Result<Reading, TimeError> {
        let time = realtime().ok_or_else(|| TimeError::new("raw", "the kernel's realtime clock is before 1970"))?;
        Ok(Reading {
            time,
            // The kernel's own error estimate (adjtimex) is not read: it is as good as the
            // machine's time synchronisation, which this source cannot judge.
            uncertainty: None,
            source: Arc::clone(&self.name),
            trusted: true,
        })
    }

    fn name(&self) -> &str {
        &self.name
    }
}

/// `CLOCK_REALTIME` read without libc; `None` before 1970.
pub fn realtime() -> Option<SystemTime> {
    let ts = clock_gettime(ClockId::Realtime);
    let secs = u64::try_from(ts.tv_sec).ok()?;
    let nanos = u32::try_from(ts.tv_nsec).ok()?;
    Some(UNIX_EPOCH + Duration::new(secs, nanos))
}

/// Time since boot, read without libc (`CLOCK_BOOTTIME`: unlike `CLOCK_MONOTONIC` it keeps
/// counting while the machine is suspended, so an estimate anchored to it ages correctly
/// across a laptop's sleep).
pub fn monotonic() -> Duration {
    let ts = clock_gettime(ClockId::Boottime);
    // The kernel never returns a negative or out-of-range time-since-boot.
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_realtime_matches_the_unfaked_process_clock() {
        // The test runner is never preloaded, so std's clock is the kernel's here.
        let raw = realtime().expect("after 1970");
        let std = SystemTime::now();
        let gap = std.duration_since(raw).unwrap_or_else(|e| e.duration());
        assert!(gap < Duration::from_millis(100), "raw and std differ by {gap:?}");
    }

    #[test]
    fn monotonic_advances() {
        let a = monotonic();
        std::thread::sleep(Duration::from_millis(5));
        let b = monotonic();
        assert!(b >= a + Duration::from_millis(5), "{a:?} then {b:?}");
    }
}
