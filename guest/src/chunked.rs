//! S3 `aws-chunked` uploads ("Signature Calculations for the Authorization Header:
//! Transferring Payload in Multiple Chunks", and its trailer variant).
//!
//! The request is signed like any other, with the mode's literal as its payload hash (the
//! seed signature). Each chunk's string to sign then chains from the previous signature:
//!
//! ```text
//! AWS4-HMAC-SHA256-PAYLOAD \n date-time \n scope \n previous signature \n SHA-256("") \n SHA-256(chunk)
//! ```
//!
//! and the trailer's, after the final empty chunk:
//!
//! ```text
//! AWS4-HMAC-SHA256-TRAILER \n date-time \n scope \n previous signature \n SHA-256("name:value\n" ...)
//! ```
//!
//! The data never enters this crate: the host hashes each chunk and passes the digest.

use core::fmt;
use std::borrow::Cow;

use crate::canonical::is_token;
use crate::url::truncate;
use crate::{
    AddedHeader, Algorithm, EMPTY_SHA256, KeyCache, Payload, Placement, Request, Scope, SignError, Signed, SigningKey,
    SigningParams, SigningTime, names, sha256_hex,
};

/// The flavour of aws-chunked upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkedMode {
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`.
    Signed,
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`.
    SignedWithTrailer,
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`.
    UnsignedWithTrailer,
}

impl ChunkedMode {
    /// The `x-amz-content-sha256` value (the payload hash of the seed's canonical request).
    pub fn content_sha256(self) -> &'static str {
        match self {
            Self::Signed => "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
            Self::SignedWithTrailer => "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
            Self::UnsignedWithTrailer => "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        }
    }

    fn has_trailer(self) -> bool {
        self != Self::Signed
    }
}

/// What the opening request announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Upload<'a> {
    /// The flavour.
    pub mode: ChunkedMode,
    /// Length of the data before framing.
    pub decoded_content_length: u64,
    /// The trailing header's lowercase name, in the trailer modes.
    pub trailer: Option<&'a str>,
}

/// Signs the request opening an aws-chunked upload; returns its instructions and the
/// signer of its chunks. `request.payload` must be [`Payload::Empty`].
pub fn start<'a>(
    request: &Request<'a>,
    params: &SigningParams<'_>,
    keys: &mut KeyCache,
    upload: &Upload<'_>,
) -> Result<(Signed<'a>, ChunkSigner), SignError> {
    let settings = &params.settings;
    if request.payload != Payload::Empty {
        return Err(SignError::InvalidOption(
            "the payload of a chunked upload must be `empty`: the data goes through the chunk signer".into(),
        ));
    }
    if settings.placement != Placement::Headers {
        return Err(SignError::InvalidOption(
            "a chunked upload is signed in header placement, not as a presigned url".into(),
        ));
    }
    if settings.algorithm != Algorithm::HmacSha256 {
        return Err(SignError::InvalidOption(
            "chunked uploads are signed with SigV4 (AWS4-HMAC-SHA256) only".into(),
        ));
    }
    match (upload.mode.has_trailer(), upload.trailer) {
        (true, None) => {
            return Err(SignError::InvalidOption(format!(
                "mode {} needs the trailing header's name",
                upload.mode.content_sha256()
            )));
        }
        (false, Some(_)) => {
            return Err(SignError::InvalidOption(
                "a trailer needs a trailer mode (signed-with-trailer or unsigned-with-trailer)".into(),
            ));
        }
        (_, Some(t)) if !is_token(t) || t.bytes().any(|b| b.is_ascii_uppercase()) => {
            return Err(SignError::InvalidHeaderName(format!(
                "trailer name {:?} must be a lowercase header name such as x-amz-checksum-crc32",
                truncate(t)
            )));
        }
        _ => {}
    }

    // The caller's headers, with ours replacing any of the same names.
    let ours = ["content-encoding", names::DECODED_CONTENT_LENGTH, names::TRAILER];
    let mut headers: Vec<(&str, &str)> = Vec::with_capacity(request.headers.len() + 3);
    let mut encoding = String::from("aws-chunked");
    for (name, value) in request.headers {
        if name.eq_ignore_ascii_case("content-encoding") {
            // Another coding (gzip) stays, after aws-chunked, as S3 documents.
            for coding in value.split(',').map(str::trim) {
                if !coding.is_empty() && !coding.eq_ignore_ascii_case("aws-chunked") {
                    encoding.push(',');
                    encoding.push_str(coding);
                }
            }
        } else if !ours.iter().any(|o| name.eq_ignore_ascii_case(o)) {
            headers.push((name, value));
        }
    }
    let mut added = vec![
        AddedHeader {
            name: "content-encoding",
            value: encoding,
            sensitive: false,
        },
        AddedHeader {
            name: names::DECODED_CONTENT_LENGTH,
            value: upload.decoded_content_length.to_string(),
            sensitive: false,
        },
    ];
    if let Some(t) = upload.trailer {
        added.push(AddedHeader {
            name: names::TRAILER,
            value: t.to_owned(),
            sensitive: false,
        });
    }
    headers.extend(added.iter().map(|h| (h.name, h.value.as_str())));

    let seed_request = Request {
        headers: &headers,
        payload: Payload::Literal(upload.mode.content_sha256()),
        ..*request
    };
    let seed = SigningParams {
        settings: crate::Settings {
            content_sha256_header: true,
            ..*settings
        },
        ..*params
    };
    let signed = crate::sign(&seed_request, &seed, keys)?;
    let Signed {
        headers: mut seed_headers,
        url,
        signature,
        canonical_request,
        string_to_sign,
    } = signed;
    // The seed request's URL is the request's (it borrowed our header list too).
    let url = match url {
        Cow::Borrowed(_) => Cow::Borrowed(request.url),
        Cow::Owned(u) => Cow::Owned(u),
    };
    added.append(&mut seed_headers);
    let signed = Signed {
        headers: added,
        url,
        signature,
        canonical_request,
        string_to_sign,
    };

    let (region, service) = (params.region, params.service);
    let time = SigningTime::from_unix(params.time)?;
    let scope = Scope {
        date: time.date(),
        region: Some(region),
        service,
    };
    let signer = ChunkSigner {
        key: keys.get(params.credentials.secret_access_key, &scope).clone(),
        date_time: time.date_time().to_owned(),
        scope: scope.to_string(),
        previous: signed.signature.clone(),
        mode: upload.mode,
        state: State::Chunks,
    };
    Ok((signed, signer))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Chunks,
    /// The final, empty chunk is signed.
    Final,
    /// The trailer is signed.
    Done,
}

/// Signs one upload's chunks in order, each chained from the signature before.
#[derive(Clone)]
pub struct ChunkSigner {
    key: SigningKey,
    date_time: String,
    scope: String,
    previous: String,
    mode: ChunkedMode,
    state: State,
}

impl fmt::Debug for ChunkSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkSigner")
            .field("scope", &self.scope)
            .field("mode", &self.mode)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl ChunkSigner {
    /// The signature of the next chunk, given the lowercase hex SHA-256 of its data. The
    /// empty hash marks the final chunk.
    pub fn sign_chunk(&mut self, chunk_sha256_hex: &str) -> Result<String, SignError> {
        if self.mode == ChunkedMode::UnsignedWithTrailer {
            return Err(SignError::InvalidOption(
                "chunks of an unsigned-with-trailer upload carry no signature".into(),
            ));
        }
        if self.state != State::Chunks {
            return Err(SignError::InvalidOption(
                "the final (empty) chunk was already signed; nothing follows it but the trailer".into(),
            ));
        }
        let hash = crate::checked_payload_hash(chunk_sha256_hex)?;
        let signature = self.key.sign_parts(&[
            "AWS4-HMAC-SHA256-PAYLOAD\n",
            &self.date_time,
            "\n",
            &self.scope,
            "\n",
            &self.previous,
            "\n",
            EMPTY_SHA256,
            "\n",
            &hash,
        ]);
        if hash == EMPTY_SHA256 {
            self.state = State::Final;
        }
        self.previous.clone_from(&signature);
        Ok(signature)
    }

    /// The trailer's signature, after the final chunk, in `signed-with-trailer` mode.
    /// `trailer` holds the trailing headers as sent (`x-amz-checksum-crc32`, value).
    pub fn sign_trailer(&mut self, trailer: &[(&str, &str)]) -> Result<String, SignError> {
        if self.mode != ChunkedMode::SignedWithTrailer {
            return Err(SignError::InvalidOption(format!(
                "the trailer of a {} upload is not signed",
                self.mode.content_sha256()
            )));
        }
        if self.state != State::Final {
            return Err(SignError::InvalidOption(
                "the trailer is signed once, after the final (empty) chunk".into(),
            ));
        }
        let mut canonical = String::new();
        for (name, value) in trailer {
            if !is_token(name) {
                return Err(SignError::InvalidHeaderName(format!(
                    "trailer name {:?} is not an HTTP token",
                    truncate(name)
                )));
            }
            if value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
                return Err(SignError::InvalidHeaderValue(format!(
                    "the value of trailer {name:?} contains a control character"
                )));
            }
            canonical.push_str(&name.to_ascii_lowercase());
            canonical.push(':');
            canonical.push_str(value.trim());
            canonical.push('\n');
        }
        let signature = self.key.sign_parts(&[
            "AWS4-HMAC-SHA256-TRAILER\n",
            &self.date_time,
            "\n",
            &self.scope,
            "\n",
            &self.previous,
            "\n",
            &sha256_hex(canonical.as_bytes()),
        ]);
        self.state = State::Done;
        self.previous.clone_from(&signature);
        Ok(signature)
    }
}
