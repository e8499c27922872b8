//! S3 POST policies ("Browser-Based Uploads Using POST (AWS Signature Version 4)").
//!
//! The policy is a JSON document; the form carries it in base64 as `policy`, and
//! `x-amz-signature` is the hex HMAC of that base64 text with the SigV4 signing key. The
//! document names the signing fields too, so it is built here, where the time is known.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use crate::url::truncate;
use crate::{ALGORITHM, Credentials, KeyCache, MAX_EXPIRES_SECS, Scope, SignError, SigningKey, SigningTime, names};

/// One policy condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition<'a> {
    /// `["eq", "$field", "value"]`.
    Equals(&'a str, &'a str),
    /// `["starts-with", "$field", "value"]`.
    StartsWith(&'a str, &'a str),
    /// `["content-length-range", min, max]`.
    ContentLengthRange(u64, u64),
}

/// What the form may upload.
#[derive(Debug, Clone, Copy)]
pub struct PostPolicy<'a> {
    /// Seconds from the signing time until the form expires, `1..=604800`.
    pub expires_in: u32,
    /// The caller's conditions; the signing fields are added.
    pub conditions: &'a [Condition<'a>],
    /// Signing region.
    pub region: &'a str,
    /// Signing service (`s3`).
    pub service: &'a str,
}

/// A form field to send.
#[derive(Clone, PartialEq, Eq)]
pub struct FormField {
    /// Field name.
    pub name: &'static str,
    /// Value.
    pub value: String,
    /// True for the session token.
    pub sensitive: bool,
}

impl core::fmt::Debug for FormField {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let value = if self.sensitive { "** redacted **" } else { &self.value };
        write!(f, "{}={}", self.name, value)
    }
}

/// The signed form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedForm {
    /// Fields to add: `policy`, `x-amz-algorithm`, `x-amz-credential`, `x-amz-date`,
    /// `x-amz-security-token` (temporary credentials), `x-amz-signature`.
    pub fields: Vec<FormField>,
    /// The policy document before base64 (it names the session token, as the policy must).
    pub policy_document: String,
    /// Lowercase hex signature.
    pub signature: String,
}

/// The signature of a base64 policy: hex HMAC-SHA256 with the SigV4 signing key.
pub fn sign_policy(base64_policy: &str, key: &SigningKey) -> String {
    key.sign_parts(&[base64_policy])
}

/// Builds the policy document at `time` (seconds since the Unix epoch) and signs it.
pub fn sign_post_policy(
    policy: &PostPolicy<'_>,
    credentials: &Credentials<'_>,
    time: u64,
    keys: &mut KeyCache,
) -> Result<SignedForm, SignError> {
    crate::check_scope_part("region", policy.region)?;
    crate::check_scope_part("service", policy.service)?;
    crate::check_credentials(credentials)?;
    if !(1..=MAX_EXPIRES_SECS).contains(&policy.expires_in) {
        return Err(SignError::InvalidOption(format!(
            "policy expiry {} s must be between 1 and {MAX_EXPIRES_SECS} (7 days)",
            policy.expires_in
        )));
    }
    let signing_time = SigningTime::from_unix(time)?;
    let scope = Scope {
        date: signing_time.date(),
        region: Some(policy.region),
        service: policy.service,
    };
    let credential = format!("{}/{scope}", credentials.access_key_id);
    let expiration = iso8601(time + u64::from(policy.expires_in))?;

    let mut conditions: Vec<Value> = Vec::with_capacity(policy.conditions.len() + 4);
    for c in policy.conditions {
        conditions.push(match *c {
            Condition::Equals(field, value) => json!(["eq", field_ref(field)?, value]),
            Condition::StartsWith(field, value) => json!(["starts-with", field_ref(field)?, value]),
            Condition::ContentLengthRange(min, max) if min <= max => json!(["content-length-range", min, max]),
            Condition::ContentLengthRange(min, max) => {
                return Err(SignError::InvalidOption(format!(
                    "content-length-range {min}..{max}: the minimum exceeds the maximum"
                )));
            }
        });
    }
    conditions.push(json!({ names::field::ALGORITHM: ALGORITHM }));
    conditions.push(json!({ names::field::CREDENTIAL: credential }));
    conditions.push(json!({ names::DATE: signing_time.date_time() }));
    if let Some(token) = credentials.session_token {
        conditions.push(json!({ names::SECURITY_TOKEN: token }));
    }
    let document = json!({ "expiration": expiration, "conditions": conditions }).to_string();
    let encoded = BASE64.encode(&document);
    let signature = sign_policy(&encoded, keys.get(credentials.secret_access_key, &scope));

    let field = |name, value: &str| FormField {
        name,
        value: value.to_owned(),
        sensitive: false,
    };
    let mut fields = vec![
        field("policy", &encoded),
        field(names::field::ALGORITHM, ALGORITHM),
        field(names::field::CREDENTIAL, &credential),
        field(names::DATE, signing_time.date_time()),
    ];
    if let Some(token) = credentials.session_token {
        fields.push(FormField {
            sensitive: true,
            ..field(names::SECURITY_TOKEN, token)
        });
    }
    fields.push(field(names::field::SIGNATURE, &signature));
    Ok(SignedForm {
        fields,
        policy_document: document,
        signature,
    })
}

/// `$field` for a condition; the name must be non-empty and printable.
fn field_ref(field: &str) -> Result<String, SignError> {
    let name = field.strip_prefix('$').unwrap_or(field);
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(SignError::InvalidOption(format!(
            "policy condition field {:?} must be a non-empty form field name such as key",
            truncate(field)
        )));
    }
    Ok(format!("${name}"))
}

/// `YYYY-MM-DDTHH:MM:SSZ`, the policy's `expiration`.
fn iso8601(seconds: u64) -> Result<String, SignError> {
    let t = SigningTime::from_unix(seconds)?;
    let d = t.date_time();
    Ok(format!(
        "{}-{}-{}T{}:{}:{}Z",
        &d[0..4],
        &d[4..6],
        &d[6..8],
        &d[9..11],
        &d[11..13],
        &d[13..15]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's worked example ("Example: Browser-Based Upload using HTTP POST (Using AWS
    /// Signature Version 4)"): its base64 policy, credentials and signature.
    #[test]
    fn signs_the_documented_policy() {
        const POLICY: &str = "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9";
        let scope = Scope {
            date: "20151229",
            region: Some("us-east-1"),
            service: "s3",
        };
        let key = SigningKey::derive("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", &scope);
        assert_eq!(
            sign_policy(POLICY, &key),
            "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"
        );
    }

    #[test]
    fn builds_the_policy_with_the_signing_fields() {
        let creds = Credentials {
            access_key_id: "AKIDEXAMPLE",
            secret_access_key: "secret",
            session_token: Some("token"),
        };
        let policy = PostPolicy {
            expires_in: 3600,
            conditions: &[
                Condition::Equals("bucket", "b"),
                Condition::StartsWith("$key", "user/"),
                Condition::ContentLengthRange(1, 10),
            ],
            region: "us-east-1",
            service: "s3",
        };
        let form = sign_post_policy(&policy, &creds, 1_440_938_160, &mut KeyCache::default()).unwrap();
        let doc: Value = serde_json::from_str(&form.policy_document).unwrap();
        assert_eq!(doc["expiration"], "2015-08-30T13:36:00Z");
        assert_eq!(
            doc["conditions"],
            json!([
                ["eq", "$bucket", "b"],
                ["starts-with", "$key", "user/"],
                ["content-length-range", 1, 10],
                {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
                {"x-amz-credential": "AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request"},
                {"x-amz-date": "20150830T123600Z"},
                {"x-amz-security-token": "token"},
            ])
        );
        let names: Vec<&str> = form.fields.iter().map(|f| f.name).collect();
        assert_eq!(
            names,
            [
                "policy",
                "x-amz-algorithm",
                "x-amz-credential",
                "x-amz-date",
                "x-amz-security-token",
                "x-amz-signature"
            ]
        );
        assert_eq!(form.fields[0].value, BASE64.encode(&form.policy_document));
        assert!(form.fields[4].sensitive);
        assert_eq!(format!("{:?}", form.fields[4]), "x-amz-security-token=** redacted **");
        let bad = PostPolicy {
            conditions: &[Condition::ContentLengthRange(10, 1)],
            ..policy
        };
        assert!(sign_post_policy(&bad, &creds, 0, &mut KeyCache::default()).is_err());
    }

    #[test]
    fn expiration_is_iso8601() {
        assert_eq!(iso8601(1_440_938_160).unwrap(), "2015-08-30T12:36:00Z");
    }
}
