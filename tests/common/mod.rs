//! Helpers shared by the workspace-level tests.

#![allow(dead_code)] // the two test binaries (all, vectors) use different subsets

pub mod http_server;
pub mod oracle;
pub mod plugins;
pub mod s3_servers;
pub mod time_servers;

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::SystemTime;

use realsig::{FixedClock, Signer};

/// The team's shared vectors: `$REALSIG_VECTORS`, else `../shared/vectors` beside the checkout.
pub fn vectors_dir() -> PathBuf {
    let dir = std::env::var_os("REALSIG_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("..")
                .join("shared")
                .join("vectors")
        });
    assert!(
        dir.join("aws-signing-test-suite").is_dir(),
        "the shared vectors are missing at {} (set REALSIG_VECTORS to their folder)",
        dir.display()
    );
    dir
}

/// Parses an RFC 3339 time.
pub fn rfc3339(s: &str) -> SystemTime {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("bad time {s:?} in a vector: {e}"))
        .into()
}

/// A compiled-code cache private to this test run (never the user's cache).
pub fn test_cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("realsig-cache")
}

/// A signer whose `real-now` is fixed at `time`; one per distinct time, shared by all tests.
pub fn signer_at(time: SystemTime) -> Signer {
    static SIGNERS: OnceLock<std::sync::Mutex<Vec<(SystemTime, Signer)>>> = OnceLock::new();
    let mut signers = SIGNERS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some((_, s)) = signers.iter().find(|(t, _)| *t == time) {
        return s.clone();
    }
    let signer = Signer::builder()
        .clock(FixedClock(time))
        .cache_dir(Some(test_cache_dir()))
        .build()
        .expect("signer builds");
    signers.push((time, signer.clone()));
    signer
}
