//! The time sources against real parts on loopback: chrony, a scripted SNTP responder,
//! libfaketime on a child process, and realtime files as libfaketimefs and people write them.

use crate::common;

use std::net::SocketAddr;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use realsig::clock::ntp::packet::{Kiss, Rejection};
use realsig::clock::ntp::{self, NtpError};
use realsig::{Chain, Credentials, Error, NtpClock, RawClock, RealtimeFile, Request, SignError, Signer, TimeSource};
use serde_json::Value;

use common::test_cache_dir;
use common::time_servers::{Chrony, RealtimeWriter, ScriptedNtp, faked, good_reply};

const TWO_DAYS: Duration = Duration::from_secs(2 * 86_400);
const THREE_DAYS_MS: i64 = 3 * 86_400 * 1_000;

fn unix(t: SystemTime) -> Duration {
    t.duration_since(UNIX_EPOCH).expect("after 1970")
}

/// `|a - b|`.
fn gap(a: SystemTime, b: SystemTime) -> Duration {
    a.duration_since(b).unwrap_or_else(|e| e.duration())
}

fn now_ms() -> i64 {
    unix(SystemTime::now()).as_millis() as i64 // the test runner is never preloaded
}

fn clock(server: SocketAddr) -> NtpClock {
    NtpClock::builder([server.to_string()])
        .timeout(Duration::from_millis(500))
        .build()
}

// ---- chrony -------------------------------------------------------------------------

#[test]
fn chrony_gives_the_real_time_with_a_small_uncertainty() {
    let chrony = Chrony::start(true, None);
    let reading = clock(chrony.addr).now().expect("chrony answers");
    assert!(
        gap(reading.time, SystemTime::now()) < Duration::from_millis(100),
        "{reading:?}"
    );
    let uncertainty = reading.uncertainty.expect("NTP bounds its uncertainty");
    assert!(uncertainty < Duration::from_millis(50), "{uncertainty:?}");
    assert_eq!(&*reading.source, format!("ntp:{}", chrony.addr));
}

#[test]
fn a_client_follows_a_server_two_days_ahead_not_its_own_clock() {
    let chrony = Chrony::start(true, Some("+2d"));
    let reading = clock(chrony.addr).now().expect("chrony answers");
    let expected = SystemTime::now() + TWO_DAYS;
    assert!(gap(reading.time, expected) < Duration::from_secs(1), "{reading:?}");
}

#[test]
fn chrony_without_a_reference_is_rejected_as_unsynchronised() {
    let chrony = Chrony::start(false, None);
    match ntp::query(chrony.addr, Duration::from_secs(1)) {
        Err(NtpError::Rejected(Rejection::Unsynchronised)) => {}
        other => panic!("expected an unsynchronised rejection, got {other:?}"),
    }
    let e = clock(chrony.addr)
        .now()
        .expect_err("no time from an unsynchronised server");
    assert!(e.to_string().contains("unsynchronised"), "{e}");
}

// ---- scripted SNTP responder ----------------------------------------------------------

/// One query to a responder that answers each request with `edit(good reply)`.
fn query_scripted(edit: impl Fn(&mut Vec<u8>) + Send + 'static) -> Result<ntp::Measurement, NtpError> {
    let server = ScriptedNtp::start(move |request| {
        let mut reply = good_reply(request, SystemTime::now());
        edit(&mut reply);
        Some(reply)
    });
    ntp::query(server.addr, Duration::from_secs(1))
}

fn rejection(result: Result<ntp::Measurement, NtpError>) -> Rejection {
    match result {
        Err(NtpError::Rejected(r)) => r,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn kiss(code: &'static [u8; 4]) -> impl Fn(&mut Vec<u8>) + Send + 'static {
    move |p| {
        p[0] = 0b11_100_100; // LI 3, as RFC 5905 sends a kiss
        p[1] = 0;
        p[12..16].copy_from_slice(code);
    }
}

#[test]
fn the_scripted_good_reply_is_accepted() {
    // The baseline the negative cases below edit: without this they could pass vacuously.
    let m = query_scripted(|_| {}).expect("a good reply");
    assert!(gap(m.time(), SystemTime::now()) < Duration::from_millis(100));
}

#[test]
fn kiss_of_death_codes_are_told_apart() {
    assert_eq!(
        rejection(query_scripted(kiss(b"RATE"))),
        Rejection::KissOfDeath(Kiss::Rate)
    );
    assert_eq!(
        rejection(query_scripted(kiss(b"DENY"))),
        Rejection::KissOfDeath(Kiss::Deny)
    );
    assert_eq!(
        rejection(query_scripted(kiss(b"RSTR"))),
        Rejection::KissOfDeath(Kiss::Rstr)
    );
}

#[test]
fn each_bad_reply_is_rejected_for_its_reason() {
    assert_eq!(rejection(query_scripted(|p| p[24] ^= 0xFF)), Rejection::OriginMismatch);
    assert_eq!(
        rejection(query_scripted(|p| p[0] = 0b00_100_011)),
        Rejection::WrongMode(3)
    );
    assert_eq!(
        rejection(query_scripted(|p| p[40..48].fill(0))),
        Rejection::ZeroTransmit
    );
    assert_eq!(rejection(query_scripted(|p| p[1] = 16)), Rejection::StratumTooHigh(16));
    assert_eq!(rejection(query_scripted(|p| p.truncate(20))), Rejection::Truncated(20));
}

#[test]
fn silence_times_out_within_the_bound() {
    let server = ScriptedNtp::start(|_| None);
    let started = Instant::now();
    match ntp::query(server.addr, Duration::from_millis(300)) {
        Err(NtpError::Timeout(_)) => {}
        other => panic!("expected a timeout, got {other:?}"),
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(290) && took < Duration::from_secs(1),
        "{took:?}"
    );
    assert_eq!(server.requests(), 1);
}

#[test]
fn a_reply_across_the_2036_era_boundary_is_read_in_the_next_era() {
    // 2036-02-07T06:28:20Z: NTP era 1, seconds field 4. A client that assumed era 0 would
    // land in 1900; one that ignored the wrap would be off by 136 years.
    let era_time = UNIX_EPOCH + Duration::from_secs((1u64 << 32) - ntp::packet::UNIX_OFFSET + 4);
    let server = ScriptedNtp::start(move |request| Some(good_reply(request, era_time)));
    let reading = clock(server.addr).now().expect("a good reply");
    assert!(
        gap(reading.time, era_time) < Duration::from_millis(100),
        "{:?}",
        unix(reading.time)
    );
}

#[test]
fn rate_backs_off_and_deny_retires_the_server() {
    for (code, retired) in [(b"RATE", false), (b"DENY", true)] {
        let edit = kiss(code);
        let server = ScriptedNtp::start(move |request| {
            let mut reply = good_reply(request, SystemTime::now());
            edit(&mut reply);
            Some(reply)
        });
        let clock = NtpClock::builder([server.addr.to_string()])
            .min_poll(Duration::ZERO)
            .build();
        let first = clock.now().expect_err("kissed").to_string();
        assert!(first.contains("Kiss-o'-Death"), "{first}");
        // RATE backs off for 64 s at least (even from a zero min-poll); DENY never asks again.
        let second = clock.now().expect_err("still no time").to_string();
        assert_eq!(server.requests(), 1, "{code:?}: asked again: {second}");
        if retired {
            assert!(second.contains("retired after Kiss-o'-Death DENY"), "{second}");
        }
    }
}

#[test]
fn one_server_is_polled_at_most_once_per_min_poll() {
    let server = ScriptedNtp::start(|_| None);
    let clock = NtpClock::builder([server.addr.to_string()])
        .timeout(Duration::from_millis(100))
        .build();
    for _ in 0..5 {
        assert!(clock.now().is_err());
    }
    assert_eq!(server.requests(), 1, "signing retried the network inside min-poll");
}

#[test]
fn after_the_first_sync_signing_never_waits_for_the_network() {
    let server = ScriptedNtp::start(|request| Some(good_reply(request, SystemTime::now())));
    let clock = clock(server.addr);
    clock.now().expect("first sync");
    for _ in 0..10_000 {
        clock.now().expect("extrapolated");
    }
    assert_eq!(server.requests(), 1, "a reading went to the network");
}

#[test]
fn of_three_servers_the_one_that_disagrees_is_outvoted() {
    let liar = ScriptedNtp::start(|r| Some(good_reply(r, SystemTime::now() + Duration::from_secs(3_600))));
    let honest: Vec<ScriptedNtp> = (0..2)
        .map(|_| ScriptedNtp::start(|r| Some(good_reply(r, SystemTime::now()))))
        .collect();
    let servers = [liar.addr, honest[0].addr, honest[1].addr].map(|a| a.to_string());
    let reading = NtpClock::builder(servers).build().now().expect("a majority agrees");
    assert!(
        gap(reading.time, SystemTime::now()) < Duration::from_millis(100),
        "{reading:?}"
    );
    assert_eq!(liar.requests(), 1, "every server is asked");
}

// ---- the binary under libfaketime -----------------------------------------------------

fn realsig(args: &[&str]) -> Command {
    let mut cmd = faked(env!("CARGO_BIN_EXE_realsig"), "-3d");
    cmd.args(args)
        .env_remove("REALSIG_CLOCK")
        .env_remove("FAKETIME_REALTIME_FILE")
        .env("REALSIG_CACHE_DIR", test_cache_dir());
    cmd
}

fn json(output: Output) -> Value {
    assert!(
        output.status.success(),
        "realsig failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

/// Asserts `now`'s JSON gives the real time (taken outside faketime) and the -3 d offset.
fn assert_real_time_and_offset(now: &Value, reference_ms: i64, source: &str) {
    let unix_ms = now["unix_ms"].as_i64().expect("unix_ms");
    assert!(
        (unix_ms - reference_ms).abs() < 1_000,
        "{unix_ms} vs {reference_ms}: {now}"
    );
    let offset_ms = now["offset_ms"].as_i64().expect("offset_ms");
    assert!((offset_ms + THREE_DAYS_MS).abs() < 1_000, "offset {offset_ms}: {now}");
    assert_eq!(now["source"], source, "{now}");
}

#[test]
fn under_faketime_the_default_chain_reports_the_real_time_and_the_offset() {
    let output = realsig(&["now", "--format", "json"]).output().expect("runs");
    let reference = now_ms();
    let now = json(output);
    assert_real_time_and_offset(&now, reference, "raw");
    assert_eq!(now["trusted"], true);
}

#[test]
fn under_faketime_the_default_chain_prefers_the_realtime_file() {
    let dir = tempfile::tempdir().unwrap();
    let writer = RealtimeWriter::start(dir.path().join("realtime"), false);
    let output = realsig(&["now", "--format", "json"])
        .env("FAKETIME_REALTIME_FILE", &writer.path)
        .output()
        .expect("runs");
    let now = json(output);
    assert_real_time_and_offset(&now, now_ms(), &format!("faketimefs:{}", writer.path.display()));
    assert_eq!(
        now["sources"].as_array().map(Vec::len),
        Some(2),
        "file, then raw: {now}"
    );
}

#[test]
fn under_faketime_ntp_follows_the_server_and_system_shows_the_fake() {
    let chrony = Chrony::start(true, None);
    let spec = format!("ntp:{},system", chrony.addr);
    let now = json(
        realsig(&["now", "--clock", &spec, "--format", "json"])
            .output()
            .expect("runs"),
    );
    assert_real_time_and_offset(&now, now_ms(), &format!("ntp:{}", chrony.addr));
    let system = &now["sources"][1];
    assert_eq!(system["trusted"], false, "{now}");
    let system_ms = system["unix_ms"].as_i64().expect("system reads");
    assert!(
        (system_ms - now_ms() + THREE_DAYS_MS).abs() < 1_000,
        "the fake clock: {system}"
    );
}

#[test]
fn under_faketime_sign_uses_the_real_time_and_warns_about_the_process_clock() {
    let request = "GET / HTTP/1.1\nHost: example.amazonaws.com\n\n";
    let mut child = realsig(&[
        "sign",
        "--request",
        "-",
        "--region",
        "us-east-1",
        "--service",
        "service",
        "--format",
        "json",
    ])
    .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    .env("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    .env_remove("AWS_SESSION_TOKEN")
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .expect("runs");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), request.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let signed = json(output);
    let signing_time = signed["signing_time"].as_str().expect("signing_time");
    let signing_time = common::rfc3339(signing_time);
    assert!(
        gap(signing_time, SystemTime::now()) < Duration::from_secs(2),
        "{signed}"
    );
    // The two clocks are read one after the other, so the offset is 3 days less the moments
    // between the reads: a preempted process can make that a millisecond or more.
    assert!(
        (stderr.contains("warning: the process clock is 3d 0h 0m 0.0")
            || stderr.contains("warning: the process clock is 2d 23h 59m 59.9"))
            && stderr.contains("behind the real time from raw"),
        "{stderr}"
    );
}

// ---- realtime files ---------------------------------------------------------------------

fn file_with(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("realtime");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn file_error(source: &RealtimeFile) -> String {
    source.now().expect_err("no time from this file").to_string()
}

#[test]
fn a_live_libfaketimefs_file_is_the_real_time() {
    let dir = tempfile::tempdir().unwrap();
    let writer = RealtimeWriter::start(dir.path().join("realtime"), false);
    let source = RealtimeFile::new(&writer.path);
    for i in 0..3 {
        let reading = source.now().expect("a live file");
        assert!(
            gap(reading.time, SystemTime::now()) < Duration::from_millis(50),
            "{reading:?}"
        );
        // The first reading is the file's, to its millisecond; the next two reuse it (within
        // 50 ms, unless this machine stalled), extrapolated: the read's length and the drift
        // allowance are added.
        let u = reading.uncertainty.expect("bounded");
        match i {
            0 => assert_eq!(u, Duration::from_millis(1)),
            _ => assert!(u >= Duration::from_millis(1) && u < Duration::from_millis(50), "{u:?}"),
        }
    }
}

#[test]
fn a_live_whole_second_file_with_a_newline_proves_itself_within_its_tick() {
    let dir = tempfile::tempdir().unwrap();
    let writer = RealtimeWriter::start(dir.path().join("realtime"), true);
    let reading = RealtimeFile::new(&writer.path).now().expect("it ticks");
    assert!(
        gap(reading.time, SystemTime::now()) < Duration::from_secs(2),
        "{reading:?}"
    );
    assert_eq!(reading.uncertainty, Some(Duration::from_secs(1)));
}

#[test]
fn a_stale_snapshot_is_refused_unless_static_is_asked_for() {
    let (_dir, path) = file_with("1795341747.123456789\n");
    let e = file_error(&RealtimeFile::new(&path));
    assert!(e.contains("stale snapshot") && e.contains("faketimefs-static"), "{e}");
    let (_dir2, whole) = file_with("1795341747\n");
    assert!(file_error(&RealtimeFile::new(&whole)).contains("stale snapshot"));
    let reading = RealtimeFile::new(&whole).allow_static(true).now().expect("opted in");
    assert_eq!(unix(reading.time), Duration::from_secs(1_795_341_747));
    assert_eq!(reading.uncertainty, None);
}

#[test]
fn garbage_empty_missing_and_unreadable_files_say_so() {
    let (_d1, garbage) = file_with("tomorrow at noon");
    assert!(file_error(&RealtimeFile::new(&garbage)).contains("expected Unix seconds"));
    let (_d2, empty) = file_with("");
    assert!(file_error(&RealtimeFile::new(&empty)).contains("the file is empty"));
    let missing = RealtimeFile::new("/nonexistent/realsig/realtime");
    let e = file_error(&missing);
    assert!(e.contains("cannot read the file") && e.contains("No such file"), "{e}");
    // A directory cannot be read as a file, whoever runs the test (root ignores modes).
    let dir = tempfile::tempdir().unwrap();
    let e = file_error(&RealtimeFile::new(dir.path()));
    assert!(e.contains("it is a directory, not a regular file"), "{e}");
}

#[test]
fn signing_with_only_a_stale_file_fails_closed_naming_what_was_tried() {
    let (_dir, path) = file_with("1795341747\n");
    let chain = Chain::new(vec![Arc::new(RealtimeFile::new(&path))]);
    let signer = Signer::builder()
        .clock(chain)
        .cache_dir(Some(test_cache_dir()))
        .build()
        .expect("signer");
    let request = Request::new("GET", "https://example.amazonaws.com/", "us-east-1", "service");
    match signer.sign(&request, &Credentials::new("AKIDEXAMPLE", "secret", None)) {
        Err(Error::Rejected(SignError::ClockUnavailable(message))) => {
            assert!(
                message.contains("stale snapshot") && message.contains(&path.display().to_string()),
                "{message}"
            );
        }
        other => panic!("expected clock-unavailable, got {other:?}"),
    }
}

#[test]
fn the_raw_clock_is_the_kernel_clock() {
    let reading = RawClock::default().now().expect("raw");
    assert!(gap(reading.time, SystemTime::now()) < Duration::from_millis(50));
}

// ---- faults under load -----------------------------------------------------------------
//
// Two threads sign through one Signer while the time source breaks under them. Each source
// tells a time three days ahead of this machine's clock, so a signature made with the process
// clock would stand out. What must hold: every signature carries the source's time; while
// the source is broken, signing fails closed with `clock-unavailable` naming why.

const THREE_DAYS: Duration = Duration::from_secs(3 * 86_400);

/// One call made under load.
struct Call {
    started: Instant,
    /// This machine's clock when the call started (the test runner is never faked).
    wall: SystemTime,
    outcome: Result<SystemTime, String>,
}

/// Signs on `threads` threads until `drive` returns; every call, in start order.
fn sign_under_load(signer: &Signer, threads: usize, drive: impl FnOnce()) -> Vec<Call> {
    let stop = std::sync::atomic::AtomicBool::new(false);
    let creds = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None);
    let request = Request::new("GET", "https://example.amazonaws.com/", "us-east-1", "service");
    let mut calls: Vec<Call> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut calls = Vec::new();
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let (started, wall) = (Instant::now(), SystemTime::now());
                        let outcome = match signer.sign(&request, &creds) {
                            Ok(signed) => Ok(signed.signing_time),
                            Err(Error::Rejected(SignError::ClockUnavailable(why))) => Err(why),
                            Err(other) => panic!("not a clock failure: {other}"),
                        };
                        calls.push(Call { started, wall, outcome });
                        std::thread::sleep(Duration::from_micros(200));
                    }
                    calls
                })
            })
            .collect();
        drive();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        workers.into_iter().flat_map(|w| w.join().expect("worker")).collect()
    });
    calls.sort_by_key(|c| c.started);
    calls
}

/// Every signature carries the source's time (three days ahead), never this machine's.
fn assert_every_signature_has_the_sources_time(calls: &[Call]) {
    for c in calls {
        if let Ok(time) = c.outcome {
            let off = gap(time, c.wall + THREE_DAYS);
            assert!(
                off < Duration::from_secs(1),
                "signed {off:?} away from the source's time"
            );
        }
    }
}

fn in_window(calls: &[Call], from: Instant, to: Instant) -> Vec<&Call> {
    calls.iter().filter(|c| c.started >= from && c.started < to).collect()
}

#[test]
fn when_the_ntp_server_vanishes_under_load_signing_extrapolates_then_fails_closed() {
    let server = ScriptedNtp::start(|r| Some(good_reply(r, SystemTime::now() + THREE_DAYS)));
    let clock = Arc::new(
        NtpClock::builder([server.addr.to_string()])
            .timeout(Duration::from_millis(100))
            .min_poll(Duration::from_millis(50))
            .poll_interval(Duration::from_millis(100))
            .max_age(Duration::from_secs(2))
            .build(),
    );
    clock.now().expect("first sync");
    let signer = Signer::builder()
        .shared_clock(Arc::clone(&clock) as Arc<dyn TimeSource>)
        .cache_dir(Some(test_cache_dir()))
        .build()
        .unwrap();
    let mut server = Some(server);
    let (mut vanished, mut before, mut after) = (Instant::now(), None, None);
    let calls = sign_under_load(&signer, 2, || {
        std::thread::sleep(Duration::from_millis(400));
        drop(server.take()); // the socket closes: no more answers
        vanished = Instant::now();
        // From here on every reading extrapolates the same last sample.
        before = clock.now().ok().and_then(|r| r.uncertainty);
        std::thread::sleep(Duration::from_secs(1));
        after = clock.now().ok().and_then(|r| r.uncertainty);
        std::thread::sleep(Duration::from_secs(2));
    });
    assert_every_signature_has_the_sources_time(&calls);
    let up = in_window(&calls, calls[0].started, vanished);
    let extrapolated = in_window(&calls, vanished, vanished + Duration::from_secs(1));
    let aged_out = in_window(&calls, vanished + Duration::from_millis(2_300), Instant::now());
    assert!(
        up.len() > 10 && up.iter().all(|c| c.outcome.is_ok()),
        "while the server answered"
    );
    assert!(
        extrapolated.len() > 10 && extrapolated.iter().all(|c| c.outcome.is_ok()),
        "the estimate was not used after the server vanished"
    );
    assert!(!aged_out.is_empty(), "no calls after max-age");
    for c in &aged_out {
        let why = c.outcome.as_ref().expect_err("signed after the estimate aged out");
        assert!(why.contains(clock.name()), "{why}");
    }
    // Once closed, closed: no signature after the first refusal.
    let first_refusal = calls.iter().position(|c| c.outcome.is_err()).expect("a refusal");
    assert!(
        calls[first_refusal..].iter().all(|c| c.outcome.is_err()),
        "signed again with no server"
    );
    let (before, after) = (
        before.expect("an uncertainty"),
        after.expect("still extrapolating at +1 s"),
    );
    assert!(
        after > before,
        "the uncertainty did not grow with the estimate's age: {before:?} -> {after:?}"
    );
    println!(
        "ntp vanished: {} calls while up, {} extrapolated in the next second (uncertainty {before:?} -> {after:?}), {} refused after max-age",
        up.len(),
        extrapolated.len(),
        aged_out.len()
    );
}

#[test]
fn when_the_realtime_file_is_garbled_or_deleted_under_load_signing_fails_closed_and_recovers() {
    use std::sync::atomic::{AtomicU8, Ordering};
    const LIVE: u8 = 0;
    const GARBLED: u8 = 1;
    const DELETED: u8 = 2;
    const STOP: u8 = 3;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("realtime");
    let (phase, applied) = (AtomicU8::new(LIVE), AtomicU8::new(u8::MAX));
    // A plain file replaced (write, rename) every millisecond with the time three days ahead,
    // or with garbage, or removed: whatever the phase says.
    let write = |text: &str| {
        let tmp = dir.path().join("realtime.tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    };
    std::thread::scope(|s| {
        s.spawn(|| {
            loop {
                let p = phase.load(Ordering::SeqCst);
                match p {
                    LIVE => {
                        let t = unix(SystemTime::now() + THREE_DAYS);
                        write(&format!("{}.{:09}", t.as_secs(), t.subsec_nanos()));
                    }
                    GARBLED => write("tomorrow at noon"),
                    DELETED => {
                        let _ = std::fs::remove_file(&path);
                    }
                    _ => return,
                }
                applied.store(p, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        // (when the switch began, when the writer had applied it)
        let set = |p: u8| {
            let began = Instant::now();
            phase.store(p, Ordering::SeqCst);
            while applied.load(Ordering::SeqCst) != p {
                std::thread::sleep(Duration::from_millis(1));
            }
            (began, Instant::now())
        };
        set(LIVE);
        let signer = Signer::builder()
            .clock(RealtimeFile::new(&path))
            .cache_dir(Some(test_cache_dir()))
            .build()
            .unwrap();
        let mut marks = Vec::new();
        let calls = sign_under_load(&signer, 2, || {
            let now = Instant::now();
            marks.push((now, now));
            for p in [GARBLED, DELETED, LIVE] {
                std::thread::sleep(Duration::from_millis(400));
                marks.push(set(p));
            }
            std::thread::sleep(Duration::from_millis(400));
            let now = Instant::now();
            marks.push((now, now));
        });
        phase.store(STOP, Ordering::SeqCst);
        assert_every_signature_has_the_sources_time(&calls);
        // A call that started before a switch may finish after it: each phase's calls are
        // those that started after the writer had applied it and before the next switch. A
        // proved reading is reused for DEFAULT_REUSE (50 ms), so a change is seen that much
        // later: the window opens then.
        let reuse = realsig::clock::realtime_file::DEFAULT_REUSE;
        let phase_calls = |i: usize| in_window(&calls, marks[i].1 + reuse, marks[i + 1].0);
        let (live, garbled, deleted, back) = (phase_calls(0), phase_calls(1), phase_calls(2), phase_calls(3));
        for (name, calls) in [("live", &live), ("restored", &back)] {
            let signed = calls.iter().filter(|c| c.outcome.is_ok()).count();
            assert!(
                signed * 10 >= calls.len() * 9 && signed > 10,
                "{name}: {signed} of {} signed",
                calls.len()
            );
        }
        for (name, calls, reason) in [
            ("garbled", &garbled, "expected Unix seconds"),
            ("deleted", &deleted, "cannot read the file"),
        ] {
            assert!(calls.len() > 10, "{name}: only {} calls", calls.len());
            for c in calls.iter() {
                let why = c.outcome.as_ref().expect_err(&format!("{name}: signed"));
                assert!(why.contains("faketimefs:") && why.contains(reason), "{name}: {why}");
            }
        }
        println!(
            "realtime file: live {} calls, garbled {} refused, deleted {} refused, restored {}",
            live.len(),
            garbled.len(),
            deleted.len(),
            back.len()
        );
    });
}

/// The chain syntax cases every implementation reads (tests/data/clock-specs.json; the Python
/// binding runs the same file for its $REALSIG_CLOCK).
#[test]
fn clock_specs_read_as_the_shared_cases_say() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/clock-specs.json");
    let cases: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("the shared cases")).expect("json");
    let valid = cases["valid"].as_array().expect("valid cases");
    let invalid = cases["invalid"].as_array().expect("invalid cases");
    assert!(valid.len() >= 3 && invalid.len() >= 8);
    for case in valid {
        let spec = case["spec"].as_str().expect("spec");
        let chain = realsig::clock::spec::parse(spec).unwrap_or_else(|e| panic!("{spec:?}: {e}"));
        let names: Vec<&str> = chain.sources().iter().map(|s| s.name()).collect();
        let want: Vec<&str> = case["names"]
            .as_array()
            .expect("names")
            .iter()
            .map(|n| n.as_str().expect("name"))
            .collect();
        assert_eq!(names, want, "{spec:?}");
    }
    for case in invalid {
        let spec = case["spec"].as_str().expect("spec");
        let error = realsig::clock::spec::parse(spec).expect_err(spec).to_string();
        assert!(
            error.starts_with("bad clock chain") && error.contains(case["error"].as_str().expect("error")),
            "{spec:?}: {error}"
        );
    }
}

/// aws-sdk-rust's time source (feature `aws-sdk`): what aws-sigv4 signs with when an SDK is
/// configured with it is realsig's time, and the suite's own signature for that time.
#[test]
fn the_aws_sdk_time_source_is_realsigs_clock() {
    use aws_credential_types::Credentials as AwsCredentials;
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;
    use aws_smithy_async::time::{SharedTimeSource, TimeSource as _};
    use realsig::aws_sdk::RealTimeSource;

    let case = common::vectors_dir().join("aws-signing-test-suite/v4/get-vanilla");
    let context: Value = serde_json::from_str(&std::fs::read_to_string(case.join("context.json")).unwrap()).unwrap();
    let stamp = time::OffsetDateTime::parse(
        context["timestamp"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    // What the SDK holds: a SharedTimeSource over realsig's (fixed, here) clock.
    let shared = SharedTimeSource::new(RealTimeSource::new(realsig::FixedClock(stamp.into())));
    let identity = AwsCredentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        None,
        None,
        "t",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("service")
        .time(shared.now())
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let headers = [("host", "example.amazonaws.com"), ("x-amz-date", "20150830T123600Z")];
    let request = SignableRequest::new(
        "GET",
        "https://example.amazonaws.com/",
        headers.into_iter(),
        SignableBody::Bytes(b""),
    )
    .unwrap();
    let (_, signature) = sign(request, &params).unwrap().into_parts();
    assert_eq!(
        signature,
        std::fs::read_to_string(case.join("header-signature.txt"))
            .unwrap()
            .trim()
    );

    // The real clock, through the same trait: within a second of the kernel's time.
    let raw = RealTimeSource::new(RawClock::default());
    assert!(gap(raw.now(), SystemTime::now()) < Duration::from_secs(1));
    assert!(raw.last_error().is_none());

    // No reading: the epoch (anything signed with it is refused), the reason kept and reported.
    let reported = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = Arc::clone(&reported);
    let none = RealTimeSource::new(RealtimeFile::new("/nonexistent/realtime"))
        .on_error(move |e| sink.lock().unwrap().push(e.to_string()));
    assert_eq!(none.now(), UNIX_EPOCH);
    let reason = none.last_error().expect("the reason is kept").to_string();
    assert!(reason.contains("/nonexistent/realtime"), "{reason}");
    assert_eq!(*reported.lock().unwrap(), [reason]);
}

/// The shared time cases (tests/data/time-cases): the rules Node and Go re-implement, with
/// the host's verdicts. Every file there needs a runner here (and in Node and Go), and a
/// case with a field this runner does not know fails.
#[test]
fn the_shared_time_cases_hold_for_the_host() {
    use realsig::clock::realtime_file::{self, ParseError};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/time-cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(
        files,
        ["chain.json", "ntp-reply.json", "realtime-file.json"],
        "a time-case file without a runner in {}",
        file!()
    );
    ntp_reply_cases(&dir.join("ntp-reply.json"));
    chain_cases(&dir.join("chain.json"));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("realtime-file.json")).unwrap()).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 30, "the realtime-file cases went missing");
    for case in cases {
        let fields = case.as_object().unwrap();
        for key in fields.keys() {
            assert!(
                ["text", "nanos", "fraction", "rejected"].contains(&key.as_str()),
                "unknown field {key:?} in {case}"
            );
        }
        let text = case["text"].as_str().unwrap();
        let got = match realtime_file::parse(text) {
            Ok(t) => {
                serde_json::json!({"text": text, "nanos": t.since_epoch.as_nanos().to_string(), "fraction": t.has_fraction})
            }
            Err(e) => {
                let kind = match e {
                    ParseError::Empty => "empty",
                    ParseError::Malformed(_) => "malformed",
                    ParseError::OutOfRange => "out-of-range",
                    other => panic!("no case kind for {other:?}"),
                };
                serde_json::json!({"text": text, "rejected": kind})
            }
        };
        match (case.get("rejected"), case.get("nanos")) {
            (Some(Value::String(k)), None) => {
                assert!(
                    ["empty", "malformed", "out-of-range"].contains(&k.as_str()),
                    "unknown verdict {k:?}"
                )
            }
            (None, Some(Value::String(_))) => assert!(case["fraction"].is_boolean(), "{case}"),
            _ => panic!("a case needs `nanos` and `fraction`, or `rejected`: {case}"),
        }
        assert_eq!(&got, case, "realtime file text {text:?}");
    }
}

/// tests/data/time-cases/ntp-reply.json: each reply's verdict from the host's SNTP check.
fn ntp_reply_cases(path: &std::path::Path) {
    use realsig::clock::ntp::packet::parse_reply;
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let nonce = u64::from_str_radix(doc["nonce"].as_str().unwrap(), 16).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 30, "the NTP reply cases went missing");
    for case in cases {
        for key in case.as_object().unwrap().keys() {
            assert!(
                ["name", "reply", "verdict", "stratum", "root_distance_ns", "kiss"].contains(&key.as_str()),
                "unknown field {key:?} in {case}"
            );
        }
        let (name, reply) = (case["name"].as_str().unwrap(), case["reply"].as_str().unwrap());
        let bytes = hex::decode(reply).unwrap_or_else(|e| panic!("{name}: the reply is not hex: {e}"));
        let mut got = serde_json::json!({"name": name, "reply": reply});
        match parse_reply(&bytes, nonce) {
            Ok(r) => {
                got["verdict"] = "accepted".into();
                got["stratum"] = r.stratum.into();
                got["root_distance_ns"] = r.root_distance().as_nanos().to_string().into();
            }
            Err(rejection) => {
                got["verdict"] = match rejection {
                    Rejection::Truncated(_) => "truncated",
                    Rejection::WrongMode(_) => "wrong-mode",
                    Rejection::BadVersion(_) => "bad-version",
                    Rejection::OriginMismatch => "origin-mismatch",
                    Rejection::KissOfDeath(kiss) => {
                        got["kiss"] = kiss.to_string().into();
                        "kiss-of-death"
                    }
                    Rejection::Unsynchronised => "unsynchronised",
                    Rejection::StratumTooHigh(_) => "stratum",
                    Rejection::ZeroTransmit => "zero-transmit",
                    Rejection::RootDistance(_) => "root-distance",
                    other => panic!("no verdict for {other:?}"),
                }
                .into();
            }
        }
        let known = [
            "accepted",
            "truncated",
            "wrong-mode",
            "bad-version",
            "origin-mismatch",
            "kiss-of-death",
            "unsynchronised",
            "stratum",
            "zero-transmit",
            "root-distance",
        ];
        assert!(
            known.contains(&case["verdict"].as_str().unwrap_or("")),
            "unknown verdict in {case}"
        );
        assert_eq!(&got, case, "NTP reply case {name:?}");
    }
}

/// A chain member of tests/data/time-cases/chain.json: reads a fixed time or fails, and
/// counts its reads.
struct Scripted {
    name: String,
    outcome: Result<SystemTime, String>,
    reads: Arc<std::sync::atomic::AtomicUsize>,
}

impl TimeSource for Scripted {
    fn now(&self) -> Result<realsig::Reading, realsig::TimeError> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        match &self.outcome {
            Ok(time) => Ok(realsig::Reading {
                time: *time,
                uncertainty: None,
                source: Arc::from(self.name.as_str()),
                trusted: true,
            }),
            Err(reason) => Err(realsig::TimeError::new(&*self.name, reason.clone())),
        }
    }

    fn name(&self) -> &str {
        &self.name
    }
}

/// tests/data/time-cases/chain.json: each chain's verdict from the host's `Chain`.
fn chain_cases(path: &std::path::Path) {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 8, "the chain cases went missing");
    for case in cases {
        for key in case.as_object().unwrap().keys() {
            assert!(
                ["name", "members", "time", "source", "error", "read"].contains(&key.as_str()),
                "unknown field {key:?} in {case}"
            );
        }
        let name = case["name"].as_str().unwrap();
        let reads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let members: Vec<Arc<dyn TimeSource>> = case["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                for key in m.as_object().unwrap().keys() {
                    assert!(
                        ["source", "reads", "fails"].contains(&key.as_str()),
                        "unknown member field {key:?} in {m}"
                    );
                }
                let outcome = match (m.get("reads"), m.get("fails")) {
                    (Some(Value::String(ns)), None) => Ok(UNIX_EPOCH + Duration::from_nanos(ns.parse().unwrap())),
                    (None, Some(Value::String(why))) => Err(why.clone()),
                    _ => panic!("a member either reads or fails: {m}"),
                };
                let source = Scripted {
                    name: m["source"].as_str().unwrap().to_owned(),
                    outcome,
                    reads: Arc::clone(&reads),
                };
                Arc::new(source) as Arc<dyn TimeSource>
            })
            .collect();
        let mut got = serde_json::json!({"name": name, "members": case["members"]});
        match Chain::new(members).now() {
            Ok(r) => {
                let ns = r.time.duration_since(UNIX_EPOCH).unwrap().as_nanos();
                got["time"] = ns.to_string().into();
                got["source"] = r.source.to_string().into();
            }
            Err(e) => got["error"] = e.reason().into(),
        }
        got["read"] = reads.load(std::sync::atomic::Ordering::SeqCst).into();
        assert_eq!(&got, case, "chain case {name:?}");
    }
}
