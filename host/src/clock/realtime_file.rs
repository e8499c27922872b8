//! libfaketimefs's `realtime` file: the real time as text, from a process libfaketime does
//! not touch.
//!
//! The FUSE daemon generates `/realtime` on every read: Unix seconds with many fraction
//! digits and no newline (`1795341747.1234567890123456789012`). People also write snapshots
//! by hand (`date +%s > /etc/realtime`): whole seconds that never advance. A snapshot signs
//! with a time that falls further behind every minute, so this source proves that the file
//! advances with the kernel's unfaked monotonic clock before it trusts it, and refuses a
//! value that does not ([`RealtimeFile::allow_static`] opts in to a fixed snapshot).
//!
//! [`parse`] and [`Freshness`] are pure (text or samples in, verdict out); [`RealtimeFile`]
//! is the thin wrapper that reads the file and the clock.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, UNIX_EPOCH};

use super::raw::monotonic;
use super::{Reading, TimeError, TimeSource};

/// The environment variable the libfaketimefs botocore patch reads the path from.
pub const ENV_VAR: &str = "FAKETIME_REALTIME_FILE";

/// Largest file accepted; a realtime value is a few dozen bytes.
const MAX_LEN: u64 = 256;
/// Slack for reading the file and the clock at slightly different moments.
const READ_SLACK: Duration = Duration::from_millis(5);
/// How far the file and the monotonic clock may legitimately diverge (NTP slews the kernel
/// clock by at most 500 ppm): 1000 ppm.
const DRIFT_PER_SEC: f64 = 0.001;
/// First probe for a value with a fraction; a live file has moved by then.
const FRACTION_PROBE: Duration = Duration::from_millis(20);
/// A whole-second value needs up to a second to tick; poll this often, this long.
const WHOLE_POLL: Duration = Duration::from_millis(50);
const WHOLE_PROBE: Duration = Duration::from_millis(1_200);

/// A parsed realtime value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileTime {
    /// Time since the Unix epoch, fraction truncated to nanoseconds.
    pub since_epoch: Duration,
    /// Whether the text had a fraction; without one the value only moves once a second.
    pub has_fraction: bool,
}

impl FileTime {
    /// The smallest step the value can show.
    pub fn resolution(self) -> Duration {
        if self.has_fraction {
            Duration::from_millis(1)
        } else {
            Duration::from_secs(1)
        }
    }
}

/// Why a realtime file's text is not a time.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// Nothing but whitespace.
    Empty,
    /// Not `digits[.digits]` with optional surrounding whitespace; holds the start of the text.
    Malformed(String),
    /// More seconds than a `u64` holds.
    OutOfRange,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the file is empty"),
            Self::Malformed(start) => write!(f, "expected Unix seconds like 1795341747.123456, found {start:?}"),
            Self::OutOfRange => f.write_str("the number of seconds is out of range"),
        }
    }
}

impl std::error::Error for ParseError {}

/// Parses `\s*\d+(\.\d+)?\s*` exactly: integer seconds, an optional fraction truncated to
/// nanoseconds (never through a float, which would lose the last digits).
pub fn parse(text: &str) -> Result<FileTime, ParseError> {
    let trimmed = text.trim_matches(|c: char| c.is_ascii_whitespace());
    if trimmed.is_empty() {
        return Err(ParseError::Empty);
    }
    let malformed = || ParseError::Malformed(trimmed.chars().take(32).collect());
    let (whole, fraction) = match trimmed.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (trimmed, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || fraction.is_some_and(|f| !all_digits(f)) {
        return Err(malformed());
    }
    let secs: u64 = whole.parse().map_err(|_| ParseError::OutOfRange)?;
    let nanos = fraction.map_or(0, |f| {
        // Digits beyond the ninth are below a nanosecond: truncate, pad the rest.
        f.bytes()
            .chain(std::iter::repeat(b'0'))
            .take(9)
            .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'))
    });
    Ok(FileTime {
        since_epoch: Duration::new(secs, nanos),
        has_fraction: fraction.is_some(),
    })
}

/// One read of the file, bracketed by the monotonic clock: a live file's value is computed
/// somewhere between the open and the end of the read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// [`monotonic`] before the file was opened.
    pub opened: Duration,
    /// [`monotonic`] after it was read.
    pub mono: Duration,
    /// The file's value.
    pub value: FileTime,
}

/// Whether the file moved between `a` and `b` as the monotonic clock did: the advance must
/// fit the time between the two reads (from the end of `a` to the start of `b`, up to from
/// the start of `a` to the end of `b`), within the value's resolution, read slack and
/// 1000 ppm. (A reader that is descheduled during a read widens its own bracket instead of
/// calling a live file stale: CI caught that with a 6 ms point tolerance.)
pub fn advanced_together(a: Sample, b: Sample) -> bool {
    let Some(advance) = b.value.since_epoch.checked_sub(a.value.since_epoch) else {
        return false; // went backwards
    };
    if b.mono < a.mono {
        return false;
    }
    let shortest = b.opened.saturating_sub(a.mono);
    let longest = b.mono.saturating_sub(a.opened);
    let gap = if advance < shortest {
        shortest - advance
    } else {
        advance.saturating_sub(longest)
    };
    let resolution = a.value.resolution().max(b.value.resolution());
    gap <= resolution + READ_SLACK + longest.mul_f64(DRIFT_PER_SEC)
}

/// The verdict on the newest sample, kept between reads.
#[derive(Debug, Default, Clone)]
pub struct Freshness {
    anchor: Option<Sample>,
}

impl Freshness {
    /// Judges `latest` against the anchor (the sample freshness was last proved with).
    /// `true`: it agrees, use it. `false`: unproved; take a probe and call [`Self::prove`].
    pub fn agrees(&self, latest: Sample) -> bool {
        self.anchor.is_some_and(|anchor| {
            // With concurrent readers, `latest` may have been read before another thread
            // took the probe that became the anchor: compare them in the order they were read.
            // (Comparing anchor-then-latest called every such sample stale, so under two
            // signing threads every call probed for 20 ms: tests/all/time_sources.rs, under load.)
            if latest.mono < anchor.mono {
                advanced_together(latest, anchor)
            } else {
                advanced_together(anchor, latest)
            }
        })
    }

    /// Two samples some time apart: if the file moved with the clock, they become the new
    /// anchor (the kernel clock behind the file may have been stepped since the old one).
    pub fn prove(&mut self, first: Sample, probe: Sample) -> bool {
        let fresh = probe.value != first.value && advanced_together(first, probe);
        if fresh {
            self.anchor = Some(probe);
        }
        fresh
    }
}

/// libfaketimefs's realtime file as a [`TimeSource`].
#[derive(Debug)]
pub struct RealtimeFile {
    path: PathBuf,
    name: Arc<str>,
    allow_static: bool,
    freshness: Mutex<Freshness>,
}

impl RealtimeFile {
    /// The file at `path`; it must prove that it advances.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        Self {
            name: format!("faketimefs:{}", path.display()).into(),
            path,
            allow_static: false,
            freshness: Mutex::default(),
        }
    }

    /// The file named by `$FAKETIME_REALTIME_FILE`, if that is set and not empty.
    pub fn from_env() -> Option<Self> {
        std::env::var_os(ENV_VAR).filter(|p| !p.is_empty()).map(Self::new)
    }

    /// Accepts a value that never advances (a snapshot written by hand) and signs with it as
    /// it is. For replays and tests: the signatures go stale with the snapshot.
    pub fn allow_static(mut self, allow: bool) -> Self {
        self.allow_static = allow;
        if allow {
            self.name = format!("faketimefs-static:{}", self.path.display()).into();
        }
        self
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<Sample, TimeError> {
        let err = |reason: String| TimeError::new(&*self.name, reason);
        let opened = monotonic();
        let mut text = String::new();
        std::fs::File::open(&self.path)
            .and_then(|f| f.take(MAX_LEN + 1).read_to_string(&mut text))
            .map_err(|e| err(format!("cannot read the file: {e}")))?;
        if text.len() as u64 > MAX_LEN {
            return Err(err(format!(
                "the file is longer than {MAX_LEN} bytes; not a realtime value"
            )));
        }
        let value = parse(&text).map_err(|e| err(e.to_string()).with_cause(e))?;
        Ok(Sample {
            opened,
            mono: monotonic(),
            value,
        })
    }

    fn reading(&self, sample: Sample, uncertainty: Option<Duration>) -> Reading {
        Reading {
            time: UNIX_EPOCH + sample.value.since_epoch,
            uncertainty,
            source: Arc::clone(&self.name),
            trusted: true,
        }
    }

    /// Reads again until the value moves (or the probe window ends).
    fn probe(&self, first: Sample) -> Result<Sample, TimeError> {
        let (step, window) = if first.value.has_fraction {
            (FRACTION_PROBE, FRACTION_PROBE)
        } else {
            (WHOLE_POLL, WHOLE_PROBE)
        };
        loop {
            std::thread::sleep(step);
            let next = self.read()?;
            if next.value != first.value || next.mono.saturating_sub(first.mono) >= window {
                return Ok(next);
            }
        }
    }
}

impl TimeSource for RealtimeFile {
    fn now(&self) -> Result<Reading, TimeError> {
        let latest = self.read()?;
        if self.allow_static {
            return Ok(self.reading(latest, None));
        }
        let mut freshness = self.freshness.lock().unwrap_or_else(PoisonError::into_inner);
        if freshness.agrees(latest) {
            return Ok(self.reading(latest, Some(latest.value.resolution())));
        }
        let probe = self.probe(latest)?;
        if freshness.prove(latest, probe) {
            return Ok(self.reading(probe, Some(probe.value.resolution())));
        }
        let shown = time::OffsetDateTime::from(UNIX_EPOCH + probe.value.since_epoch)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        Err(TimeError::new(
            &*self.name,
            format!(
                "stale snapshot: the value ({shown}) did not advance with the monotonic clock over {} ms; \
                 a live libfaketimefs file does (use faketimefs-static:PATH to sign with a fixed snapshot)",
                probe.mono.saturating_sub(latest.mono).as_millis()
            ),
        ))
    }

    fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ft(secs: u64, nanos: u32, has_fraction: bool) -> FileTime {
        FileTime {
            since_epoch: Duration::new(secs, nanos),
            has_fraction,
        }
    }

    #[test]
    fn parses_the_libfaketimefs_form_without_a_float() {
        // 32 fraction digits, no newline: truncated to nanoseconds, not rounded.
        assert_eq!(
            parse("1795341747.1234567899999999999999999999"),
            Ok(ft(1_795_341_747, 123_456_789, true))
        );
        assert_eq!(parse("1795341747.5"), Ok(ft(1_795_341_747, 500_000_000, true)));
    }

    #[test]
    fn parses_a_snapshot_with_whitespace() {
        assert_eq!(parse("1795341747\n"), Ok(ft(1_795_341_747, 0, false)));
        assert_eq!(parse(" \t1795341747.25 \r\n"), Ok(ft(1_795_341_747, 250_000_000, true)));
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "abc",
            "1795341747.",
            ".5",
            "-1",
            "+1",
            "1e9",
            "17953 41747",
            "1795341747.12a",
            "0x10",
        ] {
            assert!(matches!(parse(bad), Err(ParseError::Malformed(_))), "{bad:?}");
        }
        assert_eq!(parse(""), Err(ParseError::Empty));
        assert_eq!(parse(" \n"), Err(ParseError::Empty));
        assert_eq!(parse("99999999999999999999999"), Err(ParseError::OutOfRange));
    }

    /// A read that took no time.
    fn sample(mono_ms: u64, value: FileTime) -> Sample {
        read_over(mono_ms, mono_ms, value)
    }

    fn read_over(opened_ms: u64, done_ms: u64, value: FileTime) -> Sample {
        Sample {
            opened: Duration::from_millis(opened_ms),
            mono: Duration::from_millis(done_ms),
            value,
        }
    }

    #[test]
    fn a_value_that_moves_with_the_clock_is_fresh() {
        let t0 = ft(1_795_341_747, 0, true);
        let t1 = ft(1_795_341_747, 20_000_000, true);
        let mut f = Freshness::default();
        assert!(!f.agrees(sample(1_000, t0)), "nothing proved yet");
        assert!(f.prove(sample(1_000, t0), sample(1_020, t1)));
        // An hour later, 1 ms apart from the clock: still the same file.
        let later = ft(1_795_345_347, 21_000_000, true);
        assert!(f.agrees(sample(3_601_020, later)));
    }

    #[test]
    fn a_sample_read_before_the_anchor_agrees_with_it() {
        let t0 = ft(1_795_341_747, 0, true);
        let mut f = Freshness::default();
        assert!(f.prove(sample(1_000, t0), sample(1_020, ft(1_795_341_747, 20_000_000, true))));
        // Another thread read at 1,010 ms, before that probe, and judges only now.
        assert!(f.agrees(sample(1_010, ft(1_795_341_747, 10_000_000, true))));
        // The same order check still refuses a value that did not move with the clock.
        assert!(!f.agrees(sample(1_010, ft(1_795_341_747, 90_000_000, true))));
    }

    #[test]
    fn a_value_that_stands_still_is_stale() {
        let t = ft(1_795_341_747, 123_000_000, true);
        let mut f = Freshness::default();
        assert!(!f.prove(sample(1_000, t), sample(1_020, t)));
        // Whole seconds: a second and more without a tick.
        let w = ft(1_795_341_747, 0, false);
        assert!(!f.prove(sample(1_000, w), sample(2_200, w)));
    }

    #[test]
    fn a_file_that_freezes_after_being_proved_is_caught() {
        let t0 = ft(1_000, 0, true);
        let mut f = Freshness::default();
        assert!(f.prove(sample(0, t0), sample(20, ft(1_000, 20_000_000, true))));
        assert!(
            !f.agrees(sample(60_000, ft(1_000, 20_000_000, true))),
            "a minute without moving"
        );
    }

    #[test]
    fn backwards_or_jumping_values_are_not_fresh() {
        assert!(!advanced_together(
            sample(0, ft(1_000, 0, true)),
            sample(20, ft(999, 0, true))
        ));
        assert!(!advanced_together(
            sample(0, ft(1_000, 0, true)),
            sample(20, ft(1_100, 0, true))
        ));
    }

    #[test]
    fn a_slow_read_widens_the_bracket_and_nothing_else() {
        let t0 = ft(1_000, 0, true);
        // The second read took 30 ms (the reader was descheduled); the value was computed
        // early in it. The time between the reads is 20 to 50 ms: 21 ms fits.
        assert!(advanced_together(
            sample(0, t0),
            read_over(20, 50, ft(1_000, 21_000_000, true))
        ));
        // A point reading at 50 ms would have called it 29 ms stale.
        assert!(!advanced_together(
            sample(0, t0),
            sample(50, ft(1_000, 21_000_000, true))
        ));
        // A value that stood still is stale however slow the read.
        assert!(!advanced_together(sample(0, t0), read_over(20, 50, t0)));
        // And one that ran ahead of the longest interval is not fresh either.
        assert!(!advanced_together(
            sample(0, t0),
            read_over(20, 50, ft(1_000, 60_000_000, true))
        ));
    }
}
