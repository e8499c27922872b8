//! The differential oracle: a request signed by `aws-sigv4` (the official Rust SDK signer)
//! and by our core, for tests/differential.rs (proptest) and fuzz/ (the differential target).
//! Either side returning `None` means it refused the input.

use std::time::{Duration, UNIX_EPOCH};

use aws_credential_types::Credentials as AwsCredentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SessionTokenMode, SignableBody, SignableRequest, SignatureLocation,
    SigningSettings, UriPathNormalizationMode, sign as aws_sign,
};
use aws_sigv4::sign::{v4, v4a};
use aws_smithy_runtime_api::client::identity::Identity;
use realsig_guest::service::ServiceRules;
use realsig_guest::{
    Algorithm, Credentials, KeyCache, Payload, Placement, Request, Settings, SigningParams, Url, s3_path,
};

/// One request to sign, with everything both signers need.
#[derive(Debug, Clone)]
#[allow(missing_docs)] // the fields are what their names say
pub struct Case {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Body,
    /// SigV4a reads it as the region set.
    pub region: String,
    pub service: String,
    pub token: Option<String>,
    pub settings: Settings,
    /// Seconds since the Unix epoch.
    pub time: u64,
}

/// The body, or its stand-in.
#[derive(Debug, Clone)]
pub enum Body {
    /// The body itself.
    Bytes(Vec<u8>),
    /// Its SHA-256, hex.
    Hash(String),
    /// `UNSIGNED-PAYLOAD`.
    Unsigned,
}

/// The access key id both sign with.
pub const AKID: &str = "AKIDEXAMPLE";
/// The secret both sign with.
pub const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// The oracle's signature and, in header placement, its authorization header.
pub fn oracle(c: &Case) -> Option<(String, Option<String>)> {
    let identity: Identity = AwsCredentials::new(AKID, SECRET, c.token.clone(), None, "test").into();
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = if c.settings.double_uri_encode {
        PercentEncodingMode::Double
    } else {
        PercentEncodingMode::Single
    };
    settings.uri_path_normalization_mode = if c.settings.normalize_path {
        UriPathNormalizationMode::Enabled
    } else {
        UriPathNormalizationMode::Disabled
    };
    settings.payload_checksum_kind = if c.settings.content_sha256_header {
        PayloadChecksumKind::XAmzSha256
    } else {
        PayloadChecksumKind::NoHeader
    };
    settings.session_token_mode = if c.settings.omit_session_token {
        SessionTokenMode::Exclude
    } else {
        SessionTokenMode::Include
    };
    match c.settings.placement {
        Placement::Headers => settings.signature_location = SignatureLocation::Headers,
        Placement::Query { expires } => {
            settings.signature_location = SignatureLocation::QueryParams;
            settings.expires_in = Some(Duration::from_secs(expires.into()));
        }
    }
    let time = UNIX_EPOCH + Duration::from_secs(c.time);
    let params = match c.settings.algorithm {
        Algorithm::HmacSha256 => v4::SigningParams::builder()
            .identity(&identity)
            .region(&c.region)
            .name(&c.service)
            .time(time)
            .settings(settings)
            .build()
            .ok()?
            .into(),
        // aws-sigv4 1.6 signs SigV4a with RFC 6979 nonces too, so signatures compare byte for byte.
        Algorithm::EcdsaP256Sha256 => v4a::SigningParams::builder()
            .identity(&identity)
            .region_set(&c.region)
            .name(&c.service)
            .time(time)
            .settings(settings)
            .build()
            .ok()?
            .into(),
    };
    // The SDKs' S3 presigning configuration: a presigned URL signs UNSIGNED-PAYLOAD, or the
    // request's own x-amz-content-sha256 (botocore's S3SigV4QueryAuth; smithy-rs's S3
    // presigning sets the payload the same way).
    let s3_presign = matches!(c.settings.placement, Placement::Query { .. })
        && ServiceRules::of(&c.service).presign_unsigned_payload;
    let sent_hash = c
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("x-amz-content-sha256"))
        .map(|(_, v)| v.trim().to_owned());
    let body = match (&c.body, s3_presign, sent_hash) {
        (_, true, Some(h)) => SignableBody::Precomputed(h),
        (_, true, None) => SignableBody::UnsignedPayload,
        (Body::Bytes(b), ..) => SignableBody::Bytes(b),
        (Body::Hash(h), ..) => SignableBody::Precomputed(h.clone()),
        (Body::Unsigned, ..) => SignableBody::UnsignedPayload,
    };
    // aws-sigv4, like every SDK's signer, signs an S3 path exactly as given, and the SDKs give
    // it the key encoded once. Our signer sends the key in that form (`s3_path`), so the
    // oracle signs the URL we send: an independent signer of what goes on the wire agrees.
    let url = match Url::parse(&c.url) {
        Ok(u) if !c.settings.double_uri_encode => u.with_path(&c.url, &s3_path(u.path)),
        _ => c.url.clone(),
    };
    let headers = c.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    let request = SignableRequest::new(&c.method, url.as_str(), headers, body).ok()?;
    let (instructions, signature) = aws_sign(request, &params).ok()?.into_parts();
    let auth = instructions
        .headers()
        .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.to_owned());
    Some((signature, auth))
}

/// Our core's signature and, in header placement, its authorization header.
pub fn ours(c: &Case, keys: &mut KeyCache) -> Option<(String, Option<String>)> {
    let payload = match &c.body {
        Body::Bytes(b) => Payload::Bytes(b),
        Body::Hash(h) => Payload::Sha256Hex(h),
        Body::Unsigned => Payload::Unsigned,
    };
    let headers: Vec<(&str, &str)> = c.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let request = Request {
        method: &c.method,
        url: &c.url,
        headers: &headers,
        payload,
    };
    let params = SigningParams {
        credentials: Credentials {
            access_key_id: AKID,
            secret_access_key: SECRET,
            session_token: c.token.as_deref(),
        },
        region: &c.region,
        service: &c.service,
        settings: c.settings,
        time: c.time,
    };
    let signed = realsig_guest::sign(&request, &params, keys).ok()?;
    let auth = signed
        .headers
        .iter()
        .find(|h| h.name == "authorization")
        .map(|h| h.value.clone());
    Some((signed.signature, auth))
}
