//! The realsig signing core: AWS Signature Version 4 (`AWS4-HMAC-SHA256`) as pure functions.
//!
//! This crate is both the component (built for `wasm32-unknown-unknown`, see `bindings`)
//! and, natively, a plain library the tests and the differential property test call.
//!
//! # Design
//! - **One parameters value**: [`sign`] takes the request and [`SigningParams`] (credentials,
//!   region, service, [`Settings`], time); the `x-amz-*` names live in [`names`].
//! - **Time is an argument.** [`sign`] takes the signing time; only the component binding
//!   asks the host's `real-now` for it, once per call, and fails closed when it cannot.
//! - **Each stage is a type whose `Display` is the spec text**: [`CanonicalRequest`],
//!   [`StringToSign`], [`Scope`]. Tests compare them with the official suites stage by stage,
//!   and the signer hashes exactly what they display.
//! - **Input is plain data, output is instructions**: [`Signed`] lists the headers to add or
//!   the presigned URL; no HTTP library's request type is mutated.
//! - **Why not the `aws-sigv4` crate** (it is our test oracle): measured on this machine
//!   kind, it signs get-vanilla in ~9.5 µs natively and ~37 µs inside a component, mostly
//!   re-deriving the signing key and building `http` types; the bare work is ~1.6 µs. This core
//!   keeps the derived key ([`KeyCache`]) and borrows what it only reads.
//! - **Memory**: in the component, allocations of a call come from an arena that starts over
//!   when the call's last block is freed (`arena.rs`); what outlives a call is made inside
//!   `lasting`.
//!
//! Behaviour where SDKs differ follows `aws-sigv4` (the differential test enforces it) except
//! where it departs from the SigV4 text, which is then noted at the function.

#[cfg(target_arch = "wasm32")]
mod arena;
mod canonical;
pub mod chunked;
mod error;
pub mod event_stream;
pub mod names;
pub mod policy;
pub mod service;
mod signing;
mod sigv4a;
mod url;

#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code, missing_docs)] // wit-bindgen's generated glue
mod bindings;

pub use canonical::{CanonicalHeaders, CanonicalRequest, canonical_uri, encoded_query_pairs, s3_path, uri_encode};
pub use error::SignError;
pub use signing::{ALGORITHM, HexDigest, KeyCache, Scope, SigningKey, SigningTime, StringToSign, sha256_hex};
pub use sigv4a::{ALGORITHM_V4A, EcdsaKey};
pub use url::Url;

use std::borrow::Cow;

use canonical::{HeaderSet, is_token};
use url::truncate;

/// Runs `f` with its allocations outside the component's per-call arena, for memory that
/// outlives the call (see `arena`). Natively it just runs `f`.
pub(crate) fn lasting<T>(f: impl FnOnce() -> T) -> T {
    #[cfg(target_arch = "wasm32")]
    return arena::persistent(f);
    #[cfg(not(target_arch = "wasm32"))]
    f()
}

/// Hash of the empty payload.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/// The payload hash of requests whose body is not signed.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// Longest presigned URL validity AWS accepts: 7 days.
pub const MAX_EXPIRES_SECS: u32 = 604_800;

/// The request to sign, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Absolute URL as it will be sent.
    pub url: &'a str,
    /// Headers `(name, value)` in request order.
    pub headers: &'a [(&'a str, &'a str)],
    /// The body or its stand-in.
    pub payload: Payload<'a>,
}

/// The body, or what stands in for it in the canonical request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload<'a> {
    /// The body itself, hashed here.
    Bytes(&'a [u8]),
    /// The body's SHA-256, 64 hex digits (upper case is accepted and lowered).
    Sha256Hex(&'a str),
    /// `UNSIGNED-PAYLOAD`.
    Unsigned,
    /// No body.
    Empty,
    /// A stand-in a protocol defines, signed as given, such as
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` (not reachable through the WIT `payload`).
    Literal(&'static str),
}

/// The signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// SigV4, `AWS4-HMAC-SHA256`: the scope names one region.
    #[default]
    HmacSha256,
    /// SigV4a, `AWS4-ECDSA-P256-SHA256`: the region is a region set (`*`, or regions joined
    /// by commas), signed as `x-amz-region-set`; the scope has no region.
    EcdsaP256Sha256,
}

impl Algorithm {
    /// The algorithm's name in the string to sign and the `authorization` header.
    pub fn name(self) -> &'static str {
        match self {
            Self::HmacSha256 => ALGORITHM,
            Self::EcdsaP256Sha256 => ALGORITHM_V4A,
        }
    }
}

/// Credentials, borrowed. `Debug` redacts the secret and the session token.
#[derive(Clone, Copy)]
pub struct Credentials<'a> {
    /// Access key id.
    pub access_key_id: &'a str,
    /// Secret access key.
    pub secret_access_key: &'a str,
    /// Session token of temporary credentials.
    pub session_token: Option<&'a str>,
}

impl core::fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field("session_token", &self.session_token.map(|_| "** redacted **"))
            .finish()
    }
}

/// Where the signature goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// `authorization` and `x-amz-date` headers.
    Headers,
    /// A presigned URL valid for `expires` seconds.
    Query {
        /// `X-Amz-Expires`, `1..=604800`.
        expires: u32,
    },
}

/// How to sign; see the WIT `options` record for each field's meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// SigV4 or SigV4a.
    pub algorithm: Algorithm,
    /// Where the signature goes.
    pub placement: Placement,
    /// Encode the path once more (all services but S3).
    pub double_uri_encode: bool,
    /// Normalise the path (all services but S3).
    pub normalize_path: bool,
    /// Add `x-amz-content-sha256` (header placement only).
    pub content_sha256_header: bool,
    /// Add the session token after signing instead of signing it.
    pub omit_session_token: bool,
    /// Return the canonical request and string to sign.
    pub debug: bool,
}

impl Default for Settings {
    /// Header placement with the rules of every service but S3.
    fn default() -> Self {
        Self {
            algorithm: Algorithm::HmacSha256,
            placement: Placement::Headers,
            double_uri_encode: true,
            normalize_path: true,
            content_sha256_header: false,
            omit_session_token: false,
            debug: false,
        }
    }
}

/// A header the caller must add, replacing any of the same name.
#[derive(Clone, PartialEq, Eq)]
pub struct AddedHeader {
    /// Lowercase name.
    pub name: &'static str,
    /// Value.
    pub value: String,
    /// True for the session token: do not log it.
    pub sensitive: bool,
}

impl core::fmt::Debug for AddedHeader {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let value = if self.sensitive { "** redacted **" } else { &self.value };
        write!(f, "{}: {}", self.name, value)
    }
}

/// The signing instructions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed<'a> {
    /// Headers to add.
    pub headers: Vec<AddedHeader>,
    /// The URL to send (presigned in query placement); borrowed when it is the request's.
    pub url: Cow<'a, str>,
    /// Lowercase hex signature.
    pub signature: String,
    /// The canonical request, with `Settings::debug`.
    pub canonical_request: Option<String>,
    /// The string to sign, with `Settings::debug`.
    pub string_to_sign: Option<String>,
}

/// Everything a signature depends on besides the request: who signs, for which region and
/// service, when, and how.
#[derive(Debug, Clone, Copy)]
pub struct SigningParams<'a> {
    /// The credentials.
    pub credentials: Credentials<'a>,
    /// Signing region; in SigV4a the region set (`*` or regions joined by commas).
    pub region: &'a str,
    /// Signing service.
    pub service: &'a str,
    /// How to sign.
    pub settings: Settings,
    /// The signing time, seconds since the Unix epoch (fractions are not signed).
    pub time: u64,
}

/// A header or query parameter the signature adds. Computed once, then used alike to skip
/// the request's own of that name, to canonicalise, and to build the output.
struct SignatureValue<'a> {
    name: &'static str,
    value: Cow<'a, str>,
    /// Part of the canonical request; false for a session token added after signing.
    signed: bool,
    sensitive: bool,
}

impl<'a> SignatureValue<'a> {
    fn signed(name: &'static str, value: impl Into<Cow<'a, str>>) -> Self {
        Self {
            name,
            value: value.into(),
            signed: true,
            sensitive: false,
        }
    }
}

/// Signs `request` as `params` say.
///
/// `keys` caches derived signing keys between calls.
pub fn sign<'a>(
    request: &Request<'a>,
    params: &SigningParams<'_>,
    keys: &mut KeyCache,
) -> Result<Signed<'a>, SignError> {
    let SigningParams {
        credentials,
        region,
        service,
        ref settings,
        time,
    } = *params;
    check_inputs(request, &credentials, region, service, settings)?;
    let url = Url::parse(request.url)?;
    let time = SigningTime::from_unix(time)?;
    let v4a = settings.algorithm == Algorithm::EcdsaP256Sha256;
    let algorithm = settings.algorithm.name();
    let scope = Scope {
        date: time.date(),
        region: (!v4a).then_some(region),
        service,
    };
    let s3_presign = matches!(settings.placement, Placement::Query { .. })
        && service::ServiceRules::of(service).presign_unsigned_payload;
    let payload_hash: Cow<'_, str> = match request.payload {
        // What S3 checks a presigned URL against (botocore's `S3SigV4QueryAuth` agrees).
        _ if s3_presign => match request
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(names::CONTENT_SHA256))
        {
            Some((_, v)) => v.trim().into(),
            None => UNSIGNED_PAYLOAD.into(),
        },
        Payload::Bytes(b) => sha256_hex(b).into(),
        Payload::Sha256Hex(h) => checked_payload_hash(h)?,
        Payload::Unsigned => UNSIGNED_PAYLOAD.into(),
        Payload::Empty => EMPTY_SHA256.into(),
        Payload::Literal(l) => l.into(),
    };

    let in_headers = settings.placement == Placement::Headers;
    let token = credentials.session_token;
    let sign_token = !settings.omit_session_token;

    // The headers a header-placement signature adds, in output order (`authorization` last).
    let mut values: Vec<SignatureValue<'_>> = Vec::with_capacity(if in_headers { 4 } else { 0 });
    if in_headers {
        if let Some(t) = token {
            values.push(SignatureValue {
                name: names::SECURITY_TOKEN,
                value: t.into(),
                signed: sign_token,
                sensitive: true,
            });
        }
        values.push(SignatureValue::signed(names::DATE, time.date_time()));
        if v4a {
            values.push(SignatureValue::signed(names::REGION_SET, region));
        }
        if settings.content_sha256_header {
            values.push(SignatureValue::signed(names::CONTENT_SHA256, &*payload_hash));
        }
    }

    let mut set = HeaderSet::default();
    for (name, value) in request.headers {
        set.add_request_header(name, value, |n| {
            values.iter().any(|v| v.name == n)
                || (n == names::SECURITY_TOKEN && settings.omit_session_token)
                || (!in_headers && (n == names::USER_AGENT || n == names::CHECKSUM_MODE))
        })?;
    }
    if !set.contains("host") {
        set.add_own("host", url.host_header());
    }
    for v in values.iter().filter(|v| v.signed) {
        set.add_own(v.name, &v.value);
    }
    let headers = set.finish();

    let mut credential = String::with_capacity(credentials.access_key_id.len() + 64);
    credential.push_str(credentials.access_key_id);
    credential.push('/');
    scope.write_to(&mut credential);

    // The parameters of a presigned URL, encoded, in the order the URL carries them.
    let mut presign: Vec<SignatureValue<'_>> = Vec::new();
    if let Placement::Query { expires } = settings.placement {
        presign.reserve(7);
        presign.push(SignatureValue::signed(names::query::ALGORITHM, algorithm));
        presign.push(SignatureValue::signed(
            names::query::CREDENTIAL,
            uri_encode(credential.as_bytes()),
        ));
        presign.push(SignatureValue::signed(names::query::DATE, time.date_time()));
        presign.push(SignatureValue::signed(
            names::query::SIGNED_HEADERS,
            uri_encode(headers.signed.as_bytes()),
        ));
        presign.push(SignatureValue::signed(names::query::EXPIRES, expires.to_string()));
        if let Some(t) = token {
            presign.push(SignatureValue {
                signed: sign_token,
                ..SignatureValue::signed(names::query::SECURITY_TOKEN, uri_encode(t.as_bytes()))
            });
        }
        if v4a {
            presign.push(SignatureValue::signed(
                names::query::REGION_SET,
                uri_encode(region.as_bytes()),
            ));
        }
    }
    let mut query = url.query.map(encoded_query_pairs).unwrap_or_default();
    query.extend(
        presign
            .iter()
            .filter(|p| p.signed)
            .map(|p| (Cow::Borrowed(p.name), Cow::Borrowed(&*p.value))),
    );
    query.sort_unstable();

    // An S3 key is sent in the form it is signed in (see `s3_path`).
    let sent_path = if settings.double_uri_encode {
        Cow::Borrowed(url.path)
    } else {
        s3_path(url.path)
    };
    let canonical_request = CanonicalRequest {
        method: request.method,
        uri: canonical_uri(&sent_path, settings.normalize_path, settings.double_uri_encode),
        query,
        headers,
        payload_hash: &payload_hash,
    };
    let canonical_request_hash = canonical_request.sha256_hex();
    let string_to_sign = StringToSign {
        algorithm,
        date_time: time.date_time(),
        scope,
        canonical_request_hash: canonical_request_hash.as_str(),
    };
    let signature = if v4a {
        keys.ecdsa(credentials.access_key_id, credentials.secret_access_key)
            .sign(string_to_sign.to_string().as_bytes())
    } else {
        keys.get(credentials.secret_access_key, &scope).sign(&string_to_sign)
    };

    let mut added = Vec::with_capacity(values.len() + 1);
    let out_url: Cow<'a, str> = match settings.placement {
        Placement::Headers => {
            added.extend(values.iter().map(|v| AddedHeader {
                name: v.name,
                value: v.value.to_string(),
                sensitive: v.sensitive,
            }));
            let signed_headers = &canonical_request.headers.signed;
            let mut authorization = String::with_capacity(80 + credential.len() + signed_headers.len());
            for part in [
                algorithm,
                " Credential=",
                &credential,
                ", SignedHeaders=",
                signed_headers,
                ", Signature=",
                &signature,
            ] {
                authorization.push_str(part);
            }
            added.push(AddedHeader {
                name: names::AUTHORIZATION,
                value: authorization,
                sensitive: false,
            });
            match &sent_path {
                Cow::Borrowed(_) => Cow::Borrowed(request.url),
                Cow::Owned(path) => Cow::Owned(url.with_path(request.url, path)),
            }
        }
        Placement::Query { .. } => {
            let mut u = String::with_capacity(request.url.len() + 400);
            u.push_str(&url.with_path(url.without_fragment, &sent_path));
            u.push_str(match url.query {
                None => "?",
                Some(q) if q.is_empty() || q.ends_with('&') => "",
                Some(_) => "&",
            });
            for p in &presign {
                for part in [p.name, "=", &p.value, "&"] {
                    u.push_str(part);
                }
            }
            for part in [
                names::query::SIGNATURE,
                "=",
                &signature,
                &request.url[url.without_fragment.len()..],
            ] {
                u.push_str(part);
            }
            Cow::Owned(u)
        }
    };
    Ok(Signed {
        headers: added,
        url: out_url,
        signature,
        canonical_request: settings.debug.then(|| canonical_request.to_string()),
        string_to_sign: settings.debug.then(|| string_to_sign.to_string()),
    })
}

/// `h` lowered, if it is 64 hex digits.
pub(crate) fn checked_payload_hash(h: &str) -> Result<Cow<'_, str>, SignError> {
    if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(SignError::InvalidPayloadHash(format!(
            "payload hash {:?} must be 64 hex digits (the SHA-256 of the body)",
            truncate(h)
        )));
    }
    Ok(if h.bytes().any(|b| b.is_ascii_uppercase()) {
        h.to_ascii_lowercase().into()
    } else {
        h.into()
    })
}

/// A region (or region set) or service: non-empty printable ASCII without `/`.
pub(crate) fn check_scope_part(what: &str, s: &str) -> Result<(), SignError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_graphic() && b != b'/') {
        return Err(SignError::InvalidOption(format!(
            "{what} {:?} must be non-empty printable ASCII without '/'",
            truncate(s)
        )));
    }
    Ok(())
}

fn check_inputs(
    request: &Request<'_>,
    credentials: &Credentials<'_>,
    region: &str,
    service: &str,
    settings: &Settings,
) -> Result<(), SignError> {
    if !is_token(request.method) {
        return Err(SignError::InvalidMethod(format!(
            "method {:?} must be a non-empty HTTP token such as GET or PUT",
            truncate(request.method)
        )));
    }
    let region_kind = match settings.algorithm {
        Algorithm::HmacSha256 => "region",
        Algorithm::EcdsaP256Sha256 => "region set",
    };
    check_scope_part(region_kind, region)?;
    check_scope_part("service", service)?;
    if let Placement::Query { expires } = settings.placement
        && !(1..=MAX_EXPIRES_SECS).contains(&expires)
    {
        return Err(SignError::InvalidOption(format!(
            "presigned url expiry {expires} s must be between 1 and {MAX_EXPIRES_SECS} (7 days)"
        )));
    }
    check_credentials(credentials)
}

/// The access key id is printable and free of the scope's separators; the secret is
/// non-empty; the session token is printable.
pub(crate) fn check_credentials(credentials: &Credentials<'_>) -> Result<(), SignError> {
    let akid = credentials.access_key_id;
    if akid.is_empty() || !akid.bytes().all(|b| b.is_ascii_graphic() && !b"/,=".contains(&b)) {
        return Err(SignError::InvalidCredentials(format!(
            "access key id {:?} must be non-empty printable ASCII without '/', ',' or '='",
            truncate(akid)
        )));
    }
    if credentials.secret_access_key.is_empty() {
        return Err(SignError::InvalidCredentials("the secret access key is empty".into()));
    }
    if let Some(t) = credentials.session_token
        && (t.is_empty() || !t.bytes().all(|b| b.is_ascii_graphic()))
    {
        return Err(SignError::InvalidCredentials(
            "the session token must be non-empty printable ASCII (its value is not shown)".into(),
        ));
    }
    Ok(())
}
