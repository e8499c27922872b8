//! The `x-amz-*` names a signature reads and writes, in one place.
//!
//! Header names are lowercase (they are compared after lowering); the query forms are the
//! capitalised ones presigned URLs carry. POST policy fields use the header forms.

/// `x-amz-date`: the signing time, `YYYYMMDDTHHMMSSZ`.
pub const DATE: &str = "x-amz-date";
/// `x-amz-security-token`: the session token of temporary credentials.
pub const SECURITY_TOKEN: &str = "x-amz-security-token";
/// `x-amz-content-sha256`: the payload hash, as S3 wants it sent.
pub const CONTENT_SHA256: &str = "x-amz-content-sha256";
/// `x-amz-region-set`: the region set of a SigV4a signature.
pub const REGION_SET: &str = "x-amz-region-set";
/// `x-amz-user-agent`: never signed in a presigned URL (as `aws-sigv4`).
pub const USER_AGENT: &str = "x-amz-user-agent";
/// `x-amz-checksum-mode`: never signed in a presigned URL (as `aws-sigv4`).
pub const CHECKSUM_MODE: &str = "x-amz-checksum-mode";
/// `x-amz-decoded-content-length`: the data's length before aws-chunked framing.
pub const DECODED_CONTENT_LENGTH: &str = "x-amz-decoded-content-length";
/// `x-amz-trailer`: the name of an aws-chunked upload's trailing header.
pub const TRAILER: &str = "x-amz-trailer";
/// `authorization`: where a header-placement signature goes.
pub const AUTHORIZATION: &str = "authorization";

/// POST policy form fields (`x-amz-algorithm` and the like, the header forms of the query names).
pub mod field {
    /// `x-amz-algorithm`.
    pub const ALGORITHM: &str = "x-amz-algorithm";
    /// `x-amz-credential`.
    pub const CREDENTIAL: &str = "x-amz-credential";
    /// `x-amz-signature`.
    pub const SIGNATURE: &str = "x-amz-signature";
}

/// The query parameters of a presigned URL.
pub mod query {
    /// `X-Amz-Algorithm`.
    pub const ALGORITHM: &str = "X-Amz-Algorithm";
    /// `X-Amz-Credential`: access key id and scope.
    pub const CREDENTIAL: &str = "X-Amz-Credential";
    /// `X-Amz-Date`.
    pub const DATE: &str = "X-Amz-Date";
    /// `X-Amz-Expires`: validity in seconds.
    pub const EXPIRES: &str = "X-Amz-Expires";
    /// `X-Amz-SignedHeaders`.
    pub const SIGNED_HEADERS: &str = "X-Amz-SignedHeaders";
    /// `X-Amz-Security-Token`.
    pub const SECURITY_TOKEN: &str = "X-Amz-Security-Token";
    /// `X-Amz-Region-Set` (SigV4a).
    pub const REGION_SET: &str = "X-Amz-Region-Set";
    /// `X-Amz-Signature`, appended after signing.
    pub const SIGNATURE: &str = "X-Amz-Signature";
}
