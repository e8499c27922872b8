//! Time sources that back the component's `real-now` import.
//!
//! A [`TimeSource`] is small, `Send + Sync`, and fails with its own [`TimeError`]; the
//! signer turns a failure into `sign-error.clock-unavailable` (fail closed), never into a
//! trap or a signature made with some other clock.
//!
//! | source | module | what it defeats |
//! |---|---|---|
//! | [`RealtimeFile`] | [`realtime_file`] | libfaketime, through libfaketimefs's `realtime` file |
//! | [`NtpClock`] | [`ntp`] | libfaketime and a drifted machine clock (a sleeping VM) |
//! | [`RawClock`] | [`raw`] | libfaketime: the kernel clock read without libc |
//! | [`FixedClock`] | here | nothing: tests, replays, `--time` |
//! | [`SystemClock`] | here | nothing: the process clock, labelled untrusted |
//!
//! A [`Chain`] tries sources in order and warns when the process clock drifts from the
//! chosen one; [`Chain::default_chain`] is what a [`Signer`](crate::Signer) uses when it is
//! given nothing else, and [`spec::parse`] builds a chain from the CLI's `--clock` text.
//!
//! Every source that needs to measure elapsed time uses [`raw::monotonic`], which reads the
//! kernel's clock without libc: `Instant::now()` is faked by libfaketime too.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

pub mod chain;
pub mod ntp;
pub mod raw;
pub mod realtime_file;
pub mod spec;

pub use chain::{Chain, DriftWarning};
pub use ntp::NtpClock;
pub use raw::RawClock;
pub use realtime_file::RealtimeFile;

/// A source of the current time for signing.
pub trait TimeSource: Send + Sync + 'static {
    /// The current time, or why this source has none it can vouch for.
    fn now(&self) -> Result<Reading, TimeError>;

    /// A short name for messages, e.g. `raw` or `ntp:127.0.0.1:11126`.
    fn name(&self) -> &str;

    /// Every reading this source consulted, for diagnostics (`realsig now`): a chain lists
    /// each member, a single source just itself.
    fn survey(&self) -> Vec<(String, Result<Reading, TimeError>)> {
        vec![(self.name().to_owned(), self.now())]
    }
}

/// One reading of a time source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// The time.
    pub time: SystemTime,
    /// How far `time` may be from the true time, when the source can bound it (NTP: half
    /// the round trip plus the server's root distance, grown with the time since the sample).
    pub uncertainty: Option<Duration>,
    /// The source that produced it.
    pub source: Arc<str>,
    /// `false` for the process clock, which libfaketime fakes and a sleeping VM drifts.
    pub trusted: bool,
}

/// Why a time source has no trustworthy time.
#[derive(Debug, Clone)]
pub struct TimeError {
    source: String,
    reason: String,
    cause: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl TimeError {
    /// An error of the source named `source`.
    pub fn new(source: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            source: source.into(),
            reason: reason.into(),
            cause: None,
        }
    }

    /// The same error, with the lower-level error that caused it (see `Error::source`).
    pub fn with_cause(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.cause = Some(Arc::new(cause));
        self
    }

    /// The name of the source that failed.
    pub fn source_name(&self) -> &str {
        &self.source
    }

    /// What went wrong, without the source's name.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl PartialEq for TimeError {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source && self.reason == other.reason
    }
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "time source {}: {}", self.source, self.reason)
    }
}

impl std::error::Error for TimeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.as_deref().map(|e| e as _)
    }
}

static SYSTEM: OnceLock<Arc<str>> = OnceLock::new();
static FIXED: OnceLock<Arc<str>> = OnceLock::new();

/// A source name allocated once per process, not once per reading.
fn static_name(cell: &'static OnceLock<Arc<str>>, name: &str) -> Arc<str> {
    Arc::clone(cell.get_or_init(|| name.into()))
}

/// The process clock (`SystemTime::now`).
///
/// Untrusted: it is exactly what libfaketime fakes and what drifts in a sleeping VM. It is
/// here for hosts that know their clock is right, and as a last resort a user opts into;
/// its readings say `trusted: false`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl TimeSource for SystemClock {
    fn now(&self) -> Result<Reading, TimeError> {
        Ok(Reading {
            time: SystemTime::now(),
            uncertainty: None,
            source: static_name(&SYSTEM, "system"),
            trusted: false,
        })
    }

    fn name(&self) -> &str {
        "system"
    }
}

/// Always the same instant: tests, replays, and the CLI's `--time`.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub SystemTime);

impl TimeSource for FixedClock {
    fn now(&self) -> Result<Reading, TimeError> {
        Ok(Reading {
            time: self.0,
            uncertainty: Some(Duration::ZERO),
            source: static_name(&FIXED, "fixed"),
            trusted: true,
        })
    }

    fn name(&self) -> &str {
        "fixed"
    }
}

/// A time source that always fails: proves that signing fails closed.
#[derive(Debug, Clone)]
pub struct NoClock(pub String);

impl TimeSource for NoClock {
    fn now(&self) -> Result<Reading, TimeError> {
        Err(TimeError::new("none", self.0.clone()))
    }

    fn name(&self) -> &str {
        "none"
    }
}

/// `t` as RFC 3339 text, e.g. `2026-12-01T18:00:00.5Z`; never panics (a time outside years
/// 1..9999, which no checked source produces, shows as `(a time out of range)`).
pub fn rfc3339(t: SystemTime) -> String {
    let nanos = match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(after) => i128::try_from(after.as_nanos()).unwrap_or(i128::MAX),
        Err(before) => i128::try_from(before.duration().as_nanos()).map_or(i128::MIN, |n| -n),
    };
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| "(a time out of range)".into())
}

/// `3d 0h 0m 2.5s`-style text for an offset's size (the sign is the caller's business).
pub fn human_duration(d: Duration) -> String {
    let d = d.saturating_add(Duration::from_micros(500)); // to the nearest millisecond
    let secs = d.as_secs();
    let (days, hours, mins) = (secs / 86_400, secs / 3_600 % 24, secs / 60 % 60);
    let rest = format!("{}.{:03}s", secs % 60, d.subsec_millis());
    match (days, hours, mins) {
        (0, 0, 0) => rest,
        (0, 0, m) => format!("{m}m {rest}"),
        (0, h, m) => format!("{h}h {m}m {rest}"),
        (d, h, m) => format!("{d}d {h}h {m}m {rest}"),
    }
}

/// Another source's time shifted by a fixed skew: what `realsig request` signs with after a
/// server said our clock is off (the AWS SDKs' clock-skew correction).
#[derive(Clone)]
pub struct SkewCorrected {
    inner: Arc<dyn TimeSource>,
    /// Server minus us, nanoseconds.
    skew_nanos: i128,
    name: Arc<str>,
}

impl fmt::Debug for SkewCorrected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SkewCorrected")
            .field("name", &self.name)
            .field("skew_nanos", &self.skew_nanos)
            .finish()
    }
}

impl SkewCorrected {
    /// `inner`'s time plus `skew_nanos` (negative: earlier).
    pub fn new(inner: Arc<dyn TimeSource>, skew_nanos: i128) -> Self {
        let size = Duration::from_nanos(u64::try_from(skew_nanos.unsigned_abs()).unwrap_or(u64::MAX));
        let sign = if skew_nanos < 0 { '-' } else { '+' };
        let name = format!("{}{sign}skew {}", inner.name(), human_duration(size)).into();
        Self {
            inner,
            skew_nanos,
            name,
        }
    }
}

impl TimeSource for SkewCorrected {
    fn now(&self) -> Result<Reading, TimeError> {
        let mut reading = self.inner.now()?;
        let size = Duration::from_nanos(u64::try_from(self.skew_nanos.unsigned_abs()).unwrap_or(u64::MAX));
        reading.time = if self.skew_nanos < 0 {
            reading.time.checked_sub(size)
        } else {
            reading.time.checked_add(size)
        }
        .ok_or_else(|| TimeError::new(&*self.name, "the corrected time is out of range"))?;
        reading.source = Arc::clone(&self.name);
        Ok(reading)
    }

    fn name(&self) -> &str {
        &self.name
    }
}
