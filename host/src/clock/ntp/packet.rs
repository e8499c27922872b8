//! SNTP packets (RFC 4330, RFC 5905), sans-IO: bytes and timestamps in, values out.
//!
//! Written here rather than taken from `sntpc` (0.5.2, the newest crates.io offers): its
//! response check cannot be reached without its socket layer, it sends the local clock as
//! the origin timestamp (no random nonce), its leap-indicator test (`li > 3`) never rejects
//! an unsynchronised server (LI = 3), it does not tell Kiss-o'-Death codes apart, and it
//! checks neither stratum 16, a zero transmit timestamp, nor the root distance.

use std::fmt;
use std::time::Duration;

/// Length of an NTP header without extensions.
pub const PACKET_LEN: usize = 48;
/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
pub const UNIX_OFFSET: u64 = 2_208_988_800;
/// Largest root distance (root delay / 2 + root dispersion) accepted: RFC 5905's MAXDIST.
pub const MAX_ROOT_DISTANCE: Duration = Duration::from_millis(1_500);

const MODE_CLIENT: u8 = 3;
const MODE_SERVER: u8 = 4;
const VERSION: u8 = 4;
const LEAP_UNSYNCHRONISED: u8 = 3;
const MAX_STRATUM: u8 = 15;

/// An NTP timestamp: 32.32 fixed-point seconds since the start of its 136-year era.
///
/// The era is not on the wire. Differences between timestamps are taken with wrapping
/// 64-bit arithmetic, which is right across an era boundary (2036-02-07T06:28:16Z) as long
/// as the two clocks are within 68 years of each other; that is all [`measure`] needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NtpTimestamp(pub u64);

impl NtpTimestamp {
    /// The timestamp of a time since the Unix epoch (the era is dropped).
    pub fn from_unix(since_epoch: Duration) -> Self {
        let secs = since_epoch.as_secs().wrapping_add(UNIX_OFFSET) & 0xFFFF_FFFF;
        let frac = (u64::from(since_epoch.subsec_nanos()) << 32) / 1_000_000_000;
        Self((secs << 32) | frac)
    }

    /// `self - earlier` in nanoseconds, era-safe (see the type's docs).
    pub fn nanos_since(self, earlier: Self) -> i64 {
        let diff = self.0.wrapping_sub(earlier.0) as i64; // two's complement: the short way round
        ((i128::from(diff) * 1_000_000_000) >> 32) as i64
    }
}

/// A Kiss-o'-Death code: the server tells the client to stop or slow down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kiss {
    /// Access denied: stop using this server.
    Deny,
    /// Access restricted: stop using this server.
    Rstr,
    /// Rate exceeded: poll less often.
    Rate,
    /// Another code, ASCII.
    Other([u8; 4]),
}

impl Kiss {
    /// Whether the server asked never to be queried again.
    pub fn is_permanent(self) -> bool {
        matches!(self, Self::Deny | Self::Rstr)
    }
}

impl fmt::Display for Kiss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Deny => f.write_str("DENY"),
            Self::Rstr => f.write_str("RSTR"),
            Self::Rate => f.write_str("RATE"),
            Self::Other(code) => f.write_str(&String::from_utf8_lossy(code)),
        }
    }
}

/// Why a reply is not a usable time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// Fewer bytes than an NTP header.
    Truncated(usize),
    /// Not a server reply (mode 4).
    WrongMode(u8),
    /// A version outside 1..=4.
    BadVersion(u8),
    /// The origin timestamp is not the nonce we sent: not a reply to our request.
    OriginMismatch,
    /// Leap indicator 3 (or stratum 0 without a kiss code): the server has no time itself.
    Unsynchronised,
    /// Stratum 0 with a kiss code.
    KissOfDeath(Kiss),
    /// Stratum 16 or more: unsynchronised by definition.
    StratumTooHigh(u8),
    /// A zero transmit timestamp.
    ZeroTransmit,
    /// Root delay / 2 + root dispersion above [`MAX_ROOT_DISTANCE`].
    RootDistance(Duration),
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated(n) => write!(f, "truncated reply ({n} bytes, need {PACKET_LEN})"),
            Self::WrongMode(m) => write!(f, "reply has mode {m}, not 4 (server)"),
            Self::BadVersion(v) => write!(f, "reply has NTP version {v}"),
            Self::OriginMismatch => f.write_str("reply's origin timestamp is not the one we sent"),
            Self::Unsynchronised => f.write_str("server is unsynchronised (leap indicator 3)"),
            Self::KissOfDeath(kiss) => write!(f, "server sent Kiss-o'-Death {kiss}"),
            Self::StratumTooHigh(s) => write!(f, "server stratum {s} is unsynchronised"),
            Self::ZeroTransmit => f.write_str("reply has a zero transmit timestamp"),
            Self::RootDistance(d) => write!(
                f,
                "server's root distance {} ms exceeds {} ms",
                d.as_millis(),
                MAX_ROOT_DISTANCE.as_millis()
            ),
        }
    }
}

impl std::error::Error for Rejection {}

/// A client request (LI 0, version 4, mode 3) whose transmit timestamp is `nonce`.
///
/// The nonce is random, not the client's clock: a server echoes it as the origin timestamp,
/// which proves the reply answers this request, and it tells an on-path observer nothing.
pub fn request(nonce: u64) -> [u8; PACKET_LEN] {
    let mut packet = [0u8; PACKET_LEN];
    packet[0] = (VERSION << 3) | MODE_CLIENT;
    packet[40..48].copy_from_slice(&nonce.to_be_bytes());
    packet
}

/// The fields of a reply that passed every check in [`parse_reply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    /// Server stratum, 1..=15.
    pub stratum: u8,
    /// Round-trip delay from the server to its reference.
    pub root_delay: Duration,
    /// The server's dispersion relative to its reference.
    pub root_dispersion: Duration,
    /// T2: when the server received the request.
    pub receive: NtpTimestamp,
    /// T3: when the server sent the reply.
    pub transmit: NtpTimestamp,
}

impl Reply {
    /// Root delay / 2 + root dispersion: how far the server itself may be off.
    pub fn root_distance(&self) -> Duration {
        self.root_delay / 2 + self.root_dispersion
    }
}

/// Checks a reply to the request that carried `nonce`, in the order a careful client does.
pub fn parse_reply(bytes: &[u8], nonce: u64) -> Result<Reply, Rejection> {
    let Some(bytes) = bytes.get(..PACKET_LEN) else {
        return Err(Rejection::Truncated(bytes.len()));
    };
    let u32_at = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let u64_at = |i: usize| (u64::from(u32_at(i)) << 32) | u64::from(u32_at(i + 4));
    let (leap, version, mode) = (bytes[0] >> 6, (bytes[0] >> 3) & 0x7, bytes[0] & 0x7);
    let stratum = bytes[1];
    if mode != MODE_SERVER {
        return Err(Rejection::WrongMode(mode));
    }
    if !(1..=4).contains(&version) {
        return Err(Rejection::BadVersion(version));
    }
    // Before anything the server says about itself: a packet that does not answer our
    // request must not be able to make us stop using a server.
    if u64_at(24) != nonce {
        return Err(Rejection::OriginMismatch);
    }
    if stratum == 0 {
        let code = [bytes[12], bytes[13], bytes[14], bytes[15]];
        // chrony without a reference answers stratum 0 with RefID 0: that is "no time",
        // not a kiss. Kiss codes are printable ASCII.
        return Err(match &code {
            b"DENY" => Rejection::KissOfDeath(Kiss::Deny),
            b"RSTR" => Rejection::KissOfDeath(Kiss::Rstr),
            b"RATE" => Rejection::KissOfDeath(Kiss::Rate),
            c if c.iter().all(|b| b.is_ascii_graphic()) => Rejection::KissOfDeath(Kiss::Other(code)),
            _ => Rejection::Unsynchronised,
        });
    }
    if leap == LEAP_UNSYNCHRONISED {
        return Err(Rejection::Unsynchronised);
    }
    if stratum > MAX_STRATUM {
        return Err(Rejection::StratumTooHigh(stratum));
    }
    let transmit = NtpTimestamp(u64_at(40));
    if transmit.0 == 0 {
        return Err(Rejection::ZeroTransmit);
    }
    let short = |v: u32| Duration::from_nanos((u64::from(v) * 1_000_000_000) >> 16);
    let reply = Reply {
        stratum,
        root_delay: short(u32_at(4)),
        root_dispersion: short(u32_at(8)),
        receive: NtpTimestamp(u64_at(32)),
        transmit,
    };
    if reply.root_distance() > MAX_ROOT_DISTANCE {
        return Err(Rejection::RootDistance(reply.root_distance()));
    }
    Ok(reply)
}

/// What one exchange says about the client's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Server clock minus client clock, nanoseconds: ((T2 - T1) + (T3 - T4)) / 2.
    pub offset_nanos: i64,
    /// Round trip without the server's processing: (T4 - T1) - (T3 - T2).
    pub delay: Duration,
    /// The server's root distance.
    pub root_distance: Duration,
}

impl Sample {
    /// How far client time + offset may be from the true time: half the round trip plus
    /// the server's root distance.
    pub fn uncertainty(&self) -> Duration {
        self.delay / 2 + self.root_distance
    }
}

/// Offset and delay of one exchange; `t1` and `t4` are the client's (unfaked) send and
/// receive times.
pub fn measure(reply: &Reply, t1: NtpTimestamp, t4: NtpTimestamp) -> Sample {
    let (t2, t3) = (reply.receive, reply.transmit);
    let offset = (i128::from(t2.nanos_since(t1)) + i128::from(t3.nanos_since(t4))) / 2;
    let delay = t4.nanos_since(t1).saturating_sub(t3.nanos_since(t2));
    Sample {
        offset_nanos: offset as i64, // each half is below 2^63 ns, so is their mean
        delay: Duration::from_nanos(delay.max(0) as u64),
        root_distance: reply.root_distance(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONCE: u64 = 0x0123_4567_89ab_cdef;

    /// A reply as chrony sends it, with the given fields.
    fn reply(first: u8, stratum: u8, refid: &[u8; 4], origin: u64, t2: u64, t3: u64) -> [u8; PACKET_LEN] {
        let mut p = [0u8; PACKET_LEN];
        p[0] = first;
        p[1] = stratum;
        p[4..8].copy_from_slice(&0x0000_0100u32.to_be_bytes()); // root delay 1/256 s
        p[8..12].copy_from_slice(&0x0000_0200u32.to_be_bytes()); // root dispersion 2/256 s
        p[12..16].copy_from_slice(refid);
        p[24..32].copy_from_slice(&origin.to_be_bytes());
        p[32..40].copy_from_slice(&t2.to_be_bytes());
        p[40..48].copy_from_slice(&t3.to_be_bytes());
        p
    }

    const GOOD: u8 = 0b00_100_100; // LI 0, version 4, mode 4

    #[test]
    fn request_is_version_4_client_with_the_nonce() {
        let r = request(NONCE);
        assert_eq!(r[0], 0x23);
        assert_eq!(&r[40..], &NONCE.to_be_bytes());
        assert!(r[1..40].iter().all(|&b| b == 0));
    }

    #[test]
    fn a_good_reply_passes_and_measures() {
        let t1 = NtpTimestamp::from_unix(Duration::from_secs(1_800_000_000));
        let t2 = NtpTimestamp(t1.0 + (10u64 << 32)); // server 10 s ahead, 0 s transit
        let t3 = NtpTimestamp(t2.0 + (1u64 << 31)); // processes for 0.5 s
        let t4 = NtpTimestamp(t1.0 + (1u64 << 31) + (1u64 << 30)); // back after 0.75 s
        let r = parse_reply(&reply(GOOD, 2, b"GPS\0", NONCE, t2.0, t3.0), NONCE).expect("valid");
        assert_eq!(
            r.root_distance(),
            Duration::from_nanos(1_000_000_000 / 512 + 1_000_000_000 / 128)
        );
        let s = measure(&r, t1, t4);
        assert_eq!(s.delay, Duration::from_millis(250));
        assert_eq!(s.offset_nanos, 10_000_000_000 - 125_000_000); // (10 + (10.5 - 0.75)) / 2 s
    }

    #[test]
    fn each_check_rejects_its_case() {
        let ok = |first, stratum, refid: &[u8; 4], origin, t3| {
            parse_reply(&reply(first, stratum, refid, origin, 1 << 32, t3), NONCE)
        };
        assert_eq!(parse_reply(&[0u8; 47], NONCE), Err(Rejection::Truncated(47)));
        assert_eq!(ok(0b00_100_011, 2, b"X\0\0\0", NONCE, 1), Err(Rejection::WrongMode(3)));
        assert_eq!(ok(0b00_101_100, 2, b"X\0\0\0", NONCE, 1), Err(Rejection::BadVersion(5)));
        assert_eq!(ok(0b00_000_100, 2, b"X\0\0\0", NONCE, 1), Err(Rejection::BadVersion(0)));
        assert_eq!(ok(GOOD, 2, b"X\0\0\0", NONCE ^ 1, 1), Err(Rejection::OriginMismatch));
        assert_eq!(
            ok(0b11_100_100, 2, b"X\0\0\0", NONCE, 1),
            Err(Rejection::Unsynchronised)
        );
        assert_eq!(
            ok(0b11_100_100, 0, b"\0\0\0\0", NONCE, 1),
            Err(Rejection::Unsynchronised)
        );
        assert_eq!(
            ok(0b11_100_100, 0, b"RATE", NONCE, 1),
            Err(Rejection::KissOfDeath(Kiss::Rate))
        );
        assert_eq!(ok(GOOD, 0, b"DENY", NONCE, 1), Err(Rejection::KissOfDeath(Kiss::Deny)));
        assert_eq!(ok(GOOD, 0, b"RSTR", NONCE, 1), Err(Rejection::KissOfDeath(Kiss::Rstr)));
        assert_eq!(
            ok(GOOD, 0, b"INIT", NONCE, 1),
            Err(Rejection::KissOfDeath(Kiss::Other(*b"INIT")))
        );
        assert_eq!(ok(GOOD, 16, b"X\0\0\0", NONCE, 1), Err(Rejection::StratumTooHigh(16)));
        assert_eq!(ok(GOOD, 2, b"X\0\0\0", NONCE, 0), Err(Rejection::ZeroTransmit));
        // A kiss from someone who did not see our request is not obeyed.
        assert_eq!(ok(GOOD, 0, b"DENY", 7, 1), Err(Rejection::OriginMismatch));
    }

    #[test]
    fn root_distance_over_the_bound_is_rejected() {
        let mut p = reply(GOOD, 2, b"X\0\0\0", NONCE, 1 << 32, 1 << 32);
        p[8..12].copy_from_slice(&(2u32 << 16).to_be_bytes()); // 2 s dispersion
        assert!(matches!(parse_reply(&p, NONCE), Err(Rejection::RootDistance(_))));
    }

    #[test]
    fn offsets_are_right_across_the_2036_era_boundary() {
        // Client at 2036-02-07T06:28:10Z (era 0, seconds near 2^32); server 10 s later,
        // already in era 1 (seconds near 0).
        let era_end = (1u64 << 32) - UNIX_OFFSET; // 2036-02-07T06:28:16Z in Unix seconds
        let t1 = NtpTimestamp::from_unix(Duration::from_secs(era_end - 6));
        let t3 = NtpTimestamp::from_unix(Duration::from_secs(era_end + 4));
        assert!(t1.0 >> 63 == 1 && t3.0 >> 63 == 0, "one each side of the boundary");
        let r = parse_reply(&reply(GOOD, 2, b"X\0\0\0", NONCE, t3.0, t3.0), NONCE).expect("valid");
        let s = measure(&r, t1, t1);
        assert_eq!(s.offset_nanos, 10_000_000_000);
    }

    #[test]
    fn unix_conversion_keeps_nanoseconds_to_the_resolution() {
        let t = NtpTimestamp::from_unix(Duration::new(1_800_000_000, 500_000_000));
        assert_eq!(t.0 >> 32, 1_800_000_000 + UNIX_OFFSET);
        assert_eq!(t.0 & 0xFFFF_FFFF, 1 << 31);
    }
}
