//! `realsig`: sign AWS requests with the real time.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand, ValueEnum};
use realsig::clock::chain::process_offset_nanos;
use realsig::clock::{human_duration, spec};
use realsig::http_text::RawRequest;
use realsig::{
    Chain, Credentials, FixedClock, Options, Payload, Placement, Reading, Request, Signed, Signer, TimeSource,
};
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
    /// Show the real time the signer would use, where it came from, and how far the process
    /// clock is off.
    ///
    /// Every source of the chain is read and shown; the first with a reading is the one
    /// signing uses. Exits 1 when none has one.
    ///
    /// Example: faketime -f '-3d' realsig now --clock ntp:127.0.0.1:11126,raw --format json
    Now(NowArgs),
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
    #[command(flatten)]
    clock: ClockArgs,
    /// Sign at this fixed time (RFC 3339, e.g. 2015-08-30T12:36:00Z) instead of the clock:
    /// shorthand for --clock fixed:RFC3339.
    #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339, conflicts_with = "clock")]
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

#[derive(Args)]
struct ClockArgs {
    /// Where the real time comes from: a comma-separated chain, first source with a
    /// trustworthy reading wins. Items: faketimefs[:PATH], faketimefs-static:PATH,
    /// ntp:HOST[:PORT][+HOST...], raw, system, fixed:RFC3339, default. Default: $REALSIG_CLOCK,
    /// else faketimefs (if $FAKETIME_REALTIME_FILE is set) then raw.
    #[arg(long, value_name = "SPEC")]
    clock: Option<String>,
}

impl ClockArgs {
    /// The chain to sign with, warning on standard error when the process clock is off.
    fn chain(&self) -> Result<Chain, String> {
        let spec = self
            .clock
            .clone()
            .or_else(|| std::env::var(spec::CLOCK_ENV).ok().filter(|s| !s.is_empty()));
        let chain = match spec {
            Some(spec) => spec::parse(&spec).map_err(|e| e.to_string())?,
            None => Chain::default_chain(),
        };
        Ok(chain.warn_on_drift(DRIFT_WARNING, |w| eprintln!("realsig: warning: {w}")))
    }
}

/// The process clock may be this far off before `sign` says so (AWS allows 5 minutes).
const DRIFT_WARNING: Duration = Duration::from_secs(30);

#[derive(Args)]
struct NowArgs {
    #[command(flatten)]
    clock: ClockArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = NowFormat::Text)]
    format: NowFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum NowFormat {
    /// Lines for people.
    Text,
    /// A JSON object: unix_ms, time, source, uncertainty_ms, trusted, offset_ms (process
    /// clock minus real time), sources (each source's reading or error).
    Json,
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
        Command::Now(args) => now(&args),
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
        None => builder.clock(args.clock.chain()?),
    };
    let signer = builder.build().map_err(|e| e.to_string())?;
    let signed = signer.sign(&request, &credentials).map_err(|e| e.to_string())?;
    Ok(match args.format {
        Format::Http => raw.apply(&signed).to_text(),
        Format::Json => json(&signed).into_bytes(),
    })
}

/// `realsig now`: every source's reading; the first good one is the chain's choice.
fn now(args: &NowArgs) -> Result<Vec<u8>, String> {
    let chain = args.clock.chain()?;
    let survey = chain.survey();
    let chosen = survey.iter().find_map(|(_, r)| r.as_ref().ok());
    let offset_nanos = chosen.map(|r| process_offset_nanos(r.time));
    let text = match args.format {
        NowFormat::Json => {
            let sources: Vec<_> = survey
                .iter()
                .map(|(name, result)| match result {
                    Ok(r) => reading_json(name, r),
                    Err(e) => serde_json::json!({ "name": name, "error": e.reason() }),
                })
                .collect();
            let mut value = match chosen {
                Some(r) => reading_json(&r.source, r),
                None => serde_json::json!({}),
            };
            value["offset_ms"] = offset_nanos.map(|n| (n / 1_000_000) as i64).into();
            value["sources"] = sources.into();
            let mut s = serde_json::to_string_pretty(&value).unwrap_or_default();
            s.push('\n');
            s
        }
        NowFormat::Text => {
            let mut s = String::new();
            if let (Some(r), Some(offset)) = (chosen, offset_nanos) {
                s += &format!("{}  from {} ({})\n", rfc3339(r.time), r.source, uncertainty_text(r));
                let size = Duration::from_nanos(u64::try_from(offset.unsigned_abs()).unwrap_or(u64::MAX));
                let side = if offset < 0 { "behind" } else { "ahead of" };
                s += &format!("process clock: {} {side} it\n", human_duration(size));
            }
            s += "sources, in order:\n";
            for (name, result) in &survey {
                match result {
                    Ok(r) => s += &format!("  {name}: {} ({})\n", rfc3339(r.time), uncertainty_text(r)),
                    Err(e) => s += &format!("  {name}: error: {}\n", e.reason()),
                }
            }
            s
        }
    };
    match chosen {
        Some(_) => Ok(text.into_bytes()),
        None => {
            // The survey still helps: print it, then fail.
            eprint!("{text}");
            let tried: Vec<String> = survey
                .iter()
                .filter_map(|(name, r)| r.as_ref().err().map(|e| format!("{name}: {}", e.reason())))
                .collect();
            Err(format!("no source has a trustworthy time (tried {})", tried.join("; ")))
        }
    }
}

fn reading_json(name: &str, r: &Reading) -> serde_json::Value {
    let since = r.time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    serde_json::json!({
        "name": name,
        "source": &*r.source,
        "unix_ms": since.as_millis() as u64,
        "time": rfc3339(r.time),
        "uncertainty_ms": r.uncertainty.map(|u| u.as_secs_f64() * 1e3),
        "trusted": r.trusted,
    })
}

fn uncertainty_text(r: &Reading) -> String {
    let bound = match r.uncertainty {
        Some(u) => format!("± {:.3} ms", u.as_secs_f64() * 1e3),
        None => "uncertainty not bounded by the source".into(),
    };
    if r.trusted {
        bound
    } else {
        format!("{bound}; untrusted: the process clock")
    }
}

fn rfc3339(t: SystemTime) -> String {
    time::OffsetDateTime::from(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
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
