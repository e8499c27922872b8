//! The component's binding: the only place that calls `real-now`.
//!
//! Converts the WIT records to the core's borrowed types (moving, not copying, strings),
//! asks the host for the time once, signs, and maps [`SignError`] to the WIT variant in the
//! one `From` impl below.

use std::cell::RefCell;

use crate::{KeyCache, Payload, Placement, SignError, Signed};

wit_bindgen::generate!({
    world: "realsig",
    path: "../wit",
});

use exports::realsig::sigv4::signer::{self as wit, Guest};
use realsig::sigv4::real_time::Instant;
use realsig::sigv4::real_time::real_now;

struct Component;

thread_local! {
    /// Derived signing keys, kept for the life of the instance.
    static KEYS: RefCell<KeyCache> = RefCell::new(KeyCache::default());
}

impl Guest for Component {
    fn sign(request: wit::Request, credentials: wit::Credentials) -> Result<wit::SignedRequest, wit::SignError> {
        let headers: Vec<(String, String)> = request.headers.into_iter().map(|h| (h.name, h.value)).collect();
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
        let creds = crate::Credentials {
            access_key_id: &credentials.access_key_id,
            secret_access_key: &credentials.secret_access_key,
            session_token: credentials.session_token.as_deref(),
        };
        let o = &request.options;
        let settings = crate::Settings {
            placement: match o.placement {
                wit::Placement::Headers => Placement::Headers,
                wit::Placement::Query(expires) => Placement::Query { expires },
            },
            double_uri_encode: o.double_uri_encode,
            normalize_path: o.normalize_path,
            content_sha256_header: o.content_sha256_header,
            omit_session_token: o.omit_session_token,
            debug: o.debug,
        };
        // Fail closed: no trustworthy time, no signature.
        let now = real_now().map_err(|e| SignError::ClockUnavailable(e.message))?;
        let signed = KEYS.with_borrow_mut(|keys| {
            crate::sign(
                &core_request,
                &creds,
                &request.region,
                &request.service,
                &settings,
                now.seconds,
                keys,
            )
        })?;
        Ok(to_wit(signed, now))
    }
}

fn to_wit(s: Signed, now: Instant) -> wit::SignedRequest {
    wit::SignedRequest {
        headers: s
            .headers
            .into_iter()
            .map(|h| wit::AddedHeader {
                name: h.name.to_owned(),
                value: h.value,
                sensitive: h.sensitive,
            })
            .collect(),
        url: s.url,
        signature: s.signature,
        signing_time: now,
        canonical_request: s.canonical_request,
        string_to_sign: s.string_to_sign,
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
