//! libfaketimefs's realtime-file parser (`realsig::clock::realtime_file::parse`): never a
//! panic; every value it accepts is a time (no overflow, RFC 3339 can write it); and the value
//! written back with nine fraction digits parses to the same instant.
#![no_main]

use libfuzzer_sys::fuzz_target;
use realsig::clock::realtime_file::{MAX_SECS, parse};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(value) = parse(text) else { return };
    assert!(value.since_epoch.as_secs() <= MAX_SECS);
    let time = value.time().expect("a parsed value is a time");
    assert!(!realsig::clock::rfc3339(time).contains("out of range"));
    let written = format!(
        "{}.{:09}",
        value.since_epoch.as_secs(),
        value.since_epoch.subsec_nanos()
    );
    let again = parse(&written).expect("written back, it parses");
    assert_eq!(
        again.since_epoch, value.since_epoch,
        "{text:?} round-trips through {written:?}"
    );
});
