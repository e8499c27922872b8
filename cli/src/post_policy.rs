//! `realsig post-policy`: sign an S3 POST policy for a browser-based upload form.

use std::time::{Duration, UNIX_EPOCH};

use clap::Args;
use realsig::credentials::CredentialsCache;
use realsig::{Condition, FieldMatch, LengthRange, Policy};

use crate::args::{ClockArgs, ComponentArgs, parse_rfc3339};

#[derive(Args)]
pub struct PostPolicyArgs {
    /// The bucket the form uploads to.
    #[arg(long)]
    bucket: String,
    /// The object key the form must use.
    #[arg(long, conflicts_with = "key_prefix")]
    key: Option<String>,
    /// A prefix the form's key must start with (the browser picks the rest).
    #[arg(long, value_name = "PREFIX")]
    key_prefix: Option<String>,
    /// A form field that must have this value, NAME=VALUE (repeatable), e.g. Content-Type=image/png.
    #[arg(long = "field", value_name = "NAME=VALUE")]
    fields: Vec<String>,
    /// A form field that must start with PREFIX, NAME=PREFIX (repeatable).
    #[arg(long = "starts-with", value_name = "NAME=PREFIX")]
    starts_with: Vec<String>,
    /// Accepted upload sizes in bytes, MIN:MAX.
    #[arg(long, value_name = "MIN:MAX")]
    content_length_range: Option<String>,
    /// How long the form is valid, in seconds (1 to 604800).
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    expires: u32,
    /// Signing region.
    #[arg(long)]
    region: String,
    /// The shared-config profile for credentials.
    #[arg(long)]
    profile: Option<String>,
    #[command(flatten)]
    pub clock: ClockArgs,
    #[command(flatten)]
    component: ComponentArgs,
    /// Sign at this fixed time (RFC 3339) instead of the clock.
    #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339, conflicts_with = "clock")]
    time: Option<std::time::SystemTime>,
}

fn pair(text: &str, what: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .filter(|(n, _)| !n.is_empty())
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("{what} {text:?} must be NAME=VALUE"))
}

/// The arguments, checked before anything runs (a bad one exits 2).
pub fn check(args: &PostPolicyArgs) -> Result<(), String> {
    if !(1..=604_800).contains(&args.expires) {
        return Err(format!(
            "--expires {} is out of range (1 to 604800 s, 7 days)",
            args.expires
        ));
    }
    conditions(args)?;
    args.clock.check()
}

/// The policy's conditions, and the fields the form must carry as given.
type Conditions = (Vec<Condition>, Vec<(String, String)>);

fn conditions(args: &PostPolicyArgs) -> Result<Conditions, String> {
    let field = |field: &str, value: &str| FieldMatch {
        field: field.into(),
        value: value.into(),
    };
    let mut conditions = vec![Condition::Equals(field("bucket", &args.bucket))];
    // Fields the form must carry as given: the caller sends them with the policy's.
    let mut form: Vec<(String, String)> = Vec::new();
    match (&args.key, &args.key_prefix) {
        (Some(key), _) => {
            conditions.push(Condition::Equals(field("key", key)));
            form.push(("key".into(), key.clone()));
        }
        (None, Some(prefix)) => conditions.push(Condition::StartsWith(field("key", prefix))),
        (None, None) => return Err("give --key KEY or --key-prefix PREFIX".into()),
    }
    for f in &args.fields {
        let (name, value) = pair(f, "--field")?;
        conditions.push(Condition::Equals(field(&name, &value)));
        form.push((name, value));
    }
    for f in &args.starts_with {
        let (name, prefix) = pair(f, "--starts-with")?;
        conditions.push(Condition::StartsWith(field(&name, &prefix)));
    }
    if let Some(range) = &args.content_length_range {
        let (min, max) = range
            .split_once(':')
            .and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)))
            .ok_or_else(|| format!("--content-length-range {range:?} must be MIN:MAX in bytes"))?;
        conditions.push(Condition::ContentLengthRange(LengthRange { min, max }));
    }
    Ok((conditions, form))
}

/// Prints a JSON object: `fields` (every form field to send before the file, in order),
/// `policy_document`, `signing_time`.
pub fn post_policy(args: PostPolicyArgs) -> Result<Vec<u8>, String> {
    let (conditions, form) = conditions(&args)?;
    let policy = Policy {
        expires_in: args.expires,
        conditions,
        region: args.region.clone(),
        service: "s3".into(),
    };
    let clock: std::sync::Arc<dyn realsig::TimeSource> = match args.time {
        Some(t) => std::sync::Arc::new(realsig::FixedClock(t)),
        None => std::sync::Arc::new(args.clock.chain()?),
    };
    // Refused when expired by the real time, like every signing command's.
    let provided = CredentialsCache::new(
        realsig::credentials::default_chain_on(args.profile.as_deref(), None, std::sync::Arc::clone(&clock)),
        std::sync::Arc::clone(&clock),
    )
    .credentials()
    .map_err(|e| e.to_string())?;
    let signer = args.component.signer(clock)?;
    let signed = signer
        .sign_post_policy(&policy, &provided.credentials)
        .map_err(|e| e.to_string())?;
    let mut fields = serde_json::Map::new();
    for (name, value) in form {
        fields.insert(name, value.into());
    }
    for f in &signed.fields {
        fields.insert(f.name.clone(), f.value.clone().into());
    }
    let since = signed.signing_time.seconds;
    let value = serde_json::json!({
        "fields": fields,
        "policy_document": signed.policy_document,
        "signing_time": crate::now::rfc3339(UNIX_EPOCH + Duration::from_secs(since)),
    });
    let mut out = serde_json::to_string_pretty(&value).unwrap_or_default();
    out.push('\n');
    Ok(out.into_bytes())
}
