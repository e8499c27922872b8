//! `realsig sign` and `realsig presign`: sign, print, send nothing.

use std::io::Read;

use base64::Engine as _;
use std::time::{Duration, UNIX_EPOCH};

use clap::{Args, ValueEnum};
use realsig::{Header, Placement, Request, Signed};
use realsig_cli::http_text::RawRequest;

use crate::args::{self, Body, HttpArgs, SigningArgs};

/// Longest presigned URL validity AWS accepts: 7 days.
const MAX_EXPIRES: u32 = 604_800;

#[derive(Args)]
pub struct SignArgs {
    /// A raw HTTP/1.1 request file (the format of the AWS test suites' request.txt), or -
    /// for standard input, instead of the curl-like URL form.
    #[arg(long, value_name = "FILE|-", conflicts_with_all = ["url", "method", "headers", "data"])]
    request: Option<String>,
    #[command(flatten)]
    http: HttpArgs,
    /// The URL to sign (curl-like form).
    #[arg(value_name = "URL", required_unless_present = "request")]
    url: Option<String>,
    #[command(flatten)]
    signing: SigningArgs,
    /// Produce a presigned URL (signature in the query string) instead of headers.
    #[arg(long)]
    presign: bool,
    /// Validity of the presigned URL in seconds (1 to 604800).
    #[arg(long, value_name = "SECS", default_value_t = 900, requires = "presign")]
    expires: u32,
    /// Scheme of a --request file's URL (the file carries only the Host header).
    #[arg(long, default_value = "https", value_parser = ["https", "http"])]
    scheme: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Http)]
    format: Format,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// The signed request as raw HTTP.
    Http,
    /// Only the headers to add, one `name: value` per line.
    Headers,
    /// A JSON object: signature, headers, url, authorization, canonical_request,
    /// string_to_sign, signing_time.
    Json,
    /// A ready-to-run curl command line.
    Curl,
}

#[derive(Args)]
pub struct PresignArgs {
    #[command(flatten)]
    http: HttpArgs,
    /// The URL to presign.
    #[arg(value_name = "URL")]
    url: String,
    /// Validity in seconds (1 to 604800, 7 days).
    #[arg(long, value_name = "SECS", default_value_t = 900)]
    expires: u64,
    #[command(flatten)]
    signing: SigningArgs,
}

/// A request to sign, in either form.
pub struct Described {
    pub method: String,
    pub url: String,
    pub headers: Vec<Header>,
    pub body: Body,
}

impl Described {
    pub fn from_http(http: &HttpArgs, url: &str) -> Result<Self, String> {
        args::url_host(url)?;
        let body = Body::from_arg(http.data.as_deref())?;
        let method = http
            .method
            .clone()
            .unwrap_or_else(|| if http.data.is_some() { "POST" } else { "GET" }.into());
        let headers = http
            .headers
            .iter()
            .map(|h| args::parse_header(h))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            method,
            url: url.to_owned(),
            headers,
            body,
        })
    }

    fn from_file(path: &str, scheme: &str) -> Result<(Self, RawRequest), String> {
        let text = read_input(path)?;
        let raw = RawRequest::parse(&text).map_err(|e| e.to_string())?;
        let url = raw.url(scheme).map_err(|e| e.to_string())?;
        let described = Self {
            method: raw.method.clone(),
            url,
            headers: raw.headers.clone(),
            body: Body::Bytes(raw.body.clone()),
        };
        Ok((described, raw))
    }

    /// The request as raw HTTP text (for `--format http` in the URL form).
    fn raw(&self) -> Result<RawRequest, String> {
        let after_scheme = self.url.split_once("://").map_or("", |(_, rest)| rest);
        let split = after_scheme.find(['/', '?']).unwrap_or(after_scheme.len());
        let (authority, target) = after_scheme.split_at(split);
        let mut headers = self.headers.clone();
        if !headers.iter().any(|h| h.name.eq_ignore_ascii_case("host")) {
            headers.insert(
                0,
                Header {
                    name: "host".into(),
                    value: authority.into(),
                },
            );
        }
        let body = match &self.body {
            Body::Empty => Vec::new(),
            Body::Bytes(b) => b.clone(),
            Body::File { path, .. } => {
                let (mut file, _) = realsig::files::open_regular(path).map_err(|e| e.to_string())?;
                let mut bytes = Vec::new();
                file.read_to_end(&mut bytes)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                bytes
            }
        };
        Ok(RawRequest {
            method: self.method.clone(),
            target: if target.is_empty() { "/".into() } else { target.into() },
            headers,
            body,
        })
    }
}

/// Signs `described` with `signing`'s settings; returns what was signed and the credentials.
pub fn sign_described(
    described: &Described,
    signing: &SigningArgs,
    placement: Placement,
    clock: std::sync::Arc<dyn realsig::TimeSource>,
) -> Result<(Signed, realsig::credentials::Provided), String> {
    let host = args::url_host(&described.url)?;
    let service = signing.service(host)?;
    let region = signing.region(host)?;
    let request = Request {
        method: described.method.clone(),
        url: described.url.clone(),
        headers: described.headers.clone(),
        payload: signing.payload(&described.body)?,
        options: signing.options(placement),
        region,
        service,
    };
    let provided = signing.credentials(&clock)?;
    let signer = signing.component.signer(std::sync::Arc::clone(&clock))?;
    let signed = if signing.sigv4a {
        signer.sign_sigv4a(&request, &provided.credentials)
    } else {
        signer.sign(&request, &provided.credentials)
    }
    .map_err(|e| e.to_string())?;
    if signing.verbose {
        args::explain(&signed, &provided, &*clock);
    }
    Ok((signed, provided))
}

pub fn sign(args: SignArgs) -> Result<Vec<u8>, String> {
    let (described, raw) = match (&args.request, &args.url) {
        (Some(path), _) => {
            let (d, raw) = Described::from_file(path, &args.scheme)?;
            (d, Some(raw))
        }
        (None, Some(url)) => (Described::from_http(&args.http, url)?, None),
        (None, None) => return Err("give a URL or --request FILE".into()),
    };
    let placement = if args.presign {
        Placement::Query(args.expires)
    } else {
        Placement::Headers
    };
    let clock = args.signing.clock()?;
    let (signed, _) = sign_described(&described, &args.signing, placement, clock)?;
    Ok(match args.format {
        Format::Http => {
            let raw = match raw {
                Some(raw) => raw,
                None => described.raw()?,
            };
            raw.apply(&signed).to_text()
        }
        Format::Headers => signed
            .headers
            .iter()
            .map(|h| format!("{}: {}\n", h.name, h.value))
            .collect::<String>()
            .into_bytes(),
        Format::Json => json(&signed).into_bytes(),
        Format::Curl => curl(&described, &signed).into_bytes(),
    })
}

pub fn presign(args: PresignArgs) -> Result<Vec<u8>, String> {
    let expires = check_expires(args.expires)?;
    let described = Described::from_http(&args.http, &args.url)?;
    let clock = args.signing.clock()?;
    let (signed, _) = sign_described(&described, &args.signing, Placement::Query(expires), clock)?;
    Ok(format!("{}\n", signed.url).into_bytes())
}

/// A `--request` file, or standard input for `-`: never a FIFO or a device, at most
/// [`args::MAX_INPUT_FILE`].
fn read_input(path: &str) -> Result<Vec<u8>, String> {
    let read = if path == "-" {
        realsig::files::read_stdin(args::MAX_INPUT_FILE)
    } else {
        realsig::files::read_capped(std::path::Path::new(path), args::MAX_INPUT_FILE)
    };
    read.map_err(|e| e.to_string())
}

/// `sign`'s arguments, checked before anything runs (a bad one exits 2).
impl SignArgs {
    /// A URL given as a path goes to the configured endpoint ([`args::resolve_path_url`]).
    pub fn resolve_url(&mut self) -> Result<(), String> {
        match &mut self.url {
            Some(url) => args::resolve_path_url(url, &self.signing),
            None => Ok(()),
        }
    }
}

impl PresignArgs {
    /// A URL given as a path goes to the configured endpoint ([`args::resolve_path_url`]).
    pub fn resolve_url(&mut self) -> Result<(), String> {
        args::resolve_path_url(&mut self.url, &self.signing)
    }
}

pub fn check_sign(args: &SignArgs) -> Result<(), String> {
    if args.presign {
        check_expires(u64::from(args.expires))?;
    }
    match &args.url {
        Some(url) if args.request.is_none() => {
            args.http.check(url)?;
            args.signing.check(args::url_host(url)?)
        }
        _ => args.signing.clock.check(),
    }
}

/// `presign`'s arguments, checked before anything runs.
pub fn check_presign(args: &PresignArgs) -> Result<(), String> {
    check_expires(args.expires)?;
    args.http.check(&args.url)?;
    args.signing.check(args::url_host(&args.url)?)
}

fn check_expires(expires: u64) -> Result<u32, String> {
    u32::try_from(expires)
        .ok()
        .filter(|e| (1..=MAX_EXPIRES).contains(e))
        .ok_or_else(|| format!("expiry out of range: {expires} s (a presigned URL lasts 1 to {MAX_EXPIRES} s, 7 days)"))
}

/// POSIX single-quoting.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A ready-to-run curl command that sends exactly the signed request, body byte for byte.
///
/// The body never goes on curl's command line as data: `--data-binary '@...'` would make
/// curl upload a local file, and a shell argument cannot hold every byte. Text is piped in
/// with `printf '%s'`; anything else (control characters, invalid UTF-8, NUL) as base64 in a
/// here-document. curl then reads it with `--data-binary @-`, which sends it unchanged.
/// curl's default `Content-Type: application/x-www-form-urlencoded` is switched off unless
/// the request has one, so the body is not relabelled.
fn curl(described: &Described, signed: &Signed) -> String {
    let mut parts = vec!["curl".to_owned(), "-X".into(), quote(&described.method)];
    let added = |name: &str| signed.headers.iter().any(|h| h.name.eq_ignore_ascii_case(name));
    for h in described.headers.iter().filter(|h| !added(&h.name)) {
        parts.push("-H".into());
        parts.push(quote(&format!("{}: {}", h.name, h.value)));
    }
    for h in &signed.headers {
        parts.push("-H".into());
        parts.push(quote(&format!("{}: {}", h.name, h.value)));
    }
    let has_content_type = added("content-type")
        || described
            .headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case("content-type"));
    if !described.body.is_empty() && !has_content_type {
        parts.push("-H".into());
        parts.push(quote("Content-Type:"));
    }
    let (mut before, mut after) = (String::new(), String::new());
    match &described.body {
        Body::Empty => {}
        Body::Bytes(b) if b.is_empty() => {}
        Body::Bytes(b) => {
            parts.push("--data-binary".into());
            parts.push("@-".into());
            match std::str::from_utf8(b) {
                Ok(text) if text.chars().all(|c| c == '\n' || c == '\t' || !c.is_control()) => {
                    before = format!("printf '%s' {} | ", quote(text));
                }
                _ => {
                    before = "base64 -d <<'REALSIG_BODY' | ".into();
                    let encoded = base64::engine::general_purpose::STANDARD.encode(b);
                    after.push('\n');
                    for line in encoded.as_bytes().chunks(76) {
                        after.push_str(&String::from_utf8_lossy(line));
                        after.push('\n');
                    }
                    after.push_str("REALSIG_BODY");
                }
            }
        }
        Body::File { path, .. } => {
            parts.push("--data-binary".into());
            parts.push(quote(&format!("@{}", path.display())));
        }
    }
    parts.push(quote(&signed.url));
    format!("{before}{}{after}\n", parts.join(" "))
}

fn json(signed: &Signed) -> String {
    let since = signed.signing_time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let signing_time = crate::now::rfc3339(UNIX_EPOCH + Duration::from_secs(since.as_secs()));
    let value = serde_json::json!({
        "signature": signed.signature,
        "headers": signed.headers.iter().map(|h| [&h.name, &h.value]).collect::<Vec<_>>(),
        "url": signed.url,
        "authorization": signed.authorization(),
        "canonical_request": signed.canonical_request,
        "string_to_sign": signed.string_to_sign,
        "signing_time": signing_time,
    });
    let mut s = serde_json::to_string_pretty(&value).unwrap_or_default();
    s.push('\n');
    s
}
