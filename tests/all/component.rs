//! The embedded component itself: what it imports and exports, failing closed, surviving
//! guest failures, and concurrent use of one `Signer`.

use crate::common;

use std::time::{Duration, UNIX_EPOCH};

use realsig::{COMPONENT, Credentials, Error, NoClock, Payload, Request, SignError, Signer};
use wit_component::DecodedWasm;

use common::{signer_at, test_cache_dir};

/// The sandbox claim: the component's ONLY import is our `real-time` interface, whose only
/// function is `real-now`. No `wasi:*` at all.
#[test]
fn imports_nothing_but_real_now() {
    let DecodedWasm::Component(resolve, world_id) = wit_component::decode(COMPONENT).expect("decodes") else {
        panic!("the embedded artifact is not a component");
    };
    let world = &resolve.worlds[world_id];
    let imports: Vec<String> = world.imports.keys().map(|k| resolve.name_world_key(k)).collect();
    let exports: Vec<String> = world.exports.keys().map(|k| resolve.name_world_key(k)).collect();
    assert_eq!(imports, ["realsig:sigv4/real-time"]);
    assert_eq!(
        exports,
        [
            "realsig:sigv4/signer",
            "realsig:sigv4/chunked",
            "realsig:sigv4/post-policy",
            "realsig:sigv4/event-stream"
        ]
    );

    let real_time = resolve
        .interfaces
        .iter()
        .find(|(_, i)| i.name.as_deref() == Some("real-time"))
        .unwrap()
        .1;
    let functions: Vec<&str> = real_time.functions.keys().map(String::as_str).collect();
    assert_eq!(functions, ["real-now"]);
}

fn vanilla() -> Request {
    Request::new("GET", "https://example.amazonaws.com/", "us-east-1", "service")
}

fn creds() -> Credentials {
    Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None)
}

const AT: u64 = 1_440_938_160; // 2015-08-30T12:36:00Z, the suites' time

/// get-vanilla's header signature, from the official suite's file (not from our code).
fn expected_vanilla_signature() -> String {
    let file = common::vectors_dir().join("aws-signing-test-suite/v4/get-vanilla/header-signature.txt");
    std::fs::read_to_string(file).unwrap().trim().to_owned()
}

#[test]
fn a_failing_clock_fails_closed_with_its_reason() {
    let signer = Signer::builder()
        .clock(NoClock("ntp: no server answered".into()))
        .cache_dir(Some(test_cache_dir()))
        .build()
        .unwrap();
    let err = signer.sign(&vanilla(), &creds()).unwrap_err();
    match &err {
        Error::Rejected(SignError::ClockUnavailable(m)) => assert!(m.contains("ntp: no server answered"), "{m}"),
        other => panic!("expected clock-unavailable, got {other:?}"),
    }
    assert_eq!(err.kind(), "clock-unavailable");
}

#[test]
fn signing_time_is_what_real_now_returned() {
    let t = UNIX_EPOCH + Duration::new(AT, 123_456_789);
    let signed = signer_at(t).sign(&vanilla(), &creds()).unwrap();
    assert_eq!(signed.signing_time, t);
    assert_eq!(signed.signature, expected_vanilla_signature());
}

/// A guest failure (here: an in-line payload larger than the store's memory limit, so the
/// component's allocator asks for more and is stopped) is a typed error, not a crash, and
/// the next call works on a fresh instance. (Hostile components: tests/plugin.rs.)
#[test]
fn a_call_over_the_memory_cap_is_an_error_and_the_next_call_works() {
    let signer = Signer::builder()
        .clock(realsig::FixedClock(UNIX_EPOCH + Duration::from_secs(AT)))
        .memory_limit(4 << 20)
        .cache_dir(Some(test_cache_dir()))
        .build()
        .unwrap();
    let mut big = vanilla();
    big.method = "PUT".into();
    big.payload = Payload::Bytes(vec![0u8; 8 << 20]);
    let err = signer.sign(&big, &creds()).unwrap_err();
    assert!(matches!(err, Error::MemoryLimit(n) if n == 4 << 20), "{err:?}");
    assert_eq!(
        signer.sign(&vanilla(), &creds()).unwrap().signature,
        expected_vanilla_signature()
    );
}

/// A call that overruns its deadline (here: hashing 64 MiB in-line inside wasm, ~0.5 s,
/// against a 20 ms budget) is stopped by the epoch interrupt; the next call works.
#[test]
fn a_call_past_its_deadline_is_stopped() {
    let signer = Signer::builder()
        .clock(realsig::FixedClock(UNIX_EPOCH + Duration::from_secs(AT)))
        .memory_limit(256 << 20)
        .deadline(Duration::from_millis(20))
        .cache_dir(Some(test_cache_dir()))
        .build()
        .unwrap();
    let mut big = vanilla();
    big.method = "PUT".into();
    big.payload = Payload::Bytes(vec![7u8; 64 << 20]);
    let started = std::time::Instant::now();
    let err = signer.sign(&big, &creds()).unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert_eq!(err.kind(), "timeout");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stopped only after {:?}",
        started.elapsed()
    );
    assert_eq!(
        signer.sign(&vanilla(), &creds()).unwrap().signature,
        expected_vanilla_signature()
    );
}

#[test]
fn bad_input_is_a_typed_error_naming_the_input() {
    let signer = signer_at(UNIX_EPOCH + Duration::from_secs(AT));
    let mut r = vanilla();
    r.url = "example.amazonaws.com/no-scheme".into();
    let e = signer.sign(&r, &creds()).unwrap_err();
    assert_eq!(e.kind(), "invalid-url");
    assert!(e.to_string().contains("no-scheme"), "{e}");

    let e = signer
        .sign(&vanilla(), &Credentials::new("AKID", "", None))
        .unwrap_err();
    assert_eq!(e.kind(), "invalid-credentials");

    let mut r = vanilla();
    r.payload = Payload::Sha256Hex("abc".into());
    assert_eq!(signer.sign(&r, &creds()).unwrap_err().kind(), "invalid-payload-hash");

    let mut r = vanilla();
    r.options.placement = realsig::Placement::Query(604_801);
    assert_eq!(signer.sign(&r, &creds()).unwrap_err().kind(), "invalid-option");
}

#[test]
fn secrets_stay_out_of_errors_and_debug() {
    let secret = "SECRET-wJalrXUtnFEMI-do-not-print";
    let token = "TOKEN-6e86291e8372-do-not-print";
    let credentials = Credentials::new("AKID", secret, Some(token.into()));
    let signer = signer_at(UNIX_EPOCH + Duration::from_secs(AT));
    let mut bad = vanilla();
    bad.headers.push(realsig::Header {
        name: "bad name".into(),
        value: "v".into(),
    });
    let err = signer.sign(&bad, &credentials).unwrap_err();
    let signed = signer.sign(&vanilla(), &credentials).unwrap();
    for text in [
        format!("{err} {err:?}"),
        format!("{credentials:?}"),
        format!("{signed:?}"),
    ] {
        assert!(!text.contains(secret) && !text.contains(token), "leaked: {text}");
    }
}

/// A small soak in CI; `host/examples/soak.rs` runs 8 × 100,000 and reports memory and
/// scaling (BENCHMARKS.md).
#[test]
fn one_signer_serves_many_threads() {
    let signer = signer_at(UNIX_EPOCH + Duration::from_secs(AT));
    let expected = expected_vanilla_signature();
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..2_000 {
                    assert_eq!(signer.sign(&vanilla(), &creds()).unwrap().signature, expected);
                }
            });
        }
    });
}
