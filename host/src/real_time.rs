//! The host side of `realsig:sigv4/real-time`: `real-now` backed by the signer's
//! [`TimeSource`](crate::TimeSource).

use std::time::UNIX_EPOCH;

use crate::bindings::realsig::sigv4::real_time::{self, ClockError, Instant};
use crate::signer::HostState;

impl real_time::Host for HostState {
    fn real_now(&mut self) -> Result<Instant, ClockError> {
        // The reading `Signer::sign` took for this call; a second `real-now` in one call
        // reads the clock again.
        let reading = self.reading.take().unwrap_or_else(|| self.clock.now());
        let now = reading.map_err(|e| ClockError { message: e.to_string() })?.time;
        // A time before 1970 cannot be signed; say so rather than wrap around.
        let since = now.duration_since(UNIX_EPOCH).map_err(|_| ClockError {
            message: format!("time source {} returned a time before 1970", self.clock.name()),
        })?;
        Ok(Instant {
            seconds: since.as_secs(),
            nanoseconds: since.subsec_nanos(),
        })
    }
}
