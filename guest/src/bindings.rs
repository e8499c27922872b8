//! The component's binding: the only place that calls `real-now`.
//!
//! Converts the WIT records to the core's borrowed types (moving, not copying, strings),
//! asks the host for the time once, signs, and maps [`SignError`] to the WIT variant in the
//! one `From` impl below.

use std::borrow::Cow;
use std::cell::RefCell;

use crate::chunked::ChunkedMode;
use crate::policy::Condition;
use crate::{Algorithm, KeyCache, Payload, Placement, SignError, Signed, SigningParams};

wit_bindgen::generate!({
    world: "realsig",
    path: "../wit",
});

use exports::realsig::sigv4::chunked as wit_chunked;
use exports::realsig::sigv4::event_stream as wit_events;
use exports::realsig::sigv4::post_policy as wit_policy;
use exports::realsig::sigv4::signer::{self as wit, Guest};
use realsig::sigv4::real_time::Instant;
use realsig::sigv4::real_time::real_now;

struct Component;

thread_local! {
    /// Derived signing keys, kept for the life of the instance.
    static KEYS: RefCell<KeyCache> = RefCell::new(KeyCache::default());
}

/// The time `real-now` gives, or `clock-unavailable`: no trustworthy time, no signature.
fn now() -> Result<Instant, SignError> {
    real_now().map_err(|e| SignError::ClockUnavailable(e.message))
}

fn core_credentials(c: &wit::Credentials) -> crate::Credentials<'_> {
    crate::Credentials {
        access_key_id: &c.access_key_id,
        secret_access_key: &c.secret_access_key,
        session_token: c.session_token.as_deref(),
    }
}

impl Guest for Component {
    fn sign(request: wit::Request, credentials: wit::Credentials) -> Result<wit::SignedRequest, wit::SignError> {
        sign_with(request, credentials, Algorithm::HmacSha256, None)
            .map(|(s, _)| s)
            .map_err(Into::into)
    }

    fn sign_sigv4a(request: wit::Request, credentials: wit::Credentials) -> Result<wit::SignedRequest, wit::SignError> {
        sign_with(request, credentials, Algorithm::EcdsaP256Sha256, None)
            .map(|(s, _)| s)
            .map_err(Into::into)
    }
}

/// Converts, reads the time once and signs; with `upload`, opens a chunked upload too.
///
/// SigV4a and chunked uploads keep memory past the call (the P-256 basepoint table, the chunk
/// signer), so they run outside the per-call arena; SigV4 uses it (see `arena`).
fn sign_with(
    request: wit::Request,
    credentials: wit::Credentials,
    algorithm: Algorithm,
    upload: Option<wit_chunked::Upload>,
) -> Result<(wit::SignedRequest, Option<crate::chunked::ChunkSigner>), SignError> {
    let headers: Vec<(&str, &str)> = request
        .headers
        .iter()
        .map(|h| (h.name.as_str(), h.value.as_str()))
        .collect();
    let payload = match &request.payload {
        wit::Payload::Bytes(b) => Payload::Bytes(b),
        wit::Payload::Sha256Hex(h) => Payload::Sha256Hex(h),
        wit::Payload::Unsigned => Payload::Unsigned,
        wit::Payload::Empty => Payload::Empty,
    };
    let core_request = crate::Request {
        method: &request.method,
        url: &request.url,
        headers: &headers,
        payload,
    };
    let o = &request.options;
    let rules = crate::service::ServiceRules::of(&request.service);
    let settings = crate::Settings {
        algorithm,
        placement: match o.placement {
            wit::Placement::Headers => Placement::Headers,
            wit::Placement::Query(expires) => Placement::Query { expires },
        },
        double_uri_encode: o.double_uri_encode.unwrap_or(rules.double_uri_encode),
        normalize_path: o.normalize_path.unwrap_or(rules.normalize_path),
        content_sha256_header: o.content_sha256_header.unwrap_or(rules.content_sha256_header),
        omit_session_token: o.omit_session_token,
        debug: o.debug,
    };
    let now = now()?;
    let params = SigningParams {
        credentials: core_credentials(&credentials),
        region: &request.region,
        service: &request.service,
        settings,
        time: now.seconds,
    };
    let (signed, chunks) = KEYS.with_borrow_mut(|keys| match upload {
        None if algorithm == Algorithm::HmacSha256 => crate::sign(&core_request, &params, keys).map(|s| (s, None)),
        None => crate::lasting(|| crate::sign(&core_request, &params, keys)).map(|s| (s, None)),
        Some(u) => {
            let upload = crate::chunked::Upload {
                mode: match u.mode {
                    wit_chunked::ChunkedMode::Signed => ChunkedMode::Signed,
                    wit_chunked::ChunkedMode::SignedWithTrailer => ChunkedMode::SignedWithTrailer,
                    wit_chunked::ChunkedMode::UnsignedWithTrailer => ChunkedMode::UnsignedWithTrailer,
                },
                decoded_content_length: u.decoded_content_length,
                trailer: u.trailer.as_deref(),
            };
            crate::lasting(|| crate::chunked::start(&core_request, &params, keys, &upload)).map(|(s, c)| (s, Some(c)))
        }
    })?;
    let Signed {
        headers: added,
        url,
        signature,
        canonical_request,
        string_to_sign,
    } = signed;
    // An unchanged URL is the request's own string, moved rather than copied.
    let url = match url {
        Cow::Owned(u) => Some(u),
        Cow::Borrowed(_) => None,
    };
    drop(headers);
    let signed = wit::SignedRequest {
        headers: added
            .into_iter()
            .map(|h| wit::AddedHeader {
                name: h.name.to_owned(),
                value: h.value,
                sensitive: h.sensitive,
            })
            .collect(),
        url: url.unwrap_or(request.url),
        signature,
        signing_time: now,
        canonical_request,
        string_to_sign,
    };
    Ok((signed, chunks))
}

/// The chunk signer resource: the core's, behind a `RefCell` (resource methods take `&self`).
struct ChunkSignerResource(RefCell<crate::chunked::ChunkSigner>);

impl wit_chunked::Guest for Component {
    type ChunkSigner = ChunkSignerResource;

    fn start(
        request: wit::Request,
        credentials: wit::Credentials,
        upload: wit_chunked::Upload,
    ) -> Result<(wit::SignedRequest, wit_chunked::ChunkSigner), wit::SignError> {
        let (signed, chunks) = sign_with(request, credentials, Algorithm::HmacSha256, Some(upload))?;
        let chunks = chunks.ok_or_else(|| SignError::InvalidOption("no chunk signer".into()))?;
        let resource = crate::lasting(|| wit_chunked::ChunkSigner::new(ChunkSignerResource(RefCell::new(chunks))));
        Ok((signed, resource))
    }
}

impl wit_chunked::GuestChunkSigner for ChunkSignerResource {
    fn sign_chunk(&self, chunk_sha256_hex: String) -> Result<String, wit::SignError> {
        Ok(self.0.borrow_mut().sign_chunk(&chunk_sha256_hex)?)
    }

    fn sign_trailer(&self, trailer: Vec<wit::Header>) -> Result<String, wit::SignError> {
        let trailer: Vec<(&str, &str)> = trailer.iter().map(|h| (h.name.as_str(), h.value.as_str())).collect();
        Ok(self.0.borrow_mut().sign_trailer(&trailer)?)
    }
}

impl wit_policy::Guest for Component {
    fn sign_post_policy(
        policy: wit_policy::Policy,
        credentials: wit::Credentials,
    ) -> Result<wit_policy::SignedForm, wit::SignError> {
        let conditions: Vec<Condition<'_>> = policy
            .conditions
            .iter()
            .map(|c| match c {
                wit_policy::Condition::Equals(m) => Condition::Equals(&m.field, &m.value),
                wit_policy::Condition::StartsWith(m) => Condition::StartsWith(&m.field, &m.value),
                wit_policy::Condition::ContentLengthRange(r) => Condition::ContentLengthRange(r.min, r.max),
            })
            .collect();
        let core_policy = crate::policy::PostPolicy {
            expires_in: policy.expires_in,
            conditions: &conditions,
            region: &policy.region,
            service: &policy.service,
        };
        let now = now()?;
        let form = KEYS.with_borrow_mut(|keys| {
            crate::policy::sign_post_policy(&core_policy, &core_credentials(&credentials), now.seconds, keys)
        })?;
        Ok(wit_policy::SignedForm {
            fields: form
                .fields
                .into_iter()
                .map(|f| wit_policy::FormField {
                    name: f.name.to_owned(),
                    value: f.value,
                    sensitive: f.sensitive,
                })
                .collect(),
            policy_document: form.policy_document,
            signature: form.signature,
            signing_time: now,
        })
    }
}

/// The message signer resource.
struct MessageSignerResource(RefCell<crate::event_stream::MessageSigner>);

impl wit_events::Guest for Component {
    type MessageSigner = MessageSignerResource;

    fn open(
        seed_signature: String,
        region: String,
        service: String,
    ) -> Result<wit_events::MessageSigner, wit::SignError> {
        crate::lasting(|| {
            let signer = crate::event_stream::MessageSigner::new(&seed_signature, &region, &service)?;
            Ok(wit_events::MessageSigner::new(MessageSignerResource(RefCell::new(
                signer,
            ))))
        })
    }
}

impl wit_events::GuestMessageSigner for MessageSignerResource {
    fn sign_message(
        &self,
        message_sha256_hex: String,
        credentials: wit::Credentials,
    ) -> Result<wit_events::MessageSignature, wit::SignError> {
        let now = now()?;
        let signed = KEYS.with_borrow_mut(|keys| {
            self.0
                .borrow_mut()
                .sign_message(&message_sha256_hex, &core_credentials(&credentials), now.seconds, keys)
        })?;
        Ok(wit_events::MessageSignature {
            date: Instant {
                seconds: signed.date_seconds,
                nanoseconds: 0,
            },
            signature: signed.signature.to_vec(),
        })
    }
}

impl From<SignError> for wit::SignError {
    fn from(e: SignError) -> Self {
        match e {
            SignError::InvalidUrl(m) => Self::InvalidUrl(m),
            SignError::InvalidMethod(m) => Self::InvalidMethod(m),
            SignError::InvalidHeaderName(m) => Self::InvalidHeaderName(m),
            SignError::InvalidHeaderValue(m) => Self::InvalidHeaderValue(m),
            SignError::InvalidPayloadHash(m) => Self::InvalidPayloadHash(m),
            SignError::InvalidOption(m) => Self::InvalidOption(m),
            SignError::InvalidCredentials(m) => Self::InvalidCredentials(m),
            SignError::ClockUnavailable(m) => Self::ClockUnavailable(m),
        }
    }
}

export!(Component);
