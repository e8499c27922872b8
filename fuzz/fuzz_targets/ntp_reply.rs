//! The NTP reply parser and offset arithmetic (`realsig::clock::ntp::packet`): never a panic
//! or an overflow, whatever the bytes and the client's timestamps. The first 16 bytes are the
//! client's T1 and T4; the nonce is the reply's own origin field, so the checks past the
//! origin match are reached too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use realsig::clock::ntp::packet::{NtpTimestamp, measure, parse_reply};

fuzz_target!(|data: &[u8]| {
    if data.len() < 16 {
        return;
    }
    let (times, packet) = data.split_at(16);
    let t1 = NtpTimestamp(u64::from_be_bytes(times[..8].try_into().unwrap()));
    let t4 = NtpTimestamp(u64::from_be_bytes(times[8..].try_into().unwrap()));
    let nonce = packet
        .get(24..32)
        .map_or(0, |o| u64::from_be_bytes(o.try_into().unwrap()));
    let Ok(reply) = parse_reply(packet, nonce) else { return };
    assert!(reply.root_distance() <= realsig::clock::ntp::packet::MAX_ROOT_DISTANCE);
    let sample = measure(&reply, t1, t4);
    let _ = sample.uncertainty();
});
