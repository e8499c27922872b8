//! Signs get-vanilla N times through the component: a fixed workload for instruction
//! counting, which is repeatable where wall-clock timing on a shared 2-core VM is not.
//!
//! ```sh
//! cargo build --release -p realsig --example sign_loop
//! for n in 10000 20000; do valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.$n \
//!   target/release/examples/sign_loop $n; done   # (Ir(20000) - Ir(10000)) / 10000 per signature
//! ```

use std::time::{Duration, UNIX_EPOCH};

use realsig::{Credentials, FixedClock, Header, Request, Signer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(10_000);
    let signer = Signer::builder()
        .clock(FixedClock(UNIX_EPOCH + Duration::from_secs(1_440_938_160)))
        .build()?;
    let creds = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None);
    let mut request = Request::new("GET", "https://example.amazonaws.com/", "us-east-1", "service");
    request.headers.push(Header {
        name: "Host".into(),
        value: "example.amazonaws.com".into(),
    });
    let mut last = String::new();
    for _ in 0..n {
        last = signer.sign(&request, &creds)?.signature;
    }
    println!("{n} signatures, last {last}");
    Ok(())
}
