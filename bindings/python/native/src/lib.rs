//! `realsig._native`, the raw layer of the Python package: the reference host library (the
//! same component, time sources and credentials cache as the CLI and the gem) exposed to
//! Python with PyO3.
//!
//! Everything idiomatic (keyword arguments, `datetime`, dataclasses, input checks, exception
//! classes) lives in `realsig/*.py`; this layer takes and returns plain values: strings,
//! integers, tuples, lists. Errors are raised as the exception classes `realsig/errors.py`
//! defines.
//!
//! # The GIL
//! Every call that may wait (a clock read, a credentials fetch, signing) runs detached from
//! the interpreter ([`Python::detach`]), so other Python threads run meanwhile and the
//! host's pool of instances serves threads in parallel. A clock written in Python
//! ([`PyClock`]) attaches again for the length of its own call.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use realsig::credentials::{CredentialsCache, CredentialsError, EcsProvider, default_chain_on};
use realsig::{
    Chain, ChunkedMode, Condition, Credentials, FixedClock, Header, NtpClock, Options, Payload, Placement, Policy,
    RawClock, Reading, RealtimeFile, Request, SystemClock, TimeError, TimeSource, Upload,
};

/// The exception `realsig.errors.<class>` with `message`.
fn raise(py: Python<'_>, class: &str, message: impl Into<String>) -> PyErr {
    let message = message.into();
    match py.import("realsig.errors").and_then(|m| m.getattr(class)) {
        Ok(class) => PyErr::from_value(match class.call1((message,)) {
            Ok(exception) => exception,
            Err(e) => return e,
        }),
        // realsig/errors.py is part of the package; say so if it is missing.
        Err(_) => PyRuntimeError::new_err(format!("realsig.errors.{class} is not defined ({message})")),
    }
}

/// The `realsig.errors` class for a WIT `sign-error` case (errors.py's `BY_CODE`, keyed by the
/// case name), with its message.
fn raise_sign_error(py: Python<'_>, e: &realsig::SignError) -> PyErr {
    let class = py
        .import("realsig.errors")
        .and_then(|m| m.getattr("BY_CODE"))
        .and_then(|codes| codes.get_item(e.kind()));
    match class.and_then(|class| class.call1((e.message(),))) {
        Ok(exception) => PyErr::from_value(exception),
        Err(_) => PyRuntimeError::new_err(format!(
            "realsig.errors.BY_CODE has no {:?} ({})",
            e.kind(),
            e.message()
        )),
    }
}

/// Nanoseconds since 1970 as a time, or `None` past what `SystemTime` holds.
fn from_nanos(nanos: u128) -> Option<SystemTime> {
    let secs = u64::try_from(nanos / 1_000_000_000).ok()?;
    UNIX_EPOCH.checked_add(Duration::new(secs, (nanos % 1_000_000_000) as u32))
}

/// Whole seconds and nanoseconds since 1970 (0 for a time before it, which no source gives).
fn since_epoch(time: SystemTime) -> (u64, u32) {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    (since.as_secs(), since.subsec_nanos())
}

/// A clock written in Python: a callable returning nanoseconds since 1970 (the Python layer
/// turns datetimes into them and every other outcome into `ClockError`). Its exception's text
/// is the reason the reading failed; signing then fails closed.
struct PyClock {
    name: String,
    read: Py<PyAny>,
}

impl TimeSource for PyClock {
    fn now(&self) -> Result<Reading, TimeError> {
        Python::attach(|py| {
            let value = self
                .read
                .call0(py)
                .map_err(|e| TimeError::new(&*self.name, e.value(py).to_string()))?;
            let nanos: u128 = value
                .extract(py)
                .map_err(|_| TimeError::new(&*self.name, "the clock returned a negative or non-integer time"))?;
            let time = from_nanos(nanos)
                .ok_or_else(|| TimeError::new(&*self.name, "the clock returned a time out of range"))?;
            Ok(Reading {
                time,
                uncertainty: None,
                source: Arc::from(self.name.as_str()),
                trusted: true,
            })
        })
    }

    fn name(&self) -> &str {
        &self.name
    }
}

/// A time source of the reference host, shared by the Python clock that made it and the
/// signers using it (so an NTP estimate or a realtime file's freshness is kept once).
#[pyclass(frozen, module = "realsig._native")]
struct Clock {
    source: Arc<dyn TimeSource>,
    /// A chain's members, in order; `None` for a single source.
    members: Option<Vec<Arc<dyn TimeSource>>>,
}

impl Clock {
    fn single(source: impl TimeSource) -> Self {
        Self {
            source: Arc::new(source),
            members: None,
        }
    }

    fn of_chain(chain: Chain) -> Self {
        Self {
            members: Some(chain.sources().to_vec()),
            source: Arc::new(chain),
        }
    }
}

#[pymethods]
impl Clock {
    /// A chain in the CLI's `--clock` syntax; `ValueError` with the parser's message.
    #[staticmethod]
    fn parse(spec: &str) -> PyResult<Self> {
        realsig::clock::spec::parse(spec)
            .map(Self::of_chain)
            .map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// The default chain: the realtime file when `$FAKETIME_REALTIME_FILE` is set, then raw.
    #[staticmethod]
    fn default_chain() -> Self {
        Self::of_chain(Chain::default_chain())
    }

    /// A chain of `clocks`, tried in order.
    #[staticmethod]
    fn chain(clocks: Vec<PyRef<'_, Clock>>) -> Self {
        Self::of_chain(Chain::new(clocks.iter().map(|c| Arc::clone(&c.source)).collect()))
    }

    /// Always `nanos` since 1970.
    #[staticmethod]
    fn fixed(nanos: u128) -> PyResult<Self> {
        let time = from_nanos(nanos).ok_or_else(|| PyValueError::new_err("a fixed time out of range"))?;
        Ok(Self::single(FixedClock(time)))
    }

    /// `CLOCK_REALTIME` read without libc.
    #[staticmethod]
    fn raw() -> Self {
        Self::single(RawClock::default())
    }

    /// The process clock (untrusted: libfaketime fakes it).
    #[staticmethod]
    fn system() -> Self {
        Self::single(SystemClock)
    }

    /// libfaketimefs's realtime file at `path`.
    #[staticmethod]
    fn realtime_file(path: PathBuf, allow_static: bool, timeout: f64) -> PyResult<Self> {
        let timeout = Duration::try_from_secs_f64(timeout).map_err(|_| {
            PyValueError::new_err(format!("timeout must be a positive number of seconds, not {timeout}"))
        })?;
        Ok(Self::single(
            RealtimeFile::new(path).allow_static(allow_static).timeout(timeout),
        ))
    }

    /// SNTP against `servers` (`HOST[:PORT]`), each reply waited for at most `timeout` s.
    #[staticmethod]
    fn ntp(servers: Vec<String>, timeout: f64) -> PyResult<Self> {
        let timeout = Duration::try_from_secs_f64(timeout).map_err(|_| {
            PyValueError::new_err(format!("timeout must be a positive number of seconds, not {timeout}"))
        })?;
        Ok(Self::single(NtpClock::builder(servers).timeout(timeout).build()))
    }

    /// A clock written in Python (see [`PyClock`]).
    #[staticmethod]
    fn callable(name: String, read: Py<PyAny>) -> Self {
        Self::single(PyClock { name, read })
    }

    /// The source's name, as errors and `realsig now` show it.
    #[getter]
    fn name(&self) -> String {
        self.source.name().to_owned()
    }

    /// A chain's members (a single source: itself).
    fn sources(&self) -> Vec<Clock> {
        let members = self.members.clone().unwrap_or_else(|| vec![Arc::clone(&self.source)]);
        members
            .into_iter()
            .map(|source| Clock { source, members: None })
            .collect()
    }

    /// `(nanoseconds since 1970, uncertainty in ns or None, source, trusted)`; `ClockError`
    /// when the source has no reading it can vouch for.
    fn now(&self, py: Python<'_>) -> PyResult<(u128, Option<u128>, String, bool)> {
        let source = &self.source;
        let reading = py
            .detach(|| source.now())
            .map_err(|e| raise(py, "ClockError", e.to_string()))?;
        let nanos = reading
            .time
            .duration_since(UNIX_EPOCH)
            .map_err(|_| raise(py, "ClockError", format!("{}: a time before 1970", reading.source)))?
            .as_nanos();
        Ok((
            nanos,
            reading.uncertainty.map(|u| u.as_nanos()),
            reading.source.to_string(),
            reading.trusted,
        ))
    }
}

/// `(access key id, secret, session token)`.
type CredentialParts = (String, String, Option<String>);
/// `(expires_in or None, double_uri_encode, normalize_path, content_sha256_header,
/// omit_session_token, debug, sigv4a)`; the three service rules are `None` unless the caller
/// overrides them (the component applies the service's rules).
type OptionParts = (Option<u32>, Option<bool>, Option<bool>, Option<bool>, bool, bool, bool);
/// `(added headers as a dict of name to value, the names of the sensitive ones, url,
/// signature, seconds, nanoseconds, canonical request, string to sign)`. The dict is built
/// here: `realsig.Signed` hands it out as it is, which saves Python a comprehension per call.
type SignedParts<'py> = (
    Bound<'py, PyDict>,
    Vec<String>,
    String,
    String,
    u64,
    u32,
    Option<String>,
    Option<String>,
);

/// Why a call did not sign.
enum Failure {
    Credentials(CredentialsError),
    Sign(realsig::Error),
}

impl Failure {
    fn raise(self, py: Python<'_>) -> PyErr {
        match self {
            Failure::Credentials(e) => raise(py, "CredentialsError", e.to_string()),
            Failure::Sign(realsig::Error::Rejected(e)) => raise_sign_error(py, &e),
            Failure::Sign(other) => raise(py, "ComponentFailure", other.to_string()),
        }
    }
}

fn headers(pairs: Vec<(String, String)>) -> Vec<Header> {
    pairs.into_iter().map(|(name, value)| Header { name, value }).collect()
}

fn signed_parts(py: Python<'_>, signed: realsig::Signed) -> PyResult<SignedParts<'_>> {
    let (seconds, nanoseconds) = since_epoch(signed.signing_time);
    let headers = PyDict::new(py);
    let mut sensitive = Vec::new();
    for h in signed.headers {
        if h.sensitive {
            sensitive.push(h.name.clone());
        }
        headers.set_item(h.name, h.value)?;
    }
    Ok((
        headers,
        sensitive,
        signed.url,
        signed.signature,
        seconds,
        nanoseconds,
        signed.canonical_request,
        signed.string_to_sign,
    ))
}

/// The reference host's `Signer`, with its credentials cache.
#[pyclass(frozen, module = "realsig._native")]
struct Signer {
    signer: realsig::Signer,
    credentials: CredentialsCache,
}

impl Signer {
    /// Runs `f` with the given credentials, or the cache's. Touches no Python object: it runs
    /// detached.
    fn with_credentials<T>(
        &self,
        credentials: Option<CredentialParts>,
        f: impl FnOnce(&Credentials) -> Result<T, realsig::Error>,
    ) -> Result<T, Failure> {
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
}

/// What `Signer.credentials()` returns to Python: `(access key id, secret, session token,
/// expiration ns or None, provider)`.
type ProvidedTuple = (String, String, Option<String>, Option<u128>, String);

#[pymethods]
impl Signer {
    /// `provider`: `("default", profile, None)` (the AWS CLI's chain) or `("ecs", uri, token)`.
    /// `component`: other component bytes (tests); `None` for the built-in one.
    #[new]
    #[pyo3(signature = (clock, provider, component=None))]
    fn new(
        py: Python<'_>,
        clock: PyRef<'_, Clock>,
        provider: (String, Option<String>, Option<String>),
        component: Option<Vec<u8>>,
    ) -> PyResult<Self> {
        let clock = Arc::clone(&clock.source);
        let (kind, arg, token) = provider;
        let credentials = match kind.as_str() {
            "default" => CredentialsCache::new(
                default_chain_on(arg.as_deref(), None, Arc::clone(&clock)),
                Arc::clone(&clock),
            ),
            "ecs" => {
                let ecs = arg.map_or_else(EcsProvider::from_env, EcsProvider::new);
                let ecs = match token {
                    Some(token) => ecs.authorization(token),
                    None => ecs,
                };
                CredentialsCache::new(ecs, Arc::clone(&clock))
            }
            other => return Err(PyValueError::new_err(format!("unknown credentials provider {other:?}"))),
        };
        let mut builder = realsig::Signer::builder().shared_clock(clock);
        if let Some(component) = component {
            builder = builder.component(component);
        }
        // Compiling the component (or loading it from the disk cache) takes a while.
        let signer = py.detach(|| builder.build()).map_err(|e| Failure::Sign(e).raise(py))?;
        Ok(Self { signer, credentials })
    }

    /// Signs. `payload`: `("empty" | "unsigned", None)` or `("sha256-hex", hex)`;
    /// `credentials`: `None` for the signer's provider.
    #[allow(clippy::too_many_arguments)] // one argument per part of the WIT request
    fn sign<'py>(
        &self,
        py: Python<'py>,
        method: String,
        url: String,
        headers: Vec<(String, String)>,
        payload: (String, Option<String>),
        region: String,
        service: String,
        options: OptionParts,
        credentials: Option<CredentialParts>,
    ) -> PyResult<SignedParts<'py>> {
        let payload = match (payload.0.as_str(), payload.1) {
            ("empty", _) => Payload::Empty,
            ("unsigned", _) => Payload::Unsigned,
            ("sha256-hex", Some(hex)) => Payload::Sha256Hex(hex),
            (other, _) => return Err(PyValueError::new_err(format!("bad payload kind {other:?}"))),
        };
        let (expires, double_uri_encode, normalize_path, content_sha256_header, omit_session_token, debug, sigv4a) =
            options;
        let request = Request {
            method,
            url,
            headers: self::headers(headers),
            payload,
            region,
            service,
            options: Options {
                placement: expires.map_or(Placement::Headers, Placement::Query),
                double_uri_encode,
                normalize_path,
                content_sha256_header,
                omit_session_token,
                debug,
            },
        };
        let signed = py
            .detach(|| {
                self.with_credentials(credentials, |creds| {
                    if sigv4a {
                        self.signer.sign_sigv4a(&request, creds)
                    } else {
                        self.signer.sign(&request, creds)
                    }
                })
            })
            .map_err(|e| e.raise(py))?;
        signed_parts(py, signed)
    }

    /// Builds and signs an S3 POST policy (see [`Condition::from_parts`] for `conditions`). Returns
    /// `([(name, value, sensitive)...], document, signature, seconds, nanoseconds)`.
    #[allow(clippy::type_complexity)] // plain values for Python, named in the doc
    fn post_policy(
        &self,
        py: Python<'_>,
        conditions: Vec<(String, String, String)>,
        expires_in: u32,
        region: String,
        service: String,
        credentials: Option<CredentialParts>,
    ) -> PyResult<(Vec<(String, String, bool)>, String, String, u64, u32)> {
        let conditions = conditions
            .into_iter()
            .map(|(op, a, b)| Condition::from_parts(&op, a, b))
            .collect::<Result<Vec<_>, String>>()
            .map_err(|m| raise(py, "InvalidOption", m))?;
        let policy = Policy {
            expires_in,
            conditions,
            region,
            service,
        };
        let form = py
            .detach(|| self.with_credentials(credentials, |creds| self.signer.sign_post_policy(&policy, creds)))
            .map_err(|e| e.raise(py))?;
        let (seconds, nanoseconds) = (form.signing_time.seconds, form.signing_time.nanoseconds);
        Ok((
            form.fields
                .into_iter()
                .map(|f| (f.name, f.value, f.sensitive))
                .collect(),
            form.policy_document,
            form.signature,
            seconds,
            nanoseconds,
        ))
    }

    /// Signs the request opening an aws-chunked upload (`mode`: signed, signed-with-trailer,
    /// unsigned-with-trailer) and returns the signed parts with the signer of its chunks.
    #[allow(clippy::too_many_arguments)] // one argument per part of the WIT request
    fn start_chunked<'py>(
        &self,
        py: Python<'py>,
        method: String,
        url: String,
        headers: Vec<(String, String)>,
        region: String,
        service: String,
        upload: (String, u64, Option<String>),
        credentials: Option<CredentialParts>,
    ) -> PyResult<(SignedParts<'py>, ChunkSigner)> {
        let (mode, decoded_content_length, trailer) = upload;
        let mode = match mode.as_str() {
            "signed" => ChunkedMode::Signed,
            "signed-with-trailer" => ChunkedMode::SignedWithTrailer,
            "unsigned-with-trailer" => ChunkedMode::UnsignedWithTrailer,
            other => return Err(raise(py, "InvalidOption", format!("unknown chunked mode {other:?}"))),
        };
        let request = Request {
            method,
            url,
            headers: self::headers(headers),
            payload: Payload::Empty,
            region,
            service,
            options: Options::default(),
        };
        let upload = Upload {
            mode,
            decoded_content_length,
            trailer,
        };
        let (signed, chunks) = py
            .detach(|| self.with_credentials(credentials, |creds| self.signer.start_chunked(&request, creds, &upload)))
            .map_err(|e| e.raise(py))?;
        Ok((signed_parts(py, signed)?, ChunkSigner(Mutex::new(Some(chunks)))))
    }

    /// A signer for the messages of an event stream seeded with `seed` (hex).
    fn event_stream(&self, py: Python<'_>, seed: String, region: String, service: String) -> PyResult<MessageSigner> {
        let messages = py
            .detach(|| self.signer.event_stream(&seed, &region, &service))
            .map_err(|e| Failure::Sign(e).raise(py))?;
        Ok(MessageSigner(Mutex::new(Some(messages))))
    }

    /// The provider's credentials (fetched when missing or about to expire, judged by the
    /// signer's clock): `(access key id, secret, session token, expiration ns or None,
    /// provider)`.
    fn credentials(&self, py: Python<'_>) -> PyResult<ProvidedTuple> {
        let provided = py
            .detach(|| self.credentials.credentials())
            .map_err(|e| Failure::Credentials(e).raise(py))?;
        let expiration = provided
            .expiration
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_nanos());
        let c = &provided.credentials;
        Ok((
            c.access_key_id().to_owned(),
            c.secret_access_key().to_owned(),
            c.session_token().map(str::to_owned),
            expiration,
            provided.provider,
        ))
    }

    /// How many times the credentials provider has been asked.
    fn credential_fetches(&self) -> u64 {
        self.credentials.fetches()
    }

    /// The name of the signer's clock.
    #[getter]
    fn clock_name(&self) -> String {
        self.signer.clock_name().to_owned()
    }
}

/// Why a chunk or message did not sign.
enum StreamFailure {
    /// `close()` was called before.
    Closed,
    Sign(realsig::Error),
}

impl StreamFailure {
    fn raise(self, py: Python<'_>, what: &str) -> PyErr {
        match self {
            StreamFailure::Closed => raise(py, "InvalidOption", format!("this {what} was closed")),
            StreamFailure::Sign(e) => Failure::Sign(e).raise(py),
        }
    }
}

/// Runs `f` on the stream in `slot` unless it was closed. Called detached: the lock is taken
/// and released without the GIL, so a second Python thread waiting for it cannot hold the GIL
/// the first needs to return.
fn with_open<S, T>(
    slot: &Mutex<Option<S>>,
    f: impl FnOnce(&mut S) -> Result<T, realsig::Error>,
) -> Result<T, StreamFailure> {
    let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
    let stream = slot.as_mut().ok_or(StreamFailure::Closed)?;
    f(stream).map_err(StreamFailure::Sign)
}

/// The signer of one aws-chunked upload's chunks; holds one instance until closed.
#[pyclass(frozen, module = "realsig._native")]
struct ChunkSigner(Mutex<Option<realsig::ChunkSigner>>);

#[pymethods]
impl ChunkSigner {
    /// The next chunk's signature, given its SHA-256 as hex.
    fn sign_chunk(&self, py: Python<'_>, sha256_hex: &str) -> PyResult<String> {
        let mut digest = [0u8; 32];
        hex::decode_to_slice(sha256_hex, &mut digest)
            .map_err(|_| raise(py, "InvalidPayloadHash", "the chunk hash is not 64 hex digits"))?;
        py.detach(|| with_open(&self.0, |chunks| chunks.sign_chunk(&digest)))
            .map_err(|e| e.raise(py, "ChunkedUpload"))
    }

    /// The trailer's signature, given the trailing headers.
    fn sign_trailer(&self, py: Python<'_>, trailer: Vec<(String, String)>) -> PyResult<String> {
        let trailer = headers(trailer);
        py.detach(|| with_open(&self.0, |chunks| chunks.sign_trailer(&trailer)))
            .map_err(|e| e.raise(py, "ChunkedUpload"))
    }

    /// Releases the instance held for the upload.
    fn close(&self, py: Python<'_>) {
        py.detach(|| self.0.lock().unwrap_or_else(PoisonError::into_inner).take());
    }
}

/// The signer of one event stream's messages; holds one instance until closed.
#[pyclass(frozen, module = "realsig._native")]
struct MessageSigner(Mutex<Option<realsig::MessageSigner>>);

#[pymethods]
impl MessageSigner {
    /// Signs the next message given the hex SHA-256 of its encoding (hashed by Python):
    /// `(seconds, signature bytes)`.
    fn sign_message<'py>(
        &self,
        py: Python<'py>,
        message_sha256: &str,
        credentials: CredentialParts,
    ) -> PyResult<(u64, Bound<'py, PyBytes>)> {
        let mut digest = [0u8; 32];
        hex::decode_to_slice(message_sha256, &mut digest)
            .map_err(|_| raise(py, "InvalidPayloadHash", "the message hash is not 64 hex digits"))?;
        let (akid, secret, token) = credentials;
        let credentials = Credentials::new(akid, secret, token);
        let signed = py
            .detach(|| with_open(&self.0, |messages| messages.sign_message_sha256(&digest, &credentials)))
            .map_err(|e| e.raise(py, "MessageSigner"))?;
        Ok((since_epoch(signed.date).0, PyBytes::new(py, &signed.signature)))
    }

    /// Releases the instance held for the stream.
    fn close(&self, py: Python<'_>) {
        py.detach(|| self.0.lock().unwrap_or_else(PoisonError::into_inner).take());
    }
}

/// The module: `realsig._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Clock>()?;
    m.add_class::<Signer>()?;
    m.add_class::<ChunkSigner>()?;
    m.add_class::<MessageSigner>()?;
    m.add("COMPONENT_SIZE", realsig::COMPONENT.len())?;
    Ok(())
}
