//! `realsig`: sign AWS requests with the real time.

mod args;
mod now;
mod out;
mod post_policy;
mod proxy_cmd;
mod request;
mod sign;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::LazyLock;

use clap::{CommandFactory, Parser, Subcommand};
use clap_complete::Shell;
use sha2::{Digest, Sha256};

/// `realsig --version`: the CLI's version and the SHA-256 of the component it embeds (the
/// bytes `realsig component` writes), so a report names the exact signing code.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{} (component sha256 {})",
        env!("CARGO_PKG_VERSION"),
        hex::encode(Sha256::digest(realsig::COMPONENT))
    )
});

/// Sign AWS requests (SigV4) with the real time, through a sandboxed WebAssembly component.
///
/// Credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, web identity
/// (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN), the shared files (--profile, AWS_PROFILE:
/// static keys, credential_process, role_arn with source_profile or credential_source, SSO),
/// the ECS container endpoint (and EKS Pod Identity), EC2 IMDSv2 — the AWS CLI's order. A URL
/// given as a path (/bucket/key) goes to AWS_ENDPOINT_URL_<SERVICE> or AWS_ENDPOINT_URL. Time: see --clock on each command and `realsig now`.
#[derive(Parser)]
#[command(name = "realsig", version = VERSION.as_str(), about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// `verbatim_doc_comment` on the commands with examples: clap would join the example lines
// into one paragraph.
#[derive(Subcommand)]
enum Command {
    #[command(verbatim_doc_comment)]
    /// Sign a request and print it (or its headers, JSON, or a curl command); send nothing.
    ///
    /// Examples:
    ///   realsig sign https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15
    ///   realsig sign -X PUT --data @photo.jpg --format curl https://bucket.s3.us-west-2.amazonaws.com/photo.jpg
    ///   realsig sign --request req.http --region us-east-1 --service execute-api --format json
    Sign(sign::SignArgs),
    #[command(verbatim_doc_comment)]
    /// Print a presigned URL (default valid 900 s, at most 7 days).
    ///
    /// Example: realsig presign --expires 3600 https://bucket.s3.eu-west-1.amazonaws.com/report.pdf
    Presign(sign::PresignArgs),
    #[command(verbatim_doc_comment)]
    /// Sign and send a request, streaming the response body; exit 1 on HTTP 400 and above.
    ///
    /// A clock-skew refusal (RequestTimeTooSkewed, SignatureDoesNotMatch with a skewed Date,
    /// ...) is retried once with the time the server's Date says, as the AWS SDKs do.
    ///
    /// Examples:
    ///   realsig request https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15
    ///   realsig request -X PUT --data @backup.tar https://bucket.s3.us-east-1.amazonaws.com/backup.tar
    ///   realsig request -o report.pdf https://bucket.s3.eu-west-1.amazonaws.com/report.pdf
    ///   realsig request -X PUT --data @big.iso --chunked --trailer-checksum crc32c https://bucket.s3.us-east-1.amazonaws.com/big.iso
    Request(request::RequestArgs),
    #[command(verbatim_doc_comment)]
    /// Sign an S3 POST policy for a browser-based upload form; print the form fields (JSON).
    ///
    /// Example: realsig post-policy --bucket photos --key-prefix user/1/ --content-length-range 0:10485760 --region us-east-1
    PostPolicy(post_policy::PostPolicyArgs),
    #[command(verbatim_doc_comment)]
    /// Run a signing reverse proxy: it signs clients' requests with the real time and forwards them.
    ///
    /// Clients send plain (or wrongly signed) requests; bodies stream both ways. Their
    /// authorization, x-amz-date, x-amz-security-token, x-amz-content-sha256 and presign
    /// query parameters are removed, so a client with dummy keys or a wrong clock works.
    /// S3 uploads with a content-length stream as aws-chunked, each 64 KiB chunk signed;
    /// other services' bodies are held (up to --max-body) to be hashed.
    /// SIGTERM stops it gracefully. It keeps no state: scale it as replicas.
    ///
    /// Examples:
    ///   realsig proxy --upstream https://s3.us-east-1.amazonaws.com --admin 127.0.0.1:9090
    ///   AWS_ENDPOINT_URL=http://127.0.0.1:8080 aws s3 cp big.iso s3://bucket/
    ///   realsig proxy --listen 0.0.0.0:8005 --upstream https://aps-workspaces.us-east-1.amazonaws.com --service aps
    Proxy(proxy_cmd::ProxyArgs),
    #[command(verbatim_doc_comment)]
    /// Show the real time the signer would use, where it came from, and how far the process
    /// clock is off.
    ///
    /// Every source of the chain is read and shown; the first with a reading is the one
    /// signing uses. Exits 1 when none has one.
    ///
    /// Example: faketime -f '-3d' realsig now --clock ntp:127.0.0.1:11126,raw --format json
    Now(now::NowArgs),
    #[command(verbatim_doc_comment)]
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
    #[command(verbatim_doc_comment)]
    /// Print a shell completion script (generated from these definitions by clap_complete).
    ///
    /// Examples:
    ///   realsig completions bash > /etc/bash_completion.d/realsig
    ///   realsig completions zsh > "${fpath[1]}/_realsig"
    ///   realsig completions fish > ~/.config/fish/completions/realsig.fish
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: Shell,
    },
    #[command(verbatim_doc_comment)]
    /// Print the man page, realsig(1), as roff (generated from these definitions by clap_mangen).
    ///
    /// Example: realsig man > /usr/local/share/man/man1/realsig.1
    Man,
}

fn main() -> ExitCode {
    let mut cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            // One line, like every other error; `--help` has the details.
            let rendered = e.render().to_string();
            let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
            let mut first = lines.next().unwrap_or("error: bad arguments").to_owned();
            // "the following required arguments were not provided:" names them on the next line.
            if first.ends_with(':')
                && let Some(next) = lines.next()
            {
                first = format!("{first} {next}");
            }
            out::err_line(&format!("realsig: {first} (see realsig --help)"));
            return ExitCode::from(2);
        }
    };
    // Arguments clap cannot judge (a URL, a header, a --clock spec, a range) are checked
    // before anything runs, so a bad one exits 2 like clap's own errors, not 1.
    let resolved = match &mut cli.command {
        Command::Sign(args) => args.resolve_url(),
        Command::Presign(args) => args.resolve_url(),
        Command::Request(args) => args.resolve_url(),
        _ => Ok(()),
    };
    let checked = resolved.and_then(|()| match &cli.command {
        Command::Sign(args) => sign::check_sign(args),
        Command::Presign(args) => sign::check_presign(args),
        Command::Request(args) => request::check(args),
        Command::Now(args) => args.clock.check(),
        Command::PostPolicy(args) => post_policy::check(args),
        Command::Proxy(args) => proxy_cmd::check(args),
        Command::Component { .. } | Command::Completions { .. } | Command::Man => Ok(()),
    });
    if let Err(message) = checked {
        out::err_line(&format!(
            "realsig: error: {} (see realsig --help)",
            out::sanitize(&message)
        ));
        return with_stderr(ExitCode::from(2));
    }
    let result = match cli.command {
        Command::Sign(args) => sign::sign(args),
        Command::Presign(args) => sign::presign(args),
        Command::Request(args) => return with_stderr(request::request(args)),
        Command::Proxy(args) => return with_stderr(proxy_cmd::proxy(args)),
        Command::Now(args) => now::now(&args),
        Command::PostPolicy(args) => post_policy::post_policy(args),
        Command::Component { out, core } => {
            let bytes = if core { realsig::CORE_MODULE } else { realsig::COMPONENT };
            std::fs::write(&out, bytes)
                .map(|()| Vec::new())
                .map_err(|e| format!("cannot write {}: {e}", out.display()))
        }
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "realsig", &mut script);
            Ok(script)
        }
        Command::Man => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut page)
                .map(|()| page)
                .map_err(|e| format!("cannot render the man page: {e}"))
        }
    };
    finish(result)
}

/// Prints the output (nothing unless everything succeeded) or the one-line error. A write
/// that fails (a full disk, a closed pipe) is an error exit, never a silent success.
fn finish(result: Result<Vec<u8>, String>) -> ExitCode {
    let code = match result.and_then(|output| out::stdout(&output)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            out::err_line(&format!("realsig: error: {}", out::sanitize(&message)));
            ExitCode::FAILURE
        }
    };
    with_stderr(code)
}

/// `code`, unless a write to standard error failed: then failure (the lost message may
/// have been the warning that mattered).
fn with_stderr(code: ExitCode) -> ExitCode {
    if out::stderr_ok() { code } else { ExitCode::FAILURE }
}
