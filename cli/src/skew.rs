//! Clock-skew correction: what an AWS error response says, and whether it says the
//! signature's time was off, by how much (the AWS SDKs' rules). `realsig request` and
//! `realsig proxy` both retry a refused request once with the server's time.

use std::time::{Duration, SystemTime};

use http::HeaderMap;

/// Error codes that mean "your clock is off" (smithy-rs and aws-sdk-js-v3's lists).
const SKEW_CODES: &[&str] = &[
    "RequestTimeTooSkewed",
    "RequestExpired",
    "RequestInTheFuture",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "AuthFailure",
    "AccessDeniedException",
];
/// Correct only skews larger than this (smithy-rs: 4 minutes).
const MIN_SKEW: Duration = Duration::from_secs(240);
/// A round trip this long makes the server's Date meaningless (smithy-rs: 15 minutes).
const MAX_ROUND_TRIP: Duration = Duration::from_secs(900);
/// What an error without a code is called.
pub const NO_CODE: &str = "(no error code)";

/// What an AWS error response says (S3's XML or the JSON protocols).
#[derive(Debug)]
pub struct ServiceError {
    /// The error code (`RequestTimeTooSkewed`), or [`NO_CODE`].
    pub code: String,
    /// The message, or the start of a body that is not an AWS error document.
    pub message: String,
    /// S3's `<ServerTime>`.
    pub server_time: Option<SystemTime>,
}

/// The text of the first `<tag>...</tag>` in `text`.
pub fn xml_tag<'a>(text: &'a str, tag: &str) -> Option<&'a str> {
    let start = text.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = start + text[start..].find(&format!("</{tag}>"))?;
    Some(&text[start..end])
}

impl ServiceError {
    /// What `body` (and the `x-amzn-errortype` header) says.
    pub fn parse(headers: &HeaderMap, body: &[u8]) -> Self {
        let text = String::from_utf8_lossy(body);
        let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
        let json_str = |keys: &[&str]| {
            keys.iter()
                .find_map(|k| json.as_ref()?.get(k)?.as_str().map(str::to_owned))
        };
        let header_code = headers
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(':').next().unwrap_or(v).to_owned());
        let code = xml_tag(&text, "Code")
            .map(str::to_owned)
            .or_else(|| json_str(&["__type", "code"]).map(|t| t.rsplit('#').next().unwrap_or(&t).to_owned()))
            .or(header_code)
            .unwrap_or_else(|| NO_CODE.into());
        let message = xml_tag(&text, "Message")
            .map(str::to_owned)
            .or_else(|| json_str(&["message", "Message"]))
            .or_else(|| {
                // Not an AWS error document: show the start of it, unless it is markup.
                let plain: String = text.chars().take(200).collect::<String>().trim().to_owned();
                (!plain.starts_with('<')).then_some(plain)
            })
            .unwrap_or_default();
        let server_time = xml_tag(&text, "ServerTime").and_then(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                .ok()
                .map(SystemTime::from)
        });
        Self {
            code,
            message,
            server_time,
        }
    }
}

/// Server time minus the midpoint of our send and receive, when the error is about time and
/// the measurement can be trusted (the AWS SDKs' rules). Also says where the server time came from.
pub fn skew(
    error: &ServiceError,
    headers: &HeaderMap,
    (sent, received): (SystemTime, SystemTime),
) -> Option<(i128, &'static str)> {
    if !SKEW_CODES.contains(&error.code.as_str()) || headers.contains_key("age") {
        return None;
    }
    let round_trip = received.duration_since(sent).ok()?;
    if round_trip > MAX_ROUND_TRIP {
        return None;
    }
    let midpoint = sent + round_trip / 2;
    let (server, from) = match error.server_time {
        Some(t) => (t, "<ServerTime>"),
        None => {
            let date = headers.get("date")?.to_str().ok()?;
            (httpdate::parse_http_date(date).ok()?, "Date header")
        }
    };
    let skew = match server.duration_since(midpoint) {
        Ok(ahead) => ahead.as_nanos() as i128,
        Err(behind) => -(behind.duration().as_nanos() as i128),
    };
    (skew.unsigned_abs() > MIN_SKEW.as_nanos()).then_some((skew, from))
}
