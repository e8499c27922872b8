//! The time for aws-sdk-rust (feature `aws-sdk`): an [`aws_smithy_async::time::TimeSource`]
//! backed by a realsig clock, so an SDK client signs, and judges credential expiry, with the
//! real time:
//!
//! ```ignore
//! let config = aws_config::defaults(BehaviorVersion::latest())
//!     .time_source(realsig::aws_sdk::RealTimeSource::default_chain())
//!     .load()
//!     .await;
//! ```
//!
//! smithy's `TimeSource::now` cannot fail, and a clock can: when realsig's clock has no
//! reading, `now` returns the Unix epoch, so whatever the SDK signs with it is refused by the
//! service (a 1970 signature is never accepted), never signed with the process clock. The
//! reason is kept for [`RealTimeSource::last_error`] and handed to the `on_error` hook.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::clock::{Chain, TimeError, TimeSource};

type ErrorHook = Box<dyn Fn(&TimeError) + Send + Sync>;

/// A realsig clock as aws-sdk-rust's time source.
pub struct RealTimeSource {
    clock: Arc<dyn TimeSource>,
    last_error: Mutex<Option<TimeError>>,
    on_error: Option<ErrorHook>,
}

impl RealTimeSource {
    /// The SDK's time from `clock` (a [`Chain`], an [`crate::NtpClock`], ...).
    pub fn new(clock: impl TimeSource) -> Self {
        Self::shared(Arc::new(clock))
    }

    /// The same, over a clock shared with a [`crate::Signer`] (one NTP estimate for both).
    pub fn shared(clock: Arc<dyn TimeSource>) -> Self {
        Self {
            clock,
            last_error: Mutex::new(None),
            on_error: None,
        }
    }

    /// The CLI's default chain ([`Chain::default_sources`]).
    pub fn default_chain() -> Self {
        Self::new(Chain::new(Chain::default_sources()))
    }

    /// Calls `hook` with the reason whenever the clock has no reading (`now` then returns the
    /// epoch): the place to log it, since the SDK only sees a refused request.
    pub fn on_error(mut self, hook: impl Fn(&TimeError) + Send + Sync + 'static) -> Self {
        self.on_error = Some(Box::new(hook));
        self
    }

    /// Why the latest reading failed, if it did (cleared by the next good reading).
    pub fn last_error(&self) -> Option<TimeError> {
        self.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl aws_smithy_async::time::TimeSource for RealTimeSource {
    fn now(&self) -> SystemTime {
        let reading = self.clock.now();
        let mut last = self.last_error.lock().unwrap_or_else(|e| e.into_inner());
        match reading {
            Ok(reading) => {
                *last = None;
                reading.time
            }
            Err(e) => {
                if let Some(hook) = &self.on_error {
                    hook(&e);
                }
                *last = Some(e);
                UNIX_EPOCH
            }
        }
    }
}

impl fmt::Debug for RealTimeSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RealTimeSource")
            .field("clock", &self.clock.name())
            .finish_non_exhaustive()
    }
}
