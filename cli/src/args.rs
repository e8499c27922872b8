//! Arguments shared by the commands that sign, and what they resolve to.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use clap::Args;
use realsig::clock::spec;
use realsig::credentials::{self, CredentialsCache, Provided, profile_region};
use realsig::files;
use realsig::{Chain, FixedClock, Header, Options, Payload, Placement, Signer, TimeSource};
use sha2::{Digest, Sha256};

use realsig_cli::service;

use crate::out;

/// Largest body read from standard input (`--data @-`): it is held in memory to be hashed
/// before sending. A file (`--data @FILE`) is streamed instead and has no cap.
pub const MAX_STDIN_BODY: u64 = 64 << 20;
/// Largest `--request` file, and largest `--component` (ours is about 200 KiB).
pub const MAX_INPUT_FILE: u64 = 64 << 20;

/// The process clock may be this far off before a signing command says so.
const DRIFT_WARNING: Duration = Duration::from_secs(30);

#[derive(Args)]
pub struct ClockArgs {
    /// Where the real time comes from: a comma-separated chain, first source with a
    /// trustworthy reading wins. Items: faketimefs[:PATH], faketimefs-static:PATH,
    /// ntp:HOST[:PORT][+HOST...], raw, system, fixed:RFC3339, default. Default: $REALSIG_CLOCK,
    /// else faketimefs (if $FAKETIME_REALTIME_FILE is set) then raw.
    #[arg(long, value_name = "SPEC")]
    pub clock: Option<String>,
}

impl ClockArgs {
    fn spec(&self) -> Option<String> {
        self.clock
            .clone()
            .or_else(|| std::env::var(spec::CLOCK_ENV).ok().filter(|s| !s.is_empty()))
    }

    /// Whether `--clock` (or `$REALSIG_CLOCK`) parses.
    pub fn check(&self) -> Result<(), String> {
        match self.spec() {
            Some(spec) => spec::parse(&spec).map(drop).map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }

    /// The chain, warning on standard error when the process clock is off and when a
    /// source is skipped for a later one (with the reason).
    pub fn chain(&self) -> Result<Chain, String> {
        let chain = match self.spec() {
            Some(spec) => spec::parse(&spec).map_err(|e| e.to_string())?,
            None => Chain::default_chain(),
        };
        Ok(chain
            .warn_on_drift(DRIFT_WARNING, |w| out::warn(&w.to_string()))
            .report_skips(|why| out::warn(&format!("time: {}", out::sanitize(why)))))
    }
}

/// Which component signs.
#[derive(Args)]
pub struct ComponentArgs {
    /// Sign with this component instead of the embedded one: any component implementing the
    /// realsig world that imports nothing but realsig:sigv4/real-time (checked on load). It
    /// runs under the same memory, time and output caps. Default: $REALSIG_COMPONENT.
    #[arg(long, value_name = "PATH", env = "REALSIG_COMPONENT")]
    pub component: Option<PathBuf>,
}

impl ComponentArgs {
    /// A signer on `clock` running the chosen component.
    pub fn signer(&self, clock: Arc<dyn TimeSource>) -> Result<Signer, String> {
        let mut builder = Signer::builder().shared_clock(clock);
        if let Some(path) = &self.component {
            let bytes = files::read_capped(path, MAX_INPUT_FILE).map_err(|e| format!("the component: {e}"))?;
            builder = builder.component(bytes);
        }
        builder.build().map_err(|e| match &self.component {
            Some(path) => format!("{}: {e}", path.display()),
            None => e.to_string(),
        })
    }
}

/// Who signs, where, how, and with which time.
#[derive(Args)]
pub struct SigningArgs {
    /// Signing region. Default: $AWS_REGION, $AWS_DEFAULT_REGION, the profile's region, then
    /// the region in an AWS host name.
    #[arg(long)]
    pub region: Option<String>,
    /// Signing service, e.g. s3. Default: inferred from an AWS host name.
    #[arg(long)]
    pub service: Option<String>,
    /// The shared-config profile for credentials and region (default: $AWS_PROFILE, else default).
    #[arg(long)]
    pub profile: Option<String>,
    #[command(flatten)]
    pub clock: ClockArgs,
    #[command(flatten)]
    pub component: ComponentArgs,
    /// Sign at this fixed time (RFC 3339, e.g. 2015-08-30T12:36:00Z) instead of the clock:
    /// shorthand for --clock fixed:RFC3339.
    #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339, conflicts_with = "clock")]
    pub time: Option<SystemTime>,
    /// Use this SHA-256 (hex) of the body instead of hashing the body.
    #[arg(long, value_name = "HEX", conflicts_with = "unsigned_payload")]
    pub payload_hash: Option<String>,
    /// Sign the literal UNSIGNED-PAYLOAD instead of the body's hash.
    #[arg(long)]
    pub unsigned_payload: bool,
    /// Add an x-amz-content-sha256 header (S3's rule: the component applies it for s3).
    #[arg(long)]
    pub content_sha256_header: bool,
    /// Do not percent-encode the path a second time: the path is an S3 key (S3's rule: the
    /// component applies it for s3).
    #[arg(long)]
    pub no_double_encode: bool,
    /// Do not normalise the path (S3's rule: the component applies it for s3).
    #[arg(long)]
    pub no_normalize_path: bool,
    /// Add the session token after signing instead of signing it.
    #[arg(long)]
    pub omit_session_token: bool,
    /// Sign with SigV4a (AWS4-ECDSA-P256-SHA256), e.g. for S3 multi-region access points.
    #[arg(long)]
    pub sigv4a: bool,
    /// The SigV4a region set: * or regions joined by commas (default: the region).
    #[arg(long, value_name = "LIST", requires = "sigv4a")]
    pub region_set: Option<String>,
    /// Show the canonical request, string to sign, time source and credential provider on
    /// standard error (secrets redacted).
    #[arg(short, long)]
    pub verbose: bool,
    /// The most the whole command may take, in seconds (credentials, then for `request` the
    /// exchange, body included), like curl's --max-time. Default: no overall limit; each
    /// credential source and each network read has its own.
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    pub max_time: Option<Duration>,
}

/// Seconds, e.g. `30` or `2.5`: positive and finite.
pub fn parse_seconds(s: &str) -> Result<Duration, String> {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0 && *v <= 1e9)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("expected a number of seconds like 30 or 2.5, got {s:?}"))
}

/// The curl-like request description.
#[derive(Args)]
pub struct HttpArgs {
    /// HTTP method (default GET, or POST with --data, as curl does).
    #[arg(short = 'X', long = "method", value_name = "METHOD")]
    pub method: Option<String>,
    /// A header to send and sign, 'Name: value' (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// The body: a string, @FILE, or @- for standard input.
    #[arg(short = 'd', long = "data", value_name = "STRING|@FILE|@-")]
    pub data: Option<String>,
}

impl HttpArgs {
    /// The URL and the headers are well formed.
    pub fn check(&self, url: &str) -> Result<(), String> {
        url_host(url)?;
        for h in &self.headers {
            parse_header(h)?;
        }
        Ok(())
    }
}

pub fn parse_rfc3339(s: &str) -> Result<SystemTime, String> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("expected an RFC 3339 time like 2015-08-30T12:36:00Z ({e})"))?;
    Ok(SystemTime::from(t))
}

/// A request body.
pub enum Body {
    Empty,
    Bytes(Vec<u8>),
    /// Streamed from the file, never held in memory.
    File {
        path: PathBuf,
        len: u64,
    },
}

impl Body {
    pub fn from_arg(data: Option<&str>) -> Result<Self, String> {
        Ok(match data {
            None => Body::Empty,
            Some("@-") => Body::Bytes(files::read_stdin(MAX_STDIN_BODY).map_err(|e| match e {
                files::FileError::TooLarge { .. } => {
                    format!("{e}: save it to a file and pass --data @FILE, which is streamed, not held in memory")
                }
                e => e.to_string(),
            })?),
            Some(at) if at.starts_with('@') => {
                let path = PathBuf::from(&at[1..]);
                // Never blocks on a FIFO; a device or a pipe is refused (use @- for stdin).
                let (_, len) = files::open_regular(&path).map_err(|e| e.to_string())?;
                Body::File { path, len }
            }
            Some(s) => Body::Bytes(s.as_bytes().to_vec()),
        })
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Body::Empty => true,
            Body::Bytes(b) => b.is_empty(),
            Body::File { len, .. } => *len == 0,
        }
    }

    /// SHA-256 (hex), streaming a file in 1 MiB reads: natively, several times faster than
    /// inside wasm (BENCHMARKS.md), and never the whole file in memory.
    pub fn sha256_hex(&self) -> Result<String, String> {
        let mut hasher = Sha256::new();
        match self {
            Body::Empty => {}
            Body::Bytes(b) => hasher.update(b),
            Body::File { path, .. } => {
                let (mut file, _) = files::open_regular(path).map_err(|e| e.to_string())?;
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    let n = file
                        .read(&mut buf)
                        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buf[..n]);
                }
            }
        }
        Ok(hex::encode(hasher.finalize()))
    }
}

/// `Name: value` → a header.
pub fn parse_header(text: &str) -> Result<Header, String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("header {text:?} has no colon (expected 'Name: value')"))?;
    Ok(Header {
        name: name.trim().to_owned(),
        value: value.trim().to_owned(),
    })
}

/// The host (no port) of an absolute http(s) URL.
/// A URL given as a path (`/bucket/key`) goes to the endpoint the AWS CLI would use for
/// `--service` (`AWS_ENDPOINT_URL_<SERVICE>`, the profile's `services` section,
/// `AWS_ENDPOINT_URL`, the profile's `endpoint_url`); a full URL is left alone. The signing
/// name stands for the service id in the variable's name (`s3` -> `AWS_ENDPOINT_URL_S3`).
pub fn resolve_path_url(url: &mut String, signing: &SigningArgs) -> Result<(), String> {
    if !url.starts_with('/') {
        return Ok(());
    }
    let Some(service) = &signing.service else {
        return Err(format!(
            "{url:?} is a path: give --service, so its endpoint URL can be found, or a full URL"
        ));
    };
    let id = service.to_ascii_uppercase().replace('-', "_");
    let endpoint = credentials::endpoint_url(service, signing.profile.as_deref()).ok_or_else(|| {
        format!(
            "{url:?} is a path and no endpoint is configured for {service}: set AWS_ENDPOINT_URL_{id} \
             (or AWS_ENDPOINT_URL, or endpoint_url in the profile), or give a full URL"
        )
    })?;
    *url = format!("{}{url}", endpoint.trim_end_matches('/'));
    Ok(())
}

pub fn url_host(url: &str) -> Result<&str, String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("malformed URL {url:?}: expected http:// or https://"))?;
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    };
    if host.is_empty() {
        return Err(format!("malformed URL {url:?}: no host"));
    }
    Ok(host)
}

impl SigningArgs {
    /// The service: `--service`, else what the host name says.
    pub fn service(&self, host: &str) -> Result<String, String> {
        if let Some(s) = &self.service {
            return Ok(s.clone());
        }
        service::infer(host)
            .map(|i| i.service)
            .ok_or_else(|| format!("cannot tell the AWS service from the host {host:?}: pass --service"))
    }

    /// The region: `--region`, the environment, the profile, then the host name (a global
    /// service's host, like sts.amazonaws.com, means us-east-1).
    pub fn region(&self, host: &str) -> Result<String, String> {
        if let Some(set) = &self.region_set {
            return Ok(set.clone());
        }
        let env = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        self.region
            .clone()
            .or_else(|| env("AWS_REGION"))
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .or_else(|| profile_region(self.profile.as_deref()))
            .or_else(|| service::infer(host).map(|i| i.region.unwrap_or_else(|| "us-east-1".into())))
            .ok_or_else(|| "no region: pass --region, or set AWS_REGION or a region in the profile".to_owned())
    }

    /// Signing options: the flags given, the rest left to the component's rules for the
    /// request's service.
    pub fn options(&self, placement: Placement) -> Options {
        Options {
            double_uri_encode: self.no_double_encode.then_some(false),
            normalize_path: self.no_normalize_path.then_some(false),
            content_sha256_header: self.content_sha256_header.then_some(true),
            placement,
            omit_session_token: self.omit_session_token,
            debug: true,
        }
    }

    /// The payload to sign for `body` (the component ignores it in an S3 presigned URL).
    pub fn payload(&self, body: &Body) -> Result<Payload, String> {
        Ok(match (&self.payload_hash, self.unsigned_payload) {
            (Some(hash), _) => Payload::Sha256Hex(hash.clone()),
            (None, true) => Payload::Unsigned,
            (None, false) if body.is_empty() => Payload::Empty,
            (None, false) => Payload::Sha256Hex(body.sha256_hex()?),
        })
    }

    /// Credentials from the AWS CLI's chain, each source's wait cut to `--max-time`;
    /// refused when they have expired by `clock` (the real time).
    pub fn credentials(&self, clock: &Arc<dyn TimeSource>) -> Result<Provided, String> {
        let chain = credentials::default_chain_on(self.profile.as_deref(), self.max_time, Arc::clone(clock));
        CredentialsCache::new(chain, Arc::clone(clock))
            .credentials()
            .map_err(|e| e.to_string())
    }

    /// The arguments' own checks for a request to `host`: a service and a region can be
    /// told, the clock spec parses.
    pub fn check(&self, host: &str) -> Result<(), String> {
        self.service(host)?;
        self.region(host)?;
        self.clock.check()
    }

    /// The time source: `--time`, else the clock chain.
    pub fn clock(&self) -> Result<Arc<dyn TimeSource>, String> {
        Ok(match self.time {
            Some(t) => Arc::new(FixedClock(t)),
            None => Arc::new(self.clock.chain()?),
        })
    }
}

/// `text` with the session token (and its percent-encoded form) replaced.
pub fn redact(text: &str, provided: &Provided) -> String {
    match provided.credentials.session_token() {
        Some(token) if !token.is_empty() => {
            let encoded = percent_encoding::utf8_percent_encode(token, NOT_UNRESERVED).to_string();
            text.replace(token, "** redacted **")
                .replace(&encoded, "** redacted **")
        }
        _ => text.to_owned(),
    }
}

/// Everything but RFC 3986's unreserved characters: how the token appears in a presigned query.
const NOT_UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `--verbose` lines for a signature.
pub fn explain(signed: &realsig::Signed, provided: &Provided, clock: &dyn TimeSource) {
    out::err_line(&format!(
        "realsig: credentials: {} (access key {})",
        provided.provider,
        provided.credentials.access_key_id()
    ));
    match clock.now() {
        Ok(r) => out::err_line(&format!(
            "realsig: time: {} from {} (uncertainty {}); process clock offset {} ms",
            realsig::clock::rfc3339(signed.signing_time),
            r.source,
            r.uncertainty
                .map_or("not bounded".into(), |u| format!("{:.3} ms", u.as_secs_f64() * 1e3)),
            realsig::clock::chain::process_offset_nanos(r.time) / 1_000_000
        )),
        Err(e) => out::err_line(&format!("realsig: time: {e}")),
    }
    if let Some(cr) = &signed.canonical_request {
        out::err_line(&format!("realsig: canonical request:\n{}", redact(cr, provided)));
    }
    if let Some(sts) = &signed.string_to_sign {
        out::err_line(&format!("realsig: string to sign:\n{sts}"));
    }
}
