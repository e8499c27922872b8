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
//! is the thin wrapper that reads the file and the clock. It reads on a helper thread with a
//! deadline (a wedged FUSE daemon fails the source instead of hanging the signer) and, since
//! that hand-off costs about 50 µs, reuses a proved reading for [`DEFAULT_REUSE`] (50 ms),
//! extrapolated on the monotonic clock, before reading the file again.

use std::fmt;
use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::raw::monotonic;
use super::{Reading, TimeError, TimeSource};
use crate::files;

/// The environment variable the libfaketimefs botocore patch reads the path from.
pub const ENV_VAR: &str = "FAKETIME_REALTIME_FILE";

/// Largest file accepted; a realtime value is a few dozen bytes.
const MAX_LEN: u64 = 256;
/// The latest second a signing time may name: 9999-12-31T23:59:59Z, the last second RFC 3339
/// (and so a signature's timestamp) can write.
pub const MAX_SECS: u64 = 253_402_300_799;
/// The latest time a realtime file may name, in nanoseconds since 1970:
/// 2262-04-11T23:47:16.854775807Z, what `i64` nanoseconds hold. Go and Node read realtime
/// files too and carry a reading so; one bound for all (tests/data/time-cases).
pub const MAX_FILE_NANOS: u64 = i64::MAX as u64;
/// How long one read of the file may take by default (a live libfaketimefs answers in
/// microseconds; a wedged FUSE daemon never does).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a proved reading is extrapolated on the monotonic clock before the file is read
/// again, by default. Handing a read to the reader thread and back costs about 50 µs on a
/// 2-vCPU VM (two futex wake-ups; `cargo bench -p realsig -- realtime-file`), 30 times the
/// read itself; reusing a reading for 50 ms makes that once per 50 ms, and a reading costs a
/// clock read. The price: a change to the file (garbled, deleted, frozen) is seen within 50 ms.
pub const DEFAULT_REUSE: Duration = Duration::from_millis(50);
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
    /// The value as a time: never overflows, since [`parse`] caps the seconds at [`MAX_SECS`].
    pub fn time(self) -> Option<SystemTime> {
        UNIX_EPOCH.checked_add(self.since_epoch)
    }

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
    /// Later than [`MAX_FILE_NANOS`] (2262-04-11T23:47:16.854775807Z).
    OutOfRange,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the file is empty"),
            Self::Malformed(start) => write!(f, "expected Unix seconds like 1795341747.123456, found {start:?}"),
            Self::OutOfRange => f.write_str("the time is out of range (after 2262-04-11T23:47:16.854775807Z)"),
        }
    }
}

impl std::error::Error for ParseError {}

/// Parses `\s*\d+(\.\d+)?\s*` exactly (`\s`: space, tab, CR, LF, form feed): integer seconds,
/// an optional fraction truncated to nanoseconds (never through a float, which would lose the
/// last digits). A time past [`MAX_FILE_NANOS`] is [`ParseError::OutOfRange`], so every parsed
/// value is a valid time. Node and Go apply the same rules: tests/data/time-cases.
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
    let nanos = fraction.map_or(0, |f| {
        // Digits beyond the ninth are below a nanosecond: truncate, pad the rest.
        f.bytes()
            .chain(std::iter::repeat(b'0'))
            .take(9)
            .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'))
    });
    let secs: u64 = whole
        .parse()
        .ok()
        .filter(|&s: &u64| {
            s.checked_mul(1_000_000_000)
                .and_then(|n| n.checked_add(u64::from(nanos)))
                .is_some_and(|n| n <= MAX_FILE_NANOS)
        })
        .ok_or(ParseError::OutOfRange)?;
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
    /// The last sample a reading was made from (it agreed with the anchor, or proved it).
    recent: Option<Sample>,
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

    /// The last sample a reading came from and how old it is at `mono_now`, if younger than
    /// `reuse`: a reading may be extrapolated from it instead of reading the file.
    pub fn reusable(&self, mono_now: Duration, reuse: Duration) -> Option<(Sample, Duration)> {
        let recent = self.recent?;
        let age = mono_now.checked_sub(recent.mono)?;
        (age < reuse).then_some((recent, age))
    }

    /// Records that a reading was made from `sample`.
    pub fn used(&mut self, sample: Sample) {
        if self.recent.is_none_or(|r| r.mono < sample.mono) {
            self.recent = Some(sample);
        }
    }
}

/// libfaketimefs's realtime file as a [`TimeSource`].
///
/// Reads run on a helper thread of this source's own and are waited for at most
/// [`Self::timeout`]: a FUSE file whose daemon hangs makes this source fail (and a chain
/// move on), never the signer wait. While such a read has not returned, later calls fail at
/// once instead of queueing behind it. The file must be a regular file or a FIFO (see
/// `read_sample`); a FIFO is waited for on that thread only.
pub struct RealtimeFile {
    path: PathBuf,
    name: Arc<str>,
    allow_static: bool,
    timeout: Duration,
    reuse: Duration,
    freshness: Mutex<Freshness>,
    reader: OnceLock<Reader>,
}

impl fmt::Debug for RealtimeFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RealtimeFile")
            .field("path", &self.path)
            .field("allow_static", &self.allow_static)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

type Reply = mpsc::SyncSender<Result<Sample, TimeError>>;

/// The helper thread's end: requests in, and when the read in progress started.
struct Reader {
    requests: mpsc::Sender<Reply>,
    /// [`monotonic`] in nanoseconds when the current read began; 0 when idle.
    busy_since: Arc<AtomicU64>,
}

impl RealtimeFile {
    /// The file at `path`; it must prove that it advances.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        Self {
            name: format!("faketimefs:{}", path.display()).into(),
            path,
            allow_static: false,
            timeout: DEFAULT_TIMEOUT,
            reuse: DEFAULT_REUSE,
            freshness: Mutex::default(),
            reader: OnceLock::new(),
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

    /// The most one read of the file may take (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long a proved reading is extrapolated on the monotonic clock before the file is
    /// read again (default [`DEFAULT_REUSE`]; zero reads the file for every reading). A
    /// snapshot (`allow_static`) is read every time.
    pub fn reuse(mut self, reuse: Duration) -> Self {
        self.reuse = reuse;
        self
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, reason: String) -> TimeError {
        TimeError::new(&*self.name, reason)
    }

    fn reader(&self) -> Result<&Reader, TimeError> {
        if let Some(reader) = self.reader.get() {
            return Ok(reader);
        }
        let (requests, incoming) = mpsc::channel::<Reply>();
        let busy_since = Arc::new(AtomicU64::new(0));
        let (path, name, busy) = (self.path.clone(), Arc::clone(&self.name), Arc::clone(&busy_since));
        std::thread::Builder::new()
            .name("realsig-realtime-file".into())
            .spawn(move || {
                // Ends when the source (the only sender) is dropped.
                for reply in incoming {
                    busy.store(monotonic().as_nanos().max(1) as u64, Ordering::SeqCst);
                    let sample = read_sample(&path, &name);
                    busy.store(0, Ordering::SeqCst);
                    let _ = reply.send(sample); // the caller may have stopped waiting
                }
            })
            .map_err(|e| self.err(format!("cannot start its reader thread: {e}")))?;
        // Two first calls may race to start a reader; the loser's thread ends at once.
        Ok(self.reader.get_or_init(|| Reader { requests, busy_since }))
    }

    /// One read, waited for at most [`Self::timeout`].
    fn read(&self) -> Result<Sample, TimeError> {
        let reader = self.reader()?;
        let since = reader.busy_since.load(Ordering::SeqCst);
        let busy_for = monotonic().saturating_sub(Duration::from_nanos(since));
        if since != 0 && busy_for > self.timeout {
            return Err(self.err(format!(
                "a read of the file has not returned for {} ms (a FIFO nothing writes to, or a wedged FUSE mount)",
                busy_for.as_millis()
            )));
        }
        let (reply, answer) = mpsc::sync_channel(1);
        reader
            .requests
            .send(reply)
            .map_err(|_| self.err("its reader thread has ended".into()))?;
        match answer.recv_timeout(self.timeout) {
            Ok(sample) => sample,
            Err(RecvTimeoutError::Timeout) => Err(self.err(format!(
                "no answer from the file within {} ms (a FIFO nothing writes to, or a wedged FUSE mount)",
                self.timeout.as_millis()
            ))),
            Err(RecvTimeoutError::Disconnected) => Err(self.err("its reader thread has ended".into())),
        }
    }

    fn reading(&self, sample: Sample, uncertainty: Option<Duration>) -> Result<Reading, TimeError> {
        Ok(Reading {
            time: sample
                .value
                .time()
                .ok_or_else(|| self.err(ParseError::OutOfRange.to_string()))?,
            uncertainty,
            source: Arc::clone(&self.name),
            trusted: true,
        })
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

/// One read of the file at `path`, bracketed by the monotonic clock (on the reader thread).
///
/// A regular file (libfaketimefs's FUSE file, a snapshot), or a FIFO whose writer computes the
/// value for each reader, as the FUSE file does on each read (the tests emulate it so). The
/// file's type is learnt from an open that never waits; a FIFO is then opened again, blocking
/// this thread (never the caller, which waits at most the source's deadline) until a writer
/// gives its value. Anything else (a device, a socket, a directory) is refused.
fn read_sample(path: &Path, name: &str) -> Result<Sample, TimeError> {
    let err = |reason: String| TimeError::new(name, reason);
    let cannot = |e: std::io::Error| err(format!("cannot read the file: {e}"));
    let opened = monotonic();
    let (file, meta) = files::open_nonblocking(path).map_err(|e| match e {
        files::FileError::Io { source, .. } => cannot(source),
        e => err(e.to_string()),
    })?;
    let file = if meta.is_file() {
        file
    } else if meta.file_type().is_fifo() {
        drop(file);
        std::fs::File::open(path).map_err(cannot)?
    } else {
        return Err(err(format!(
            "it is {}, not a regular file",
            files::describe(meta.file_type())
        )));
    };
    let mut bytes = Vec::new();
    file.take(MAX_LEN + 1).read_to_end(&mut bytes).map_err(cannot)?;
    if bytes.len() as u64 > MAX_LEN {
        return Err(err(format!(
            "the file is longer than {MAX_LEN} bytes; not a realtime value"
        )));
    }
    let text = String::from_utf8_lossy(&bytes);
    let value = parse(&text).map_err(|e| err(e.to_string()).with_cause(e))?;
    Ok(Sample {
        opened,
        mono: monotonic(),
        value,
    })
}

impl TimeSource for RealtimeFile {
    fn now(&self) -> Result<Reading, TimeError> {
        if !self.allow_static {
            let reusable = self
                .freshness
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .reusable(monotonic(), self.reuse);
            if let Some((recent, age)) = reusable {
                // The file moved with the monotonic clock when `recent` was read; so does this.
                let time = recent.value.time().and_then(|t| t.checked_add(age));
                return Ok(Reading {
                    time: time.ok_or_else(|| self.err(ParseError::OutOfRange.to_string()))?,
                    // The value was computed somewhere within the read, so it may lag by the
                    // read's length; extrapolating adds the drift the freshness check allows.
                    uncertainty: Some(
                        recent.value.resolution()
                            + recent.mono.saturating_sub(recent.opened)
                            + age.mul_f64(DRIFT_PER_SEC),
                    ),
                    source: Arc::clone(&self.name),
                    trusted: true,
                });
            }
        }
        let latest = self.read()?;
        if self.allow_static {
            return self.reading(latest, None);
        }
        let mut freshness = self.freshness.lock().unwrap_or_else(PoisonError::into_inner);
        if freshness.agrees(latest) {
            freshness.used(latest);
            return self.reading(latest, Some(latest.value.resolution()));
        }
        let probe = self.probe(latest)?;
        if freshness.prove(latest, probe) {
            freshness.used(probe);
            return self.reading(probe, Some(probe.value.resolution()));
        }
        let shown = probe.value.time().map(super::rfc3339).unwrap_or_default();
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

    /// Huge values were a panic ("overflow when adding duration to instant", or in
    /// formatting); now they are out of range. The bound is shared: tests/data/time-cases.
    #[test]
    fn huge_values_are_out_of_range_not_a_panic() {
        for huge in [
            "18446744073709551615",
            "9223372036854775807",
            "253402300800",
            "253402300799.999999999",
            "9223372036.854775808",
        ] {
            assert_eq!(parse(huge), Err(ParseError::OutOfRange), "{huge}");
        }
        let last = parse("9223372036.854775807").unwrap();
        let t = last.time().unwrap();
        assert!(time::OffsetDateTime::from(t).year() == 2262);
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
    fn a_recent_sample_is_reused_only_within_the_window() {
        let t0 = ft(1_000, 0, true);
        let mut f = Freshness::default();
        assert!(
            f.reusable(Duration::from_millis(10), Duration::from_millis(50))
                .is_none()
        );
        f.used(sample(1_000, t0));
        let (s, age) = f
            .reusable(Duration::from_millis(1_030), Duration::from_millis(50))
            .unwrap();
        assert_eq!((s.value, age), (t0, Duration::from_millis(30)));
        assert!(
            f.reusable(Duration::from_millis(1_050), Duration::from_millis(50))
                .is_none()
        );
        assert!(
            f.reusable(Duration::from_millis(1_010), Duration::ZERO).is_none(),
            "zero: never reused"
        );
        // An older sample (another thread's slower read) does not replace a newer one.
        f.used(sample(900, ft(999, 900_000_000, true)));
        assert_eq!(
            f.reusable(Duration::from_millis(1_001), Duration::from_millis(50))
                .unwrap()
                .0
                .value,
            t0
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
