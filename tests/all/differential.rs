//! Differential property test: our signing core against `aws-sigv4` (the official Rust SDK
//! signer, a dev-dependency oracle) on thousands of generated requests, SigV4 and SigV4a.
//!
//! Wherever both accept an input, the signatures (and, in header placement, the whole
//! `authorization` value) must be identical. The generators aim at the awkward corners: odd
//! and dot-segment paths, unicode, escapes, repeated and unsorted query keys, `+`, header
//! values with runs of spaces and tabs, empty values, repeated header names in mixed case.
//! A run that mostly exercised rejections would prove little, so the test also requires
//! that most cases are accepted by both.
//!
//! Deliberate differences, kept out of the generators:
//! - Percent-escapes of invalid UTF-8 in the query (`%FF`): aws-sigv4 decodes lossily and
//!   signs U+FFFD; we sign the bytes that are sent (the CRT behaviour).
//! - Raw non-ASCII in the path with single encoding (S3): aws-sigv4 leaves the raw UTF-8 in
//!   the canonical URI; S3 canonicalises the decoded key with UriEncode (`%E1%88%B4`, as the
//!   CRT suite's get-utf8 shows), so we encode it.
//! - Characters that are not RFC 3986 path characters but that `http::Uri` lets through
//!   (`"<>[\]^`{|}`): `aws-sigv4` signs them raw, SigV4's UriEncode (and we) encode them. They
//!   are not generated. (The fuzz target found `}` and `[` signed raw with single encoding
//!   too, so this holds for both modes; a client must percent-encode them anyway.)

use std::cell::Cell;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use realsig_guest::{Algorithm, KeyCache, Placement, Settings};

use crate::common::oracle;
use oracle::{Body, Case, oracle, ours};

fn path_segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(".".to_owned()),
        Just("..".to_owned()),
        Just(String::new()),
        proptest::collection::vec(
            prop_oneof![
                "[a-zA-Z0-9._~-]{1,6}",
                Just("%20".to_owned()),
                Just("%3D".to_owned()),
                Just("%2F".to_owned()),
                Just("%E1%88%B4".to_owned()),
                Just("ሴ".to_owned()),
                Just("é".to_owned()),
                Just("$".to_owned()),
                Just("+".to_owned()),
                Just("=".to_owned()),
                Just("@".to_owned()),
                Just(":".to_owned()),
                Just("!*'(),;&".to_owned()),
            ],
            1..4
        )
        .prop_map(|parts| parts.concat()),
    ]
}

fn query_part() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            "[a-zA-Z0-9._~-]{1,5}",
            Just("+".to_owned()),
            Just("%20".to_owned()),
            Just("%2B".to_owned()),
            Just("%26".to_owned()),
            Just("%E1%88%B4".to_owned()),
            Just("ሴ".to_owned()),
            Just("/".to_owned()),
            Just(":".to_owned()),
            Just("*".to_owned()),
            Just("%7E".to_owned()),
            Just("%zz".to_owned()),
        ],
        0..3,
    )
    .prop_map(|parts| parts.concat())
}

fn query() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(
        proptest::collection::vec(
            (
                prop_oneof![Just("a".to_owned()), Just("A".to_owned()), query_part()],
                proptest::option::of(query_part()),
            ),
            0..5,
        )
        .prop_map(|pairs| {
            pairs
                .into_iter()
                .map(|(k, v)| match v {
                    Some(v) => format!("{k}={v}"),
                    None => k,
                })
                .collect::<Vec<_>>()
                .join("&")
        }),
    )
}

fn header() -> impl Strategy<Value = (String, String)> {
    let name = prop_oneof![
        "[a-zA-Z][a-zA-Z0-9-]{0,10}",
        Just("My-Header".to_owned()),
        Just("my-header".to_owned()),
        Just("Content-Type".to_owned()),
        Just("User-Agent".to_owned()),
        Just("X-Amz-Date".to_owned()),
        Just("X-Amz-Security-Token".to_owned()),
        Just("x-amz-content-sha256".to_owned()),
        Just("X-Amz-User-Agent".to_owned()),
    ];
    let value = proptest::collection::vec(
        prop_oneof![
            20 => "[a-zA-Z0-9]{1,4}",
            10 => Just(" ".to_owned()),
            5 => Just("   ".to_owned()),
            3 => Just("\t".to_owned()),
            3 => Just("\"q\"".to_owned()),
            3 => Just("é".to_owned()),
            1 => Just("\n".to_owned()), // both must refuse a raw newline
        ],
        0..6,
    )
    .prop_map(|p| p.concat());
    (name, value)
}

fn case() -> impl Strategy<Value = Case> {
    let url = (
        prop_oneof![Just("https"), Just("http")],
        prop_oneof![
            Just("example.amazonaws.com"),
            Just("h.example:8443"),
            Just("h.example:443"),
            Just("127.0.0.1:80")
        ],
        proptest::collection::vec(path_segment(), 0..5),
        query(),
    )
        .prop_map(|(scheme, host, segments, query)| {
            let mut url = format!("{scheme}://{host}");
            for s in segments {
                url.push('/');
                url.push_str(&s);
            }
            if let Some(q) = query {
                url.push('?');
                url.push_str(&q);
            }
            url
        });
    let body = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(Body::Bytes),
        "[0-9a-f]{64}".prop_map(Body::Hash),
        Just(Body::Unsigned),
    ];
    let settings = (
        prop_oneof![
            Just(Placement::Headers),
            (1u32..=604_800).prop_map(|expires| Placement::Query { expires })
        ],
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(placement, double, normalize, content, omit, v4a)| Settings {
            algorithm: if v4a {
                Algorithm::EcdsaP256Sha256
            } else {
                Algorithm::HmacSha256
            },
            placement,
            double_uri_encode: double,
            normalize_path: normalize,
            content_sha256_header: content,
            omit_session_token: omit,
            debug: false,
        });
    (
        prop_oneof![
            Just("GET".to_owned()),
            Just("PUT".to_owned()),
            Just("POST".to_owned()),
            "[A-Z]{1,7}"
        ],
        url,
        proptest::collection::vec(header(), 0..6),
        body,
        // SigV4a reads the region as a region set.
        prop_oneof![
            Just("us-east-1".to_owned()),
            "[a-z]{2}-[a-z]{4,9}-[1-9]",
            Just("*".to_owned()),
            Just("us-east-1,us-west-2".to_owned())
        ],
        prop_oneof![Just("s3".to_owned()), Just("execute-api".to_owned()), "[a-z0-9]{2,10}"],
        proptest::option::of("[A-Za-z0-9/+=]{16,64}"),
        settings,
        0u64..4_102_444_800, // 1970..2100
    )
        .prop_map(
            |(method, url, headers, body, region, service, token, settings, time)| Case {
                method,
                url,
                headers,
                body,
                region,
                service,
                token,
                settings,
                time,
            },
        )
}

#[test]
fn matches_aws_sigv4_wherever_both_accept() {
    const CASES: u32 = 5_000;
    let both = Cell::new(0u32);
    let only_ours = Cell::new(0u32);
    let only_oracle = Cell::new(0u32);
    let neither = Cell::new(0u32);
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    let keys = std::cell::RefCell::new(KeyCache::default());
    runner
        .run(&case(), |c| {
            match (oracle(&c), ours(&c, &mut keys.borrow_mut())) {
                (Some(theirs), Some(mine)) => {
                    both.set(both.get() + 1);
                    prop_assert_eq!(theirs, mine, "case: {:#?}", c);
                }
                (None, Some(_)) => only_ours.set(only_ours.get() + 1),
                (Some(_), None) => only_oracle.set(only_oracle.get() + 1),
                (None, None) => neither.set(neither.get() + 1),
            }
            Ok(())
        })
        .unwrap();
    println!(
        "{CASES} cases: both signed {}, both refused {}, only realsig signed {}, only aws-sigv4 signed {}",
        both.get(),
        neither.get(),
        only_ours.get(),
        only_oracle.get()
    );
    assert!(
        both.get() >= CASES * 7 / 10,
        "too few cases accepted by both to mean anything: {}",
        both.get()
    );
    assert_eq!(only_oracle.get(), 0, "aws-sigv4 signed inputs we refused");
    assert_eq!(only_ours.get(), 0, "we signed inputs aws-sigv4 refused");
    assert!(
        neither.get() > 0,
        "the generators never produced an input both must refuse"
    );
}
