//! `realsig proxy`: the command around [`realsig_cli::proxy::Proxy`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use realsig::chunked::MIN_CHUNK_SIZE;
use realsig::credentials::{self, CredentialsCache, profile_region};
use realsig::files;
use realsig_cli::proxy::{Config, Proxy, Upstream, describe};

use crate::args::{ClockArgs, ComponentArgs, MAX_INPUT_FILE, parse_seconds};
use crate::out;

/// The largest `--chunk-size`: one chunk per upload is held in memory.
const MAX_CHUNK_SIZE: usize = 8 << 20;

#[derive(Args)]
pub struct ProxyArgs {
    /// Where to listen for clients (plain HTTP; keep it on loopback or a pod's network).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Where to forward, e.g. https://s3.us-east-1.amazonaws.com or http://127.0.0.1:9000.
    /// Default: the request's Host over https, which must be an AWS endpoint.
    #[arg(long, value_name = "URL")]
    upstream: Option<String>,
    /// Signing service. Default: told from the upstream's (or Host's) AWS host name.
    #[arg(long)]
    service: Option<String>,
    /// Signing region. Default: $AWS_REGION, $AWS_DEFAULT_REGION, the profile's region, then
    /// the host name's.
    #[arg(long)]
    region: Option<String>,
    /// The shared-config profile for credentials and region (default: $AWS_PROFILE, else default).
    #[arg(long)]
    profile: Option<String>,
    /// Sign with SigV4a (S3 multi-region access points); bodies are buffered and hashed.
    #[arg(long)]
    sigv4a: bool,
    /// The SigV4a region set: * or regions joined by commas (default: the region).
    #[arg(long, value_name = "LIST", requires = "sigv4a")]
    region_set: Option<String>,
    /// Stream every request body as it is, signed UNSIGNED-PAYLOAD (S3 over TLS), instead of
    /// aws-chunked or buffering to hash it.
    #[arg(long)]
    unsigned_payload: bool,
    /// The largest body held in memory to be hashed, for services without aws-chunked
    /// (bytes; larger ones get 413).
    #[arg(long, value_name = "BYTES", default_value_t = 16 << 20)]
    max_body: usize,
    /// The aws-chunked chunk size in bytes (S3 wants at least 8192); one chunk per upload is
    /// held in memory.
    #[arg(long, value_name = "BYTES", default_value_t = realsig::chunked::DEFAULT_CHUNK_SIZE)]
    chunk_size: usize,
    /// The admin endpoints' address: /healthz and /metrics (Prometheus text).
    #[arg(long, value_name = "ADDR:PORT")]
    admin: Option<SocketAddr>,
    /// Connecting to the upstream (TCP and TLS) may take this long, in seconds.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_seconds)]
    connect_timeout: Duration,
    /// The upstream's response headers may take this long after the request, and a
    /// client's request headers this long, in seconds.
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = parse_seconds)]
    header_timeout: Duration,
    /// The longest silence inside a body, either way, in seconds.
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = parse_seconds)]
    idle_timeout: Duration,
    /// Client connections served at once; more wait to be accepted.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    max_connections: u32,
    /// After SIGTERM or SIGINT, in-flight requests may take this long to finish, in seconds.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_seconds)]
    shutdown_grace: Duration,
    /// Do not retry a clock-skew refusal with the upstream's time.
    #[arg(long)]
    no_skew_correction: bool,
    /// Trust these PEM certificates too for https upstreams (beside the platform's and
    /// webpki's roots).
    #[arg(long, value_name = "FILE")]
    upstream_ca: Option<PathBuf>,
    #[command(flatten)]
    clock: ClockArgs,
    #[command(flatten)]
    component: ComponentArgs,
}

impl ProxyArgs {
    fn config(&self) -> Result<Config, String> {
        let env = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        let region = self
            .region_set
            .clone()
            .or_else(|| self.region.clone())
            .or_else(|| env("AWS_REGION"))
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .or_else(|| profile_region(self.profile.as_deref()));
        if !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&self.chunk_size) {
            return Err(format!(
                "--chunk-size {} is outside {MIN_CHUNK_SIZE}..={MAX_CHUNK_SIZE} (S3's smallest chunk, and what one upload may hold)",
                self.chunk_size
            ));
        }
        Ok(Config {
            upstream: self.upstream.as_deref().map(Upstream::parse).transpose()?,
            service: self.service.clone(),
            region,
            sigv4a: self.sigv4a,
            unsigned_payload: self.unsigned_payload,
            max_body: self.max_body,
            chunk_size: self.chunk_size,
            connect_timeout: self.connect_timeout,
            header_timeout: self.header_timeout,
            idle_timeout: self.idle_timeout,
            max_connections: self.max_connections as usize,
            shutdown_grace: self.shutdown_grace,
            skew_correction: !self.no_skew_correction,
            upstream_ca: self.upstream_ca.clone(),
        })
    }
}

/// The arguments clap cannot judge, checked before anything runs (a bad one exits 2).
pub fn check(args: &ProxyArgs) -> Result<(), String> {
    args.config()?;
    args.clock.check()
}

pub fn proxy(args: ProxyArgs) -> ExitCode {
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            out::err_line(&format!("realsig: error: {}", out::sanitize(&message)));
            ExitCode::FAILURE
        }
    }
}

fn run(args: ProxyArgs) -> Result<(), String> {
    let config = args.config()?;
    let clock: Arc<dyn realsig::TimeSource> = Arc::new(args.clock.chain()?);
    let chain = credentials::default_chain_on(args.profile.as_deref(), None, Arc::clone(&clock));
    let cache = Arc::new(CredentialsCache::new(chain, Arc::clone(&clock)));
    let component = match &args.component.component {
        Some(path) => Some(
            files::read_capped(path, MAX_INPUT_FILE).map_err(|e| format!("the component {}: {e}", path.display()))?,
        ),
        None => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("realsig-proxy")
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        // Handlers first: a SIGTERM the moment the proxy is up must stop it gracefully.
        let shutdown = shutdown_signal()?;
        // The signer is compiled and the TLS roots loaded before the port opens, so a
        // client that can connect is served at once.
        let proxy = Proxy::new(config.clone(), clock, cache, component)?;
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let admin = match args.admin {
            Some(addr) => Some(
                tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|e| format!("cannot listen on {addr} (--admin): {e}"))?,
            ),
            None => None,
        };
        let listen = listener.local_addr().map_err(|e| e.to_string())?;
        let admin_addr = admin.as_ref().and_then(|l| l.local_addr().ok());
        out::err_line(&format!("realsig proxy: {}", describe(listen, &config, admin_addr)));
        proxy
            .serve(listener, admin, shutdown)
            .await
            .map_err(|e| format!("the proxy failed: {e}"))?;
        out::err_line("realsig proxy: stopped");
        Ok(())
    })
}

/// Resolves on SIGTERM (what Kubernetes and Docker send) or SIGINT (Ctrl-C); the handlers
/// are installed now.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, String> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(|e| format!("cannot handle SIGTERM: {e}"))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| format!("cannot handle SIGINT: {e}"))?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}
