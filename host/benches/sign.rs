//! `cargo bench -p realsig`: the component against the native official signer, in one run.
//!
//! Reports, with criterion: get-vanilla signed in the component (warm instance), the same
//! with native `aws-sigv4` (which derives the signing key per call, as it does in the SDK),
//! our core natively (the component's overhead), a 1 MiB PUT with the payload hashed natively
//! in the host, the cost of a fresh instance, SigV4a against native `aws-sigv4`, and aws-chunked
//! framing of a 64 MiB file against `sha256sum`. Then prints the ratios the targets name.

#![allow(missing_docs)] // a benchmark binary, not an API

use std::hint::black_box;
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

use aws_credential_types::Credentials as AwsCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign as aws_sign};
use aws_sigv4::sign::{v4, v4a};
use aws_smithy_runtime_api::client::identity::Identity;
use criterion::Criterion;
use realsig::chunked::{Checksum, ChunkedBody, DEFAULT_CHUNK_SIZE, framed_length};
use realsig::{ChunkedMode, Credentials, FixedClock, Header, Payload, Request, Signer, Upload};
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
    let core_headers = [("Host", "example.amazonaws.com")];
    g.bench_function("realsig-core-native", |b| {
        b.iter(|| {
            let req = realsig_guest::Request {
                method: "GET",
                url: black_box(URL),
                headers: &core_headers,
                payload: realsig_guest::Payload::Empty,
            };
            let params = realsig_guest::SigningParams {
                credentials: realsig_guest::Credentials {
                    access_key_id: AKID,
                    secret_access_key: SECRET,
                    session_token: None,
                },
                region: "us-east-1",
                service: "service",
                settings: Default::default(),
                time: AT,
            };
            realsig_guest::sign(&req, &params, &mut keys).unwrap()
        })
    });
    g.finish();

    let body = vec![0x5au8; 1 << 20];
    let mut put = Request::new("PUT", "https://bucket.s3.amazonaws.com/key", "us-east-1", "s3");
    put.options = realsig::Options::default();
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

    sigv4a(&mut c, &signer, &creds, &vanilla, &identity);
    chunked(&mut c, &signer, &creds);
    realtime_file(&mut c);
    c.final_summary();

    let component = mean_ns("get-vanilla/component");
    let native = mean_ns("get-vanilla/aws-sigv4-native");
    let core = mean_ns("get-vanilla/realsig-core-native");
    if let (Some(component), Some(native), Some(core)) = (component, native, core) {
        println!(
            "\nget-vanilla mean: component {component:.0} ns, aws-sigv4 native {native:.0} ns, realsig core native {core:.0} ns"
        );
        println!(
            "ratio component / aws-sigv4 native = {:.3} (target <= 0.6)",
            component / native
        );
    }
    let ratio = |a: &str, b: &str| Some(mean_ns(a)? / mean_ns(b)?);
    if let (Some(warm), Some(first)) = (
        ratio("sigv4a/component", "sigv4a/aws-sigv4-native"),
        ratio("sigv4a-first-sign/component", "sigv4a/aws-sigv4-native"),
    ) {
        println!(
            "ratio sigv4a component / aws-sigv4 native = {warm:.3} (target <= 1.5); first sign of a fresh signer: {first:.3}"
        );
    }
    if let Some(r) = ratio("sigv4a/component", "sigv4a/realsig-core-native") {
        println!("ratio sigv4a component / realsig core native = {r:.3} (the cost of wasm)");
    }
    for variant in ["signed", "signed-crc32c-trailer"] {
        // Throughput is the inverse of time for the same bytes.
        if let Some(r) = ratio("chunked-64MiB/sha256sum", &format!("chunked-64MiB/{variant}")) {
            println!("throughput chunked {variant} / sha256sum = {r:.3} (target >= 0.8)");
        }
    }
    if let (Some(live), Some(every), Some(inline)) = (
        mean_ns("realtime-file/source"),
        mean_ns("realtime-file/source-every-read"),
        mean_ns("realtime-file/inline-read"),
    ) {
        println!(
            "realtime file: a reading {live:.0} ns (live, reused 50 ms), {every:.0} ns read through the deadline thread each time, {inline:.0} ns read inline"
        );
    }
}

/// The realtime file: a reading through the source, whose file reads run on a helper
/// thread with a deadline (so a wedged FUSE file cannot hold the signer): a live file
/// (`source`: a proved reading reused for 50 ms, then read again), a snapshot
/// (`source-every-read`: read through the thread each time), against the same open, read and
/// parse done inline (`inline-read`), as the source did before it had the thread.
fn realtime_file(c: &mut Criterion) {
    use realsig::TimeSource;
    use realsig::clock::realtime_file::{RealtimeFile, parse};
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("realtime");
    let write = |path: &std::path::Path| {
        let now = std::time::SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970");
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, format!("{}.{:09}", now.as_secs(), now.subsec_nanos())).expect("write");
        std::fs::rename(&tmp, path).expect("rename");
    };
    write(&path);
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        // A live file: rewritten every millisecond (as tests/all/time_sources.rs does).
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                write(&path);
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        let snapshot = RealtimeFile::new(&path).allow_static(true);
        let live = RealtimeFile::new(&path);
        snapshot.now().expect("reads");
        live.now().expect("a live file");
        let mut g = c.benchmark_group("realtime-file");
        g.bench_function("source", |b| b.iter(|| black_box(live.now().expect("a live file"))));
        g.bench_function("source-every-read", |b| {
            b.iter(|| black_box(snapshot.now().expect("reads")))
        });
        g.bench_function("inline-read", |b| {
            b.iter(|| {
                let bytes = realsig::files::read_capped(&path, 256).expect("reads");
                black_box(parse(std::str::from_utf8(&bytes).expect("utf-8")).expect("parses"))
            })
        });
        g.finish();
        stop.store(true, Ordering::Relaxed);
    });
}

/// SigV4a get-vanilla: the component (warm instance, derived key pair cached in it), the first
/// signature of a fresh signer (instance, p256 basepoint table, key derivation), and native
/// `aws-sigv4` with its `sigv4a` feature (which derives the key pair per call, as the SDK does).
fn sigv4a(c: &mut Criterion, signer: &Signer, creds: &Credentials, vanilla: &Request, identity: &Identity) {
    let mut request = vanilla.clone();
    request.region = "us-east-1,us-west-2".into();
    signer.sign_sigv4a(&request, creds).expect("warm up");
    let mut g = c.benchmark_group("sigv4a");
    g.bench_function("component", |b| {
        b.iter(|| signer.sign_sigv4a(black_box(&request), creds).unwrap())
    });
    g.bench_function("aws-sigv4-native", |b| {
        b.iter(|| {
            let params = v4a::SigningParams::builder()
                .identity(identity)
                .region_set("us-east-1,us-west-2")
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
    // Our core natively (key pair cached), for the cost of running it as wasm.
    let mut keys = realsig_guest::KeyCache::default();
    let settings = realsig_guest::Settings {
        algorithm: realsig_guest::Algorithm::EcdsaP256Sha256,
        ..Default::default()
    };
    let core_headers = [("Host", "example.amazonaws.com")];
    g.bench_function("realsig-core-native", |b| {
        b.iter(|| {
            let req = realsig_guest::Request {
                method: "GET",
                url: black_box(URL),
                headers: &core_headers,
                payload: realsig_guest::Payload::Empty,
            };
            let params = realsig_guest::SigningParams {
                credentials: realsig_guest::Credentials {
                    access_key_id: AKID,
                    secret_access_key: SECRET,
                    session_token: None,
                },
                region: "us-east-1,us-west-2",
                service: "service",
                settings,
                time: AT,
            };
            realsig_guest::sign(&req, &params, &mut keys).unwrap()
        })
    });
    g.finish();

    // A signer built per iteration (outside the timing), so each signature is its first.
    let mut g = c.benchmark_group("sigv4a-first-sign");
    g.sample_size(10);
    g.bench_function("component", |b| {
        b.iter_batched_ref(
            || {
                Signer::builder()
                    .clock(FixedClock(UNIX_EPOCH + Duration::from_secs(AT)))
                    .build()
                    .expect("signer")
            },
            |fresh| fresh.sign_sigv4a(black_box(&request), creds).unwrap(),
            criterion::BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// A 64 MiB file framed as a signed aws-chunked body into a sink (64 KiB chunks: native
/// SHA-256 per chunk, each chunk signed in the component), with and without a CRC32C trailer,
/// against `sha256sum` of the same file and against hashing it in-process.
fn chunked(c: &mut Criterion, signer: &Signer, creds: &Credentials) {
    const SIZE: usize = 64 << 20;
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    let data: Vec<u8> = (0..SIZE).map(|i| (i * 31 + i / 4099) as u8).collect();
    file.write_all(&data).expect("write");
    drop(data);
    let path = file.path().to_owned();

    let mut g = c.benchmark_group("chunked-64MiB");
    g.throughput(criterion::Throughput::Bytes(SIZE as u64));
    g.sample_size(10);
    for (name, mode, checksum) in [
        ("signed", ChunkedMode::Signed, None),
        (
            "signed-crc32c-trailer",
            ChunkedMode::SignedWithTrailer,
            Some(Checksum::Crc32c),
        ),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut request = Request::new("PUT", "https://bucket.s3.amazonaws.com/key", "us-east-1", "s3");
                request.options = realsig::Options::default();
                let framed = framed_length(SIZE as u64, DEFAULT_CHUNK_SIZE, mode, checksum);
                request.headers.push(Header {
                    name: "content-length".into(),
                    value: framed.to_string(),
                });
                let upload = Upload {
                    mode,
                    decoded_content_length: SIZE as u64,
                    trailer: checksum.map(|c| c.header_name().to_owned()),
                };
                let (_, chunks) = signer.start_chunked(&request, creds, &upload).unwrap();
                let file = std::fs::File::open(&path).unwrap();
                let mut body = ChunkedBody::new(file, Some(chunks), checksum, DEFAULT_CHUNK_SIZE);
                let n = std::io::copy(&mut body, &mut std::io::sink()).unwrap();
                assert_eq!(n, framed);
            })
        });
    }
    g.bench_function("sha256sum", |b| {
        b.iter(|| {
            let out = Command::new("sha256sum").arg(&path).output().expect("sha256sum");
            assert!(out.status.success());
        })
    });
    g.bench_function("sha256-in-process", |b| {
        b.iter(|| {
            let mut hasher = Sha256::new();
            let mut file = std::fs::File::open(&path).unwrap();
            let mut buf = vec![0; DEFAULT_CHUNK_SIZE];
            loop {
                let n = std::io::Read::read(&mut file, &mut buf).unwrap();
                if n == 0 {
                    break hasher.finalize();
                }
                hasher.update(&buf[..n]);
            }
        })
    });
    g.finish();
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
