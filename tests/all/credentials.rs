//! Credentials from a loopback ECS-style endpoint that rate-limits like ECS agent 1.17.0
//! (10 requests/s, burst 15, then HTTP 429): the seed's "unable to sign request without
//! credentials" failure, and the cache that avoids it.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use realsig::credentials::{CredentialsCache, CredentialsError, EcsProvider, ProvideCredentials};
use realsig::{RawClock, Request, Signer, TimeSource};

use common::http_server::HttpServer;
use common::test_cache_dir;

const TOKEN: &str = "Bearer test-token";
const SECRET: &str = "ecsSecretKeyEXAMPLE/abc";

/// A token bucket: 10 per second, 15 at most.
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * 10.0).min(15.0);
        self.last = now;
        let ok = self.tokens >= 1.0;
        if ok {
            self.tokens -= 1.0;
        }
        ok
    }
}

/// An ECS-style credentials endpoint on 127.0.0.1, rate-limited like agent 1.17.0.
struct FakeEcs {
    url: String,
    server: HttpServer,
    throttled: Arc<AtomicUsize>,
}

impl FakeEcs {
    /// Serves credentials expiring `expires_in` from now.
    fn start(expires_in: Duration) -> Self {
        let throttled = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&throttled);
        let bucket = Mutex::new(Bucket {
            tokens: 15.0,
            last: Instant::now(),
        });
        let server = HttpServer::start(move |seen| {
            if !bucket.lock().unwrap().take() {
                counter.fetch_add(1, Ordering::SeqCst);
                return ("429 Too Many Requests", String::new());
            }
            if seen.header("authorization") != Some(TOKEN) {
                return ("403 Forbidden", String::new());
            }
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
        });
        Self {
            url: format!("http://{}/v2/credentials/task", server.addr),
            server,
            throttled,
        }
    }

    fn requests(&self) -> usize {
        self.server.requests()
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
    println!(
        "uncached: {failures} of 1000 signatures failed; the endpoint throttled {} of {} requests",
        ecs.throttled.load(Ordering::SeqCst),
        ecs.requests()
    );
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
    let requests = ecs.requests();
    println!("cached (1 h credentials): 0 of 1000 failed; the endpoint saw {requests} requests");
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
    let requests = ecs.requests();
    println!("cached (4 min credentials, always due): 0 of 1000 failed; the endpoint saw {requests} requests");
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
