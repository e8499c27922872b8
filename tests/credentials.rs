//! Credentials from a loopback ECS-style endpoint that rate-limits like ECS agent 1.17.0
//! (10 requests/s, burst 15, then HTTP 429): the seed's "unable to sign request without
//! credentials" failure, and the cache that avoids it.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use realsig::credentials::{CredentialsCache, CredentialsError, EcsProvider, ProvideCredentials};
use realsig::{RawClock, Request, Signer, TimeSource};

use common::test_cache_dir;

const TOKEN: &str = "Bearer test-token";
const SECRET: &str = "ecsSecretKeyEXAMPLE/abc";

/// A token bucket: `rate` per second, `burst` at most.
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// An HTTP/1.1 credentials endpoint on 127.0.0.1; one request per connection.
struct FakeEcs {
    url: String,
    requests: Arc<AtomicUsize>,
    throttled: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeEcs {
    /// Serves credentials expiring `expires_in` from now, rate-limited like agent 1.17.0.
    fn start(expires_in: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}/v2/credentials/task", listener.local_addr().unwrap());
        let (requests, throttled, stop) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicBool::new(false)),
        );
        let (r, t, s) = (Arc::clone(&requests), Arc::clone(&throttled), Arc::clone(&stop));
        let bucket = Mutex::new(Bucket {
            tokens: 15.0,
            last: Instant::now(),
        });
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let Ok((stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                };
                r.fetch_add(1, Ordering::SeqCst);
                let allowed = {
                    let mut b = bucket.lock().unwrap();
                    let now = Instant::now();
                    b.tokens = (b.tokens + now.duration_since(b.last).as_secs_f64() * 10.0).min(15.0);
                    b.last = now;
                    let ok = b.tokens >= 1.0;
                    if ok {
                        b.tokens -= 1.0;
                    }
                    ok
                };
                if !allowed {
                    t.fetch_add(1, Ordering::SeqCst);
                }
                serve(stream, allowed, expires_in);
            }
        });
        Self {
            url,
            requests,
            throttled,
            stop,
            thread: Some(thread),
        }
    }
}

fn serve(stream: TcpStream, allowed: bool, expires_in: Duration) {
    stream.set_nonblocking(false).ok();
    let mut reader = BufReader::new(&stream);
    let mut authorized = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if line.to_ascii_lowercase().starts_with("authorization:") {
            authorized = line[14..].trim() == TOKEN;
        }
    }
    let (status, body) = if !allowed {
        ("429 Too Many Requests", String::new())
    } else if !authorized {
        ("403 Forbidden", String::new())
    } else {
        let expiration = time::OffsetDateTime::from(SystemTime::now() + expires_in)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let body = serde_json::json!({
            "AccessKeyId": "ASIAECSEXAMPLE",
            "SecretAccessKey": SECRET,
            "Token": "ecs-session-token",
            "Expiration": expiration,
        });
        ("200 OK", body.to_string())
    };
    let _ = write!(
        &stream,
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
}

impl Drop for FakeEcs {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn signer(clock: Arc<dyn TimeSource>) -> Signer {
    Signer::builder()
        .shared_clock(clock)
        .cache_dir(Some(test_cache_dir()))
        .build()
        .expect("signer")
}

/// 8 threads × 125 signatures, credentials from `get` each time; returns the failures.
fn sign_1000(
    signer: &Signer,
    get: &(dyn Fn() -> Result<realsig::credentials::Provided, CredentialsError> + Sync),
) -> usize {
    let failures = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                let request = Request::new("PUT", "https://bucket.s3.amazonaws.com/key", "us-east-1", "s3");
                for _ in 0..125 {
                    let ok = get()
                        .map_err(|e| e.to_string())
                        .and_then(|p| signer.sign(&request, &p.credentials).map_err(|e| e.to_string()));
                    if ok.is_err() {
                        failures.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    failures.into_inner()
}

#[test]
fn without_a_cache_the_endpoint_throttles_and_signing_fails() {
    // The seed's failure, so the cached test below is not passing against a lenient server.
    let ecs = FakeEcs::start(Duration::from_secs(3_600));
    let provider = EcsProvider::new(&ecs.url).authorization(TOKEN);
    let clock: Arc<dyn TimeSource> = Arc::new(RawClock::default());
    let failures = sign_1000(&signer(clock), &|| provider.provide());
    assert!(failures > 500, "only {failures} failures");
    assert!(ecs.throttled.load(Ordering::SeqCst) > 500);
}

#[test]
fn one_cache_signs_1000_requests_from_8_threads_with_a_handful_of_fetches() {
    let ecs = FakeEcs::start(Duration::from_secs(3_600));
    let clock: Arc<dyn TimeSource> = Arc::new(RawClock::default());
    let cache = CredentialsCache::new(EcsProvider::new(&ecs.url).authorization(TOKEN), Arc::clone(&clock));
    let failures = sign_1000(&signer(clock), &|| cache.credentials());
    assert_eq!(failures, 0);
    let requests = ecs.requests.load(Ordering::SeqCst);
    assert!(requests <= 3, "the endpoint saw {requests} requests");
    assert_eq!(cache.fetches(), requests as u64);
}

#[test]
fn credentials_due_for_refresh_survive_a_throttling_endpoint() {
    // Expiring in 4 minutes: inside the 5-minute refresh window, so every call wants a
    // refresh; single flight and back-off keep the endpoint quiet and signing working.
    let ecs = FakeEcs::start(Duration::from_secs(240));
    let clock: Arc<dyn TimeSource> = Arc::new(RawClock::default());
    let cache = CredentialsCache::new(EcsProvider::new(&ecs.url).authorization(TOKEN), Arc::clone(&clock));
    let failures = sign_1000(&signer(clock), &|| cache.credentials());
    assert_eq!(failures, 0);
    let requests = ecs.requests.load(Ordering::SeqCst);
    assert!(requests <= 10, "the endpoint saw {requests} requests");
}

#[test]
fn a_wrong_token_is_an_error_without_the_secret() {
    let ecs = FakeEcs::start(Duration::from_secs(3_600));
    let e = EcsProvider::new(&ecs.url)
        .authorization("Bearer wrong")
        .provide()
        .expect_err("403");
    let text = e.to_string();
    assert!(text.contains("HTTP 403"), "{text}");
    assert!(!text.contains(SECRET));
    let good = EcsProvider::new(&ecs.url).authorization(TOKEN).provide().expect("200");
    assert!(!format!("{good:?}").contains(SECRET), "Debug leaks the secret");
    assert!(
        !format!("{good:?}").contains("ecs-session-token"),
        "Debug leaks the token"
    );
}
