//! The `--clock` text: a comma-separated chain of sources.
//!
//! | item | source |
//! |---|---|
//! | `faketimefs` | [`RealtimeFile`] at `$FAKETIME_REALTIME_FILE` |
//! | `faketimefs:PATH` | [`RealtimeFile`] at PATH |
//! | `faketimefs-static:PATH` | PATH as a fixed snapshot ([`RealtimeFile::allow_static`]) |
//! | `ntp:SERVER[+SERVER...]` | [`NtpClock`], each SERVER `host[:port]` (port 123) |
//! | `raw` | [`RawClock`] |
//! | `system` | [`SystemClock`] (untrusted) |
//! | `fixed:RFC3339` | [`FixedClock`] |
//! | `default` | [`Chain::default_sources`] |
//!
//! Example: `faketimefs:/run/libfaketimefs/realtime,ntp:127.0.0.1:11126,raw,system`.

use std::fmt;
use std::sync::Arc;

use super::realtime_file::ENV_VAR;
use super::{Chain, FixedClock, NtpClock, RawClock, RealtimeFile, SystemClock, TimeSource};

/// The environment variable the CLI reads a chain from when `--clock` is not given.
pub const CLOCK_ENV: &str = "REALSIG_CLOCK";

/// A `--clock` text that does not describe a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError(String);

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad clock chain: {}", self.0)
    }
}

impl std::error::Error for SpecError {}

/// Builds the chain `spec` describes (see the [module docs](self)).
pub fn parse(spec: &str) -> Result<Chain, SpecError> {
    let mut sources: Vec<Arc<dyn TimeSource>> = Vec::new();
    for item in spec.split(',').map(str::trim) {
        let (kind, arg) = match item.split_once(':') {
            Some((kind, arg)) => (kind, Some(arg)),
            None => (item, None),
        };
        let missing = |what: &str| SpecError(format!("{kind:?} needs {what}, as in {kind}:{what}"));
        match (kind, arg) {
            ("", _) => return Err(SpecError(format!("empty item in {spec:?}"))),
            ("faketimefs", None) => sources
                .push(Arc::new(RealtimeFile::from_env().ok_or_else(|| {
                    SpecError(format!("\"faketimefs\" without a path needs ${ENV_VAR} to be set"))
                })?)),
            ("faketimefs", Some(path)) if !path.is_empty() => sources.push(Arc::new(RealtimeFile::new(path))),
            ("faketimefs-static", Some(path)) if !path.is_empty() => {
                sources.push(Arc::new(RealtimeFile::new(path).allow_static(true)))
            }
            ("faketimefs" | "faketimefs-static", _) => return Err(missing("PATH")),
            ("ntp", Some(servers)) if !servers.is_empty() => {
                let servers: Vec<&str> = servers.split('+').collect();
                if servers.iter().any(|s| s.is_empty()) {
                    return Err(SpecError(format!("empty server in {item:?}")));
                }
                sources.push(Arc::new(NtpClock::builder(servers).build()));
            }
            ("ntp", _) => return Err(missing("HOST[:PORT]")),
            ("fixed", Some(text)) => {
                let time = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                    .map_err(|e| SpecError(format!("{item:?}: expected an RFC 3339 time ({e})")))?;
                sources.push(Arc::new(FixedClock(time.into())));
            }
            ("fixed", None) => return Err(missing("RFC3339")),
            ("raw", None) => sources.push(Arc::new(RawClock::default())),
            ("system", None) => sources.push(Arc::new(SystemClock)),
            ("default", None) => sources.extend(Chain::default_sources()),
            ("raw" | "system" | "default", Some(_)) => {
                return Err(SpecError(format!("{kind:?} takes no argument (in {item:?})")));
            }
            _ => {
                return Err(SpecError(format!(
                    "unknown source {kind:?} (known: faketimefs[:PATH], faketimefs-static:PATH, \
                     ntp:HOST[:PORT][+HOST...], raw, system, fixed:RFC3339, default)"
                )));
            }
        }
    }
    Ok(Chain::new(sources))
}

// Tested by tests/data/clock-specs.json, the cases every implementation of this syntax reads
// (tests/all/time_sources.rs here; bindings/python/tests/test_clocks.py).
