//! `cargo bench -p realsig`: the component against the native official signer, in one run.
//!
//! Reports, with criterion: get-vanilla signed in the component (warm instance), the same
//! with native `aws-sigv4` (which derives the signing key per call, as it does in the SDK),
//! our core natively (the component's overhead), a 1 MiB PUT with the payload hashed natively
//! in the host, and the cost of a fresh instance. Then prints the ratios the targets name.

#![allow(missing_docs)] // a benchmark binary, not an API

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use aws_credential_types::Credentials as AwsCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign as aws_sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use criterion::Criterion;
use realsig::{Credentials, FixedClock, Header, Payload, Request, Signer};
use sha2::{Digest, Sha256};

const AKID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const AT: u64 = 1_440_938_160;
const URL: &str = "https://example.amazonaws.com/";

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let signer = Signer::builder()
        .clock(FixedClock(UNIX_EPOCH + Duration::from_secs(AT)))
        .build()
        .expect("signer");
    let creds = Credentials::new(AKID, SECRET, None);
    let mut vanilla = Request::new("GET", URL, "us-east-1", "service");
    vanilla.headers.push(Header {
        name: "Host".into(),
        value: "example.amazonaws.com".into(),
    });
    signer.sign(&vanilla, &creds).expect("warm up");

    let mut g = c.benchmark_group("get-vanilla");
    g.bench_function("component", |b| {
        b.iter(|| signer.sign(black_box(&vanilla), &creds).unwrap())
    });
    let mut invalid = vanilla.clone();
    invalid.method = "BAD METHOD".into();
    g.bench_function("component-call-overhead", |b| {
        b.iter(|| signer.sign(black_box(&invalid), &creds).unwrap_err())
    });

    let identity: Identity = AwsCredentials::new(AKID, SECRET, None, None, "bench").into();
    g.bench_function("aws-sigv4-native", |b| {
        b.iter(|| {
            let params = v4::SigningParams::builder()
                .identity(&identity)
                .region("us-east-1")
                .name("service")
                .time(UNIX_EPOCH + Duration::from_secs(AT))
                .settings(SigningSettings::default())
                .build()
                .unwrap()
                .into();
            let headers = [("Host", "example.amazonaws.com")].into_iter();
            let req = SignableRequest::new("GET", black_box(URL), headers, SignableBody::Bytes(&[])).unwrap();
            aws_sign(req, &params).unwrap()
        })
    });

    let mut keys = realsig_guest::KeyCache::default();
    let core_headers = [("Host".to_owned(), "example.amazonaws.com".to_owned())];
    g.bench_function("realsig-core-native", |b| {
        b.iter(|| {
            let req = realsig_guest::Request {
                method: "GET",
                url: black_box(URL),
                headers: &core_headers,
                payload: realsig_guest::Payload::Empty,
            };
            let creds = realsig_guest::Credentials {
                access_key_id: AKID,
                secret_access_key: SECRET,
                session_token: None,
            };
            realsig_guest::sign(&req, &creds, "us-east-1", "service", &Default::default(), AT, &mut keys).unwrap()
        })
    });
    g.finish();

    let body = vec![0x5au8; 1 << 20];
    let mut put = Request::new("PUT", "https://bucket.s3.amazonaws.com/key", "us-east-1", "s3");
    put.options = realsig::Options::s3();
    let mut g = c.benchmark_group("put-1MiB");
    g.throughput(criterion::Throughput::Bytes(body.len() as u64));
    let mut inline = put.clone();
    inline.payload = Payload::Bytes(body.clone());
    g.bench_function("in-component-hash", |b| {
        b.iter(|| signer.sign(black_box(&inline), &creds).unwrap())
    });
    g.bench_function("host-hash+component-sign", |b| {
        b.iter(|| {
            put.payload = Payload::Sha256Hex(hex::encode(Sha256::digest(black_box(&body))));
            signer.sign(&put, &creds).unwrap()
        })
    });
    g.finish();

    c.bench_function("instantiate", |b| b.iter(|| signer.instantiate_once().unwrap()));
    c.final_summary();

    let component = mean_ns("get-vanilla/component");
    let native = mean_ns("get-vanilla/aws-sigv4-native");
    let core = mean_ns("get-vanilla/realsig-core-native");
    if let (Some(component), Some(native), Some(core)) = (component, native, core) {
        println!(
            "\nget-vanilla mean: component {component:.0} ns, aws-sigv4 native {native:.0} ns, realsig core native {core:.0} ns"
        );
        println!(
            "ratio component / aws-sigv4 native = {:.3} (target <= 0.5)",
            component / native
        );
    }
}

/// The mean criterion just measured for `id`, from its estimates file.
fn mean_ns(id: &str) -> Option<f64> {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("target"));
    let file = dir.join("criterion").join(id).join("new").join("estimates.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(file).ok()?).ok()?;
    v["mean"]["point_estimate"].as_f64()
}
