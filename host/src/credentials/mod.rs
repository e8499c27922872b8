//! AWS credentials for the CLI and for long-running embedders.
//!
//! [`default_chain`] resolves them in the order the AWS CLI documents: environment
//! variables, web identity (`AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`, as EKS IRSA
//! sets them), the shared files (profiles: static keys, `credential_process`, assume-role
//! with `source_profile` or `credential_source`, web identity, SSO), the ECS container
//! endpoint (and EKS Pod Identity), then EC2 IMDSv2. The STS `AssumeRole` call is signed by
//! our own [`crate::Signer`] at the real time; STS and SSO endpoints honour
//! `AWS_ENDPOINT_URL_<SERVICE>`, the config's `services` sections, `AWS_ENDPOINT_URL` and
//! `endpoint_url` ([`endpoint_url`]). [`CredentialsCache`] keeps temporary credentials
//! until shortly before they expire, measured by the REAL time source (a process clock days
//! behind would otherwise keep expired keys forever), refreshes them single-flight, and
//! backs off on throttling while the cached value is still valid: the behaviour the ECS
//! agent's rate limit (10 requests/s, burst 15, in agent 1.17.0) demanded of clients.
//!
//! Why not `aws-config`: it is async (a tokio runtime in a synchronous CLI and in every
//! embedder), and pulls in the SSO/STS/hyper stacks; the providers here are a few hundred
//! lines over one small blocking HTTP client (`ureq`, rustls). What `aws-config` and botocore
//! have and this does not: `mfa_serial` (no prompt: refused, saying so), refreshing an
//! expired SSO token with its refresh token (says to run `aws sso login`), and the AWS CLI's
//! on-disk cache of assumed-role credentials (`~/.aws/cli/cache`; each `realsig` command
//! assumes the role once, an embedder's `CredentialsCache` once per expiry).

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use zeroize::Zeroizing;

use crate::clock::TimeSource;
use crate::signer::Credentials;

mod container;
mod endpoint;
mod imds;
mod profile;
mod sso;
mod sts;

pub use container::EcsProvider;
pub use endpoint::endpoint_url;
pub use imds::ImdsProvider;
pub use profile::{ProfileProvider, profile_region};
pub use sso::{SsoConfig, SsoProvider};
pub use sts::{AssumeRoleProvider, RoleRequest, Sts, WebIdentityProvider};

/// Credentials and, for temporary ones, when they expire.
#[derive(Clone)]
pub struct Provided {
    /// The credentials.
    pub credentials: Credentials,
    /// When they stop working; `None` for long-term keys.
    pub expiration: Option<SystemTime>,
    /// The provider that produced them, e.g. `environment` or `profile default`.
    pub provider: String,
}

impl fmt::Debug for Provided {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provided")
            .field("credentials", &self.credentials) // redacting Debug
            .field("expiration", &self.expiration)
            .field("provider", &self.provider)
            .finish()
    }
}

/// Why a provider gave no credentials. Messages never contain secret material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialsError {
    /// This provider has nothing configured; a chain moves on to the next.
    #[error("{provider}: {reason}")]
    NotConfigured {
        /// The provider.
        provider: String,
        /// What it looked for.
        reason: String,
    },
    /// Configured, but wrong (a named profile that does not exist, a bad file, bad JSON).
    #[error("{provider}: {reason}")]
    Invalid {
        /// The provider.
        provider: String,
        /// What is wrong.
        reason: String,
    },
    /// The endpoint asked us to slow down (HTTP 429) or failed (5xx).
    #[error("{provider}: HTTP {status} from the credentials endpoint")]
    Throttled {
        /// The provider.
        provider: String,
        /// The HTTP status.
        status: u16,
    },
    /// The endpoint or process could not be reached or run.
    #[error("{provider}: {reason}")]
    Unavailable {
        /// The provider.
        provider: String,
        /// What failed.
        reason: String,
    },
    /// No provider had credentials; holds what each said.
    #[error("no credentials found (tried {0})")]
    NoneFound(String),
    /// The real time is needed to judge expiry and there is none.
    #[error("cannot judge credential expiry: {0}")]
    Clock(String),
    /// The provider handed out credentials whose `Expiration` has passed, by the real time.
    #[error("{provider}: the credentials it gave expired at {} (the real time is {})", rfc3339(*.expired_at), rfc3339(*.now))]
    Expired {
        /// The provider.
        provider: String,
        /// Their `Expiration`.
        expired_at: SystemTime,
        /// The real time they were judged by.
        now: SystemTime,
    },
}

use crate::clock::rfc3339;

/// A source of credentials.
pub trait ProvideCredentials: Send + Sync + 'static {
    /// Fetches credentials (may do I/O; a [`CredentialsCache`] calls it rarely).
    fn provide(&self) -> Result<Provided, CredentialsError>;
    /// A short name for messages and `--verbose`.
    fn name(&self) -> &str;
}

impl ProvideCredentials for Box<dyn ProvideCredentials> {
    fn provide(&self) -> Result<Provided, CredentialsError> {
        (**self).provide()
    }

    fn name(&self) -> &str {
        (**self).name()
    }
}

/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`.
#[derive(Debug, Default, Clone, Copy)]
pub struct EnvProvider;

impl ProvideCredentials for EnvProvider {
    fn provide(&self) -> Result<Provided, CredentialsError> {
        let credentials = Credentials::from_env().map_err(|e| CredentialsError::NotConfigured {
            provider: "environment".into(),
            reason: format!("{} is not set", e.0),
        })?;
        Ok(Provided {
            credentials,
            expiration: None,
            provider: "environment".into(),
        })
    }

    fn name(&self) -> &str {
        "environment"
    }
}

/// Providers tried in order; the first with credentials wins. A provider that is not
/// configured is skipped; one that is configured but fails stops the chain with its error.
pub struct ProviderChain {
    providers: Vec<Box<dyn ProvideCredentials>>,
}

impl ProviderChain {
    /// A chain of `providers`.
    pub fn new(providers: Vec<Box<dyn ProvideCredentials>>) -> Self {
        Self { providers }
    }
}

impl ProvideCredentials for ProviderChain {
    fn provide(&self) -> Result<Provided, CredentialsError> {
        let mut tried = Vec::new();
        for provider in &self.providers {
            match provider.provide() {
                Err(CredentialsError::NotConfigured { provider, reason }) => {
                    tried.push(format!("{provider}: {reason}"))
                }
                other => return other,
            }
        }
        Err(CredentialsError::NoneFound(tried.join("; ")))
    }

    fn name(&self) -> &str {
        "default chain"
    }
}

/// The AWS CLI's order: environment, web identity from the environment, shared files
/// (`$AWS_PROFILE`, else `default`), the ECS container endpoint, EC2 IMDSv2 (unless
/// `AWS_EC2_METADATA_DISABLED`). A profile given on the command line (`profile`) comes first
/// and skips the environment's keys and web identity, as the AWS CLI's `--profile` does.
/// Role sessions, STS signatures and SSO token expiry use the default real-time chain.
pub fn default_chain(profile: Option<&str>) -> ProviderChain {
    default_chain_within(profile, None)
}

/// [`default_chain`], with every wait (a `credential_process`, each endpoint fetch) cut to
/// at most `limit` when given: what the CLI's `--max-time` does.
pub fn default_chain_within(profile: Option<&str>, limit: Option<Duration>) -> ProviderChain {
    default_chain_on(profile, limit, Arc::new(crate::clock::Chain::default_chain()))
}

/// [`default_chain_within`] on `clock`, the real time the caller signs with: it also signs
/// the STS `AssumeRole` calls, names role sessions and judges SSO tokens.
///
/// botocore puts a profile's `role_arn` before the web identity variables; this chain puts
/// the variables first (they are what EKS sets; a profile that also assumes a role is then
/// named with `--profile`, which skips them).
pub fn default_chain_on(profile: Option<&str>, limit: Option<Duration>, clock: Arc<dyn TimeSource>) -> ProviderChain {
    let cap = |default: Duration| limit.map_or(default, |l| l.min(default));
    let profile_provider = |name: Option<String>| {
        ProfileProvider::new(name)
            .process_timeout(cap(profile::DEFAULT_PROCESS_TIMEOUT))
            .call_timeout(cap(sts::DEFAULT_TIMEOUT))
            .clock(Arc::clone(&clock))
    };
    let mut providers: Vec<Box<dyn ProvideCredentials>> = Vec::new();
    match profile {
        Some(name) => providers.push(Box::new(profile_provider(Some(name.to_owned())))),
        None => {
            providers.push(Box::new(EnvProvider));
            providers.push(Box::new(WebIdentityProvider::from_env(
                cap(sts::DEFAULT_TIMEOUT),
                Arc::clone(&clock),
            )));
            providers.push(Box::new(profile_provider(env_nonempty("AWS_PROFILE"))));
        }
    }
    providers.push(Box::new(
        EcsProvider::from_env().timeout(cap(container::DEFAULT_TIMEOUT)),
    ));
    providers.push(Box::new(ImdsProvider::from_env().timeout(cap(imds::DEFAULT_TIMEOUT))));
    ProviderChain::new(providers)
}

pub(crate) fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Refresh this long before expiry (the AWS SDKs refresh 5 minutes early).
const REFRESH_BEFORE: Duration = Duration::from_secs(300);
/// While credentials still work, refresh them at most this often (a provider that hands out
/// credentials already inside the refresh window would otherwise be asked on every call).
const MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(15);
/// First back-off after a failed refresh; doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Caches a provider's credentials until shortly before they expire, by the real time.
pub struct CredentialsCache {
    provider: Box<dyn ProvideCredentials>,
    clock: Arc<dyn TimeSource>,
    state: Mutex<CacheState>,
    /// Held for the whole of a refresh: concurrent callers wait for one fetch.
    refreshing: Mutex<()>,
}

#[derive(Default)]
struct CacheState {
    current: Option<Provided>,
    /// No refresh before this real time (after a failure, while `current` is valid).
    retry_after: Option<SystemTime>,
    backoff: Duration,
    fetches: u64,
}

impl fmt::Debug for CredentialsCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialsCache")
            .field("provider", &self.provider.name())
            .field("clock", &self.clock.name())
            .finish_non_exhaustive()
    }
}

impl CredentialsCache {
    /// Caches `provider`, judging expiry with `clock` (give it the signer's clock).
    pub fn new(provider: impl ProvideCredentials, clock: Arc<dyn TimeSource>) -> Self {
        Self {
            provider: Box::new(provider),
            clock,
            state: Mutex::default(),
            refreshing: Mutex::new(()),
        }
    }

    /// How many times the provider has been asked (for tests and `--verbose`).
    pub fn fetches(&self) -> u64 {
        self.lock().fetches
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn real_now(&self) -> Result<SystemTime, CredentialsError> {
        self.clock
            .now()
            .map(|r| r.time)
            .map_err(|e| CredentialsError::Clock(e.to_string()))
    }

    /// The cached credentials if they need no refresh now: never asks the provider, so it
    /// never blocks on the network (an async caller tries this first and moves
    /// [`credentials`](Self::credentials) to a blocking thread only when it returns `None`).
    pub fn cached(&self) -> Option<Provided> {
        let now = self.real_now().ok()?;
        self.lock().fresh(now)
    }

    /// Credentials to sign with now.
    pub fn credentials(&self) -> Result<Provided, CredentialsError> {
        let now = self.real_now()?;
        if let Some(fresh) = self.lock().fresh(now) {
            return Ok(fresh);
        }
        let _flight = self.refreshing.lock().unwrap_or_else(PoisonError::into_inner);
        let now = self.real_now()?;
        {
            let state = self.lock();
            if let Some(fresh) = state.fresh(now) {
                return Ok(fresh); // another caller refreshed while we waited
            }
            if let (Some(valid), Some(after)) = (state.valid(now), state.retry_after)
                && now < after
            {
                return Ok(valid); // backing off; the old credentials still work
            }
        }
        self.lock().fetches += 1;
        let fetched = self.provider.provide();
        let mut state = self.lock();
        match fetched {
            Ok(provided) if provided.expiration.is_some_and(|exp| exp <= now) => Err(CredentialsError::Expired {
                provider: provided.provider,
                expired_at: provided.expiration.unwrap_or(now),
                now,
            }),
            Ok(provided) => {
                state.current = Some(provided.clone());
                state.retry_after = Some(now + MIN_REFRESH_INTERVAL);
                state.backoff = Duration::ZERO;
                Ok(provided)
            }
            Err(e) => match state.valid(now) {
                Some(valid) => {
                    state.backoff = (state.backoff * 2).clamp(MIN_BACKOFF, MAX_BACKOFF);
                    state.retry_after = Some(now + state.backoff);
                    Ok(valid)
                }
                None => Err(e),
            },
        }
    }
}

impl CacheState {
    /// The cached credentials if they are not yet due for a refresh.
    fn fresh(&self, now: SystemTime) -> Option<Provided> {
        let current = self.current.as_ref()?;
        match current.expiration {
            None => Some(current.clone()),
            Some(exp) if exp > now + REFRESH_BEFORE => Some(current.clone()),
            Some(_) => None,
        }
    }

    /// The cached credentials if they still work (possibly due for a refresh).
    fn valid(&self, now: SystemTime) -> Option<Provided> {
        let current = self.current.as_ref()?;
        match current.expiration {
            Some(exp) if exp <= now => None,
            _ => Some(current.clone()),
        }
    }
}

/// Parses the `Expiration` of the ECS, IMDS and `credential_process` JSON (RFC 3339).
pub(crate) fn parse_expiration(provider: &str, text: &str) -> Result<SystemTime, CredentialsError> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(SystemTime::from)
        .map_err(|e| CredentialsError::Invalid {
            provider: provider.into(),
            reason: format!("Expiration {text:?} is not an RFC 3339 time ({e})"),
        })
}

/// The JSON shape the ECS endpoint, IMDS and `credential_process` share. The secret and the
/// token are wiped when dropped, like `Credentials`.
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct JsonCredentials {
    access_key_id: Option<String>,
    secret_access_key: Option<Zeroizing<String>>,
    #[serde(alias = "SessionToken")]
    token: Option<Zeroizing<String>>,
    expiration: Option<String>,
}

impl JsonCredentials {
    /// Parses `body` (never echoing it: it holds secrets).
    pub(crate) fn parse(provider: &str, body: &[u8]) -> Result<Provided, CredentialsError> {
        let invalid = |reason: String| CredentialsError::Invalid {
            provider: provider.into(),
            reason,
        };
        let json: Self =
            serde_json::from_slice(body).map_err(|e| invalid(format!("the response is not credentials JSON ({e})")))?;
        let (Some(akid), Some(mut secret)) = (json.access_key_id, json.secret_access_key) else {
            return Err(invalid("the response has no AccessKeyId/SecretAccessKey".into()));
        };
        let expiration = json
            .expiration
            .as_deref()
            .map(|e| parse_expiration(provider, e))
            .transpose()?;
        Ok(Provided {
            // The buffers move into Credentials (which wipes them); the wrappers keep empty strings.
            credentials: Credentials::new(
                akid,
                std::mem::take(&mut *secret),
                json.token.map(|mut t| std::mem::take(&mut *t)),
            ),
            expiration,
            provider: provider.into(),
        })
    }
}

/// One blocking HTTP agent for the credential endpoints: short timeouts, statuses as values.
/// No redirects: a redirect is reported, never followed (it would carry the token elsewhere).
pub(crate) fn http_agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::clock::{Reading, TimeError};

    /// Debug of credentials, of what a provider returned and of a parsed credentials
    /// response shows the key id and never the secret or the token.
    #[test]
    fn debug_output_redacts_the_secret_and_the_token() {
        let body = br#"{"AccessKeyId": "AKIDDEBUG", "SecretAccessKey": "SECRETDEBUG", "Token": "TOKENDEBUG"}"#;
        let provided = JsonCredentials::parse("test", body).unwrap();
        for shown in [
            format!("{provided:?}"),
            format!("{:?}", provided.credentials),
            format!("{provided:#?}"),
        ] {
            assert!(shown.contains("AKIDDEBUG"), "{shown}");
            assert!(
                !shown.contains("SECRETDEBUG") && !shown.contains("TOKENDEBUG"),
                "{shown}"
            );
        }
        assert_eq!(
            provided.credentials.session_token(),
            Some("TOKENDEBUG"),
            "the token moved in whole"
        );
    }

    /// A clock the test moves by hand.
    struct Hand(Mutex<SystemTime>);

    impl Hand {
        fn advance(&self, d: Duration) {
            *self.0.lock().unwrap() += d;
        }
    }

    impl TimeSource for Hand {
        fn now(&self) -> Result<Reading, TimeError> {
            Ok(Reading {
                time: *self.0.lock().unwrap(),
                uncertainty: None,
                source: "hand".into(),
                trusted: true,
            })
        }
        fn name(&self) -> &str {
            "hand"
        }
    }

    /// Hands out `AKID<n>` valid for `lifetime` from the hand clock; fails with 429 after
    /// the first call when `fail_after_first`.
    struct Counting {
        calls: Arc<AtomicU64>,
        lifetime: Option<Duration>,
        fail_after_first: bool,
        clock: Arc<Hand>,
    }

    impl ProvideCredentials for Counting {
        fn provide(&self) -> Result<Provided, CredentialsError> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            if self.fail_after_first && n > 0 {
                return Err(CredentialsError::Throttled {
                    provider: "test".into(),
                    status: 429,
                });
            }
            let now = self.clock.now().unwrap().time;
            Ok(Provided {
                credentials: Credentials::new(format!("AKID{n}"), "secret", None),
                expiration: self.lifetime.map(|d| now + d),
                provider: "test".into(),
            })
        }
        fn name(&self) -> &str {
            "test"
        }
    }

    fn cache(lifetime: Option<Duration>, fail_after_first: bool) -> (CredentialsCache, Arc<AtomicU64>, Arc<Hand>) {
        let clock = Arc::new(Hand(Mutex::new(SystemTime::now())));
        let calls = Arc::new(AtomicU64::new(0));
        let provider = Counting {
            calls: Arc::clone(&calls),
            lifetime,
            fail_after_first,
            clock: Arc::clone(&clock),
        };
        (CredentialsCache::new(provider, clock.clone()), calls, clock)
    }

    fn akid(cache: &CredentialsCache) -> String {
        cache.credentials().unwrap().credentials.access_key_id().to_owned()
    }

    #[test]
    fn cached_never_asks_the_provider() {
        let (cache, calls, clock) = cache(Some(Duration::from_secs(3_600)), false);
        assert!(cache.cached().is_none(), "nothing fetched yet");
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        assert_eq!(akid(&cache), "AKID0");
        assert_eq!(cache.cached().map(|p| p.provider), Some("test".to_owned()));
        clock.advance(Duration::from_secs(3_400));
        assert!(
            cache.cached().is_none(),
            "inside the refresh window: the caller must refresh"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn long_lived_credentials_are_fetched_once() {
        let (cache, calls, clock) = cache(Some(Duration::from_secs(3_600)), false);
        for _ in 0..100 {
            assert_eq!(akid(&cache), "AKID0");
            clock.advance(Duration::from_secs(30));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1, "50 minutes in, still the first");
        clock.advance(Duration::from_secs(300));
        assert_eq!(akid(&cache), "AKID1", "inside the 5-minute window: refreshed");
    }

    #[test]
    fn short_lived_credentials_are_refreshed_at_most_every_15_seconds() {
        let (cache, calls, clock) = cache(Some(Duration::from_secs(240)), false);
        for _ in 0..100 {
            akid(&cache);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        clock.advance(Duration::from_secs(16));
        assert_eq!(akid(&cache), "AKID1");
    }

    #[test]
    fn a_throttled_refresh_keeps_the_valid_credentials_and_backs_off() {
        let (cache, calls, clock) = cache(Some(Duration::from_secs(400)), true);
        assert_eq!(akid(&cache), "AKID0");
        clock.advance(Duration::from_secs(120)); // due for refresh
        assert_eq!(akid(&cache), "AKID0", "refresh failed, the old ones still work");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        for _ in 0..50 {
            assert_eq!(akid(&cache), "AKID0");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 2, "backing off");
        clock.advance(Duration::from_secs(2));
        akid(&cache);
        assert_eq!(calls.load(Ordering::SeqCst), 3, "retried after the back-off");
        clock.advance(Duration::from_secs(300)); // expired now
        assert!(matches!(
            cache.credentials(),
            Err(CredentialsError::Throttled { status: 429, .. })
        ));
    }

    /// A provider that hands out credentials already expired by the real time is refused,
    /// naming it and both times; the process clock (which might call them valid) is not asked.
    #[test]
    fn credentials_expired_on_arrival_are_refused() {
        let clock = Arc::new(Hand(Mutex::new(UNIX_EPOCH + Duration::from_secs(1_800_000_000))));
        struct Stale;
        impl ProvideCredentials for Stale {
            fn provide(&self) -> Result<Provided, CredentialsError> {
                Ok(Provided {
                    credentials: Credentials::new("AKIDSTALE", "secret", Some("token".into())),
                    expiration: Some(UNIX_EPOCH + Duration::from_secs(1_799_999_000)),
                    provider: "container".into(),
                })
            }
            fn name(&self) -> &str {
                "container"
            }
        }
        let cache = CredentialsCache::new(Stale, clock);
        let e = cache.credentials().unwrap_err();
        assert_eq!(
            e.to_string(),
            "container: the credentials it gave expired at 2027-01-15T07:43:20Z (the real time is 2027-01-15T08:00:00Z)"
        );
        assert!(!e.to_string().contains("secret"));
    }

    #[test]
    fn expiry_is_judged_by_the_given_clock_not_the_process_clock() {
        let (cache, _, clock) = cache(Some(Duration::from_secs(3_600)), false);
        assert_eq!(akid(&cache), "AKID0");
        clock.advance(Duration::from_secs(3 * 86_400)); // the real time moved; this process did not
        assert_eq!(akid(&cache), "AKID1");
    }
}
