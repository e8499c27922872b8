//! An ordered list of time sources, and the drift detector.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use super::{RawClock, Reading, RealtimeFile, TimeError, TimeSource, human_duration};

/// Sources tried in order: the first that vouches for a reading wins. When none does,
/// [`TimeSource::now`] fails with every source's reason (and signing fails closed).
pub struct Chain {
    sources: Vec<Arc<dyn TimeSource>>,
    name: String,
    drift: Option<DriftWatch>,
    skip: Option<SkipWatch>,
}

/// Reports sources passed over for a later one (a FIFO, a stale file, a silent server).
struct SkipWatch {
    report: Box<dyn Fn(&str) + Send + Sync>,
    /// The last report, so a long run says each distinct reason once.
    last: std::sync::Mutex<String>,
}

struct DriftWatch {
    threshold: Duration,
    warn: Box<dyn Fn(&DriftWarning) + Send + Sync>,
    /// Set while the process clock is off, so a long run warns once, not per signature.
    warned: AtomicBool,
}

impl fmt::Debug for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chain").field("name", &self.name).finish()
    }
}

/// The process clock disagrees with the time a chain chose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftWarning {
    /// Process clock minus the chosen time, in nanoseconds (negative: the process is behind).
    pub offset_nanos: i128,
    /// The source the chain chose.
    pub source: Arc<str>,
}

impl fmt::Display for DriftWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let size = Duration::from_nanos(u64::try_from(self.offset_nanos.unsigned_abs()).unwrap_or(u64::MAX));
        let side = if self.offset_nanos < 0 { "behind" } else { "ahead of" };
        write!(
            f,
            "the process clock is {} {side} the real time from {}; signing with the real time",
            human_duration(size),
            self.source
        )
    }
}

/// Process clock minus `time`, in nanoseconds.
pub fn process_offset_nanos(time: SystemTime) -> i128 {
    let process = SystemTime::now();
    match process.duration_since(time) {
        Ok(ahead) => ahead.as_nanos() as i128,
        Err(behind) => -(behind.duration().as_nanos() as i128),
    }
}

impl Chain {
    /// A chain of `sources`, tried in this order.
    pub fn new(sources: Vec<Arc<dyn TimeSource>>) -> Self {
        let name = sources.iter().map(|s| s.name()).collect::<Vec<_>>().join(",");
        Self {
            sources,
            name,
            drift: None,
            skip: None,
        }
    }

    /// What a signer uses when nothing is configured: the libfaketimefs realtime file if
    /// `$FAKETIME_REALTIME_FILE` is set, then the kernel clock read without libc. Under
    /// libfaketime either one already gives the real time; the process clock is not in it.
    pub fn default_chain() -> Self {
        Self::new(Self::default_sources())
    }

    /// The members of [`Self::default_chain`].
    pub fn default_sources() -> Vec<Arc<dyn TimeSource>> {
        let mut sources: Vec<Arc<dyn TimeSource>> = Vec::new();
        if let Some(file) = RealtimeFile::from_env() {
            sources.push(Arc::new(file));
        }
        sources.push(Arc::new(RawClock::default()));
        sources
    }

    /// Calls `warn` when the process clock and the chosen time differ by more than
    /// `threshold` (once, until they agree again). The reading is used either way.
    pub fn warn_on_drift(mut self, threshold: Duration, warn: impl Fn(&DriftWarning) + Send + Sync + 'static) -> Self {
        self.drift = Some(DriftWatch {
            threshold,
            warn: Box::new(warn),
            warned: AtomicBool::new(false),
        });
        self
    }

    /// Calls `report` with the reasons when sources failed and a later one answered: the
    /// chain moved on, and says why (once per distinct reason).
    pub fn report_skips(mut self, report: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.skip = Some(SkipWatch {
            report: Box::new(report),
            last: std::sync::Mutex::default(),
        });
        self
    }

    /// The sources, in order.
    pub fn sources(&self) -> &[Arc<dyn TimeSource>] {
        &self.sources
    }

    fn watch(&self, reading: &Reading) {
        let Some(watch) = &self.drift else { return };
        if !reading.trusted {
            return; // the process clock compared with itself
        }
        let offset_nanos = process_offset_nanos(reading.time);
        let drifted = offset_nanos.unsigned_abs() > watch.threshold.as_nanos();
        if drifted && !watch.warned.swap(true, Ordering::Relaxed) {
            (watch.warn)(&DriftWarning {
                offset_nanos,
                source: Arc::clone(&reading.source),
            });
        } else if !drifted {
            watch.warned.store(false, Ordering::Relaxed);
        }
    }
}

impl TimeSource for Chain {
    fn now(&self) -> Result<Reading, TimeError> {
        let mut tried = Vec::new();
        for source in &self.sources {
            match source.now() {
                Ok(reading) => {
                    if let Some(skip) = self.skip.as_ref().filter(|_| !tried.is_empty()) {
                        let message = format!("skipped {}; using {}", tried.join("; "), reading.source);
                        let mut last = skip.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                        if *last != message {
                            (skip.report)(&message);
                            *last = message;
                        }
                    }
                    self.watch(&reading);
                    return Ok(reading);
                }
                Err(e) => tried.push(format!("{}: {}", e.source_name(), e.reason())),
            }
        }
        let reason = if tried.is_empty() {
            "the chain is empty".to_owned()
        } else {
            format!("no source has a trustworthy time (tried {})", tried.join("; "))
        };
        Err(TimeError::new(&self.name, reason))
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn survey(&self) -> Vec<(String, Result<Reading, TimeError>)> {
        self.sources.iter().flat_map(|s| s.survey()).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::clock::{FixedClock, NoClock, SystemClock};

    #[test]
    fn first_source_with_a_reading_wins() {
        let t = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let chain = Chain::new(vec![
            Arc::new(NoClock("down".into())),
            Arc::new(FixedClock(t)),
            Arc::new(SystemClock),
        ]);
        let reading = chain.now().expect("fixed answers");
        assert_eq!((reading.time, &*reading.source), (t, "fixed"));
        assert_eq!(chain.survey().len(), 3);
    }

    #[test]
    fn a_skipped_source_is_reported_once_with_its_reason() {
        let t = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let chain = Chain::new(vec![Arc::new(NoClock("it is a FIFO".into())), Arc::new(FixedClock(t))])
            .report_skips(move |m| sink.lock().unwrap().push(m.to_owned()));
        chain.now().unwrap();
        chain.now().unwrap();
        assert_eq!(*seen.lock().unwrap(), ["skipped none: it is a FIFO; using fixed"]);
    }

    #[test]
    fn no_reading_names_everything_tried() {
        let chain = Chain::new(vec![Arc::new(NoClock("down".into())), Arc::new(NoClock("gone".into()))]);
        let e = chain.now().expect_err("nothing answers");
        assert_eq!(e.source_name(), "none,none");
        assert!(e.reason().contains("none: down; none: gone"), "{e}");
    }

    #[test]
    fn drift_warns_once_with_the_size_and_side() {
        // The process is three days (and half a second) behind; the half second is for the
        // time that passes before the comparison, which on a loaded machine can exceed 1 ms.
        let ahead = Duration::from_secs(3 * 86_400) + Duration::from_millis(500);
        let real = SystemTime::now() + ahead;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let chain = Chain::new(vec![Arc::new(FixedClock(real))]).warn_on_drift(Duration::from_secs(30), move |w| {
            sink.lock().unwrap().push(w.to_string())
        });
        chain.now().unwrap();
        chain.now().unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert!(
            seen[0].starts_with("the process clock is 3d 0h 0m 0.") && seen[0].contains("s behind"),
            "{}",
            seen[0]
        );
        assert!(seen[0].contains("behind the real time from fixed"), "{}", seen[0]);
    }
}
