//! Event-stream message signing (`application/vnd.amazon.eventstream`, e.g. Transcribe
//! streaming): each message is signed at its own time, chained from the signature before,
//! the first from the HTTP request's.
//!
//! ```text
//! AWS4-HMAC-SHA256-PAYLOAD \n date-time \n scope \n previous signature \n
//! SHA-256(encoded `:date` header) \n SHA-256(encoded message)
//! ```
//!
//! The signed envelope carries `:date` (a timestamp, whole seconds) and `:chunk-signature`
//! (the 32 raw bytes); the host encodes it.

use crate::{Credentials, KeyCache, Scope, SignError, SigningTime, sha256_hex};

/// Signs the messages of one stream in order.
#[derive(Debug, Clone)]
pub struct MessageSigner {
    previous: String,
    region: String,
    service: String,
}

/// One message's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageSignature {
    /// The signing time, whole seconds since the Unix epoch (the `:date` header).
    pub date_seconds: u64,
    /// The HMAC (the `:chunk-signature` header).
    pub signature: [u8; 32],
}

impl MessageSigner {
    /// A signer for a stream whose request was signed with `seed_signature`.
    pub fn new(seed_signature: &str, region: &str, service: &str) -> Result<Self, SignError> {
        crate::check_scope_part("region", region)?;
        crate::check_scope_part("service", service)?;
        if seed_signature.len() != 64 || !seed_signature.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(SignError::InvalidOption(
                "the seed signature must be the request's SigV4 signature: 64 lowercase hex digits".into(),
            ));
        }
        Ok(Self {
            previous: seed_signature.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
        })
    }

    /// Signs the next message, given the hex SHA-256 of its encoding, at `time` (seconds).
    pub fn sign_message(
        &mut self,
        message_sha256_hex: &str,
        credentials: &Credentials<'_>,
        time: u64,
        keys: &mut KeyCache,
    ) -> Result<MessageSignature, SignError> {
        crate::check_credentials(credentials)?;
        let hash = crate::checked_payload_hash(message_sha256_hex)?;
        let t = SigningTime::from_unix(time)?;
        let scope = Scope {
            date: t.date(),
            region: Some(&self.region),
            service: &self.service,
        };
        let signature = keys.get(credentials.secret_access_key, &scope).sign_parts(&[
            "AWS4-HMAC-SHA256-PAYLOAD\n",
            t.date_time(),
            "\n",
            &scope.to_string(),
            "\n",
            &self.previous,
            "\n",
            &sha256_hex(&date_header(time)),
            "\n",
            &hash,
        ]);
        let mut raw = [0u8; 32];
        // `sign_parts` returns 64 hex digits.
        hex::decode_to_slice(&signature, &mut raw).map_err(|e| SignError::InvalidOption(e.to_string()))?;
        // Into the kept buffer: the new string is the call's (see `arena`).
        self.previous.clone_from(&signature);
        Ok(MessageSignature {
            date_seconds: time,
            signature: raw,
        })
    }
}

/// The event-stream encoding of the header `:date` = `seconds` (a timestamp, milliseconds):
/// name length, name, type 8, big-endian i64. Written by hand: 15 fixed bytes, where the
/// encoder crate (aws-smithy-eventstream) would bring its message types into the component.
fn date_header(seconds: u64) -> [u8; 15] {
    let mut out = [0u8; 15];
    out[0] = 5;
    out[1..6].copy_from_slice(b":date");
    out[6] = 8;
    let millis = i64::try_from(seconds).unwrap_or(i64::MAX / 1000).saturating_mul(1000);
    out[7..].copy_from_slice(&millis.to_be_bytes());
    out
}
