//! `realsig`: sign AWS requests with the real time.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand, ValueEnum};
use realsig::http_text::RawRequest;
use realsig::{Credentials, FixedClock, Options, Payload, Placement, Request, Signed, Signer, SystemClock};
use sha2::{Digest, Sha256};

/// Sign AWS requests (SigV4) with the real time, through a sandboxed WebAssembly component.
#[derive(Parser)]
#[command(name = "realsig", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sign a raw HTTP/1.1 request (the format of the AWS test suites' request.txt).
    ///
    /// Credentials come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
    ///
    /// Example: printf 'GET / HTTP/1.1\nHost: example.amazonaws.com\n\n' |
    ///   realsig sign --request - --region us-east-1 --service service --format http
    Sign(SignArgs),
    /// Write the exact component this host embeds, for other hosts to run.
    ///
    /// Example: realsig component --out realsig.wasm
    Component {
        /// Where to write it.
        #[arg(long, value_name = "PATH")]
        out: PathBuf,
        /// Write the core wasm module the component was made from instead (for runtimes
        /// without component support, e.g. wazero).
        #[arg(long)]
        core: bool,
    },
}

#[derive(Args)]
struct SignArgs {
    /// The request file, or - for standard input.
    #[arg(long, value_name = "FILE|-")]
    request: String,
    /// Signing region, e.g. us-east-1.
    #[arg(long)]
    region: String,
    /// Signing service, e.g. s3.
    #[arg(long)]
    service: String,
    /// Sign at this fixed time (RFC 3339, e.g. 2015-08-30T12:36:00Z) instead of the clock.
    #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339)]
    time: Option<SystemTime>,
    /// Produce a presigned URL (signature in the query string) instead of headers.
    #[arg(long)]
    presign: bool,
    /// Validity of the presigned URL in seconds (1 to 604800).
    #[arg(long, value_name = "SECS", default_value_t = 900, requires = "presign")]
    expires: u32,
    /// Use this SHA-256 (hex) of the body instead of hashing the request's body.
    #[arg(long, value_name = "HEX", conflicts_with = "unsigned_payload")]
    payload_hash: Option<String>,
    /// Sign the literal UNSIGNED-PAYLOAD instead of the body's hash.
    #[arg(long)]
    unsigned_payload: bool,
    /// Add an x-amz-content-sha256 header (S3).
    #[arg(long)]
    content_sha256_header: bool,
    /// Do not percent-encode the path a second time (S3).
    #[arg(long)]
    no_double_encode: bool,
    /// Do not normalise the path (S3).
    #[arg(long)]
    no_normalize_path: bool,
    /// Add the session token after signing instead of signing it.
    #[arg(long)]
    omit_session_token: bool,
    /// Scheme of the request (the request file carries only the Host header).
    #[arg(long, default_value = "https", value_parser = ["https", "http"])]
    scheme: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Http)]
    format: Format,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// A JSON object: signature, headers, url, authorization, canonical_request,
    /// string_to_sign, signing_time.
    Json,
    /// The signed request as raw HTTP.
    Http,
}

fn parse_rfc3339(s: &str) -> Result<SystemTime, String> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("expected an RFC 3339 time like 2015-08-30T12:36:00Z ({e})"))?;
    Ok(SystemTime::from(t))
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            // One line, like every other error; `--help` has the details.
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or("error: bad arguments");
            eprintln!("realsig: {first} (see realsig --help)");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Sign(args) => sign(args),
        Command::Component { out, core } => {
            let bytes = if core { realsig::CORE_MODULE } else { realsig::COMPONENT };
            std::fs::write(&out, bytes)
                .map(|()| Vec::new())
                .map_err(|e| format!("cannot write {}: {e}", out.display()))
        }
    };
    match result {
        Ok(output) => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth a message.
            let _ = stdout.write_all(&output).and_then(|()| stdout.flush());
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("realsig: error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Signs and returns the complete output; nothing is printed unless everything succeeded.
fn sign(args: SignArgs) -> Result<Vec<u8>, String> {
    let text = read_input(&args.request)?;
    let raw = RawRequest::parse(&text).map_err(|e| e.to_string())?;
    let url = if raw.target.starts_with("http://") || raw.target.starts_with("https://") {
        raw.target.clone()
    } else {
        let host = raw
            .host()
            .ok_or("malformed request: no Host header (needed to build the URL)")?;
        format!("{}://{host}{}", args.scheme, raw.target)
    };
    let credentials = Credentials::from_env().map_err(|e| e.to_string())?;
    let payload = match (&args.payload_hash, args.unsigned_payload) {
        (Some(hash), _) => Payload::Sha256Hex(hash.clone()),
        (None, true) => Payload::Unsigned,
        // Hash in the host: native SHA-256 is several times faster than inside wasm.
        (None, false) if raw.body.is_empty() => Payload::Empty,
        (None, false) => Payload::Sha256Hex(hex::encode(Sha256::digest(&raw.body))),
    };
    let request = Request {
        method: raw.method.clone(),
        url,
        headers: raw.headers.clone(),
        payload,
        region: args.region,
        service: args.service,
        options: Options {
            placement: if args.presign {
                Placement::Query(args.expires)
            } else {
                Placement::Headers
            },
            double_uri_encode: !args.no_double_encode,
            normalize_path: !args.no_normalize_path,
            content_sha256_header: args.content_sha256_header,
            omit_session_token: args.omit_session_token,
            debug: true,
        },
    };
    let builder = Signer::builder();
    let builder = match args.time {
        Some(t) => builder.clock(FixedClock(t)),
        None => builder.clock(SystemClock),
    };
    let signer = builder.build().map_err(|e| e.to_string())?;
    let signed = signer.sign(&request, &credentials).map_err(|e| e.to_string())?;
    Ok(match args.format {
        Format::Http => raw.apply(&signed).to_text(),
        Format::Json => json(&signed).into_bytes(),
    })
}

fn read_input(path: &str) -> Result<Vec<u8>, String> {
    if path == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        Ok(buf)
    } else {
        std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))
    }
}

fn json(signed: &Signed) -> String {
    let since = signed.signing_time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let signing_time = time::OffsetDateTime::from(UNIX_EPOCH + Duration::from_secs(since.as_secs()))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
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
