//! S3 object keys, whatever the caller typed: every key is uploaded through `realsig request`
//! to both verifying servers (s3s-fs and versitygw), read back equal (signed, and through a
//! `realsig presign` URL fetched by curl) and listed under its exact key. The cases are the shared hand-written ones (`tests/data/s3-keys.json`, which
//! every binding runs too) and keys drawn at random from all printable ASCII, some UTF-8,
//! each character typed raw, or percent-encoded in upper or lower case.

use crate::common;

use std::collections::BTreeSet;
use std::process::{Command, Output};

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::s3::realsig;
use common::s3_servers::{Kind, S3Server, listed_keys};

/// How many random keys each run adds to the shared cases.
const RANDOM_KEYS: usize = 24;

fn run(what: &str, cmd: &mut Command) -> Output {
    let out = cmd.output().expect("realsig runs");
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr).trim_end()
    );
    out
}

/// One character of a key as a user might type it.
#[derive(Debug, Clone, Copy)]
enum Typed {
    Raw,
    Upper,
    Lower,
}

/// `key` typed with each character in its style; `%`, `?` and `#` cannot stand raw in a
/// path (a raw `%` would start an escape), so they are always encoded.
fn typed(key: &[(char, Typed)]) -> String {
    let mut out = String::new();
    for &(c, style) in key {
        let must = matches!(c, '%' | '?' | '#');
        match style {
            Typed::Raw if !must => out.push(c),
            Typed::Lower => {
                for b in c.to_string().bytes() {
                    out.push_str(&format!("%{b:02x}"));
                }
            }
            _ => {
                for b in c.to_string().bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
    }
    out
}

/// Random keys: 1 to 12 characters of printable ASCII (with `/` between segments, never
/// leading, trailing or doubled, and no `.` or `..` segment: the servers store keys as files)
/// and some UTF-8.
fn random_keys(seed: u64) -> Vec<(String, String)> {
    let ch = prop_oneof![
        8 => (0x20u8..=0x7e).prop_map(char::from),
        1 => prop::sample::select(vec!['ü', 'é', 'ሴ', '😀', '\u{a0}', 'Ω']),
    ];
    let style = prop_oneof![Just(Typed::Raw), Just(Typed::Upper), Just(Typed::Lower)];
    let key = prop::collection::vec((ch, style), 1..12).prop_filter("a key the servers store as a file", |k| {
        let s: String = k.iter().map(|(c, _)| c).collect();
        !s.starts_with('/') && !s.ends_with('/') && s.split('/').all(|seg| !matches!(seg, "" | "." | ".."))
    });
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes));
    (0..RANDOM_KEYS)
        .map(|_| {
            let k = key.new_tree(&mut runner).unwrap().current();
            (typed(&k), k.iter().map(|(c, _)| c).collect())
        })
        .collect()
}

fn shared_keys() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/s3-keys.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["typed"].as_str().unwrap().to_owned(),
                c["key"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn every_key_typed_any_way_round_trips_through_both_servers() {
    let seed = std::env::var("REALSIG_KEYS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
        });
    println!("random keys from seed {seed} (REALSIG_KEYS_SEED={seed} repeats them)");
    let mut cases = shared_keys();
    cases.extend(random_keys(seed));
    for kind in Kind::BOTH {
        let server = S3Server::start(kind, None);
        run(
            "create the bucket",
            &mut realsig(&["request", "-X", "PUT", &server.url("/bucket")]),
        );
        let mut want = BTreeSet::new();
        for (i, (typed, key)) in cases.iter().enumerate() {
            // One prefix per case, so that no key is another's directory on the servers' disks.
            let url = server.url(&format!("/bucket/k{i:02}/{typed}"));
            let body = format!("body of case {i}: {key}");
            let what = format!("{}: PUT {typed:?} (key {key:?})", kind.name());
            run(&what, &mut realsig(&["request", "-X", "PUT", "--data", &body, &url]));
            let got = run(
                &format!("{}: GET {typed:?}", kind.name()),
                &mut realsig(&["request", &url]),
            );
            assert_eq!(
                String::from_utf8_lossy(&got.stdout),
                body,
                "{}: {typed:?} read back",
                kind.name()
            );
            // A presigned URL made with nothing but --service s3, fetched by curl as printed.
            let presigned = run(
                &format!("{}: presign {typed:?}", kind.name()),
                &mut realsig(&["presign", &url]),
            );
            let presigned = String::from_utf8(presigned.stdout).unwrap();
            let fetched = Command::new("curl")
                .args(["-sS", "--fail", "--path-as-is", presigned.trim()])
                .output()
                .expect("curl runs");
            assert_eq!(
                String::from_utf8_lossy(&fetched.stdout),
                body,
                "{}: presigned GET of {typed:?} with curl: {}",
                kind.name(),
                String::from_utf8_lossy(&fetched.stderr)
            );
            want.insert(format!("k{i:02}/{key}"));
        }
        let listed = run(
            &format!("{}: list", kind.name()),
            &mut realsig(&["request", &server.url("/bucket?list-type=2")]),
        );
        let got: BTreeSet<String> = listed_keys(&String::from_utf8_lossy(&listed.stdout))
            .into_iter()
            .collect();
        assert_eq!(got, want, "{}: the listing names every key exactly", kind.name());
        println!("{}: {} keys uploaded, read back and listed", kind.name(), cases.len());
    }
}
