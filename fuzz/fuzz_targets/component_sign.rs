//! `sign` and `sign-sigv4a` through the component in wasmtime, via the host's `Signer`: no
//! trap or timeout on any input the WIT can express, only a signature or a typed refusal; and
//! the component's answer equals the native core's, at the same time.
#![no_main]

use std::sync::LazyLock;
use std::time::{Duration, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use realsig::{Credentials, Error, FixedClock, Header, Options, Payload, Placement, Request, Signer};
use realsig_fuzz::{Input, SECRET, TOKEN};
use realsig_guest::{Algorithm, KeyCache};

/// The component's clock: a fixed time, so the native core can sign at the same one.
const TIME: u64 = 1_440_938_160;

static SIGNER: LazyLock<Signer> = LazyLock::new(|| {
    Signer::builder()
        .clock(FixedClock(UNIX_EPOCH + Duration::from_secs(TIME)))
        .cache_dir(None)
        .build()
        .expect("the embedded component loads")
});

fuzz_target!(|data: &[u8]| {
    let Some(input) = Input::decode(data) else { return };
    let s = &input.settings;
    let request = Request {
        method: input.raw.method.clone(),
        url: input.url.clone(),
        headers: input
            .headers
            .iter()
            .map(|(name, value)| Header {
                name: name.clone(),
                value: value.clone(),
            })
            .collect(),
        payload: match input.payload() {
            realsig_guest::Payload::Bytes(b) => Payload::Bytes(b.to_vec()),
            _ => Payload::Empty,
        },
        region: input.region.to_owned(),
        service: input.service.to_owned(),
        options: Options {
            placement: match s.placement {
                realsig_guest::Placement::Headers => Placement::Headers,
                realsig_guest::Placement::Query { expires } => Placement::Query(expires),
            },
            double_uri_encode: Some(s.double_uri_encode),
            normalize_path: Some(s.normalize_path),
            content_sha256_header: Some(s.content_sha256_header),
            omit_session_token: s.omit_session_token,
            debug: s.debug,
        },
    };
    let creds = Credentials::new(
        realsig_fuzz::oracle::AKID,
        SECRET,
        input.with_token.then(|| TOKEN.to_owned()),
    );
    let v4a = s.algorithm == Algorithm::EcdsaP256Sha256;
    let through_component = if v4a {
        SIGNER.sign_sigv4a(&request, &creds)
    } else {
        SIGNER.sign(&request, &creds)
    };
    let headers = input.header_pairs();
    let native = realsig_guest::sign(
        &input.request(&headers),
        &input.params(*s, TIME),
        &mut KeyCache::default(),
    );
    match (through_component, native) {
        (Ok(c), Ok(n)) => {
            assert_eq!(c.signature, n.signature);
            assert_eq!(c.url, n.url);
            assert_eq!(c.canonical_request, n.canonical_request);
        }
        (Err(Error::Rejected(c)), Err(n)) => {
            assert_eq!(c.kind(), n.kind());
            assert!(
                input.echoes_secret || !c.message().contains(SECRET),
                "the secret is in an error"
            );
        }
        (c, n) => panic!("component {c:?} but native core {n:?}"),
    }
});
