//! `realsig proxy`: a signing reverse proxy. Clients that cannot load a plug-in (curl, the
//! AWS CLI v2 binary, Prometheus remote-write, a JVM app) send plain or wrongly signed
//! requests to it; it removes their signature, signs each request with the real time and
//! credentials from the AWS chain, and forwards it, streaming bodies both ways.
//!
//! # Design
//! - **hyper on tokio**, HTTP/1.1 both ways; rustls (ring) to `https` upstreams with the
//!   platform's roots and webpki's (and `--upstream-ca`). No HTTP is written by hand.
//! - **The signature is the component's**: the [`realsig::Signer`] the other commands use,
//!   on the same time chain; credentials from the same chain behind one
//!   [`CredentialsCache`], refreshed on a blocking thread so no request waits on another's
//!   network call longer than the cache's single flight.
//! - **Bodies stream**: an S3 upload with a `content-length` is framed as aws-chunked and
//!   each 64 KiB chunk is signed as it fills ([`body::AwsChunked`]), or passed as it is under
//!   `UNSIGNED-PAYLOAD` (`--unsigned-payload`); responses pass frame by frame. A service whose
//!   signature covers the body's hash has the body buffered, up to `--max-body`.
//! - **Every wait is bounded**: connect, response headers (either way), and the silence
//!   inside a body ([`body::Idle`]). An upstream that cannot be reached or fails is a 502 and
//!   one that does not answer a 504, each with a one-line text body naming the cause.
//! - **Stateless**: nothing is kept between requests but the credentials cache and pooled
//!   upstream connections, so scaling out is more replicas behind any load balancer.
//! - **Nothing secret is logged**: log lines carry the method, the path (never the query,
//!   which can hold a presigned URL's token), the status and the cause.

mod admin;
mod body;
mod forward;

use std::borrow::Cow;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use realsig::chunked::framed_length;
use realsig::clock::SkewCorrected;
use realsig::credentials::{CredentialsCache, CredentialsError, Provided};
use realsig::{ChunkSigner, ChunkedMode, Header, Options, Payload, Placement, Signed, Signer, TimeSource, Upload};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

pub use admin::Metrics;
use body::{AwsChunked, BoxError, Idle, IdleTimeout, WrongLength};
pub use forward::Upstream;

use crate::service;
use crate::skew::{ServiceError, skew};

/// The body type of everything the proxy sends.
type ProxyBody = UnsyncBoxBody<Bytes, BoxError>;
type UpstreamClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, ProxyBody>;

/// The most of an upstream's error response read to look for a clock-skew refusal.
const MAX_ERROR_BODY: usize = 1 << 20;
/// The client already framed its body as unsigned aws-chunked with a trailer (botocore over
/// TLS): the framing needs no signature of its own, so it passes through.
const UNSIGNED_TRAILER: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";

/// How the proxy runs. [`Config::default`] has the CLI's defaults.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where requests go; `None`: to the request's `Host` over https, which must then be an
    /// AWS endpoint (the proxy does not sign for arbitrary hosts).
    pub upstream: Option<Upstream>,
    /// The signing service; `None`: told from the upstream's host name.
    pub service: Option<String>,
    /// The signing region (or the SigV4a region set); `None`: told from the host name.
    pub region: Option<String>,
    /// Sign with SigV4a.
    pub sigv4a: bool,
    /// Stream request bodies under `UNSIGNED-PAYLOAD` instead of signing their hash.
    pub unsigned_payload: bool,
    /// The largest body buffered to be hashed (services without aws-chunked).
    pub max_body: usize,
    /// aws-chunked chunk size.
    pub chunk_size: usize,
    /// TCP (and TLS) connect to the upstream.
    pub connect_timeout: Duration,
    /// Response headers after the request was sent; also a client's request headers, and
    /// how long an idle client connection stays open.
    pub header_timeout: Duration,
    /// The longest silence inside a body, either way.
    pub idle_timeout: Duration,
    /// Client connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// How long in-flight requests may take to finish after the shutdown signal.
    pub shutdown_grace: Duration,
    /// Retry a clock-skew refusal once with the upstream's time (bodies that can be replayed).
    pub skew_correction: bool,
    /// Extra PEM roots trusted for `https` upstreams.
    pub upstream_ca: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            upstream: None,
            service: None,
            region: None,
            sigv4a: false,
            unsigned_payload: false,
            max_body: 16 << 20,
            chunk_size: realsig::chunked::DEFAULT_CHUNK_SIZE,
            connect_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
            shutdown_grace: Duration::from_secs(30),
            skew_correction: true,
            upstream_ca: None,
        }
    }
}

/// A refused or failed request: the status and the one line the client reads.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    message: String,
}

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    fn response(&self) -> Response<ProxyBody> {
        let mut response = Response::new(full(format!("realsig proxy: {}\n", self.message)));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert("content-type", HeaderValue::from_static("text/plain; charset=utf-8"));
        headers.insert("x-realsig-proxy-error", HeaderValue::from(self.status.as_u16()));
        response
    }
}

fn full(bytes: impl Into<Bytes>) -> ProxyBody {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed_unsync()
}

fn empty() -> ProxyBody {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

/// An error and its sources, as one line.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text += &format!(": {next}");
        }
        source = s.source();
    }
    text
}

/// Whether `e` (or one of its sources) is a `T`.
fn caused_by<'e, T: std::error::Error + 'static>(e: &'e (dyn std::error::Error + 'static)) -> Option<&'e T> {
    let mut current = Some(e);
    while let Some(e) = current {
        if let Some(t) = e.downcast_ref::<T>() {
            return Some(t);
        }
        current = e.source();
    }
    None
}

/// How the request body will be signed, decided from its headers before it is read.
enum Plan {
    /// No body.
    Empty,
    /// Read whole (at most `max_body`) and hashed.
    Hash,
    /// Streamed as aws-chunked, `len` bytes of data.
    Chunked(u64),
    /// Streamed as it is: `UNSIGNED-PAYLOAD`, or the client's own unsigned aws-chunked
    /// framing (`Some(upload)`).
    Raw(Option<Upload>),
}

/// The request body as it will be sent.
enum Outgoing {
    Empty,
    /// Hashed, and kept: it can be sent again.
    Hashed(Bytes),
    Chunked(u64),
    Raw(Option<Upload>),
}

/// The proxy: configuration, signer, credentials, the upstream connection pool, metrics.
pub struct Proxy {
    config: Config,
    signer: Signer,
    /// The plugin component, if any, for a signer on a skew-corrected clock.
    component: Option<Vec<u8>>,
    clock: Arc<dyn TimeSource>,
    credentials: Arc<CredentialsCache>,
    client: UpstreamClient,
    metrics: Metrics,
}

impl Proxy {
    /// A proxy signing with `component` (the built-in one if `None`) on `clock`, with
    /// `credentials` (a cache on the same clock).
    pub fn new(
        config: Config,
        clock: Arc<dyn TimeSource>,
        credentials: Arc<CredentialsCache>,
        component: Option<Vec<u8>>,
    ) -> Result<Self, String> {
        let signer = signer_on(Arc::clone(&clock), component.as_deref())?;
        let client = upstream_client(&config)?;
        Ok(Self {
            config,
            signer,
            component,
            clock,
            credentials,
            client,
            metrics: Metrics::new(),
        })
    }

    /// Serves `listener` (and the admin endpoints on `admin`) until `shutdown` completes;
    /// then stops accepting, lets in-flight requests finish for the grace period, and returns.
    pub async fn serve(
        self,
        listener: TcpListener,
        admin: Option<TcpListener>,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let proxy = Arc::new(self);
        // Warm the credentials off the request path; a failure shows in /healthz and in
        // the first request's 503.
        let warm = Arc::clone(&proxy);
        tokio::task::spawn_blocking(move || {
            if let Err(e) = warm.credentials.credentials() {
                log(&format!("no credentials yet: {e}"));
            }
        });
        let (stop_admin, admin_stopped) = tokio::sync::watch::channel(false);
        let admin_task = admin.map(|listener| tokio::spawn(serve_admin(Arc::clone(&proxy), listener, admin_stopped)));
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let permits = Arc::new(Semaphore::new(proxy.config.max_connections));
        tokio::pin!(shutdown);
        loop {
            let permit = tokio::select! {
                permit = Arc::clone(&permits).acquire_owned() => permit.expect("the semaphore is never closed"),
                () = &mut shutdown => break,
            };
            let (stream, _) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // EMFILE and the like: wait for connections to close, keep serving.
                        log(&format!("accept failed: {e}"));
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let _ = stream.set_nodelay(true);
            let conn_proxy = Arc::clone(&proxy);
            let service = hyper::service::service_fn(move |req| Arc::clone(&conn_proxy).handle(req));
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(proxy.config.header_timeout)
                .serve_connection(TokioIo::new(stream), service);
            let watched = graceful.watch(conn);
            let open = Arc::clone(&proxy);
            open.metrics.connections.inc();
            tokio::spawn(async move {
                // A connection's own error (a client gone mid-request) ends only it.
                let _ = watched.await;
                open.metrics.connections.dec();
                drop(permit);
            });
        }
        drop(listener); // new connections are refused from here
        log("shutting down: no new connections; waiting for in-flight requests");
        let grace = proxy.config.shutdown_grace;
        if tokio::time::timeout(grace, graceful.shutdown()).await.is_err() {
            log(&format!(
                "{} s grace period over with requests still in flight; closing them",
                grace.as_secs_f64()
            ));
        }
        let _ = stop_admin.send(true);
        if let Some(task) = admin_task {
            let _ = task.await;
        }
        Ok(())
    }
}

impl Proxy {
    /// One client request: forwarded and answered, or refused with a one-line reason.
    async fn handle(self: Arc<Self>, request: Request<Incoming>) -> Result<Response<ProxyBody>, Infallible> {
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let response = match self.forward(request).await {
            Ok(response) => response,
            Err(refusal) => {
                log(&format!(
                    "{method} {path}: {} {}",
                    refusal.status.as_u16(),
                    refusal.message
                ));
                refusal.response()
            }
        };
        self.metrics
            .requests
            .get_or_create(&admin::StatusLabels {
                status: response.status().as_u16(),
            })
            .inc();
        Ok(response)
    }

    async fn forward(&self, request: Request<Incoming>) -> Result<Response<ProxyBody>, Refusal> {
        let (parts, body) = request.into_parts();
        let upstream = match &self.config.upstream {
            Some(upstream) => Cow::Borrowed(upstream),
            None => Cow::Owned(self.upstream_from_host(&parts.headers)?),
        };
        // The host name is read only for what the flags did not give.
        let inferred = (self.config.service.is_none() || self.config.region.is_none())
            .then(|| service::infer(&upstream.host))
            .flatten();
        let service = self
            .config
            .service
            .clone()
            .or_else(|| inferred.as_ref().map(|i| i.service.clone()))
            .ok_or_else(|| {
                Refusal::new(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "cannot tell the AWS service from the host {:?}: start the proxy with --service",
                        upstream.host
                    ),
                )
            })?;
        let region = self
            .config
            .region
            .clone()
            .or_else(|| inferred.map(|i| i.region.unwrap_or_else(|| "us-east-1".into())))
            .ok_or_else(|| {
                Refusal::new(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "cannot tell the region from the host {:?}: start the proxy with --region",
                        upstream.host
                    ),
                )
            })?;
        let url = upstream.url(parts.uri.path(), parts.uri.query());
        let mut headers = vec![Header {
            name: "host".into(),
            value: upstream.authority.clone(),
        }];
        for (name, value) in &parts.headers {
            if !forward::forwarded(name.as_str(), &parts.headers) {
                continue;
            }
            let value = value.to_str().map_err(|_| {
                Refusal::new(
                    StatusCode::BAD_REQUEST,
                    format!("the {name} header is not visible ASCII text, which SigV4 cannot sign"),
                )
            })?;
            headers.push(Header {
                name: name.as_str().to_owned(),
                value: value.to_owned(),
            });
        }
        let mut body = Some(body);
        let plan = match self.plan(&service, &parts, body.as_ref())? {
            Plan::Empty => Outgoing::Empty,
            Plan::Hash => Outgoing::Hashed(self.read_body(take(&mut body)?, is_s3(&service)).await?),
            Plan::Chunked(len) => Outgoing::Chunked(len),
            Plan::Raw(upload) => Outgoing::Raw(upload),
        };
        let mut signer = self.signer.clone();
        let mut retried = false;
        loop {
            let mut request = realsig::Request {
                method: parts.method.as_str().to_owned(),
                url: url.clone(),
                headers: headers.clone(),
                payload: Payload::Empty,
                options: Options {
                    placement: Placement::Headers,
                    ..Options::default()
                },
                region: region.clone(),
                service: service.clone(),
            };
            let mut upload = None;
            match &plan {
                Outgoing::Empty => {}
                Outgoing::Hashed(bytes) => {
                    set_header(&mut request.headers, "content-length", bytes.len().to_string());
                    request.payload = Payload::Sha256Hex(hex::encode(Sha256::digest(bytes)));
                }
                Outgoing::Chunked(len) => {
                    let framed = framed_length(*len, self.config.chunk_size, ChunkedMode::Signed, None);
                    set_header(&mut request.headers, "content-length", framed.to_string());
                    upload = Some(Upload {
                        mode: ChunkedMode::Signed,
                        decoded_content_length: *len,
                        trailer: None,
                    });
                }
                Outgoing::Raw(Some(client_framed)) => upload = Some(client_framed.clone()),
                Outgoing::Raw(None) => request.payload = Payload::Unsigned,
            }
            // For an upload the component sets content-encoding (aws-chunked first, another
            // coding kept), x-amz-decoded-content-length and x-amz-trailer itself.
            let (signed, chunks) = self.sign(&signer, &request, upload.as_ref()).await?;
            let out_body = match &plan {
                Outgoing::Empty => empty(),
                Outgoing::Hashed(bytes) => full(bytes.clone()),
                Outgoing::Chunked(len) => {
                    let client = Idle::new(take(&mut body)?, self.config.idle_timeout, "the client");
                    let chunks = chunks.expect("a chunked upload has a chunk signer");
                    let framed = framed_length(*len, self.config.chunk_size, ChunkedMode::Signed, None);
                    AwsChunked::new(client, chunks, self.config.chunk_size, *len, framed).boxed_unsync()
                }
                Outgoing::Raw(_) => Idle::new(take(&mut body)?, self.config.idle_timeout, "the client").boxed_unsync(),
            };
            let outgoing = build(&parts.method, &request.headers, &signed, out_body)?;
            // The round trip is timed on the real clock only when a skew refusal could be retried.
            let may_retry =
                !retried && self.config.skew_correction && matches!(plan, Outgoing::Empty | Outgoing::Hashed(_));
            let real_now = || may_retry.then(|| self.clock.now().ok().map(|r| r.time)).flatten();
            let sent = real_now();
            let started = Instant::now();
            let response = self.send(&upstream, outgoing).await?;
            self.metrics.upstream_seconds.observe(started.elapsed().as_secs_f64());
            let received = real_now();
            let status = response.status().as_u16();
            if may_retry && matches!(status, 400 | 401 | 403) {
                let (head, incoming) = response.into_parts();
                let error_body = Limited::new(
                    Idle::new(incoming, self.config.idle_timeout, "the upstream"),
                    MAX_ERROR_BODY,
                )
                .collect()
                .await
                .map_err(|e| self.upstream_failed(&upstream, &*e))?
                .to_bytes();
                let error = ServiceError::parse(&head.headers, &error_body);
                if let Some((skew, from)) = sent.zip(received).and_then(|t| skew(&error, &head.headers, t)) {
                    self.metrics.skew_retries.inc();
                    log(&format!(
                        "clock skew: {} says its clock is {:.1} s {} ours ({}, from its {from}); signing again with its time",
                        upstream.authority,
                        (skew.unsigned_abs() as f64) / 1e9,
                        if skew < 0 { "behind" } else { "ahead of" },
                        error.code,
                    ));
                    let skewed: Arc<dyn TimeSource> = Arc::new(SkewCorrected::new(Arc::clone(&self.clock), skew));
                    signer = signer_on(skewed, self.component.as_deref())
                        .map_err(|e| Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, e))?;
                    retried = true;
                    continue;
                }
                return Ok(to_client(http::Response::from_parts(head, full(error_body))));
            }
            let (head, incoming) = response.into_parts();
            let streamed = Idle::new(incoming, self.config.idle_timeout, "the upstream").boxed_unsync();
            return Ok(to_client(http::Response::from_parts(head, streamed)));
        }
    }

    /// Without `--upstream`: the request's Host, over https, if it is an AWS endpoint.
    fn upstream_from_host(&self, headers: &http::HeaderMap) -> Result<Upstream, Refusal> {
        let host = headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .ok_or_else(|| Refusal::new(StatusCode::BAD_REQUEST, "no Host header, and no --upstream to send to"))?;
        let upstream = Upstream::for_host("https", host)
            .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, format!("Host: {e}")))?;
        if service::infer(&upstream.host).is_none() {
            return Err(Refusal::new(
                StatusCode::FORBIDDEN,
                format!(
                    "{:?} is not an AWS endpoint: without --upstream the proxy signs only for AWS host names",
                    upstream.host
                ),
            ));
        }
        Ok(upstream)
    }

    /// How the body will be signed and sent.
    fn plan(&self, service: &str, parts: &http::request::Parts, body: Option<&Incoming>) -> Result<Plan, Refusal> {
        use http_body::Body as _;
        let Some(body) = body.filter(|b| !b.is_end_stream()) else {
            return Ok(Plan::Empty);
        };
        let headers = &parts.headers;
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        // hyper's reading of the framing: a content-length beside transfer-encoding is not one.
        let length = body.size_hint().exact();
        let s3 = is_s3(service);
        if let Some(client_sha) = header("x-amz-content-sha256").filter(|v| v.starts_with("STREAMING-")) {
            // The client framed its body as aws-chunked itself.
            if client_sha != UNSIGNED_TRAILER || self.config.sigv4a {
                return Err(Refusal::new(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "the client sent an aws-chunked body signed as {client_sha}: its chunk signatures are its \
                         own and cannot be re-signed; send the plain body (the proxy frames and signs it)"
                    ),
                ));
            }
            let decoded = header("x-amz-decoded-content-length")
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| {
                    Refusal::new(
                        StatusCode::BAD_REQUEST,
                        "an aws-chunked body needs x-amz-decoded-content-length",
                    )
                })?;
            return Ok(Plan::Raw(Some(Upload {
                mode: ChunkedMode::UnsignedWithTrailer,
                decoded_content_length: decoded,
                trailer: header("x-amz-trailer").map(|t| t.trim().to_ascii_lowercase()),
            })));
        }
        if self.config.unsigned_payload {
            return Ok(Plan::Raw(None));
        }
        match length {
            Some(len) if s3 && !self.config.sigv4a && is_object_upload(parts) => Ok(Plan::Chunked(len)),
            Some(len) if len > self.config.max_body as u64 => Err(self.too_large(s3)),
            _ => Ok(Plan::Hash),
        }
    }

    fn too_large(&self, s3: bool) -> Refusal {
        let hint = if s3 {
            "send a content-length with an object upload (it is then streamed as aws-chunked), or start the proxy \
             with --unsigned-payload"
        } else {
            "this service's signature covers the body's SHA-256, so the body is held to be hashed; raise --max-body"
        };
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the body is larger than --max-body ({} bytes): {hint}",
                self.config.max_body
            ),
        )
    }

    /// Reads a body that must be hashed before signing, at most `--max-body`.
    async fn read_body(&self, body: Incoming, s3: bool) -> Result<Bytes, Refusal> {
        let limited = Limited::new(
            Idle::new(body, self.config.idle_timeout, "the client"),
            self.config.max_body,
        );
        match limited.collect().await {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => Err(self.too_large(s3)),
            Err(e) if caused_by::<IdleTimeout>(&*e).is_some() => {
                Err(Refusal::new(StatusCode::REQUEST_TIMEOUT, chain(&*e)))
            }
            Err(e) => Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                format!("reading the request body: {}", chain(&*e)),
            )),
        }
    }

    /// Credentials (refreshed on a blocking thread when due), the real time, the signature.
    async fn sign(
        &self,
        signer: &Signer,
        request: &realsig::Request,
        upload: Option<&Upload>,
    ) -> Result<(Signed, Option<ChunkSigner>), Refusal> {
        let started = Instant::now();
        let provided = match self.credentials.cached() {
            Some(p) => p,
            None => {
                let cache = Arc::clone(&self.credentials);
                tokio::task::spawn_blocking(move || cache.credentials())
                    .await
                    .map_err(|e| Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, format!("credentials: {e}")))?
                    .map_err(|e| {
                        self.metrics.credential_failures.inc();
                        match e {
                            CredentialsError::Clock(why) => {
                                Refusal::new(StatusCode::SERVICE_UNAVAILABLE, format!("no trustworthy time: {why}"))
                            }
                            e => Refusal::new(StatusCode::SERVICE_UNAVAILABLE, format!("no credentials: {e}")),
                        }
                    })?
            }
        };
        let signed = sign_with(signer, request, &provided, upload, self.config.sigv4a).map_err(|e| match &e {
            realsig::Error::Rejected(r) if r.kind() == "clock-unavailable" => Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("no trustworthy time: {}", r.message()),
            ),
            realsig::Error::Rejected(_) => {
                Refusal::new(StatusCode::BAD_REQUEST, format!("cannot sign this request: {e}"))
            }
            _ => Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, format!("the signer failed: {e}")),
        })?;
        self.metrics.signing_seconds.observe(started.elapsed().as_secs_f64());
        Ok(signed)
    }

    /// Sends to the upstream; its response headers within the header timeout.
    async fn send(&self, upstream: &Upstream, request: Request<ProxyBody>) -> Result<Response<Incoming>, Refusal> {
        let wait = self.config.connect_timeout + self.config.header_timeout;
        match tokio::time::timeout(wait, self.client.request(request)).await {
            Err(_) => Err(Refusal::new(
                StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "the upstream {} sent no response within {} s",
                    upstream.authority,
                    wait.as_secs_f64()
                ),
            )),
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) => Err(self.upstream_failed(upstream, &e)),
        }
    }

    /// What an upstream exchange's failure tells the client: its own body's fault (400,
    /// 408), the upstream's (502), or a connect timeout (504).
    fn upstream_failed(&self, upstream: &Upstream, e: &(dyn std::error::Error + 'static)) -> Refusal {
        let text = chain(e);
        if let Some(wrong) = caused_by::<WrongLength>(e) {
            return Refusal::new(StatusCode::BAD_REQUEST, wrong.to_string());
        }
        if let Some(idle) = caused_by::<IdleTimeout>(e) {
            let status = if idle.to_string().starts_with("the client") {
                StatusCode::REQUEST_TIMEOUT
            } else {
                StatusCode::GATEWAY_TIMEOUT
            };
            return Refusal::new(status, idle.to_string());
        }
        let connect = e
            .downcast_ref::<hyper_util::client::legacy::Error>()
            .is_some_and(hyper_util::client::legacy::Error::is_connect);
        if connect && text.contains("timed out") {
            return Refusal::new(
                StatusCode::GATEWAY_TIMEOUT,
                format!("cannot connect to the upstream {}: {text}", upstream.authority),
            );
        }
        if connect {
            return Refusal::new(
                StatusCode::BAD_GATEWAY,
                format!("cannot connect to the upstream {}: {text}", upstream.authority),
            );
        }
        Refusal::new(
            StatusCode::BAD_GATEWAY,
            format!("the upstream {} failed mid-exchange: {text}", upstream.authority),
        )
    }
}

/// The S3 family, whose uploads can stream as aws-chunked.
fn is_s3(service: &str) -> bool {
    matches!(service, "s3" | "s3-object-lambda" | "s3-outposts" | "s3express")
}

/// PutObject or UploadPart: the two S3 operations that take an aws-chunked body (the AWS
/// SDKs stream only these). Every other S3 body (CompleteMultipartUpload, DeleteObjects, a
/// bucket's configuration) is small and is hashed instead.
fn is_object_upload(parts: &http::request::Parts) -> bool {
    parts.method == Method::PUT
        && parts.uri.query().map(forward::strip_presign).is_none_or(|query| {
            query
                .split('&')
                .filter(|p| !p.is_empty())
                .all(|p| matches!(p.split('=').next(), Some("partNumber" | "uploadId")))
        })
}

/// The one signing call for each kind of request.
fn sign_with(
    signer: &Signer,
    request: &realsig::Request,
    provided: &Provided,
    upload: Option<&Upload>,
    sigv4a: bool,
) -> Result<(Signed, Option<ChunkSigner>), realsig::Error> {
    match upload {
        Some(upload) => signer
            .start_chunked(request, &provided.credentials, upload)
            .map(|(s, c)| (s, Some(c))),
        None if sigv4a => signer.sign_sigv4a(request, &provided.credentials).map(|s| (s, None)),
        None => signer.sign(request, &provided.credentials).map(|s| (s, None)),
    }
}

fn set_header(headers: &mut Vec<Header>, name: &str, value: String) {
    headers.retain(|h| !h.name.eq_ignore_ascii_case(name));
    headers.push(Header {
        name: name.into(),
        value,
    });
}

fn take(body: &mut Option<Incoming>) -> Result<Incoming, Refusal> {
    body.take().ok_or_else(|| {
        Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "a streamed body cannot be sent twice",
        )
    })
}

/// The request to send, the signature applied, with `body`.
fn build(method: &Method, headers: &[Header], signed: &Signed, body: ProxyBody) -> Result<Request<ProxyBody>, Refusal> {
    crate::apply::request_builder(method.as_str(), headers, signed)
        .body(body)
        .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, format!("cannot forward this request: {e}")))
}

/// An upstream response as the client gets it: hop-by-hop headers removed.
fn to_client(mut response: Response<ProxyBody>) -> Response<ProxyBody> {
    forward::strip_hop_by_hop(response.headers_mut());
    response
}

/// A signer on `clock`, running `component` (else the built-in one), warmed up.
fn signer_on(clock: Arc<dyn TimeSource>, component: Option<&[u8]>) -> Result<Signer, String> {
    let mut builder = Signer::builder().shared_clock(clock);
    if let Some(bytes) = component {
        builder = builder.component(bytes.to_vec());
    }
    let signer = builder.build().map_err(|e| e.to_string())?;
    signer.instantiate_once().map_err(|e| e.to_string())?;
    Ok(signer)
}

/// The pooled HTTP/1.1 client to upstreams: `http`, or `https` with rustls.
fn upstream_client(config: &Config) -> Result<UpstreamClient, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    // The platform's store may be missing (a scratch image): webpki's roots remain.
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = &config.upstream_ca {
        use rustls::pki_types::pem::PemObject;
        let certs = rustls::pki_types::CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("--upstream-ca {}: {e}", path.display()))?;
        let mut added = 0;
        for cert in certs {
            let cert = cert.map_err(|e| format!("--upstream-ca {}: {e}", path.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("--upstream-ca {}: {e}", path.display()))?;
            added += 1;
        }
        if added == 0 {
            return Err(format!("--upstream-ca {}: no PEM certificate in it", path.display()));
        }
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(config.connect_timeout));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new())
        .timer(TokioTimer::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .build(https))
}

/// The admin endpoints until `stopped` turns true.
async fn serve_admin(proxy: Arc<Proxy>, listener: TcpListener, mut stopped: tokio::sync::watch::Receiver<bool>) {
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stopped.changed() => return,
        };
        let proxy = Arc::clone(&proxy);
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            let proxy = Arc::clone(&proxy);
            async move { Ok::<_, Infallible>(admin_response(&proxy, req.uri().path()).await) }
        });
        tokio::spawn(
            hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service),
        );
    }
}

async fn admin_response(proxy: &Arc<Proxy>, path: &str) -> Response<ProxyBody> {
    let (status, content_type, text) = match path {
        "/healthz" => {
            let p = Arc::clone(proxy);
            let (status, text) = tokio::task::spawn_blocking(move || admin::health(&*p.clock, &p.credentials))
                .await
                .unwrap_or_else(|e| (500, format!("unhealthy: {e}\n")));
            (status, "text/plain; charset=utf-8", text)
        }
        "/metrics" => {
            let p = Arc::clone(proxy);
            let text = tokio::task::spawn_blocking(move || p.metrics.render(&*p.clock, &p.credentials))
                .await
                .unwrap_or_default();
            (200, "application/openmetrics-text; version=1.0.0; charset=utf-8", text)
        }
        _ => (
            404,
            "text/plain; charset=utf-8",
            "not found: the admin endpoints are /healthz and /metrics\n".into(),
        ),
    };
    let mut response = Response::new(full(text));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static(content_type));
    response
}

/// One line on standard error.
fn log(line: &str) {
    eprintln!("realsig proxy: {line}");
}

/// Where the proxy listens, for the startup line.
pub fn describe(listen: SocketAddr, config: &Config, admin: Option<SocketAddr>) -> String {
    let upstream = match &config.upstream {
        Some(u) => format!("{}://{}{}", u.scheme, u.authority, u.base_path),
        None => "the request's Host (AWS endpoints, over https)".into(),
    };
    let mut text = format!("listening on {listen}, forwarding to {upstream}");
    if let Some(admin) = admin {
        text += &format!("; admin on {admin} (/healthz, /metrics)");
    }
    text
}
