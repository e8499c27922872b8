//! NTP as a time source: an SNTP client whose estimate survives libfaketime and a drifted
//! machine clock.
//!
//! - T1 and T4 come from the kernel's clock read without libc ([`raw`](super::raw)), so a
//!   faked process clock does not leak into the offset.
//! - The estimate is anchored to the unfaked monotonic clock and extrapolated from there:
//!   signing never waits for the network after the first sync. A background thread
//!   re-syncs every [`NtpBuilder::poll_interval`]; an estimate older than
//!   [`NtpBuilder::max_age`] is not trusted (a paused VM freezes its monotonic clock too).
//! - Each server is polled at most once per [`NtpBuilder::min_poll`]; Kiss-o'-Death `RATE`
//!   doubles that (64 s at least), `DENY` and `RSTR` retire the server.
//! - With several servers, every server is asked at once; samples that disagree with the
//!   majority are dropped and the one with the smallest round trip wins.
//!
//! The packet logic is pure and lives in [`packet`]; this module only does sockets and state.

pub mod packet;

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use self::packet::{NtpTimestamp, Rejection};
use super::raw::{monotonic, realtime};
use super::{Reading, TimeError, TimeSource};

/// The NTP port.
pub const DEFAULT_PORT: u16 = 123;
/// Clock frequency tolerance NTP assumes (RFC 5905's PHI): uncertainty grows this fast.
const PHI: f64 = 15e-6;
/// Least back-off after a `RATE` kiss (RFC 5905's default poll interval).
const MIN_RATE_BACKOFF: Duration = Duration::from_secs(64);
/// Longest back-off after repeated `RATE` kisses.
const MAX_BACKOFF: Duration = Duration::from_secs(1_024);

/// Why one NTP exchange gave no time.
#[derive(Debug)]
#[non_exhaustive]
pub enum NtpError {
    /// The server name did not resolve to an address.
    Resolve(String),
    /// A socket operation failed.
    Io(std::io::Error),
    /// No reply within the timeout.
    Timeout(Duration),
    /// A reply came and failed a check.
    Rejected(Rejection),
    /// The kernel clock reads before 1970.
    Clock,
}

impl fmt::Display for NtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Resolve(why) => write!(f, "cannot resolve: {why}"),
            Self::Io(e) => write!(f, "socket error: {e}"),
            Self::Timeout(t) => write!(f, "no reply within {} ms", t.as_millis()),
            Self::Rejected(r) => r.fmt(f),
            Self::Clock => f.write_str("the kernel's realtime clock is before 1970"),
        }
    }
}

impl std::error::Error for NtpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io(e) => Some(e),
            Self::Rejected(r) => Some(r),
            _ => None,
        }
    }
}

/// One good exchange with one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measurement {
    /// The server's address.
    pub server: SocketAddr,
    /// Offset, delay and root distance.
    pub sample: packet::Sample,
    /// The real time when the reply arrived (client T4 plus the offset), since 1970.
    pub real_at_receive: Duration,
    /// [`monotonic`] when the reply arrived.
    pub mono_at_receive: Duration,
}

impl Measurement {
    /// The real time the measurement gives (NTP's era arithmetic keeps it within 1968–2104,
    /// so the addition cannot overflow; checked all the same).
    pub fn time(&self) -> SystemTime {
        UNIX_EPOCH.checked_add(self.real_at_receive).unwrap_or(UNIX_EPOCH)
    }
}

/// Resolves `host[:port]`, `[v6][:port]` or a bare IPv6 address (port 123 by default).
pub fn resolve(server: &str) -> Result<SocketAddr, NtpError> {
    let (host, port) = split_host_port(server).ok_or_else(|| NtpError::Resolve(format!("bad port in {server:?}")))?;
    (host, port)
        .to_socket_addrs()
        .map_err(|e| NtpError::Resolve(e.to_string()))?
        .next()
        .ok_or_else(|| NtpError::Resolve(format!("{host:?} has no address")))
}

fn split_host_port(server: &str) -> Option<(&str, u16)> {
    let port = |p: &str| p.parse::<u16>().ok().filter(|&p| p != 0);
    if let Some(rest) = server.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(p) => Some((host, port(p)?)),
            None if after.is_empty() => Some((host, DEFAULT_PORT)),
            None => None,
        };
    }
    match server.matches(':').count() {
        0 => Some((server, DEFAULT_PORT)),
        1 => {
            let (host, p) = server.split_once(':')?;
            Some((host, port(p)?))
        }
        _ => Some((server, DEFAULT_PORT)), // a bare IPv6 address
    }
}

/// Resolves every name at once on threads of their own, waiting at most `timeout` in all: a
/// resolver that hangs (an unreachable DNS server) makes its names fail, not the caller wait.
pub fn resolve_all(names: &[String], timeout: Duration) -> Vec<Result<SocketAddr, NtpError>> {
    let (sent, answers) = mpsc::channel();
    for (k, name) in names.iter().enumerate() {
        let (tx, name) = (sent.clone(), name.clone());
        // Detached: a lookup that never returns leaves one idle thread, not a hung caller.
        let spawned = std::thread::Builder::new()
            .name("realsig-ntp-resolve".into())
            .spawn(move || {
                let _ = tx.send((k, resolve(&name)));
            });
        if let Err(e) = spawned {
            let _ = sent.send((k, Err(NtpError::Io(e))));
        }
    }
    drop(sent);
    let mut results: Vec<Option<Result<SocketAddr, NtpError>>> = names.iter().map(|_| None).collect();
    let start = monotonic();
    while results.iter().any(Option::is_none) {
        let left = timeout.saturating_sub(monotonic().saturating_sub(start));
        match answers.recv_timeout(left) {
            Ok((k, result)) => results[k] = Some(result),
            Err(_) => break,
        }
    }
    results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| {
                Err(NtpError::Resolve(format!(
                    "no answer from the resolver within {} ms",
                    timeout.as_millis()
                )))
            })
        })
        .collect()
}

/// One SNTP exchange with `server`, waiting at most `timeout` for the reply.
pub fn query(server: SocketAddr, timeout: Duration) -> Result<Measurement, NtpError> {
    let local: SocketAddr = if server.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    let socket = UdpSocket::bind(local).map_err(NtpError::Io)?;
    // Connected: the kernel drops datagrams from any other address or port.
    socket.connect(server).map_err(NtpError::Io)?;
    let mut nonce = [0u8; 8];
    rustix::rand::getrandom(&mut nonce, rustix::rand::GetRandomFlags::empty()).map_err(|e| NtpError::Io(e.into()))?;
    let nonce = u64::from_be_bytes(nonce);

    let start = monotonic();
    let t1 = realtime().ok_or(NtpError::Clock)?;
    socket.send(&packet::request(nonce)).map_err(NtpError::Io)?;
    let mut buf = [0u8; 2 * packet::PACKET_LEN];
    let len = loop {
        let left = timeout.saturating_sub(monotonic().saturating_sub(start));
        if left.is_zero() {
            return Err(NtpError::Timeout(timeout));
        }
        socket.set_read_timeout(Some(left)).map_err(NtpError::Io)?;
        match socket.recv(&mut buf) {
            Ok(len) => break len,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return Err(NtpError::Timeout(timeout));
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(NtpError::Io(e)),
        }
    };
    let t4 = realtime().ok_or(NtpError::Clock)?;
    let mono_at_receive = monotonic();
    let t1 = t1.duration_since(UNIX_EPOCH).map_err(|_| NtpError::Clock)?;
    let t4 = t4.duration_since(UNIX_EPOCH).map_err(|_| NtpError::Clock)?;

    let reply = packet::parse_reply(&buf[..len], nonce).map_err(NtpError::Rejected)?;
    let sample = packet::measure(&reply, NtpTimestamp::from_unix(t1), NtpTimestamp::from_unix(t4));
    let real_at_receive = if sample.offset_nanos >= 0 {
        t4.checked_add(Duration::from_nanos(sample.offset_nanos as u64))
    } else {
        t4.checked_sub(Duration::from_nanos(sample.offset_nanos.unsigned_abs()))
    }
    .ok_or(NtpError::Clock)?;
    Ok(Measurement {
        server,
        sample,
        real_at_receive,
        mono_at_receive,
    })
}

/// Of several good measurements, the one to use: drop those that disagree with the majority
/// (their uncertainty intervals do not overlap most others'), then take the smallest delay.
/// `None` when no majority agrees.
pub fn select(measurements: &[Measurement]) -> Option<&Measurement> {
    let offset = |m: &Measurement| m.sample.offset_nanos;
    let agree = |a: &Measurement, b: &Measurement| {
        let gap = offset(a).abs_diff(offset(b));
        u128::from(gap) <= a.sample.uncertainty().as_nanos() + b.sample.uncertainty().as_nanos()
    };
    measurements
        .iter()
        .filter(|a| 2 * measurements.iter().filter(|b| agree(a, b)).count() > measurements.len())
        .min_by_key(|m| m.sample.delay)
}

/// Settings for an [`NtpClock`].
#[derive(Debug, Clone)]
pub struct NtpBuilder {
    servers: Vec<String>,
    timeout: Duration,
    min_poll: Duration,
    poll_interval: Duration,
    max_age: Duration,
}

impl NtpBuilder {
    /// How long to wait for a reply (default 1 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The least time between two queries to one server (default 16 s; public servers ask
    /// for no more than one query every ~15 s).
    pub fn min_poll(mut self, min_poll: Duration) -> Self {
        self.min_poll = min_poll;
        self
    }

    /// How often the background thread re-syncs (default 64 s; never below `min_poll`).
    pub fn poll_interval(mut self, poll_interval: Duration) -> Self {
        self.poll_interval = poll_interval;
        self
    }

    /// How old an estimate may get without a fresh sync before it is not trusted
    /// (default 1024 s).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// The clock. Nothing is sent until the first [`TimeSource::now`].
    pub fn build(self) -> NtpClock {
        let (stop, stopped) = mpsc::channel();
        let servers = self
            .servers
            .iter()
            .map(|name| Server {
                name: name.clone(),
                next_allowed: Duration::ZERO,
                backoff: self.min_poll,
                retired: None,
            })
            .collect();
        NtpClock {
            shared: Arc::new_cyclic(|weak| Shared {
                name: format!("ntp:{}", self.servers.join("+")).into(),
                config: self,
                state: Mutex::new(State {
                    servers,
                    estimate: None,
                    last_error: None,
                    stopped: Some(stopped),
                }),
                syncing: Mutex::new(()),
                weak: weak.clone(),
            }),
            _stop: stop,
        }
    }
}

/// SNTP servers as a [`TimeSource`]; see the [module docs](self).
pub struct NtpClock {
    shared: Arc<Shared>,
    /// Dropped with the clock, which ends the background thread.
    _stop: mpsc::Sender<()>,
}

impl fmt::Debug for NtpClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NtpClock").field("name", &self.shared.name).finish()
    }
}

struct Shared {
    name: Arc<str>,
    config: NtpBuilder,
    state: Mutex<State>,
    /// Held for the whole of a sync: one at a time.
    syncing: Mutex<()>,
    /// Itself, for the background thread (which must not keep the clock alive).
    weak: std::sync::Weak<Shared>,
}

struct State {
    servers: Vec<Server>,
    estimate: Option<Measurement>,
    last_error: Option<String>,
    /// Taken by the background thread when it starts.
    stopped: Option<mpsc::Receiver<()>>,
}

struct Server {
    name: String,
    /// [`monotonic`] before which this server is not asked again.
    next_allowed: Duration,
    backoff: Duration,
    retired: Option<packet::Kiss>,
}

impl NtpClock {
    /// Settings for a clock that asks `servers` (each `host[:port]`, port 123 by default).
    pub fn builder<S: Into<String>>(servers: impl IntoIterator<Item = S>) -> NtpBuilder {
        NtpBuilder {
            servers: servers.into_iter().map(Into::into).collect(),
            timeout: Duration::from_secs(1),
            min_poll: Duration::from_secs(16),
            poll_interval: Duration::from_secs(64),
            max_age: Duration::from_secs(1_024),
        }
    }

    /// The measurement the clock currently extrapolates from, if any.
    pub fn estimate(&self) -> Option<Measurement> {
        self.shared.lock().estimate
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn error(&self, reason: impl Into<String>) -> TimeError {
        TimeError::new(&*self.name, reason)
    }

    /// Asks every server that may be asked now, at once, and keeps the best answer.
    ///
    /// One sync at a time (`syncing`); the state lock is held only to plan and to record,
    /// never across the network, so signers keep reading the old estimate meanwhile. With
    /// `unless_fresh`, a sync another caller just finished counts (single flight).
    fn sync(&self, unless_fresh: bool) -> Result<(), String> {
        let _flight = self.syncing.lock().unwrap_or_else(PoisonError::into_inner);
        let now = monotonic();
        let asked: Vec<(usize, String)> = {
            let mut state = self.lock();
            if unless_fresh && state.estimate.is_some_and(|m| self.reading(&m, now).is_ok()) {
                return Ok(());
            }
            let asked: Vec<_> = (0..state.servers.len())
                .filter(|&i| state.servers[i].retired.is_none() && state.servers[i].next_allowed <= now)
                .collect();
            if asked.is_empty() {
                let why = self.why_not_asked(&state, now);
                return Err(match &state.last_error {
                    Some(last) => format!("{why} (last reply: {last})"),
                    None => why,
                });
            }
            asked
                .into_iter()
                .map(|i| {
                    let server = &mut state.servers[i];
                    server.next_allowed = now + server.backoff;
                    (i, server.name.clone())
                })
                .collect()
        };
        let timeout = self.config.timeout;
        let names: Vec<String> = asked.iter().map(|(_, name)| name.clone()).collect();
        let addresses = resolve_all(&names, timeout);
        // Names that resolve to one address are one server: `localhost` and `127.0.0.1`
        // must not outvote an honest third.
        let mut unique: Vec<SocketAddr> = Vec::new();
        for addr in addresses.iter().flatten() {
            if !unique.contains(addr) {
                unique.push(*addr);
            }
        }
        let answers: Vec<Result<Measurement, NtpError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = unique
                .iter()
                .map(|&addr| scope.spawn(move || query(addr, timeout)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(Err(NtpError::Timeout(timeout))))
                .collect()
        });
        let mut state = self.lock();
        let mut good = Vec::new();
        let mut errors = Vec::new();
        for ((i, name), address) in asked.into_iter().zip(addresses) {
            let server = &mut state.servers[i];
            let k = match &address {
                Ok(addr) => unique.iter().position(|u| u == addr),
                Err(e) => {
                    errors.push(format!("{name}: {e}"));
                    continue;
                }
            };
            // `unique` holds every resolved address, so `k` is always found.
            let Some(k) = k else { continue };
            let result = answers[k].as_ref().map(|m| (k, *m));
            match result {
                Ok((k, m)) => {
                    server.backoff = self.config.min_poll;
                    if !good.iter().any(|(seen, _): &(usize, Measurement)| *seen == k) {
                        good.push((k, m));
                    }
                }
                Err(e) => {
                    if let NtpError::Rejected(Rejection::KissOfDeath(kiss)) = e {
                        if kiss.is_permanent() {
                            server.retired = Some(*kiss);
                        } else {
                            server.backoff = (server.backoff * 2).clamp(MIN_RATE_BACKOFF, MAX_BACKOFF);
                            server.next_allowed = now + server.backoff;
                        }
                    }
                    errors.push(format!("{name}: {e}"));
                }
            }
        }
        let good: Vec<Measurement> = good.into_iter().map(|(_, m)| m).collect();
        match select(&good) {
            Some(best) => {
                state.estimate = Some(*best);
                state.last_error = None;
                if let Some(stopped) = state.stopped.take() {
                    spawn_refresher(self.weak.clone(), stopped);
                }
                Ok(())
            }
            None => {
                if !good.is_empty() {
                    errors.push(format!("{} servers answered but no majority agrees", good.len()));
                }
                let message = errors.join("; ");
                state.last_error = Some(message.clone());
                Err(message)
            }
        }
    }

    fn why_not_asked(&self, state: &State, now: Duration) -> String {
        let parts: Vec<String> = state
            .servers
            .iter()
            .map(|s| match s.retired {
                Some(kiss) => format!("{}: retired after Kiss-o'-Death {kiss}", s.name),
                None => format!(
                    "{}: next query allowed in {} s",
                    s.name,
                    s.next_allowed.saturating_sub(now).as_secs()
                ),
            })
            .collect();
        parts.join("; ")
    }

    fn reading(&self, m: &Measurement, mono_now: Duration) -> Result<Reading, TimeError> {
        let age = mono_now.saturating_sub(m.mono_at_receive);
        if age > self.config.max_age {
            return Err(self.error(format!(
                "the last good sample is {} s old (max {} s) and no server answered since",
                age.as_secs(),
                self.config.max_age.as_secs()
            )));
        }
        let time = UNIX_EPOCH
            .checked_add(m.real_at_receive)
            .and_then(|t| t.checked_add(age))
            .ok_or_else(|| self.error("the estimate is out of range"))?;
        Ok(Reading {
            time,
            uncertainty: Some(m.sample.uncertainty() + age.mul_f64(PHI)),
            source: Arc::clone(&self.name),
            trusted: true,
        })
    }
}

impl TimeSource for NtpClock {
    fn now(&self) -> Result<Reading, TimeError> {
        let shared = &self.shared;
        if let Some(m) = shared.lock().estimate
            && let Ok(reading) = shared.reading(&m, monotonic())
        {
            return Ok(reading);
        }
        // No estimate, or too old: sync on the signing path (the first call, or the
        // background refresh has been failing for max_age).
        let synced = shared.sync(true);
        match (shared.lock().estimate, synced) {
            (Some(m), _) => shared.reading(&m, monotonic()),
            (None, Err(why)) => Err(shared.error(why)),
            (None, Ok(())) => Err(shared.error("no estimate after a sync")),
        }
    }

    fn name(&self) -> &str {
        &self.shared.name
    }
}

/// Re-syncs every poll interval until the clock is dropped.
fn spawn_refresher(shared: std::sync::Weak<Shared>, stopped: mpsc::Receiver<()>) {
    let interval = match shared.upgrade() {
        Some(s) => s.config.poll_interval.max(s.config.min_poll),
        None => return,
    };
    let spawned = std::thread::Builder::new().name("realsig-ntp".into()).spawn(move || {
        while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
            let Some(shared) = shared.upgrade() else { return };
            // A failure keeps the old estimate until it ages out (see `reading`).
            let _ = shared.sync(false);
        }
    });
    // Without the thread, `now` re-syncs once the estimate ages out: slower, still correct.
    drop(spawned);
}
