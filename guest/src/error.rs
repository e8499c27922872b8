//! The one error type of the signing core.

use core::fmt;

/// Why a request could not be signed.
///
/// One variant per cause, mirroring the WIT `sign-error` variant; the guest's binding maps
/// it there in exactly one `From` impl. Messages are lowercase, name the offending input
/// (never a secret) and say what would be accepted.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignError {
    /// The URL is not absolute `http(s)://host/...` or contains forbidden characters.
    InvalidUrl(String),
    /// The method is empty or not an HTTP token.
    InvalidMethod(String),
    /// A header name is empty or not an HTTP token.
    InvalidHeaderName(String),
    /// A header value contains a control character other than tab.
    InvalidHeaderValue(String),
    /// A precomputed payload hash is not 64 hex digits.
    InvalidPayloadHash(String),
    /// Region, service, expiry or another option is out of range.
    InvalidOption(String),
    /// The access key id, secret or session token is empty or malformed.
    InvalidCredentials(String),
    /// No trustworthy time: the clock failed or gave a time that cannot be signed.
    ClockUnavailable(String),
}

impl SignError {
    /// The human-readable message, without the cause's name.
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

    /// The WIT case name (`invalid-url`, ...), stable for programs to match on.
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
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind(), self.message())
    }
}

impl std::error::Error for SignError {}
