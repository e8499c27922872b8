//! `Realsig::Native`, the raw layer of the realsig gem: the reference host library (the same
//! component, time sources and credentials cache as the CLI) exposed to Ruby with magnus.
//!
//! Everything idiomatic (keyword arguments, `Time`, hashes, input checks, exception classes)
//! lives in `lib/realsig/*.rb`; this layer takes and returns plain values: strings, integers,
//! arrays. Errors are raised as the exception classes `lib/realsig/errors.rb` defines.
//!
//! # A time read by Ruby
//! A Ruby block cannot be a [`TimeSource`]: it must run on the Ruby thread that holds the
//! GVL, while a time source is `Send + Sync`. So the Ruby layer calls the block itself and
//! hands the reading to [`Signer::sign`] here, which parks it in a thread-local for the length
//! of the call; the signer's clock ([`Handoff`]) gives exactly that reading to the component's
//! `real-now` and to the credentials cache. The host reads the clock before entering the
//! guest, on the calling thread, so the reading is always there when asked for.

use std::cell::RefCell;
use std::ffi::c_void;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use magnus::{Error, ExceptionClass, Module, RModule, Ruby};
use realsig::chunked::{Checksum, ChunkedBody, framed_length};
use realsig::credentials::{CredentialsCache, EcsProvider, default_chain_on};
use realsig::{
    Chain, ChunkedMode, Condition, Credentials, FixedClock, Options, Payload, Placement, Policy, Reading, Request,
    TimeError, TimeSource, Upload,
};

/// Raises `Realsig::<class>` with `message`.
fn raise(ruby: &Ruby, class: &str, message: impl Into<String>) -> Error {
    let found = ruby
        .class_object()
        .const_get::<_, RModule>("Realsig")
        .and_then(|m| m.const_get::<_, ExceptionClass>(class));
    match found {
        Ok(class) => Error::new(class, message.into()),
        // lib/realsig/errors.rb is loaded before this library; say so if it was not.
        Err(_) => Error::new(
            ruby.exception_runtime_error(),
            format!("Realsig::{class} is not defined (require \"realsig\", not realsig/native)"),
        ),
    }
}

/// A time source, shared by the Ruby `Realsig::Clock` that made it and the signers using it
/// (so an NTP estimate is kept once).
#[magnus::wrap(class = "Realsig::Native::Clock", free_immediately, size)]
struct Clock(Arc<dyn TimeSource>);

impl Clock {
    /// A chain in the CLI's `--clock` syntax, e.g. `faketimefs:/run/realtime,ntp:10.0.0.1,raw`.
    fn parse(ruby: &Ruby, spec: String) -> Result<Self, Error> {
        realsig::clock::spec::parse(&spec)
            .map(|chain| Self(Arc::new(chain)))
            .map_err(|e| Error::new(ruby.exception_arg_error(), e.to_string()))
    }

    /// The default chain: the realtime file when `$FAKETIME_REALTIME_FILE` is set, then raw.
    fn default_chain() -> Self {
        Self(Arc::new(Chain::default_chain()))
    }

    /// A fixed time (tests, replays).
    fn fixed(seconds: u64, nanoseconds: u32) -> Self {
        Self(Arc::new(FixedClock(UNIX_EPOCH + Duration::new(seconds, nanoseconds))))
    }

    fn name(&self) -> String {
        self.0.name().to_owned()
    }

    /// `[seconds, nanoseconds, uncertainty_ns or nil, source, trusted]`.
    fn now(ruby: &Ruby, rb_self: &Self) -> Result<(u64, u32, Option<u64>, String, bool), Error> {
        let clock = &rb_self.0;
        let reading = without_gvl(|| clock.now()).map_err(|e| raise(ruby, "ClockError", e.to_string()))?;
        let since = reading
            .time
            .duration_since(UNIX_EPOCH)
            .map_err(|_| raise(ruby, "ClockError", format!("{}: a time before 1970", reading.source)))?;
        let uncertainty = reading.uncertainty.map(|u| u.as_nanos().min(u64::MAX.into()) as u64);
        Ok((
            since.as_secs(),
            since.subsec_nanos(),
            uncertainty,
            reading.source.to_string(),
            reading.trusted,
        ))
    }
}

thread_local! {
    /// The reading the Ruby layer handed over for the call in progress on this thread.
    static HANDED: RefCell<Option<Result<Reading, TimeError>>> = const { RefCell::new(None) };
}

/// The signer's clock: a reading handed over by Ruby for this call, else the built-in source.
struct Handoff {
    inner: Option<Arc<dyn TimeSource>>,
    name: String,
}

impl TimeSource for Handoff {
    fn now(&self) -> Result<Reading, TimeError> {
        if let Some(handed) = HANDED.with(|h| h.borrow().clone()) {
            return handed;
        }
        match &self.inner {
            Some(clock) => clock.now(),
            // Only reachable if the Ruby layer forgot to read its block: fail closed.
            None => Err(TimeError::new(&*self.name, "the Ruby clock was not read for this call")),
        }
    }

    fn name(&self) -> &str {
        &self.name
    }
}

/// Parks a handed reading for the length of one call; cleared on drop, panics included.
struct Handed;

impl Handed {
    fn park(reading: Option<Result<Reading, TimeError>>) -> Self {
        HANDED.with(|h| *h.borrow_mut() = reading);
        Self
    }
}

impl Drop for Handed {
    fn drop(&mut self) {
        HANDED.with(|h| *h.borrow_mut() = None);
    }
}

/// `[kind, argument, authorization token]`: `["default", profile]` or `["ecs", uri, token]`.
type ProviderSpec = (String, Option<String>, Option<String>);
/// `[access key id, secret, session token]`.
type CredentialParts = (String, String, Option<String>);
/// `[expires_in or nil, double_uri_encode, normalize_path, content_sha256_header,
/// omit_session_token, debug, sigv4a]`; the three service rules are `nil` unless the caller
/// overrides them (the component applies the service's rules).
type OptionParts = (Option<u32>, Option<bool>, Option<bool>, Option<bool>, bool, bool, bool);
/// What Ruby read from its clock block: `[[seconds, nanoseconds], nil]`, `[nil, reason]` when
/// it had no time (fail closed), `[nil, nil]` to use the built-in clock.
type HandedParts = (Option<(u64, u32)>, Option<String>);
/// `[added headers as [name, value, sensitive], url, signature, seconds, nanoseconds,
/// canonical request, string to sign]`.
type SignedParts = (
    Vec<(String, String, bool)>,
    String,
    String,
    u64,
    u32,
    Option<String>,
    Option<String>,
);

/// The reference host's `Signer`, with its credentials cache.
#[magnus::wrap(class = "Realsig::Native::Signer", free_immediately, size)]
struct Signer {
    signer: realsig::Signer,
    credentials: CredentialsCache,
}

impl Signer {
    /// `clock`: a [`Clock`], or nil when Ruby hands each reading over (a block).
    fn new(ruby: &Ruby, clock: Option<&Clock>, clock_name: String, provider: ProviderSpec) -> Result<Self, Error> {
        // The chain's own STS calls and SSO token checks read the signer's clock directly
        // (a Ruby block's readings are handed over per signature only).
        let chain_clock: Arc<dyn TimeSource> = match clock {
            Some(c) => Arc::clone(&c.0),
            None => Arc::new(Chain::default_chain()),
        };
        let clock: Arc<dyn TimeSource> = Arc::new(Handoff {
            inner: clock.map(|c| Arc::clone(&c.0)),
            name: clock_name,
        });
        let (kind, arg, token) = provider;
        let credentials = match kind.as_str() {
            "default" => CredentialsCache::new(default_chain_on(arg.as_deref(), None, chain_clock), Arc::clone(&clock)),
            "ecs" => {
                let ecs = arg.map_or_else(EcsProvider::from_env, EcsProvider::new);
                let ecs = match token {
                    Some(token) => ecs.authorization(token),
                    None => ecs,
                };
                CredentialsCache::new(ecs, Arc::clone(&clock))
            }
            other => {
                return Err(Error::new(
                    ruby.exception_arg_error(),
                    format!("unknown credentials provider {other:?}"),
                ));
            }
        };
        let builder = realsig::Signer::builder().shared_clock(Arc::clone(&clock));
        // Compiling the component (or loading it from the disk cache) takes a while.
        let signer = without_gvl(|| builder.build()).map_err(|e| raise(ruby, "ComponentFailure", e.to_string()))?;
        Ok(Self { signer, credentials })
    }

    /// Signs. `handed`: `[[seconds, nanoseconds], nil]` when Ruby read the time,
    /// `[nil, reason]` when the Ruby clock had none (fail closed), `[nil, nil]` to use the
    /// built-in clock.
    #[allow(clippy::too_many_arguments)] // one argument per part of the WIT request
    fn sign(
        ruby: &Ruby,
        rb_self: &Self,
        method: String,
        url: String,
        headers: Vec<(String, String)>,
        payload: (String, Option<String>),
        credentials: Option<CredentialParts>,
        scope: (String, String),
        options: OptionParts,
        handed: HandedParts,
    ) -> Result<SignedParts, Error> {
        let payload = match (payload.0.as_str(), payload.1) {
            ("empty", _) => Payload::Empty,
            ("unsigned", _) => Payload::Unsigned,
            ("sha256-hex", Some(hex)) => Payload::Sha256Hex(hex),
            (other, _) => {
                return Err(Error::new(
                    ruby.exception_arg_error(),
                    format!("bad payload kind {other:?}"),
                ));
            }
        };
        let (expires, double_uri_encode, normalize_path, content_sha256_header, omit_session_token, debug, sigv4a) =
            options;
        let request = Request {
            method,
            url,
            headers: headers
                .into_iter()
                .map(|(name, value)| realsig::Header { name, value })
                .collect(),
            payload,
            region: scope.0,
            service: scope.1,
            options: Options {
                placement: expires.map_or(Placement::Headers, Placement::Query),
                double_uri_encode,
                normalize_path,
                content_sha256_header,
                omit_session_token,
                debug,
            },
        };
        let handed = handed_reading(handed);
        // Reading a clock (a first NTP exchange) or fetching credentials (HTTP) can take a
        // while: other Ruby threads run meanwhile.
        let signed = without_gvl(|| {
            rb_self.with_credentials(credentials, handed, |creds| {
                if sigv4a {
                    rb_self.signer.sign_sigv4a(&request, creds)
                } else {
                    rb_self.signer.sign(&request, creds)
                }
            })
        })
        .map_err(|e| e.raise(ruby))?;
        Ok(signed_parts(signed))
    }

    /// Builds and signs an S3 POST policy. `conditions`: `[op, a, b]` with op `eq` or
    /// `starts-with` (a field, a value) or `content-length-range` (min, max as decimal text).
    /// Returns `[[name, value, sensitive]...], document, signature, seconds, nanoseconds`.
    #[allow(clippy::type_complexity)] // plain values for Ruby, named in the doc
    fn post_policy(
        ruby: &Ruby,
        rb_self: &Self,
        conditions: Vec<(String, String, String)>,
        scope: (u32, String, String),
        credentials: Option<CredentialParts>,
        handed: HandedParts,
    ) -> Result<(Vec<(String, String, bool)>, String, String, u64, u32), Error> {
        let conditions = conditions
            .into_iter()
            .map(|(op, a, b)| Condition::from_parts(&op, a, b))
            .collect::<Result<Vec<_>, String>>()
            .map_err(|m| raise(ruby, "InvalidOption", m))?;
        let policy = Policy {
            expires_in: scope.0,
            conditions,
            region: scope.1,
            service: scope.2,
        };
        let handed = handed_reading(handed);
        let form = without_gvl(|| {
            rb_self.with_credentials(credentials, handed, |creds| {
                rb_self.signer.sign_post_policy(&policy, creds)
            })
        })
        .map_err(|e| e.raise(ruby))?;
        Ok((
            form.fields
                .into_iter()
                .map(|f| (f.name, f.value, f.sensitive))
                .collect(),
            form.policy_document,
            form.signature,
            form.signing_time.seconds,
            form.signing_time.nanoseconds,
        ))
    }

    /// Signs the request opening an aws-chunked upload of the file at `path` and returns
    /// the signed parts with the body to send (`[signed parts, ChunkedBody, framed length]`).
    /// `upload`: `[mode, trailer checksum (crc32, crc32c, sha256) or nil, chunk size]`.
    #[allow(clippy::too_many_arguments)] // one argument per part of the WIT request
    fn start_chunked(
        ruby: &Ruby,
        rb_self: &Self,
        method: String,
        url: String,
        headers: Vec<(String, String)>,
        path: String,
        upload: (String, Option<String>, usize),
        credentials: Option<CredentialParts>,
        scope: (String, String),
        handed: HandedParts,
    ) -> Result<(SignedParts, ChunkedUpload, u64), Error> {
        let (mode, checksum, chunk_size) = upload;
        let mode = match mode.as_str() {
            "signed" => ChunkedMode::Signed,
            "signed-with-trailer" => ChunkedMode::SignedWithTrailer,
            "unsigned-with-trailer" => ChunkedMode::UnsignedWithTrailer,
            other => return Err(raise(ruby, "InvalidOption", format!("unknown chunked mode {other:?}"))),
        };
        let checksum = match checksum.as_deref() {
            None => None,
            Some("crc32") => Some(Checksum::Crc32),
            Some("crc32c") => Some(Checksum::Crc32c),
            Some("sha256") => Some(Checksum::Sha256),
            Some(other) => {
                return Err(raise(
                    ruby,
                    "InvalidOption",
                    format!("unknown checksum {other:?}: crc32, crc32c or sha256"),
                ));
            }
        };
        let chunk_size = chunk_size.max(realsig::chunked::MIN_CHUNK_SIZE);
        let file =
            std::fs::File::open(&path).map_err(|e| Error::new(ruby.exception_io_error(), format!("{path}: {e}")))?;
        let decoded = file
            .metadata()
            .map_err(|e| Error::new(ruby.exception_io_error(), format!("{path}: {e}")))?
            .len();
        let framed = framed_length(decoded, chunk_size, mode, checksum);
        let mut headers: Vec<realsig::Header> = headers
            .into_iter()
            .filter(|(name, _)| !name.eq_ignore_ascii_case("content-length"))
            .map(|(name, value)| realsig::Header { name, value })
            .collect();
        headers.push(realsig::Header {
            name: "content-length".into(),
            value: framed.to_string(),
        });
        let request = Request {
            method,
            url,
            headers,
            payload: Payload::Empty,
            region: scope.0,
            service: scope.1,
            options: Options::default(),
        };
        let upload = Upload {
            mode,
            decoded_content_length: decoded,
            trailer: checksum.map(|c| c.header_name().to_owned()),
        };
        let handed = handed_reading(handed);
        let (signed, chunks) = without_gvl(|| {
            rb_self.with_credentials(credentials, handed, |creds| {
                rb_self.signer.start_chunked(&request, creds, &upload)
            })
        })
        .map_err(|e| e.raise(ruby))?;
        let chunks = (mode != ChunkedMode::UnsignedWithTrailer).then_some(chunks);
        let body = ChunkedBody::new(file, chunks, checksum, chunk_size);
        Ok((signed_parts(signed), ChunkedUpload(RefCell::new(Some(body))), framed))
    }

    /// A signer for the messages of an event stream seeded with `seed` (hex).
    fn event_stream(ruby: &Ruby, rb_self: &Self, seed: String, scope: (String, String)) -> Result<EventStream, Error> {
        let messages = without_gvl(|| rb_self.signer.event_stream(&seed, &scope.0, &scope.1))
            .map_err(|e| Failure::Sign(e).raise(ruby))?;
        Ok(EventStream(RefCell::new(Some(messages))))
    }

    /// Runs `f` with the given credentials (or the cache's) and the handed reading parked.
    /// Touches no Ruby object: it runs without the GVL.
    fn with_credentials<T>(
        &self,
        credentials: Option<CredentialParts>,
        handed: Option<Result<Reading, TimeError>>,
        f: impl FnOnce(&Credentials) -> Result<T, realsig::Error>,
    ) -> Result<T, Failure> {
        let _parked = Handed::park(handed);
        let credentials = match credentials {
            Some((akid, secret, token)) => Credentials::new(akid, secret, token),
            None => {
                self.credentials
                    .credentials()
                    .map_err(Failure::Credentials)?
                    .credentials
            }
        };
        f(&credentials).map_err(Failure::Sign)
    }

    /// The cache's credentials (fetched when missing or about to expire, by the real clock):
    /// `[access_key_id, secret_access_key, session_token, expiration_unix_seconds]`.
    fn credentials(ruby: &Ruby, rb_self: &Self) -> Result<(String, String, Option<String>, Option<f64>), Error> {
        let provided =
            without_gvl(|| rb_self.credentials.credentials()).map_err(|e| Failure::Credentials(e).raise(ruby))?;
        let expiration = provided
            .expiration
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs_f64());
        let c = &provided.credentials;
        Ok((
            c.access_key_id().to_owned(),
            c.secret_access_key().to_owned(),
            c.session_token().map(str::to_owned),
            expiration,
        ))
    }

    /// How many times the credentials provider has been asked.
    fn credential_fetches(&self) -> u64 {
        self.credentials.fetches()
    }

    /// The name of the signer's clock.
    fn clock_name(&self) -> String {
        self.signer.clock_name().to_owned()
    }
}

/// Why a call did not sign.
enum Failure {
    Credentials(realsig::credentials::CredentialsError),
    Sign(realsig::Error),
}

impl Failure {
    /// The Ruby exception for this failure.
    fn raise(self, ruby: &Ruby) -> Error {
        match self {
            Failure::Credentials(e) => raise(ruby, "CredentialsError", e.to_string()),
            Failure::Sign(realsig::Error::Rejected(e)) => raise(ruby, error_class(&e), e.message()),
            Failure::Sign(other) => raise(ruby, "ComponentFailure", other.to_string()),
        }
    }
}

/// The reading Ruby handed over (see [`HandedParts`]).
fn handed_reading(handed: HandedParts) -> Option<Result<Reading, TimeError>> {
    match handed {
        (_, Some(reason)) => Some(Err(TimeError::new("ruby", reason))),
        (Some((secs, nanos)), None) => Some(Ok(Reading {
            time: UNIX_EPOCH + Duration::new(secs, nanos),
            uncertainty: None,
            source: Arc::from("ruby"),
            trusted: true,
        })),
        (None, None) => None,
    }
}

fn signed_parts(signed: realsig::Signed) -> SignedParts {
    let since = signed.signing_time.duration_since(UNIX_EPOCH).unwrap_or_default();
    (
        signed
            .headers
            .into_iter()
            .map(|h| (h.name, h.value, h.sensitive))
            .collect(),
        signed.url,
        signed.signature,
        since.as_secs(),
        since.subsec_nanos(),
        signed.canonical_request,
        signed.string_to_sign,
    )
}

/// The aws-chunked body of one upload, read by Ruby (Net::HTTP's `body_stream`) in pieces.
#[magnus::wrap(class = "Realsig::Native::ChunkedUpload", free_immediately, size)]
struct ChunkedUpload(RefCell<Option<ChunkedBody<std::fs::File>>>);

impl ChunkedUpload {
    /// Up to `length` bytes of the framed body, or nil at its end. Reading the file and
    /// signing a chunk happen without the GVL.
    fn read(ruby: &Ruby, rb_self: &Self, length: usize) -> Result<Option<magnus::RString>, Error> {
        let mut slot = rb_self.0.borrow_mut();
        let Some(body) = slot.as_mut() else {
            return Ok(None);
        };
        let mut buf = vec![0; length.clamp(1, 1 << 20)];
        let n = without_gvl(|| std::io::Read::read(body, &mut buf))
            .map_err(|e| raise(ruby, "ComponentFailure", format!("framing the upload: {e}")))?;
        if n == 0 {
            *slot = None; // releases the chunk signer's instance
            return Ok(None);
        }
        Ok(Some(ruby.str_from_slice(&buf[..n])))
    }

    /// Ends the upload early, releasing the chunk signer.
    fn close(&self) {
        self.0.borrow_mut().take();
    }
}

/// The signer of one event stream's messages.
#[magnus::wrap(class = "Realsig::Native::EventStream", free_immediately, size)]
struct EventStream(RefCell<Option<realsig::MessageSigner>>);

impl EventStream {
    /// Signs the next message given the hex SHA-256 of its encoding (hashed by Ruby):
    /// `[seconds, signature bytes]`.
    fn sign_message(
        ruby: &Ruby,
        rb_self: &Self,
        message_sha256: String,
        credentials: CredentialParts,
        handed: HandedParts,
    ) -> Result<(u64, magnus::RString), Error> {
        let mut slot = rb_self.0.borrow_mut();
        let Some(messages) = slot.as_mut() else {
            return Err(raise(ruby, "InvalidOption", "this event stream was closed"));
        };
        let mut digest = [0u8; 32];
        hex::decode_to_slice(&message_sha256, &mut digest)
            .map_err(|_| raise(ruby, "InvalidPayloadHash", "the message hash is not 64 hex digits"))?;
        let handed = handed_reading(handed);
        let (akid, secret, token) = credentials;
        let credentials = Credentials::new(akid, secret, token);
        let signed = without_gvl(|| {
            let _parked = Handed::park(handed);
            messages.sign_message_sha256(&digest, &credentials)
        })
        .map_err(|e| Failure::Sign(e).raise(ruby))?;
        let seconds = signed.date.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        Ok((seconds, ruby.str_from_slice(&signed.signature)))
    }

    fn close(&self) {
        self.0.borrow_mut().take();
    }
}

/// Runs `f` with Ruby's GVL released, so other Ruby threads run while it waits.
///
/// magnus has no safe wrapper for `rb_thread_call_without_gvl`, hence the one `unsafe` block
/// of this crate. `f` must not touch any Ruby object (it gets owned Rust values only). A
/// panic is caught here and resumed after the GVL is back (magnus turns it into a Ruby
/// exception), never unwound through Ruby's C frames. No unblocking function is given: an
/// interrupt waits for the call, which the clock, HTTP and guest deadlines bound.
#[allow(unsafe_code)] // FFI: rb_thread_call_without_gvl, see above
fn without_gvl<R>(f: impl FnOnce() -> R) -> R {
    struct Call<F, R> {
        f: Option<F>,
        out: Option<std::thread::Result<R>>,
    }

    unsafe extern "C" fn trampoline<F: FnOnce() -> R, R>(data: *mut c_void) -> *mut c_void {
        // SAFETY: `data` is the `&mut Call` passed below, alive for the whole call.
        let call = unsafe { &mut *data.cast::<Call<F, R>>() };
        if let Some(f) = call.f.take() {
            call.out = Some(std::panic::catch_unwind(AssertUnwindSafe(f)));
        }
        std::ptr::null_mut()
    }

    fn run<F: FnOnce() -> R, R>(f: F) -> R {
        let mut call = Call { f: Some(f), out: None };
        // SAFETY: the trampoline matches the expected signature, `call` outlives the call, and
        // the closure uses no Ruby API (documented above).
        unsafe {
            rb_sys::rb_thread_call_without_gvl(
                Some(trampoline::<F, R>),
                (&raw mut call).cast::<c_void>(),
                None,
                std::ptr::null_mut(),
            );
        }
        match call.out {
            Some(Ok(out)) => out,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => unreachable!("rb_thread_call_without_gvl returned without calling the function"),
        }
    }

    run(f)
}

/// The Ruby class for each WIT `sign-error` case.
fn error_class(e: &realsig::SignError) -> &'static str {
    use realsig::SignError as E;
    match e {
        E::InvalidUrl(_) => "InvalidUrl",
        E::InvalidMethod(_) => "InvalidMethod",
        E::InvalidHeaderName(_) => "InvalidHeaderName",
        E::InvalidHeaderValue(_) => "InvalidHeaderValue",
        E::InvalidPayloadHash(_) => "InvalidPayloadHash",
        E::InvalidOption(_) => "InvalidOption",
        E::InvalidCredentials(_) => "InvalidCredentials",
        E::ClockUnavailable(_) => "ClockUnavailable",
    }
}

/// Ruby's entry point, in a private module so the `Init_native` function magnus generates is
/// not public API.
mod entry {
    use super::{ChunkedUpload, Clock, EventStream, Signer};
    use magnus::{Error, Module, Object, Ruby, function, method};

    /// Defines `Realsig::Native` (Ruby calls this as `Init_native` on `require`).
    #[magnus::init(name = "native")]
    fn init(ruby: &Ruby) -> Result<(), Error> {
        let native = ruby.define_module("Realsig")?.define_module("Native")?;
        let clock = native.define_class("Clock", ruby.class_object())?;
        clock.define_singleton_method("parse", function!(Clock::parse, 1))?;
        clock.define_singleton_method("default_chain", function!(Clock::default_chain, 0))?;
        clock.define_singleton_method("fixed", function!(Clock::fixed, 2))?;
        clock.define_method("name", method!(Clock::name, 0))?;
        clock.define_method("now", method!(Clock::now, 0))?;
        let signer = native.define_class("Signer", ruby.class_object())?;
        signer.define_singleton_method("new", function!(Signer::new, 3))?;
        signer.define_method("sign", method!(Signer::sign, 8))?;
        signer.define_method("post_policy", method!(Signer::post_policy, 4))?;
        signer.define_method("start_chunked", method!(Signer::start_chunked, 8))?;
        signer.define_method("event_stream", method!(Signer::event_stream, 2))?;
        signer.define_method("credential_fetches", method!(Signer::credential_fetches, 0))?;
        signer.define_method("credentials", method!(Signer::credentials, 0))?;
        let upload = native.define_class("ChunkedUpload", ruby.class_object())?;
        upload.define_method("read", method!(ChunkedUpload::read, 1))?;
        upload.define_method("close", method!(ChunkedUpload::close, 0))?;
        let stream = native.define_class("EventStream", ruby.class_object())?;
        stream.define_method("sign_message", method!(EventStream::sign_message, 3))?;
        stream.define_method("close", method!(EventStream::close, 0))?;
        signer.define_method("clock_name", method!(Signer::clock_name, 0))?;
        Ok(())
    }
}
