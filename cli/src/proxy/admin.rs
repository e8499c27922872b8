//! The admin endpoints (`--admin`): `/healthz` and `/metrics` (Prometheus text, by
//! prometheus-client).

use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use realsig::TimeSource;
use realsig::credentials::CredentialsCache;

/// `status` of a request the proxy answered (its own errors included).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    /// The HTTP status code sent to the client.
    pub status: u16,
}

/// The time source in use.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    /// e.g. `raw (CLOCK_REALTIME)`, `ntp:127.0.0.1:123`.
    pub source: String,
}

/// Everything `/metrics` shows. Updated by the request path; the clock and credential values
/// are read when scraped.
pub struct Metrics {
    registry: Registry,
    /// Requests answered, by status.
    pub requests: Family<StatusLabels, Counter>,
    /// From sending the request upstream to its response headers.
    pub upstream_seconds: Histogram,
    /// Credentials, time and signature, for one request.
    pub signing_seconds: Histogram,
    /// Requests retried with the upstream's time after a clock-skew refusal.
    pub skew_retries: Counter,
    /// Requests refused because no credentials could be had.
    pub credential_failures: Counter,
    /// Client connections open now.
    pub connections: Gauge,
    credential_fetches: Counter,
    fetches_seen: AtomicU64,
    clock_offset: Gauge<f64, AtomicU64>,
    clock_source: Family<SourceLabels, Gauge>,
    clock_ok: Gauge,
}

impl Metrics {
    /// The metrics, registered under `realsig_proxy_`.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("realsig_proxy");
        let metrics = Self {
            requests: Family::default(),
            // 100 µs to 3.3 s: a loopback GET to a multi-second upload's last byte
            upstream_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 16)),
            // 10 µs to 20 ms: a cached signature to a credential refresh
            signing_seconds: Histogram::new(exponential_buckets(0.00001, 2.0, 12)),
            skew_retries: Counter::default(),
            credential_failures: Counter::default(),
            connections: Gauge::default(),
            credential_fetches: Counter::default(),
            fetches_seen: AtomicU64::new(0),
            clock_offset: Gauge::default(),
            clock_source: Family::default(),
            clock_ok: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register(
            "requests",
            "Requests answered, by HTTP status",
            metrics.requests.clone(),
        );
        registry.register(
            "upstream_seconds",
            "Time from sending a request upstream to its response headers",
            metrics.upstream_seconds.clone(),
        );
        registry.register(
            "signing_seconds",
            "Time to get credentials and the real time and sign one request",
            metrics.signing_seconds.clone(),
        );
        registry.register(
            "skew_retries",
            "Requests signed again with the upstream's time after a clock-skew refusal",
            metrics.skew_retries.clone(),
        );
        registry.register(
            "credential_refreshes",
            "Times the credentials provider chain was asked for credentials",
            metrics.credential_fetches.clone(),
        );
        registry.register(
            "credential_failures",
            "Requests refused because no credentials could be had",
            metrics.credential_failures.clone(),
        );
        registry.register("connections", "Client connections open", metrics.connections.clone());
        registry.register(
            "clock_offset_seconds",
            "The real time minus the process clock, at the last scrape",
            metrics.clock_offset.clone(),
        );
        registry.register(
            "clock_source",
            "The time source the last reading came from (value 1)",
            metrics.clock_source.clone(),
        );
        registry.register(
            "clock_trustworthy",
            "1 while a trustworthy real time is available, else 0",
            metrics.clock_ok.clone(),
        );
        Self { registry, ..metrics }
    }

    /// The Prometheus text exposition, the clock and credential values read now.
    pub fn render(&self, clock: &dyn TimeSource, credentials: &CredentialsCache) -> String {
        match clock.now() {
            Ok(reading) => {
                self.clock_ok.set(1);
                let offset = realsig::clock::chain::process_offset_nanos(reading.time) as f64 / 1e9;
                self.clock_offset.set(offset);
                self.clock_source.clear();
                self.clock_source
                    .get_or_create(&SourceLabels {
                        source: reading.source.to_string(),
                    })
                    .set(1);
            }
            Err(_) => {
                self.clock_ok.set(0);
            }
        }
        let fetches = credentials.fetches();
        let seen = self.fetches_seen.swap(fetches, Ordering::Relaxed);
        self.credential_fetches.inc_by(fetches.saturating_sub(seen));
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// `/healthz`: 200 and what the proxy signs with, or 503 and why it cannot sign.
pub fn health(clock: &dyn TimeSource, credentials: &CredentialsCache) -> (u16, String) {
    let reading = match clock.now() {
        Ok(r) => r,
        Err(e) => return (503, format!("unhealthy: no trustworthy time: {e}\n")),
    };
    match credentials.credentials() {
        Ok(provided) => (
            200,
            format!(
                "ok: time from {} (process clock off by {:.3} s), credentials from {}\n",
                reading.source,
                realsig::clock::chain::process_offset_nanos(reading.time) as f64 / 1e9,
                provided.provider
            ),
        ),
        Err(e) => (503, format!("unhealthy: no credentials: {e}\n")),
    }
}
