//! [`Signer`]: the component in wasmtime, reused across calls and threads.

use std::borrow::Cow;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wasmtime::component::{HasSelf, Linker, ResourceAny};
use wasmtime::{Config, Engine, ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder, Trap};
use zeroize::Zeroize;

use crate::bindings::exports::realsig::sigv4::chunked as wit_chunked;
use crate::bindings::exports::realsig::sigv4::signer as wit;
use crate::bindings::{Realsig, RealsigPre};
use crate::clock::{Chain, Reading, TimeError, TimeSource};
use crate::{COMPONENT, cache, plugin};

pub use crate::bindings::exports::realsig::sigv4::post_policy::{
    Condition, FieldMatch, FormField, LengthRange, Policy, SignedForm,
};
pub use wit::{Header, Options, Payload, Placement, Request, SignError};
pub use wit_chunked::{ChunkedMode, Upload};

/// How often the epoch advances; deadlines are whole ticks.
const TICK: Duration = Duration::from_millis(10);
/// Instances kept for reuse; more concurrent callers than this instantiate and drop.
const MAX_POOLED: usize = 64;

/// Per-store host state: the clock behind `real-now` and the store's resource limits.
pub struct HostState {
    pub(crate) clock: Arc<dyn TimeSource>,
    /// The reading taken for the current call, handed to the guest's `real-now`.
    pub(crate) reading: Option<Result<Reading, TimeError>>,
    limits: StoreLimits,
    /// Set when the guest asked for more memory than the cap: the trap that follows is
    /// reported as [`Error::MemoryLimit`].
    over_memory_limit: bool,
}

/// A guest that asks for memory past the cap traps at once (instead of seeing `memory.grow`
/// return -1 and carrying on), so the caller gets [`Error::MemoryLimit`] and the instance is
/// discarded.
impl ResourceLimiter for HostState {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        if self.limits.memory_growing(current, desired, maximum)? {
            return Ok(true);
        }
        self.over_memory_limit = true;
        wasmtime::bail!("the component asked for {desired} bytes of memory, over its cap")
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

/// AWS credentials for one call. `Debug` shows the access key id only.
#[derive(Clone)]
pub struct Credentials(wit::Credentials);

impl Credentials {
    /// Credentials from their parts.
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: Option<String>,
    ) -> Self {
        Self(wit::Credentials {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token,
        })
    }

    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and optionally `AWS_SESSION_TOKEN`.
    pub fn from_env() -> Result<Self, MissingCredentials> {
        let var = |name: &'static str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let akid = var("AWS_ACCESS_KEY_ID").ok_or(MissingCredentials("AWS_ACCESS_KEY_ID"))?;
        let secret = var("AWS_SECRET_ACCESS_KEY").ok_or(MissingCredentials("AWS_SECRET_ACCESS_KEY"))?;
        Ok(Self::new(akid, secret, var("AWS_SESSION_TOKEN")))
    }

    /// The access key id (not secret).
    pub fn access_key_id(&self) -> &str {
        &self.0.access_key_id
    }

    /// The secret access key (secret: never log it). For handing cached credentials to an
    /// SDK that signs itself (the Ruby binding's aws-sdk adapter).
    pub fn secret_access_key(&self) -> &str {
        &self.0.secret_access_key
    }

    /// The session token (secret: never log it).
    pub fn session_token(&self) -> Option<&str> {
        self.0.session_token.as_deref()
    }
}

/// The secret and the session token are wiped (zeroize) when credentials are dropped. (The
/// guest keeps its own copy in its key cache, in the instance's memory: see SECURITY.md.)
impl Drop for Credentials {
    fn drop(&mut self) {
        self.0.secret_access_key.zeroize();
        self.0.session_token.zeroize();
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.0.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field(
                "session_token",
                &self.0.session_token.as_ref().map(|_| "** redacted **"),
            )
            .finish()
    }
}

/// A required credential environment variable is unset or empty.
#[derive(Debug, Clone, thiserror::Error)]
#[error("no credentials: {0} is not set (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")]
pub struct MissingCredentials(pub &'static str);

impl Default for Options {
    /// Header placement with the rules of the request's service (every flag `None`).
    fn default() -> Self {
        Self {
            placement: Placement::Headers,
            double_uri_encode: None,
            normalize_path: None,
            content_sha256_header: None,
            omit_session_token: false,
            debug: false,
        }
    }
}

impl Request {
    /// A request without headers or body, signed with [`Options::default`].
    pub fn new(method: &str, url: &str, region: &str, service: &str) -> Self {
        Self {
            method: method.into(),
            url: url.into(),
            headers: Vec::new(),
            payload: Payload::Empty,
            region: region.into(),
            service: service.into(),
            options: Options::default(),
        }
    }
}

impl Condition {
    /// A condition from plain parts, as the Ruby and Python extensions pass them:
    /// `("eq" | "starts-with", field, value)` (a leading `$` on the field is dropped, as the
    /// policy JSON writes it) or `("content-length-range", min, max)` with the bounds as
    /// decimal text. The error says what is wrong, for an invalid-option error.
    pub fn from_parts(op: &str, a: String, b: String) -> Result<Self, String> {
        let field = |field: String, value| FieldMatch {
            field: field.trim_start_matches('$').to_owned(),
            value,
        };
        match op {
            "eq" => Ok(Self::Equals(field(a, b))),
            "starts-with" => Ok(Self::StartsWith(field(a, b))),
            "content-length-range" => match (a.parse(), b.parse()) {
                (Ok(min), Ok(max)) => Ok(Self::ContentLengthRange(LengthRange { min, max })),
                _ => Err(format!("content-length-range takes two integers, not {a:?} and {b:?}")),
            },
            other => Err(format!("unknown policy condition {other:?}")),
        }
    }
}

impl SignError {
    /// The WIT case name, e.g. `invalid-url`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidUrl(_) => "invalid-url",
            Self::InvalidMethod(_) => "invalid-method",
            Self::InvalidHeaderName(_) => "invalid-header-name",
            Self::InvalidHeaderValue(_) => "invalid-header-value",
            Self::InvalidPayloadHash(_) => "invalid-payload-hash",
            Self::InvalidOption(_) => "invalid-option",
            Self::InvalidCredentials(_) => "invalid-credentials",
            Self::ClockUnavailable(_) => "clock-unavailable",
        }
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        match self {
            Self::InvalidUrl(m)
            | Self::InvalidMethod(m)
            | Self::InvalidHeaderName(m)
            | Self::InvalidHeaderValue(m)
            | Self::InvalidPayloadHash(m)
            | Self::InvalidOption(m)
            | Self::InvalidCredentials(m)
            | Self::ClockUnavailable(m) => m,
        }
    }
}

/// A header to add to the request, replacing any of the same name.
#[derive(Clone, PartialEq, Eq)]
pub struct AddedHeader {
    /// Lowercase name.
    pub name: String,
    /// Value.
    pub value: String,
    /// True for secrets (the session token): never log the value.
    pub sensitive: bool,
}

impl fmt::Debug for AddedHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = if self.sensitive { "** redacted **" } else { &self.value };
        write!(f, "{}: {}", self.name, value)
    }
}

/// The signing instructions the component returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// Headers to add (header placement), in the order the official suites list them.
    pub headers: Vec<AddedHeader>,
    /// The URL to send: unchanged, or presigned in query placement.
    pub url: String,
    /// Lowercase hex signature.
    pub signature: String,
    /// The time `real-now` gave; its whole seconds were signed.
    pub signing_time: SystemTime,
    /// With `options.debug`: the canonical request.
    pub canonical_request: Option<String>,
    /// With `options.debug`: the string to sign.
    pub string_to_sign: Option<String>,
}

/// A time a component returned, checked: a hostile plugin's `u64::MAX` seconds would
/// overflow `SystemTime` (a panic) if added unchecked. No later than the last second RFC 3339
/// can write, as every time source's readings are (a comparison: this is on every signature).
fn component_time(seconds: u64, nanoseconds: u32) -> Result<SystemTime, Error> {
    (seconds <= crate::clock::realtime_file::MAX_SECS)
        .then(|| UNIX_EPOCH + Duration::new(seconds, nanoseconds.min(999_999_999)))
        .ok_or_else(|| Error::InvalidComponent(format!("it returned a time out of range ({seconds} s since 1970)")))
}

impl Signed {
    fn from_wit(s: wit::SignedRequest) -> Result<Self, Error> {
        let signing_time = component_time(s.signing_time.seconds, s.signing_time.nanoseconds)?;
        Ok(Self {
            headers: s
                .headers
                .into_iter()
                .map(|h| AddedHeader {
                    name: h.name,
                    value: h.value,
                    sensitive: h.sensitive,
                })
                .collect(),
            url: s.url,
            signature: s.signature,
            signing_time,
            canonical_request: s.canonical_request,
            string_to_sign: s.string_to_sign,
        })
    }

    /// The value of the `authorization` header, in header placement.
    pub fn authorization(&self) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name == "authorization")
            .map(|h| h.value.as_str())
    }
}

/// Why a request was not signed.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The component refused: bad input, or no trustworthy time (`clock-unavailable`).
    #[error("{}: {}", .0.kind(), .0.message())]
    Rejected(SignError),
    /// The call ran past its deadline; the instance was discarded.
    #[error("signing took longer than the {0:?} deadline; the instance was discarded")]
    Timeout(Duration),
    /// The component asked for more linear memory than the cap (bytes); the instance was
    /// discarded.
    #[error("the signing component tried to use more than its {0}-byte memory cap; the instance was discarded")]
    MemoryLimit(usize),
    /// The component returned more data than the output cap (bytes) allows; nothing of it
    /// was kept, and the instance was discarded.
    #[error("the signing component returned more than the {0}-byte output cap; the instance was discarded")]
    OutputTooLarge(usize),
    /// A component given to [`SignerBuilder::component`] was refused on load: it imports
    /// something other than `realsig:sigv4/real-time`, does not implement the realsig world,
    /// or is not a valid component.
    #[error("refused the signing component: {0}")]
    InvalidComponent(String),
    /// The component trapped (a component bug); the instance was discarded.
    #[error("the signing component failed: {0}")]
    Trap(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The engine or component could not be set up.
    #[error("could not set up the signing component: {0}")]
    Setup(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    /// The WIT error case for [`Error::Rejected`], else `timeout`, `memory-limit`,
    /// `output-too-large`, `invalid-component`, `trap` or `setup`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Rejected(e) => e.kind(),
            Self::Timeout(_) => "timeout",
            Self::MemoryLimit(_) => "memory-limit",
            Self::OutputTooLarge(_) => "output-too-large",
            Self::InvalidComponent(_) => "invalid-component",
            Self::Trap(_) => "trap",
            Self::Setup(_) => "setup",
        }
    }
}

fn setup(e: wasmtime::Error) -> Error {
    Error::Setup(e.into())
}

/// Builds a [`Signer`].
pub struct SignerBuilder {
    clock: Arc<dyn TimeSource>,
    component: Option<Cow<'static, [u8]>>,
    memory_limit: usize,
    output_limit: usize,
    deadline: Duration,
    cache_dir: Option<PathBuf>,
}

impl fmt::Debug for SignerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignerBuilder")
            .field("clock", &self.clock.name())
            .field(
                "component",
                &self.component.as_ref().map(|c| format!("{} bytes", c.len())),
            )
            .field("memory_limit", &self.memory_limit)
            .field("output_limit", &self.output_limit)
            .field("deadline", &self.deadline)
            .field("cache_dir", &self.cache_dir)
            .finish()
    }
}

impl SignerBuilder {
    /// The time source behind `real-now` (default: [`Chain::default_chain`]).
    pub fn clock(mut self, clock: impl TimeSource) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The time source behind `real-now`, shared.
    pub fn shared_clock(mut self, clock: Arc<dyn TimeSource>) -> Self {
        self.clock = clock;
        self
    }

    /// Runs `component` instead of the embedded one: any component that implements the
    /// realsig world (`wit/`) and imports nothing but `realsig:sigv4/real-time`. It is
    /// checked by [`SignerBuilder::build`], which refuses anything else with
    /// [`Error::InvalidComponent`] naming the import, and runs under the same limits.
    pub fn component(mut self, component: impl Into<Cow<'static, [u8]>>) -> Self {
        self.component = Some(component.into());
        self
    }

    /// Linear memory cap per instance (default 16 MiB; the component needs well under 1 MiB
    /// plus the size of an in-line payload). Asking for more traps: [`Error::MemoryLimit`].
    pub fn memory_limit(mut self, bytes: usize) -> Self {
        self.memory_limit = bytes;
        self
    }

    /// Cap on what one call may return, in bytes, roughly (strings plus the host's size of
    /// each list element; default 1 MiB, where a signature returns a few KiB). It is checked
    /// before the host allocates, so a component cannot make the host allocate more, even by
    /// returning one string many times: [`Error::OutputTooLarge`].
    pub fn output_limit(mut self, bytes: usize) -> Self {
        self.output_limit = bytes;
        self
    }

    /// Wall-clock budget for the guest per call (default 1 s; a signature takes microseconds).
    /// Reading the clock happens before and is not counted.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Where compiled code is cached (default [`cache::default_cache_dir`]); `None` compiles
    /// in memory every time.
    pub fn cache_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.cache_dir = dir;
        self
    }

    /// Checks and compiles (or loads from cache) the component and prepares instantiation.
    pub fn build(self) -> Result<Signer, Error> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        // Profiling aid: `REALSIG_PERFMAP=1` writes /tmp/perf-<pid>.map so perf (or a
        // callgrind run) can name the component's compiled functions.
        if std::env::var_os("REALSIG_PERFMAP").is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config).map_err(setup)?;
        let (bytes, refuse): (&[u8], fn(String) -> Error) = match &self.component {
            Some(c) => (c, Error::InvalidComponent),
            None => (COMPONENT, |e| Error::Setup(e.into())),
        };
        plugin::check_imports(bytes)?;
        let component = cache::load(&engine, bytes, self.cache_dir.as_deref())
            .map_err(|e| refuse(format!("it does not compile: {e:#}")))?;
        let mut linker = Linker::<HostState>::new(&engine);
        Realsig::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s).map_err(setup)?;
        let instance_pre = linker
            .instantiate_pre(&component)
            .map_err(|e| refuse(format!("its import does not match `realsig:sigv4/real-time`: {e:#}")))?;
        let pre = RealsigPre::new(instance_pre)
            .map_err(|e| refuse(format!("it does not implement the realsig world: {e:#}")))?;
        spawn_epoch_ticker(&engine);
        let ticks = self.deadline.as_millis().div_ceil(TICK.as_millis()).max(1) as u64;
        Ok(Signer {
            inner: Arc::new(Inner {
                engine,
                pre,
                clock: self.clock,
                memory_limit: self.memory_limit,
                output_limit: self.output_limit,
                deadline: self.deadline,
                deadline_ticks: ticks,
                pool: Mutex::new(Vec::new()),
            }),
        })
    }
}

/// Signs requests by calling the realsig component in wasmtime.
///
/// Cheap to clone and safe to share between threads: instances are pooled and reused, one
/// per concurrent caller. A call that traps or overruns its deadline discards its instance,
/// so one bad call never affects the next.
#[derive(Clone)]
pub struct Signer {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    pre: RealsigPre<HostState>,
    clock: Arc<dyn TimeSource>,
    memory_limit: usize,
    output_limit: usize,
    deadline: Duration,
    deadline_ticks: u64,
    pool: Mutex<Vec<Pooled>>,
}

struct Pooled {
    store: Store<HostState>,
    bindings: Realsig,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("clock", &self.inner.clock.name())
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A builder with the defaults: [`Chain::default_chain`], the embedded component, 16 MiB
    /// of memory, 1 MiB of output, 1 s, the default cache dir.
    pub fn builder() -> SignerBuilder {
        SignerBuilder {
            clock: Arc::new(Chain::default_chain()),
            component: None,
            memory_limit: 16 << 20,
            output_limit: 1 << 20,
            deadline: Duration::from_secs(1),
            cache_dir: cache::default_cache_dir(),
        }
    }

    /// The name of the time source behind `real-now`.
    pub fn clock_name(&self) -> &str {
        self.inner.clock.name()
    }

    /// Signs `request` (SigV4, `AWS4-HMAC-SHA256`) at the time the signer's clock gives.
    pub fn sign(&self, request: &Request, credentials: &Credentials) -> Result<Signed, Error> {
        self.call(|p| {
            p.bindings
                .realsig_sigv4_signer()
                .call_sign(&mut p.store, request, &credentials.0)
        })
        .and_then(|r| r.map_err(Error::Rejected).and_then(Signed::from_wit))
    }

    /// Signs `request` with SigV4a (`AWS4-ECDSA-P256-SHA256`) at the time the signer's
    /// clock gives. `request.region` is the region set: `*` or regions joined by commas.
    pub fn sign_sigv4a(&self, request: &Request, credentials: &Credentials) -> Result<Signed, Error> {
        self.call(|p| {
            p.bindings
                .realsig_sigv4_signer()
                .call_sign_sigv4a(&mut p.store, request, &credentials.0)
        })
        .and_then(|r| r.map_err(Error::Rejected).and_then(Signed::from_wit))
    }

    /// Builds and signs an S3 POST policy at the time the signer's clock gives.
    pub fn sign_post_policy(&self, policy: &Policy, credentials: &Credentials) -> Result<SignedForm, Error> {
        self.call(|p| {
            p.bindings
                .realsig_sigv4_post_policy()
                .call_sign_post_policy(&mut p.store, policy, &credentials.0)
        })
        .and_then(|r| r.map_err(Error::Rejected))
    }

    /// Signs the request opening an S3 aws-chunked upload and returns the signer of its
    /// chunks, which holds one instance until it is dropped. `request.payload` must be
    /// [`Payload::Empty`]; put the framed `content-length` among its headers
    /// ([`crate::chunked::framed_length`]).
    pub fn start_chunked(
        &self,
        request: &Request,
        credentials: &Credentials,
        upload: &Upload,
    ) -> Result<(Signed, ChunkSigner), Error> {
        let ((signed, resource), pooled) = self.open_held(true, |p| {
            p.bindings
                .realsig_sigv4_chunked()
                .call_start(&mut p.store, request, &credentials.0, upload)
        })?;
        let chunks = ChunkSigner {
            signer: self.clone(),
            pooled: Some(pooled),
            resource,
        };
        Ok((Signed::from_wit(signed)?, chunks))
    }

    /// A signer for the messages of an event stream whose request was signed with
    /// `seed_signature`; it holds one instance until it is dropped.
    pub fn event_stream(&self, seed_signature: &str, region: &str, service: &str) -> Result<MessageSigner, Error> {
        let (resource, pooled) = self.open_held(false, |p| {
            p.bindings
                .realsig_sigv4_event_stream()
                .call_open(&mut p.store, seed_signature, region, service)
        })?;
        Ok(MessageSigner {
            signer: self.clone(),
            pooled: Some(pooled),
            resource,
        })
    }

    /// Runs the call that creates a guest resource and keeps its instance out of the pool
    /// for the resource's holder; a refused call gives the instance back.
    fn open_held<T>(
        &self,
        read_clock: bool,
        f: impl FnOnce(&mut Pooled) -> wasmtime::Result<Result<T, SignError>>,
    ) -> Result<(T, Pooled), Error> {
        let mut pooled = self.checkout()?;
        match self.run(&mut pooled, read_clock, f)? {
            Ok(out) => Ok((out, pooled)),
            Err(e) => {
                self.give_back(pooled);
                Err(Error::Rejected(e))
            }
        }
    }

    /// One call on a pooled instance; the instance goes back to the pool unless it failed.
    fn call<T>(&self, f: impl FnOnce(&mut Pooled) -> wasmtime::Result<T>) -> Result<T, Error> {
        let mut pooled = self.checkout()?;
        let out = self.run(&mut pooled, true, f)?;
        self.give_back(pooled);
        Ok(out)
    }

    fn checkout(&self) -> Result<Pooled, Error> {
        match self.take() {
            Some(p) => Ok(p),
            None => self.instantiate(),
        }
    }

    /// Runs `f` under the deadline. With `read_clock`, the clock is read first, so a source
    /// that takes its time (a first NTP sync, a realtime file proving it advances) does not
    /// eat the deadline, which bounds the guest alone; `real-now` hands this reading over.
    /// An `Err` means the instance may be in any state: the caller must drop it.
    fn run<T>(
        &self,
        pooled: &mut Pooled,
        read_clock: bool,
        f: impl FnOnce(&mut Pooled) -> wasmtime::Result<T>,
    ) -> Result<T, Error> {
        if read_clock {
            pooled.store.data_mut().reading = Some(self.inner.clock.now());
        }
        pooled.store.set_epoch_deadline(self.inner.deadline_ticks);
        let result = f(pooled);
        pooled.store.data_mut().reading = None;
        result.map_err(|e| self.failure(&pooled.store, e))
    }

    /// What a failed call or instantiation on `store` was.
    fn failure(&self, store: &Store<HostState>, e: wasmtime::Error) -> Error {
        if store.data().over_memory_limit {
            Error::MemoryLimit(self.inner.memory_limit)
        } else if e.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
            Error::Timeout(self.inner.deadline)
        } else if plugin::is_output_cap(&e) {
            Error::OutputTooLarge(self.inner.output_limit)
        } else {
            // The trap code ("wasm `unreachable` instruction executed"), or the innermost
            // cause: the outer message is wasmtime's backtrace, many lines of offsets.
            let reason = match e.downcast_ref::<Trap>() {
                Some(trap) => trap.to_string(),
                None => e.root_cause().to_string(),
            };
            Error::Trap(reason.into())
        }
    }

    /// Creates one instance and drops it: what a cold call pays (for benchmarks).
    #[doc(hidden)]
    pub fn instantiate_once(&self) -> Result<(), Error> {
        self.instantiate().map(drop)
    }

    fn take(&self) -> Option<Pooled> {
        self.inner.pool.lock().unwrap_or_else(PoisonError::into_inner).pop()
    }

    fn give_back(&self, pooled: Pooled) {
        let mut pool = self.inner.pool.lock().unwrap_or_else(PoisonError::into_inner);
        if pool.len() < MAX_POOLED {
            pool.push(pooled);
        }
    }

    fn instantiate(&self) -> Result<Pooled, Error> {
        let limits = StoreLimitsBuilder::new().memory_size(self.inner.memory_limit).build();
        let state = HostState {
            clock: Arc::clone(&self.inner.clock),
            reading: None,
            limits,
            over_memory_limit: false,
        };
        let mut store = Store::new(&self.inner.engine, state);
        store.limiter(|s| s);
        store.set_epoch_deadline(self.inner.deadline_ticks);
        // Wasmtime charges what it lifts from the guest (strings, list elements) against this
        // before allocating, per call: the output cap.
        store.set_hostcall_fuel(self.inner.output_limit);
        match self.inner.pre.instantiate(&mut store) {
            Ok(bindings) => Ok(Pooled { store, bindings }),
            Err(e) => Err(self.failure(&store, e)),
        }
    }
}

/// Advances the engine's epoch every [`TICK`] until the engine is dropped.
fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    // If the thread cannot be spawned, deadlines never fire; signing itself still works.
    let _ = std::thread::Builder::new().name("realsig-epoch".into()).spawn(move || {
        loop {
            std::thread::sleep(TICK);
            match weak.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => return,
            }
        }
    });
}

/// Signs the chunks of one aws-chunked upload in order ([`Signer::start_chunked`]).
///
/// Holds one instance, with the upload's derived key inside it, until dropped; then the
/// resource is dropped in the guest and the instance goes back to the pool.
pub struct ChunkSigner {
    signer: Signer,
    pooled: Option<Pooled>,
    resource: ResourceAny,
}

impl fmt::Debug for ChunkSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkSigner").finish_non_exhaustive()
    }
}

impl ChunkSigner {
    /// The signature of the next chunk, given the SHA-256 of its data (compute it with
    /// [`sha2`] in the host); the empty chunk that ends the data is signed too.
    pub fn sign_chunk(&mut self, chunk_sha256: &[u8; 32]) -> Result<String, Error> {
        let hex = hex::encode(chunk_sha256);
        let resource = self.resource;
        self.with(|p| {
            p.bindings
                .realsig_sigv4_chunked()
                .chunk_signer()
                .call_sign_chunk(&mut p.store, resource, &hex)
        })
    }

    /// The trailer's signature, after the final chunk (`signed-with-trailer` mode).
    pub fn sign_trailer(&mut self, trailer: &[Header]) -> Result<String, Error> {
        let resource = self.resource;
        self.with(|p| {
            p.bindings
                .realsig_sigv4_chunked()
                .chunk_signer()
                .call_sign_trailer(&mut p.store, resource, trailer)
        })
    }

    fn with(
        &mut self,
        f: impl FnOnce(&mut Pooled) -> wasmtime::Result<Result<String, SignError>>,
    ) -> Result<String, Error> {
        held_call(&self.signer, &mut self.pooled, false, f)
    }
}

impl Drop for ChunkSigner {
    fn drop(&mut self) {
        release(&self.signer, self.pooled.take(), self.resource);
    }
}

/// Signs the messages of one event stream in order ([`Signer::event_stream`]), each at the
/// time the signer's clock gives.
pub struct MessageSigner {
    signer: Signer,
    pooled: Option<Pooled>,
    resource: ResourceAny,
}

impl fmt::Debug for MessageSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageSigner").finish_non_exhaustive()
    }
}

/// One event-stream message's signature: the `:date` and `:chunk-signature` headers of its
/// envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageSignature {
    /// The signing time (whole seconds): the `:date` header.
    pub date: SystemTime,
    /// The 32-byte HMAC: the `:chunk-signature` header.
    pub signature: Vec<u8>,
}

impl MessageSigner {
    /// Signs the next encoded message (empty for the closing frame), hashing it here.
    pub fn sign_message(
        &mut self,
        encoded_message: &[u8],
        credentials: &Credentials,
    ) -> Result<MessageSignature, Error> {
        use sha2::Digest;
        self.sign_message_sha256(&sha2::Sha256::digest(encoded_message).into(), credentials)
    }

    /// Signs the next message given the SHA-256 of its encoding (hashed by the caller).
    pub fn sign_message_sha256(
        &mut self,
        message_sha256: &[u8; 32],
        credentials: &Credentials,
    ) -> Result<MessageSignature, Error> {
        let hex = hex::encode(message_sha256);
        let resource = self.resource;
        let out = held_call(&self.signer, &mut self.pooled, true, |p| {
            p.bindings
                .realsig_sigv4_event_stream()
                .message_signer()
                .call_sign_message(&mut p.store, resource, &hex, &credentials.0)
        })?;
        Ok(MessageSignature {
            date: component_time(out.date.seconds, 0)?,
            signature: out.signature,
        })
    }
}

impl Drop for MessageSigner {
    fn drop(&mut self) {
        release(&self.signer, self.pooled.take(), self.resource);
    }
}

/// A call on an instance a resource holder keeps; after a trap or timeout the instance is
/// gone and every later call fails.
fn held_call<T>(
    signer: &Signer,
    pooled: &mut Option<Pooled>,
    read_clock: bool,
    f: impl FnOnce(&mut Pooled) -> wasmtime::Result<Result<T, SignError>>,
) -> Result<T, Error> {
    let Some(p) = pooled.as_mut() else {
        return Err(Error::Trap(
            "an earlier call on this stream failed and its instance was discarded".into(),
        ));
    };
    match signer.run(p, read_clock, f) {
        Ok(r) => r.map_err(Error::Rejected),
        Err(e) => {
            *pooled = None;
            Err(e)
        }
    }
}

/// Drops the guest resource and returns the instance to the pool (if it is still sound).
fn release(signer: &Signer, pooled: Option<Pooled>, resource: ResourceAny) {
    if let Some(mut p) = pooled {
        p.store.set_epoch_deadline(signer.inner.deadline_ticks);
        if resource.resource_drop(&mut p.store).is_ok() {
            signer.give_back(p);
        }
    }
}
