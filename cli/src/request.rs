//! `realsig request`: sign and send, stream the response, correct clock skew once.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};
use realsig::chunked::{Checksum, ChunkedBody, DEFAULT_CHUNK_SIZE, MIN_CHUNK_SIZE, framed_length};
use realsig::clock::{SkewCorrected, human_duration};
use realsig::{ChunkedMode, Header, Options, Payload, Placement, Request, Signed, Upload};
use ureq::http;

use realsig_cli::apply::request_builder;
use realsig_cli::skew::{NO_CODE, ServiceError, skew, xml_tag};

use crate::args::{Body, HttpArgs, SigningArgs};
use crate::out::sanitize;
use crate::sign::{Described, sign_described};

/// Uploads at least this large show a progress bar on a terminal.
const PROGRESS_MIN: u64 = 1 << 20;

#[derive(Clone, Copy, ValueEnum)]
enum TrailerChecksum {
    Crc32,
    Crc32c,
    Sha256,
}

impl From<TrailerChecksum> for Checksum {
    fn from(c: TrailerChecksum) -> Self {
        match c {
            TrailerChecksum::Crc32 => Checksum::Crc32,
            TrailerChecksum::Crc32c => Checksum::Crc32c,
            TrailerChecksum::Sha256 => Checksum::Sha256,
        }
    }
}

#[derive(Args)]
pub struct RequestArgs {
    #[command(flatten)]
    http: HttpArgs,
    /// The URL to request.
    #[arg(value_name = "URL")]
    url: String,
    /// Write the response body to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Include the response status line and headers in the output.
    #[arg(short, long)]
    include: bool,
    /// Do not retry a clock-skew refusal with the server's time.
    #[arg(long)]
    no_skew_correction: bool,
    /// Upload the body as S3 aws-chunked, streamed and signed chunk by chunk
    /// (STREAMING-AWS4-HMAC-SHA256-PAYLOAD).
    #[arg(long)]
    chunked: bool,
    /// With --chunked: send this checksum of the data as a signed trailer
    /// (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER; with --unsigned-payload, the unsigned
    /// STREAMING-UNSIGNED-PAYLOAD-TRAILER).
    #[arg(long, value_enum, value_name = "ALGORITHM", requires = "chunked")]
    trailer_checksum: Option<TrailerChecksum>,
    /// With --chunked: the chunk size in bytes (S3 wants at least 8192).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_CHUNK_SIZE, requires = "chunked")]
    chunk_size: usize,
    /// The most resolving the host name, and then connecting, may each take, in seconds.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = crate::args::parse_seconds)]
    connect_timeout: Duration,
    /// The most any one read or write may wait, and the response's status and headers may
    /// take after the request is sent, in seconds (botocore's read_timeout is 60 too). A
    /// server that stops answering, or trickles its headers, fails the request.
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = crate::args::parse_seconds)]
    read_timeout: Duration,
    #[command(flatten)]
    signing: SigningArgs,
}

pub fn request(args: RequestArgs) -> ExitCode {
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            crate::out::err_line(&format!("realsig: error: {}", sanitize(&message)));
            ExitCode::FAILURE
        }
    }
}

/// The arguments, checked before anything runs (a bad one exits 2).
impl RequestArgs {
    /// A URL given as a path goes to the configured endpoint ([`crate::args::resolve_path_url`]).
    pub fn resolve_url(&mut self) -> Result<(), String> {
        crate::args::resolve_path_url(&mut self.url, &self.signing)
    }
}

pub fn check(args: &RequestArgs) -> Result<(), String> {
    args.http.check(&args.url)?;
    args.signing.check(crate::args::url_host(&args.url)?)?;
    if args.chunked {
        if args.chunk_size < MIN_CHUNK_SIZE {
            return Err(format!(
                "--chunk-size {} is below S3's smallest chunk, {MIN_CHUNK_SIZE} bytes",
                args.chunk_size
            ));
        }
        chunked_mode(args)?;
    }
    Ok(())
}

/// The HTTP agent: no redirects followed (a signed write must not turn into a GET
/// elsewhere, and the token must not travel to another host), and every wait bounded; the
/// exchange gets what is left of `--max-time` (`left`).
fn agent(args: &RequestArgs, left: Option<Duration>) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(left)
        .timeout_resolve(Some(args.connect_timeout))
        .timeout_connect(Some(args.connect_timeout))
        .timeout_per_read(Some(args.read_timeout))
        .timeout_per_write(Some(args.read_timeout))
        .timeout_recv_response(Some(args.read_timeout))
        .build()
        .into()
}

fn run(args: &RequestArgs) -> Result<(), String> {
    let started = realsig::clock::raw::monotonic();
    // What is left of --max-time: the credentials and every attempt share one budget.
    let left = || -> Result<Option<Duration>, String> {
        let Some(max) = args.signing.max_time else {
            return Ok(None);
        };
        let left = max.saturating_sub(realsig::clock::raw::monotonic().saturating_sub(started));
        if left.is_zero() {
            return Err(format!("--max-time {} s ran out", max.as_secs_f64()));
        }
        Ok(Some(left))
    };
    let described = Described::from_http(&args.http, &args.url)?;
    let clock = args.signing.clock()?;
    let mut signing_clock = Arc::clone(&clock);
    for attempt in 0..2 {
        let sent = clock.now().ok();
        let mut response = if args.chunked {
            send_chunked(&agent(args, left()?), &described, args, Arc::clone(&signing_clock))?
        } else {
            let (signed, _) = sign_described(
                &described,
                &args.signing,
                Placement::Headers,
                Arc::clone(&signing_clock),
            )?;
            send(&agent(args, left()?), &described, &signed)?
        };
        let received = clock.now().ok();
        let status = response.status();
        if status.is_redirection() && status != http::StatusCode::NOT_MODIFIED {
            return Err(redirect(args, &mut response));
        }
        if status.as_u16() < 400 {
            return write_response(args, &mut response);
        }
        let body = error_body(&mut response);
        let error = ServiceError::parse(response.headers(), &body);
        if attempt == 0 && !args.no_skew_correction {
            let times = sent.zip(received).map(|(s, r)| (s.time, r.time));
            if let Some((skew, from)) = times.and_then(|t| skew(&error, response.headers(), t)) {
                let size = Duration::from_nanos(u64::try_from(skew.unsigned_abs()).unwrap_or(u64::MAX));
                crate::out::err_line(&format!(
                    "realsig: clock skew: the server's clock is {} {} ours ({}, from its {from}); signing again with its time",
                    human_duration(size),
                    if skew < 0 { "behind" } else { "ahead of" },
                    sanitize(&error.code),
                ));
                signing_clock = Arc::new(SkewCorrected::new(Arc::clone(&clock), skew));
                continue;
            }
        }
        if args.include {
            let mut shown = head(&response);
            shown.extend_from_slice(&body);
            crate::out::stdout(&shown)?;
        }
        let message = if error.message.is_empty() {
            String::new()
        } else {
            format!(": {}", error.message)
        };
        return Err(format!("HTTP {} {}{message}", status.as_u16(), error.code));
    }
    unreachable!("the loop returns on its second attempt")
}

/// Signs the opening request of an aws-chunked upload and streams the body, each chunk
/// signed as it is read: the data is never held in memory.
fn send_chunked(
    agent: &ureq::Agent,
    described: &Described,
    args: &RequestArgs,
    clock: Arc<dyn realsig::TimeSource>,
) -> Result<http::Response<ureq::Body>, String> {
    let signing = &args.signing;
    let mode = chunked_mode(args)?;
    let checksum = args.trailer_checksum.map(Checksum::from);
    let (data, len): (Box<dyn Read + Send>, u64) = match &described.body {
        Body::Empty => (Box::new(std::io::empty()), 0),
        Body::Bytes(b) => (Box::new(std::io::Cursor::new(b.clone())), b.len() as u64),
        Body::File { path, len } => (
            Box::new(realsig::files::open_regular(path).map_err(|e| e.to_string())?.0),
            *len,
        ),
    };
    let host = crate::args::url_host(&described.url)?;
    let service = signing.service(host)?;
    let framed = framed_length(len, args.chunk_size, mode, checksum);
    let mut headers: Vec<Header> = described
        .headers
        .iter()
        .filter(|h| !h.name.eq_ignore_ascii_case("content-length"))
        .cloned()
        .collect();
    headers.push(Header {
        name: "content-length".into(),
        value: framed.to_string(),
    });
    let request = Request {
        method: described.method.clone(),
        url: described.url.clone(),
        headers,
        payload: Payload::Empty,
        options: Options {
            debug: true,
            ..signing.options(Placement::Headers)
        },
        region: signing.region(host)?,
        service,
    };
    let upload = Upload {
        mode,
        decoded_content_length: len,
        trailer: checksum.map(|c| c.header_name().to_owned()),
    };
    let provided = signing.credentials(&clock)?;
    let signer = signing.component.signer(Arc::clone(&clock))?;
    let (signed, chunks) = signer
        .start_chunked(&request, &provided.credentials, &upload)
        .map_err(|e| e.to_string())?;
    if signing.verbose {
        crate::args::explain(&signed, &provided, &*clock);
    }
    let chunks = (mode != ChunkedMode::UnsignedWithTrailer).then_some(chunks);
    let body = ChunkedBody::new(data, chunks, checksum, args.chunk_size);
    let builder = request_builder(&described.method, &request.headers, &signed);
    let request = builder
        .body(ureq::SendBody::from_owned_reader(body))
        .map_err(|e| e.to_string())?;
    agent.run(request).map_err(|e| format!("{}: {e}", described.url))
}

/// The aws-chunked variant the flags ask for.
fn chunked_mode(args: &RequestArgs) -> Result<ChunkedMode, String> {
    let signing = &args.signing;
    if signing.sigv4a || signing.payload_hash.is_some() {
        return Err("--chunked signs with SigV4 and hashes each chunk: drop --sigv4a and --payload-hash".into());
    }
    Ok(match (args.trailer_checksum.is_some(), signing.unsigned_payload) {
        (false, false) => ChunkedMode::Signed,
        (true, false) => ChunkedMode::SignedWithTrailer,
        (true, true) => ChunkedMode::UnsignedWithTrailer,
        (false, true) => return Err("--chunked --unsigned-payload needs --trailer-checksum".into()),
    })
}

/// The body of an error or redirect response, for its code and message: at most 1 MiB, and
/// empty if it cannot be read (the status is reported either way).
fn error_body(response: &mut http::Response<ureq::Body>) -> Vec<u8> {
    response
        .body_mut()
        .with_config()
        .limit(1 << 20)
        .read_to_vec()
        .unwrap_or_default()
}

/// What a redirect said, as the error `request` exits 1 with. Nothing is followed: the AWS
/// SDKs do not follow redirects of signed requests either (S3 answers 301
/// PermanentRedirect or 307 TemporaryRedirect with the right endpoint in the body).
fn redirect(args: &RequestArgs, response: &mut http::Response<ureq::Body>) -> String {
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let body = error_body(response);
    let error = ServiceError::parse(response.headers(), &body);
    if args.include {
        let mut shown = head(response);
        shown.extend_from_slice(&body);
        if let Err(e) = crate::out::stdout(&shown) {
            return e;
        }
    }
    let mut message = format!("HTTP {status} redirect, not followed");
    if let Some(location) = location {
        message += &format!(": Location {location}");
    }
    if error.code != NO_CODE {
        message += &format!(" ({}", error.code);
        if let Some(endpoint) = xml_tag(&String::from_utf8_lossy(&body), "Endpoint") {
            message += &format!(", endpoint {endpoint}");
        }
        message += ")";
    }
    if !error.message.is_empty() && error.code != NO_CODE {
        message += &format!(": {}", error.message);
    }
    message
}

fn send(agent: &ureq::Agent, described: &Described, signed: &Signed) -> Result<http::Response<ureq::Body>, String> {
    let builder = request_builder(&described.method, &described.headers, signed);
    let unreachable = |e: ureq::Error| format!("{}: {e}", described.url);
    let with_body = matches!(described.method.as_str(), "PUT" | "POST" | "PATCH");
    match &described.body {
        Body::Empty if !with_body => {
            let request = builder.body(()).map_err(|e| e.to_string())?;
            agent.run(request).map_err(unreachable)
        }
        Body::Empty => {
            let request = builder
                .header("content-length", "0")
                .body(&[][..])
                .map_err(|e| e.to_string())?;
            agent.run(request).map_err(unreachable)
        }
        Body::Bytes(bytes) => {
            let request = builder
                .header("content-length", bytes.len())
                .body(&bytes[..])
                .map_err(|e| e.to_string())?;
            agent.run(request).map_err(unreachable)
        }
        Body::File { path, len } => {
            // Streamed from the file with its length declared: never held in memory.
            let (file, _) = realsig::files::open_regular(path).map_err(|e| e.to_string())?;
            let reader: Box<dyn Read + Send> = if *len >= PROGRESS_MIN && std::io::stderr().is_terminal() {
                let bar = indicatif::ProgressBar::new(*len).with_style(
                    indicatif::ProgressStyle::with_template("{bytes}/{total_bytes} {wide_bar} {bytes_per_sec} {eta}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                Box::new(bar.wrap_read(file))
            } else {
                Box::new(file)
            };
            let request = builder
                .header("content-length", *len)
                .body(ureq::SendBody::from_owned_reader(reader))
                .map_err(|e| e.to_string())?;
            agent.run(request).map_err(unreachable)
        }
    }
}

fn head(response: &http::Response<ureq::Body>) -> Vec<u8> {
    let mut text = format!("{:?} {}\r\n", response.version(), response.status());
    for (name, value) in response.headers() {
        text += &format!("{name}: {}\r\n", String::from_utf8_lossy(value.as_bytes()));
    }
    text += "\r\n";
    text.into_bytes()
}

fn write_response(args: &RequestArgs, response: &mut http::Response<ureq::Body>) -> Result<(), String> {
    let head = args.include.then(|| head(response));
    let mut reader = response.body_mut().as_reader();
    // Read and write errors told apart: a server that stalls mid-body is not a full disk.
    let mut copy = |out: &mut dyn Write, target: &str| -> Result<(), String> {
        let write_err = |e: std::io::Error| format!("cannot write {target}: {e}");
        if let Some(head) = &head {
            out.write_all(head).map_err(write_err)?;
        }
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("the response body: {e}")),
            };
            out.write_all(&buf[..n]).map_err(write_err)?;
        }
        out.flush().map_err(write_err)
    };
    match &args.output {
        Some(path) => {
            let mut file = std::fs::File::create(path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            copy(&mut file, &path.display().to_string())
        }
        // A closed pipe too is an error exit: the response did not all arrive where it was sent.
        None => copy(&mut std::io::stdout().lock(), "the response"),
    }
}
