//! The Signer as a sandbox for a component it does not trust (`SignerBuilder::component`):
//! refused on load unless it imports only `real-now`, compiled once into the disk cache, and
//! every hostile call (tests/common/plugins.rs) ends in a typed error within a bounded time,
//! with the next call on a fresh instance.

use crate::common;

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, UNIX_EPOCH};

use realsig::{COMPONENT, Credentials, Error, FixedClock, NoClock, Request, Signer};
use sha2::{Digest, Sha256};

use common::plugins::{self, HUGE_HEADERS, HUGE_VALUE};
use common::test_cache_dir;

const AT: u64 = 1_440_938_160;
/// Generous next to the deadlines used here (200 ms): a stuck call would take forever.
const BOUND: Duration = Duration::from_secs(10);

fn creds() -> Credentials {
    Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None)
}

fn request(method: &str) -> Request {
    Request::new(method, "https://example.com/", "us-east-1", "service")
}

fn hostile_signer() -> Signer {
    Signer::builder()
        .component(plugins::hostile())
        .clock(FixedClock(UNIX_EPOCH + Duration::from_secs(AT)))
        .deadline(Duration::from_millis(200))
        .cache_dir(Some(test_cache_dir()))
        .build()
        .expect("the hostile component implements the world and imports only real-now")
}

fn signature(signer: &Signer) -> String {
    signer.sign(&request("GET"), &creds()).expect("a benign call").signature
}

#[test]
fn the_embedded_component_runs_as_a_plugin_with_the_same_result() {
    let plugin = Signer::builder()
        .component(COMPONENT.to_vec())
        .clock(FixedClock(UNIX_EPOCH + Duration::from_secs(AT)))
        .cache_dir(Some(test_cache_dir()))
        .build()
        .unwrap();
    let embedded = common::signer_at(UNIX_EPOCH + Duration::from_secs(AT));
    let r = Request::new("GET", "https://example.amazonaws.com/", "us-east-1", "service");
    assert_eq!(plugin.sign(&r, &creds()).unwrap(), embedded.sign(&r, &creds()).unwrap());
}

#[test]
fn a_component_importing_the_filesystem_is_refused_by_name_before_compiling() {
    let cache = tempfile::tempdir().unwrap();
    let err = Signer::builder()
        .component(plugins::with_filesystem_import())
        .cache_dir(Some(cache.path().to_owned()))
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::InvalidComponent(_)), "{err:?}");
    assert_eq!(err.kind(), "invalid-component");
    let message = err.to_string();
    assert!(message.contains("`wasi:filesystem/preopens@0.2.0`"), "{message}");
    assert!(
        message.contains("may import only `realsig:sigv4/real-time`"),
        "{message}"
    );
    assert_eq!(
        fs::read_dir(cache.path()).unwrap().count(),
        0,
        "a refused component was compiled and cached"
    );
}

#[test]
fn what_is_not_a_realsig_component_is_refused_with_the_reason() {
    let refused = |bytes: Vec<u8>| {
        let err = Signer::builder().component(bytes).cache_dir(None).build().unwrap_err();
        assert_eq!(err.kind(), "invalid-component", "{err:?}");
        err.to_string()
    };
    let partial = refused(plugins::partial());
    assert!(partial.contains("does not implement the realsig world"), "{partial}");
    assert!(partial.contains("realsig:sigv4/chunked"), "{partial}");
    let core = refused(realsig::CORE_MODULE.to_vec());
    assert!(core.contains("core wasm module, not a component"), "{core}");
    let garbage = refused(b"\0asm not really".to_vec());
    assert!(garbage.contains("not a valid component"), "{garbage}");
}

#[test]
fn a_plugin_is_compiled_once_and_cached_by_content_hash() {
    let cache = tempfile::tempdir().unwrap();
    let bytes = plugins::hostile();
    let build = |bytes: &[u8]| {
        Signer::builder()
            .component(bytes.to_vec())
            .cache_dir(Some(cache.path().to_owned()))
            .build()
            .unwrap()
    };
    let entries = |dir: &Path| {
        let mut names: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    };
    build(&bytes);
    let first = entries(cache.path());
    let hash = hex::encode(&Sha256::digest(&bytes)[..16]);
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(first[0].starts_with(&hash) && first[0].ends_with(".cwasm"), "{first:?}");
    let path = cache.path().join(&first[0]);
    let written = fs::metadata(&path).unwrap().modified().unwrap();

    // The second load reads the entry: same file, not rewritten.
    build(&bytes);
    assert_eq!(entries(cache.path()), first);
    assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), written);

    // Other bytes, another entry.
    build(COMPONENT);
    assert_eq!(entries(cache.path()).len(), 2);
}

/// The hostile component keeps state per instance (its call counter is the signature), so
/// "a fresh instance after a failure" is observable: it answers "1" again.
#[test]
fn each_hostile_call_is_a_typed_error_in_bounded_time_and_the_next_call_is_fresh() {
    let signer = hostile_signer();
    for (method, kind) in [
        ("LOOP", "timeout"),
        ("BOMB", "memory-limit"),
        ("TRAP", "trap"),
        ("HUGE", "output-too-large"),
    ] {
        assert_eq!(signature(&signer), "1", "before {method}");
        assert_eq!(signature(&signer), "2", "before {method}: the instance is reused");
        let started = Instant::now();
        let err = signer.sign(&request(method), &creds()).unwrap_err();
        let took = started.elapsed();
        eprintln!("{method}: {took:?}: {err}");
        assert_eq!(err.kind(), kind, "{method}: {err}");
        assert!(took < BOUND, "{method} took {took:?}");
        assert_eq!(signature(&signer), "1", "after {method}: the instance was not replaced");
        // The same through sign-sigv4a, the other export with this result type.
        let err = signer.sign_sigv4a(&request(method), &creds()).unwrap_err();
        assert_eq!(err.kind(), kind, "{method} (sigv4a): {err}");
    }
}

/// A signing time of `u64::MAX` seconds from a plugin overflowed `SystemTime` (a panic in
/// the host); it is refused as the component's fault.
#[test]
fn a_signing_time_out_of_range_is_refused_not_a_panic() {
    let signer = hostile_signer();
    for err in [
        signer.sign(&request("ZAP"), &creds()).unwrap_err(),
        signer.sign_sigv4a(&request("ZAP"), &creds()).unwrap_err(),
    ] {
        assert_eq!(err.kind(), "invalid-component", "{err}");
        assert!(
            err.to_string()
                .contains("it returned a time out of range (18446744073709551615 s since 1970)"),
            "{err}"
        );
    }
}

/// The other exports of the hostile component trap: each is a typed error, the instance is
/// replaced, and a resource's failed opening gives nothing to hold.
#[test]
fn a_trap_in_any_export_is_a_typed_error() {
    let signer = hostile_signer();
    let policy = realsig::Policy {
        expires_in: 60,
        conditions: Vec::new(),
        region: "us-east-1".into(),
        service: "s3".into(),
    };
    let upload = realsig::Upload {
        mode: realsig::ChunkedMode::Signed,
        decoded_content_length: 1,
        trailer: None,
    };
    assert_eq!(signature(&signer), "1");
    assert_eq!(signer.sign_post_policy(&policy, &creds()).unwrap_err().kind(), "trap");
    assert_eq!(signature(&signer), "1");
    let chunked = signer.start_chunked(&request("PUT"), &creds(), &upload);
    assert_eq!(chunked.map(drop).unwrap_err().kind(), "trap");
    assert_eq!(signature(&signer), "1");
    let stream = signer.event_stream(&"0".repeat(64), "us-east-1", "transcribe");
    assert_eq!(stream.map(drop).unwrap_err().kind(), "trap");
    assert_eq!(signature(&signer), "1");
}

#[test]
fn the_limits_are_the_ones_configured() {
    let signer = Signer::builder()
        .component(plugins::hostile())
        .clock(FixedClock(UNIX_EPOCH + Duration::from_secs(AT)))
        .memory_limit(8 << 20)
        .output_limit(64 << 10)
        .deadline(Duration::from_millis(50))
        .cache_dir(Some(test_cache_dir()))
        .build()
        .unwrap();
    let err = signer.sign(&request("BOMB"), &creds()).unwrap_err();
    assert!(matches!(err, Error::MemoryLimit(n) if n == 8 << 20), "{err:?}");
    let err = signer.sign(&request("HUGE"), &creds()).unwrap_err();
    assert!(matches!(err, Error::OutputTooLarge(n) if n == 64 << 10), "{err:?}");
    let err = signer.sign(&request("LOOP"), &creds()).unwrap_err();
    assert!(
        matches!(err, Error::Timeout(d) if d == Duration::from_millis(50)),
        "{err:?}"
    );
}

/// The output cap is what stops `H`: with room for it, its ~100 MB arrive in full. (So the
/// component really returns that much, and the refusal above is the cap's doing.)
#[test]
fn the_huge_answer_arrives_whole_when_the_cap_allows_it() {
    let signer = Signer::builder()
        .component(plugins::hostile())
        .clock(FixedClock(UNIX_EPOCH + Duration::from_secs(AT)))
        .output_limit(256 << 20)
        .cache_dir(Some(test_cache_dir()))
        .build()
        .unwrap();
    let signed = signer.sign(&request("HUGE"), &creds()).unwrap();
    assert_eq!(signed.headers.len(), HUGE_HEADERS);
    let bytes: usize = signed.headers.iter().map(|h| h.value.len()).sum();
    assert_eq!(bytes, HUGE_HEADERS * HUGE_VALUE);
    assert_eq!(signed.signing_time, UNIX_EPOCH + Duration::from_secs(AT));
}

#[test]
fn the_host_keeps_serving_while_a_call_spins() {
    let signer = Signer::builder()
        .component(plugins::hostile())
        .clock(FixedClock(UNIX_EPOCH + Duration::from_secs(AT)))
        .deadline(Duration::from_secs(3))
        .cache_dir(Some(test_cache_dir()))
        .build()
        .unwrap();
    let spinning_done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let spinner = s.spawn(|| {
            let err = signer.sign(&request("LOOP"), &creds()).unwrap_err();
            spinning_done.store(true, Ordering::SeqCst);
            err
        });
        // Wait until the spinner holds its instance, then serve 50 calls beside it.
        std::thread::sleep(Duration::from_millis(100));
        for _ in 0..50 {
            signer
                .sign(&request("GET"), &creds())
                .expect("served beside the spinning call");
        }
        assert!(
            !spinning_done.load(Ordering::SeqCst),
            "the spinning call ended before the others were served: nothing was shown"
        );
        assert_eq!(spinner.join().unwrap().kind(), "timeout");
    });
}

#[test]
fn a_plugin_gets_the_hosts_clock_and_fails_closed_without_one() {
    let signer = Signer::builder()
        .component(plugins::hostile())
        .clock(NoClock("no time source in this test".into()))
        .cache_dir(Some(test_cache_dir()))
        .build()
        .unwrap();
    let err = signer.sign(&request("GET"), &creds()).unwrap_err();
    assert_eq!(err.kind(), "clock-unavailable", "{err}");
    assert!(err.to_string().contains("no time source in this test"), "{err}");
}
