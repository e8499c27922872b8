//! Soak and scaling: THREADS threads × N signatures through one `Signer` (default 8 × 100,000),
//! each checked against the signature of the same request signed once up front; the process's
//! resident memory after a warm-up and at the end; then the throughput of 1 and of 2 threads.
//!
//! ```sh
//! cargo run --release -p realsig --example soak -- [THREADS] [N]
//! ```
//!
//! Numbers to report, not a test: `one_signer_serves_many_threads` in `tests/all/component.rs`
//! runs a small version (8 × 2,000) in CI.

use std::time::{Duration, Instant, UNIX_EPOCH};

use realsig::{Credentials, FixedClock, Header, Request, Signer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let threads = args.next().transpose()?.unwrap_or(8);
    let n = args.next().transpose()?.unwrap_or(100_000);
    let signer = Signer::builder()
        .clock(FixedClock(UNIX_EPOCH + Duration::from_secs(1_440_938_160)))
        .build()?;
    let creds = Credentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        Some("token".into()),
    );
    let mut request = Request::new("POST", "https://example.amazonaws.com/a/b?x=1", "us-east-1", "service");
    request.headers.push(Header {
        name: "Content-Type".into(),
        value: "application/json".into(),
    });
    let expected = signer.sign(&request, &creds)?.signature;

    // Warm-up: every thread's instance exists before the first reading.
    run(&signer, &request, &creds, &expected, threads, 1_000)?;
    let before = rss_kib()?;
    let (elapsed, _) = run(&signer, &request, &creds, &expected, threads, n)?;
    let after = rss_kib()?;
    println!(
        "soak: {threads} threads x {n} signatures, 0 errors, {:.1} s; RSS {before} KiB after warm-up, {after} KiB at the end ({:+} KiB)",
        elapsed.as_secs_f64(),
        after as i64 - before as i64
    );

    let per_thread = n.min(50_000);
    let (one, _) = run(&signer, &request, &creds, &expected, 1, per_thread)?;
    let (two, _) = run(&signer, &request, &creds, &expected, 2, per_thread)?;
    let rate = |threads: usize, t: Duration| (threads * per_thread) as f64 / t.as_secs_f64();
    println!(
        "scaling: 1 thread {:.0}/s, 2 threads {:.0}/s, ratio {:.2} (target >= 1.8)",
        rate(1, one),
        rate(2, two),
        rate(2, two) / rate(1, one)
    );
    Ok(())
}

/// `threads` threads each sign `n` times; any error or other signature ends the run.
fn run(
    signer: &Signer,
    request: &Request,
    creds: &Credentials,
    expected: &str,
    threads: usize,
    n: usize,
) -> Result<(Duration, usize), Box<dyn std::error::Error>> {
    let start = Instant::now();
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(move || -> Result<usize, String> {
                    for i in 0..n {
                        let signed = signer.sign(request, creds).map_err(|e| format!("signature {i}: {e}"))?;
                        if signed.signature != expected {
                            return Err(format!("signature {i} differs: {}", signed.signature));
                        }
                    }
                    Ok(n)
                })
            })
            .collect();
        let mut done = 0;
        for w in workers {
            done += w.join().map_err(|_| "a thread panicked")??;
        }
        Ok((start.elapsed(), done))
    })
}

/// VmRSS of this process, from /proc/self/status.
fn rss_kib() -> Result<u64, Box<dyn std::error::Error>> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .ok_or("no VmRSS in /proc/self/status")?;
    Ok(line.split_whitespace().nth(1).ok_or("VmRSS has no value")?.parse()?)
}
