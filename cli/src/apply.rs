//! Signing instructions applied to an HTTP request: the one place `realsig request` and
//! `realsig proxy` turn a [`realsig::Signed`] into what is sent (style habit 3: the signer
//! returns instructions, the host applies them).

use realsig::{Header, Signed};

/// The request to send: `headers`, except those the instructions replace, then the
/// instructions' headers, to the URL the signature was made for (`signed.url`: the S3 rule
/// may have re-encoded the path).
pub fn request_builder(method: &str, headers: &[Header], signed: &Signed) -> http::request::Builder {
    let mut builder = http::Request::builder().method(method).uri(&signed.url);
    let replaced = |name: &str| signed.headers.iter().any(|h| h.name.eq_ignore_ascii_case(name));
    for h in headers.iter().filter(|h| !replaced(&h.name)) {
        builder = builder.header(&h.name, &h.value);
    }
    for h in &signed.headers {
        builder = builder.header(&h.name, &h.value);
    }
    builder
}
