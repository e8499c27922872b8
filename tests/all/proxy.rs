//! `realsig proxy` against real clients and real servers on 127.0.0.1: the AWS CLI v2
//! (Debian's) with dummy keys and a clock three days behind, curl, and both S3 servers
//! (s3s-fs, versitygw), which verify every signature; and hostile upstreams this file
//! scripts (refusing, silent, resetting).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::common::s3_servers::{AKID, Kind, S3Server, SECRET};
use crate::common::test_cache_dir;
use crate::common::time_servers::{self, faked};

/// A running `realsig proxy`; killed on drop.
struct Proxy {
    child: Child,
    addr: SocketAddr,
    admin: Option<SocketAddr>,
    /// Its standard error, line by line.
    log: mpsc::Receiver<String>,
}

impl Proxy {
    /// `realsig proxy --listen 127.0.0.1:0 --upstream UPSTREAM` plus `args`, with the S3
    /// servers' keys in the environment and nothing else of the AWS chain reachable.
    fn start(upstream: &str, args: &[&str]) -> Self {
        Self::start_with(Some(upstream), args, |_| {})
    }

    /// Without `--upstream` if `upstream` is `None`; `env` adjusts the command.
    fn start_with(upstream: Option<&str>, args: &[&str], env: impl FnOnce(&mut Command)) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_realsig"));
        cmd.args(["proxy", "--listen", "127.0.0.1:0"])
            .args(upstream.map(|u| ["--upstream", u]).iter().flatten())
            .args(["--service", "s3", "--region", "us-east-1"])
            .args(args)
            .env("AWS_ACCESS_KEY_ID", AKID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE")
            .env_remove("REALSIG_CLOCK")
            .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
            .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
            .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
            .env_remove("AWS_ROLE_ARN")
            .env("AWS_CONFIG_FILE", "/nonexistent/realsig-test-config")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/realsig-test-credentials")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("REALSIG_CACHE_DIR", test_cache_dir());
        env(&mut cmd);
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("realsig proxy starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = log
            .recv_timeout(Duration::from_secs(60))
            .expect("the proxy says where it listens within 60 s");
        let addr_after = |marker: &str| -> Option<SocketAddr> {
            let rest = &first[first.find(marker)? + marker.len()..];
            rest.split([',', ' ', ';']).next()?.parse().ok()
        };
        let addr = addr_after("listening on ").unwrap_or_else(|| panic!("unexpected first line: {first}"));
        let admin = addr_after("admin on ");
        Self {
            child,
            addr,
            admin,
            log,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.admin.expect("started with --admin"))
    }

    /// Peak resident memory so far (VmHWM), in bytes.
    fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/PID/status");
        kb * 1024
    }

    /// The log lines that have arrived so far (after the first, which said where it listens).
    fn lines(&self) -> Vec<String> {
        self.log.try_iter().collect()
    }

    /// The log lines up to and including the first that contains `needle` (they pass through
    /// a pipe and a thread, so a line can arrive after the response it logs), waiting up to
    /// 10 s; all that arrived if none does.
    fn log_until(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut lines = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Ok(line) = self.log.recv_timeout(left) else {
                break;
            };
            let found = line.contains(needle);
            lines.push(line);
            if found {
                break;
            }
        }
        lines.join("\n")
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        time_servers::stop(&mut self.child);
    }
}

/// A plain HTTP client (no signing: the proxy signs).
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// Status and body of a request through `agent`.
fn call(agent: &ureq::Agent, method: &str, url: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .body(body.to_vec())
        .unwrap();
    let mut response = agent.run(request).unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = response.status().as_u16();
    (status, response.body_mut().read_to_vec().unwrap())
}

/// The AWS CLI v2 (Debian's, a binary no plug-in reaches) under libfaketime three days
/// behind, with dummy keys: its signature is wrong twice over and the proxy replaces it.
fn aws(proxy: &Proxy, args: &[&str]) -> Output {
    let output = faked("/usr/bin/aws", "-3d")
        .args(["--endpoint-url", &proxy.url(""), "--region", "us-east-1"])
        .args(args)
        .args(if args[1] == "cp" {
            &["--only-show-errors"][..]
        } else {
            &[]
        })
        .env("AWS_ACCESS_KEY_ID", "AKIDDUMMY")
        .env("AWS_SECRET_ACCESS_KEY", "dummy-secret-the-proxy-replaces")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/nonexistent/realsig-test-config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/realsig-test-credentials")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("the AWS CLI runs (scripts/setup.sh installs Debian's awscli)");
    assert!(
        output.status.success(),
        "aws {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `len` bytes of a fixed pseudo-random stream (xorshift64*), written to `path`, and their SHA-256.
fn random_file(path: &Path, len: u64) -> [u8; 32] {
    let mut file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut hasher = Sha256::new();
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ len;
    let mut block = vec![0u8; 1 << 16];
    let mut left = len;
    while left > 0 {
        for word in block.chunks_exact_mut(8) {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            word.copy_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
        }
        let n = left.min(block.len() as u64) as usize;
        hasher.update(&block[..n]);
        file.write_all(&block[..n]).unwrap();
        left -= n as u64;
    }
    file.flush().unwrap();
    hasher.finalize().into()
}

fn sha256_file(path: &Path) -> [u8; 32] {
    let mut file = std::fs::File::open(path).unwrap();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).unwrap();
        if n == 0 {
            return hasher.finalize().into();
        }
        hasher.update(&buf[..n]);
    }
}

#[test]
fn the_aws_cli_with_dummy_keys_and_a_wrong_clock_works_through_the_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small.txt");
    std::fs::write(&small, b"hello through the proxy\n").unwrap();
    let big = dir.path().join("big.bin");
    // 100 MiB: the CLI's multipart threshold is 8 MiB, so 13 UploadParts and a Complete.
    let big_sha = random_file(&big, 100 << 20);
    for kind in Kind::BOTH {
        let server = S3Server::start(kind, None);
        let proxy = Proxy::start(&server.url(""), &[]);
        aws(&proxy, &["s3", "mb", "s3://cli-bucket"]);
        aws(
            &proxy,
            &["s3", "cp", small.to_str().unwrap(), "s3://cli-bucket/dir/small.txt"],
        );
        aws(&proxy, &["s3", "cp", big.to_str().unwrap(), "s3://cli-bucket/big.bin"]);
        let listed = aws(&proxy, &["s3", "ls", "--recursive", "s3://cli-bucket"]);
        let listed = String::from_utf8_lossy(&listed.stdout);
        assert!(
            listed.contains("dir/small.txt") && listed.contains(" 104857600 big.bin"),
            "{kind:?}: {listed}"
        );
        let back = dir.path().join(format!("back-{}", kind.name()));
        aws(&proxy, &["s3", "cp", "s3://cli-bucket/big.bin", back.to_str().unwrap()]);
        assert_eq!(
            sha256_file(&back),
            big_sha,
            "{kind:?}: the 100 MiB object came back changed"
        );
        let small_back = dir.path().join("small-back");
        aws(
            &proxy,
            &[
                "s3",
                "cp",
                "s3://cli-bucket/dir/small.txt",
                small_back.to_str().unwrap(),
            ],
        );
        assert_eq!(std::fs::read(&small_back).unwrap(), b"hello through the proxy\n");
        std::fs::remove_file(&back).unwrap();
        let errors = proxy.lines();
        assert!(errors.is_empty(), "{kind:?}: the proxy logged {errors:?}");
    }
}

#[test]
fn a_gib_streams_up_and_down_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gib.bin");
    let sha = random_file(&file, 1 << 30);
    let server = S3Server::start(Kind::S3sFs, None);
    let proxy = Proxy::start(&server.url(""), &[]);
    assert_eq!(call(&agent(), "PUT", &proxy.url("/gib"), b"").0, 200);
    let curl = |args: &[&str]| {
        let out = Command::new("curl")
            .args(["-sS", "--fail-with-body", "--max-time", "600"])
            .args(args)
            .output()
            .expect("curl runs");
        assert!(
            out.status.success(),
            "curl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    // Uploaded with its content-length: the proxy frames it as aws-chunked, signing each chunk.
    curl(&["-T", file.to_str().unwrap(), &proxy.url("/gib/object")]);
    std::fs::remove_file(&file).unwrap();
    let mut download = Command::new("curl")
        .args(["-sS", "--fail", "--max-time", "600", &proxy.url("/gib/object")])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut stdout = download.stdout.take().unwrap();
    let mut total = 0u64;
    loop {
        let n = stdout.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        total += n as u64;
        hasher.update(&buf[..n]);
    }
    assert!(download.wait().unwrap().success());
    assert_eq!(total, 1 << 30);
    assert_eq!(<[u8; 32]>::from(hasher.finalize()), sha, "the GiB came back changed");
    let peak = proxy.peak_rss();
    assert!(peak < 64 << 20, "the proxy's peak RSS was {} MiB", peak >> 20);
    eprintln!(
        "peak RSS of the proxy over a 1 GiB upload and download: {:.1} MiB",
        peak as f64 / 1048576.0
    );
}

#[test]
fn sixty_four_clients_two_hundred_requests_each_without_an_error() {
    let server = S3Server::start(Kind::S3sFs, None);
    let proxy = Proxy::start(&server.url(""), &["--max-connections", "256"]);
    let setup = agent();
    assert_eq!(call(&setup, "PUT", &proxy.url("/load"), b"").0, 200);
    assert_eq!(
        call(&setup, "PUT", &proxy.url("/load/small"), b"0123456789abcdef").0,
        200
    );
    let url = proxy.url("/load/small");
    let failures: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..64)
            .map(|_| {
                let url = &url;
                scope.spawn(move || {
                    let agent = agent();
                    let mut failures = Vec::new();
                    for _ in 0..200 {
                        match call(&agent, "GET", url, b"") {
                            (200, body) if body == b"0123456789abcdef" => {}
                            (status, body) => failures.push(format!("{status}: {}", String::from_utf8_lossy(&body))),
                        }
                    }
                    failures
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    assert!(
        failures.is_empty(),
        "{} of 12800 failed, e.g. {:?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
}

/// An upstream the test scripts: accepts, reads the request head, then does `what`.
fn scripted_upstream(what: impl Fn(TcpStream) + Send + Clone + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let what = what.clone();
            std::thread::spawn(move || what(stream));
        }
    });
    addr
}

/// Reads the request's head (up to the blank line) and returns it.
fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Closes with a TCP reset (SO_LINGER 0), not a FIN.
fn reset(stream: TcpStream) {
    socket2::SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(stream);
}

#[test]
fn a_failing_upstream_gets_a_clear_502_or_504_and_the_proxy_keeps_serving() {
    let server = S3Server::start(Kind::S3sFs, None);
    let refused = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap(); // closed again
    let silent = scripted_upstream(|mut s| {
        read_head(&mut s);
        std::thread::sleep(Duration::from_secs(30));
    });
    let resets_mid_body = scripted_upstream(|mut s| {
        read_head(&mut s);
        let mut some = [0u8; 1000];
        let _ = s.read(&mut some);
        reset(s);
    });
    let agent = agent();
    let body = vec![7u8; 300_000];
    let cases: [(&str, SocketAddr, &str, u16, &str); 3] = [
        ("down", refused, "GET", 502, "cannot connect to the upstream"),
        ("silent", silent, "GET", 504, "sent no response within"),
        ("reset mid-body", resets_mid_body, "PUT", 502, "failed mid-exchange"),
    ];
    for (name, upstream, method, status, says) in cases {
        let proxy = Proxy::start(
            &format!("http://{upstream}"),
            &["--header-timeout", "1", "--connect-timeout", "1"],
        );
        let started = Instant::now();
        let (got, text) = call(
            &agent,
            method,
            &proxy.url("/b/k"),
            if method == "PUT" { &body } else { b"" },
        );
        let text = String::from_utf8_lossy(&text);
        assert_eq!(got, status, "{name}: {text}");
        assert!(
            text.starts_with("realsig proxy: ") && text.contains(says),
            "{name}: {text}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{name}: took {:?}",
            started.elapsed()
        );
        let logged = proxy.log_until(&format!("{method} /b/k: {status}"));
        assert!(
            logged.contains(&format!("{method} /b/k: {status}")),
            "{name}: logged {logged}"
        );
    }
    // A response that dies mid-body reaches the client as a cut-off body, not as success,
    // and the proxy serves the next request.
    let cut = scripted_upstream(|mut s| {
        read_head(&mut s);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\npartial");
        std::thread::sleep(Duration::from_millis(100));
        reset(s);
    });
    let proxy = Proxy::start(&format!("http://{cut}"), &[]);
    for _ in 0..2 {
        let request = ureq::http::Request::builder().uri(proxy.url("/b/k")).body(()).unwrap();
        let mut response = agent.run(request).unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert!(
            response.body_mut().read_to_vec().is_err(),
            "a truncated body must not read as complete"
        );
    }
    // And a proxy in front of a real server serves as ever.
    let good = Proxy::start(&server.url(""), &[]);
    assert_eq!(call(&agent, "PUT", &good.url("/after"), b"").0, 200);
}

#[test]
fn client_signatures_and_presign_parameters_are_replaced() {
    let server = S3Server::start(Kind::Versitygw, None);
    let proxy = Proxy::start(&server.url(""), &[]);
    let agent = agent();
    assert_eq!(call(&agent, "PUT", &proxy.url("/presigned"), b"").0, 200);
    assert_eq!(call(&agent, "PUT", &proxy.url("/presigned/k%20ey"), b"data").0, 200);
    // A stale presigned URL from someone else's keys, and a bogus authorization header.
    let stale = "/presigned/k%20ey?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDOTHER%2F20150830%2Fus-east-1%2Fs3%2Faws4_request\
                 &X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00";
    let request = ureq::http::Request::builder()
        .uri(proxy.url(stale))
        .header("authorization", "AWS4-HMAC-SHA256 Credential=AKIDOTHER/20150830/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00")
        .header("x-amz-date", "20150830T123600Z")
        .header("x-amz-security-token", "not-ours")
        .body(())
        .unwrap();
    let mut response = agent.run(request).unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.body_mut().read_to_vec().unwrap(), b"data");
}

#[test]
fn bodies_that_must_be_hashed_are_capped_by_max_body() {
    let server = S3Server::start(Kind::S3sFs, None);
    let proxy = Proxy::start(&server.url(""), &["--max-body", "4096"]);
    let agent = agent();
    assert_eq!(call(&agent, "PUT", &proxy.url("/capped"), b"").0, 200);
    // DeleteObjects: a POST body, hashed (not aws-chunked), within the cap.
    let delete = b"<Delete><Object><Key>nothing</Key></Object></Delete>";
    let md5 = base64_md5(delete);
    let request = ureq::http::Request::builder()
        .method("POST")
        .uri(proxy.url("/capped?delete"))
        .header("content-md5", md5)
        .body(delete.to_vec())
        .unwrap();
    let mut response = agent.run(request).unwrap();
    let text = response.body_mut().read_to_string().unwrap();
    assert_eq!(response.status().as_u16(), 200, "{text}");
    // Beyond the cap: 413, and the reason.
    let (status, text) = call(&agent, "POST", &proxy.url("/capped?delete"), &vec![b'x'; 5000]);
    let text = String::from_utf8_lossy(&text);
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("larger than --max-body (4096 bytes)"), "{text}");
    // An object upload is streamed whatever its size.
    assert_eq!(
        call(&agent, "PUT", &proxy.url("/capped/big"), &vec![1u8; 100_000]).0,
        200
    );
}

/// Content-MD5 of `data`, computed with the system's `md5sum` (no MD5 crate for one header).
fn base64_md5(data: &[u8]) -> String {
    use base64::Engine as _;
    let mut child = Command::new("md5sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    let hex_digest = String::from_utf8(out.stdout).unwrap();
    let bytes = hex::decode(&hex_digest[..32]).unwrap();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn an_upstream_whose_clock_is_an_hour_ahead_is_retried_with_its_time() {
    let server = S3Server::start(Kind::S3sFs, Some("+1h"));
    let proxy = Proxy::start(&server.url(""), &["--admin", "127.0.0.1:0"]);
    let agent = agent();
    assert_eq!(call(&agent, "PUT", &proxy.url("/skewed"), b"").0, 200);
    let logged = proxy.log_until("clock skew: ");
    assert!(
        logged.contains("clock skew: ") && logged.contains("ahead of ours (RequestTimeTooSkewed"),
        "{logged}"
    );
    let (_, metrics) = call(&agent, "GET", &proxy.admin_url("/metrics"), b"");
    assert!(String::from_utf8_lossy(&metrics).contains("realsig_proxy_skew_retries_total 1"));
    let off = Proxy::start(&server.url(""), &["--no-skew-correction"]);
    assert_eq!(call(&agent, "PUT", &off.url("/skewed2"), b"").0, 403);
}

#[test]
fn admin_endpoints_say_what_the_proxy_signs_with_or_why_it_cannot() {
    let server = S3Server::start(Kind::S3sFs, None);
    let agent = agent();
    let proxy = Proxy::start(&server.url(""), &["--admin", "127.0.0.1:0"]);
    let (status, health) = call(&agent, "GET", &proxy.admin_url("/healthz"), b"");
    let health = String::from_utf8_lossy(&health);
    assert_eq!(status, 200, "{health}");
    assert!(
        health.starts_with("ok: time from raw") && health.contains("credentials from environment"),
        "{health}"
    );
    assert_eq!(call(&agent, "PUT", &proxy.url("/admin"), b"").0, 200);
    assert_eq!(call(&agent, "GET", &proxy.url("/admin/missing"), b"").0, 404);
    let (status, metrics) = call(&agent, "GET", &proxy.admin_url("/metrics"), b"");
    let metrics = String::from_utf8_lossy(&metrics);
    assert_eq!(status, 200);
    for line in [
        "realsig_proxy_requests_total{status=\"200\"} 1",
        "realsig_proxy_requests_total{status=\"404\"} 1",
        "realsig_proxy_upstream_seconds_count 2",
        "realsig_proxy_signing_seconds_count 2",
        "realsig_proxy_credential_refreshes_total 1",
        "realsig_proxy_credential_failures_total 0",
        "realsig_proxy_clock_trustworthy 1",
        "realsig_proxy_clock_source{source=\"raw",
        "realsig_proxy_clock_offset_seconds ",
        "# EOF",
    ] {
        assert!(metrics.contains(line), "no {line:?} in\n{metrics}");
    }
    assert_eq!(call(&agent, "GET", &proxy.admin_url("/other"), b"").0, 404);

    // No trustworthy time: 503 from /healthz naming it, and from every request.
    let no_time = Proxy::start(
        &server.url(""),
        &[
            "--admin",
            "127.0.0.1:0",
            "--clock",
            "faketimefs-static:/nonexistent/realtime",
        ],
    );
    let (status, health) = call(&agent, "GET", &no_time.admin_url("/healthz"), b"");
    let health = String::from_utf8_lossy(&health);
    assert_eq!(status, 503, "{health}");
    assert!(health.starts_with("unhealthy: no trustworthy time"), "{health}");
    let (status, text) = call(&agent, "GET", &no_time.url("/admin"), b"");
    assert_eq!(status, 503, "{}", String::from_utf8_lossy(&text));
    let (_, metrics) = call(&agent, "GET", &no_time.admin_url("/metrics"), b"");
    assert!(String::from_utf8_lossy(&metrics).contains("realsig_proxy_clock_trustworthy 0"));

    // No credentials anywhere in the chain: 503 naming that.
    let no_keys = Proxy::start_with(Some(&server.url("")), &["--admin", "127.0.0.1:0"], |cmd| {
        cmd.env_remove("AWS_ACCESS_KEY_ID").env_remove("AWS_SECRET_ACCESS_KEY");
    });
    let (status, health) = call(&agent, "GET", &no_keys.admin_url("/healthz"), b"");
    let health = String::from_utf8_lossy(&health);
    assert_eq!(status, 503, "{health}");
    assert!(health.starts_with("unhealthy: no credentials"), "{health}");
    assert!(!health.contains(SECRET));
    let (status, text) = call(&agent, "GET", &no_keys.url("/admin"), b"");
    assert_eq!(status, 503, "{}", String::from_utf8_lossy(&text));
    let (_, metrics) = call(&agent, "GET", &no_keys.admin_url("/metrics"), b"");
    let metrics = String::from_utf8_lossy(&metrics);
    assert!(
        metrics.contains("realsig_proxy_credential_failures_total 1\n"),
        "{metrics}"
    );
}

#[test]
fn sigterm_lets_in_flight_requests_finish_and_refuses_new_ones() {
    // An upstream that answers each request after 1.5 s.
    let slow = scripted_upstream(|mut s| {
        read_head(&mut s);
        std::thread::sleep(Duration::from_millis(1500));
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\ndone");
        let _ = s.shutdown(Shutdown::Write);
    });
    let mut proxy = Proxy::start(&format!("http://{slow}"), &[]);
    let url = proxy.url("/b/k");
    let in_flight = std::thread::spawn(move || call(&agent(), "GET", &url, b""));
    std::thread::sleep(Duration::from_millis(500));
    let pid = proxy.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        TcpStream::connect(proxy.addr).is_err(),
        "new connections are refused once shutting down"
    );
    assert_eq!(
        in_flight.join().unwrap(),
        (200, b"done".to_vec()),
        "the in-flight request finished"
    );
    let status = proxy.child.wait().unwrap();
    assert!(status.success(), "exit {status:?}");
    let logged = proxy.log_until("realsig proxy: stopped");
    assert!(
        logged.contains("shutting down") && logged.ends_with("realsig proxy: stopped"),
        "{logged}"
    );
}

#[test]
fn bad_proxy_arguments_exit_2() {
    for args in [
        &["proxy", "--upstream", "ftp://x"][..],
        &["proxy", "--upstream", "http://h/?q"],
        &["proxy", "--listen", "nowhere"],
        &["proxy", "--max-connections", "0"],
        &["proxy", "--idle-timeout", "-1"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_realsig")).args(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A CA and a certificate for 127.0.0.1 it issued, made with the `openssl` command.
fn test_ca(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=realsig test CA",
            ],
        ]
        .concat(),
    );
    openssl(
        &[
            &["req"][..],
            &ec,
            &["-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=localhost"],
        ]
        .concat(),
    );
    std::fs::write(
        dir.join("ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "leaf.pem",
        "-days",
        "2",
        "-extfile",
        "ext",
    ]);
    (dir.join("ca.pem"), dir.join("leaf.pem"), dir.join("leaf.key"))
}

#[test]
fn https_upstreams_are_verified_with_rustls_and_upstream_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_ca(dir.path());
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let program = crate::common::s3_servers::installed("versitygw", "scripts/setup.sh installs it");
    let mut gateway = Command::new(program)
        .env("ROOT_ACCESS_KEY", AKID)
        .env("ROOT_SECRET_KEY", SECRET)
        .args(["--port", &format!("127.0.0.1:{port}"), "--cert"])
        .arg(&cert)
        .arg("--key")
        .arg(&key)
        .arg("posix")
        .arg(&root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "versitygw did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    let upstream = format!("https://127.0.0.1:{port}");
    let agent = agent();
    {
        let trusted = Proxy::start(&upstream, &["--upstream-ca", ca.to_str().unwrap()]);
        assert_eq!(call(&agent, "PUT", &trusted.url("/tls"), b"").0, 200);
        let data = vec![42u8; 200_000]; // four aws-chunked chunks over TLS
        assert_eq!(call(&agent, "PUT", &trusted.url("/tls/object"), &data).0, 200);
        assert_eq!(call(&agent, "GET", &trusted.url("/tls/object"), b""), (200, data));
        // Without the CA the certificate is refused, and the client is told so.
        let untrusted = Proxy::start(&upstream, &[]);
        let (status, text) = call(&agent, "GET", &untrusted.url("/tls/object"), b"");
        let text = String::from_utf8_lossy(&text);
        assert_eq!(status, 502, "{text}");
        assert!(text.contains("invalid peer certificate: UnknownIssuer"), "{text}");
    }
    time_servers::stop(&mut gateway);
}

#[test]
fn a_plugin_component_signs_under_the_same_caps() {
    let dir = tempfile::tempdir().unwrap();
    let component = dir.path().join("realsig.wasm");
    let out = Command::new(env!("CARGO_BIN_EXE_realsig"))
        .args(["component", "--out"])
        .arg(&component)
        .output()
        .unwrap();
    assert!(out.status.success());
    let server = S3Server::start(Kind::S3sFs, None);
    let proxy = Proxy::start(&server.url(""), &["--component", component.to_str().unwrap()]);
    assert_eq!(call(&agent(), "PUT", &proxy.url("/plugin"), b"").0, 200);
    // A file that is not a component is refused before the port opens.
    std::fs::write(&component, b"not wasm").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_realsig"))
        .args([
            "proxy",
            "--upstream",
            &server.url(""),
            "--listen",
            "127.0.0.1:0",
            "--component",
        ])
        .arg(&component)
        .env("REALSIG_CACHE_DIR", test_cache_dir())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused the signing component"));
}

#[test]
fn without_upstream_only_aws_hosts_are_signed_for() {
    let proxy = Proxy::start_with(None, &[], |_| {});
    let request = ureq::http::Request::builder()
        .uri(proxy.url("/bucket/key"))
        .header("host", "attacker.example")
        .body(())
        .unwrap();
    let mut response = agent().run(request).unwrap();
    let text = response.body_mut().read_to_string().unwrap();
    assert_eq!(response.status().as_u16(), 403, "{text}");
    assert!(text.contains("\"attacker.example\" is not an AWS endpoint"), "{text}");
}

#[test]
fn a_clients_own_aws_chunked_body_passes_unsigned_or_is_refused_signed() {
    let server = S3Server::start(Kind::S3sFs, None);
    let proxy = Proxy::start(&server.url(""), &[]);
    assert_eq!(call(&agent(), "PUT", &proxy.url("/framed"), b"").0, 200);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data.bin");
    let sha = random_file(&file, 300_000);
    let data = format!("@{}", file.display());
    // `realsig request` with dummy keys as the client: it frames the body itself.
    let client = |extra: &[&str], key: &str| {
        Command::new(env!("CARGO_BIN_EXE_realsig"))
            .args([
                "request",
                "-X",
                "PUT",
                "--chunked",
                "--data",
                &data,
                "--region",
                "us-east-1",
                "--service",
                "s3",
            ])
            .args(extra)
            .arg(proxy.url(key))
            .env("AWS_ACCESS_KEY_ID", "AKIDDUMMY")
            .env("AWS_SECRET_ACCESS_KEY", "dummy")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/nonexistent/realsig-test-config")
            .env("REALSIG_CACHE_DIR", test_cache_dir())
            .output()
            .unwrap()
    };
    // STREAMING-UNSIGNED-PAYLOAD-TRAILER: the framing carries no signature, so it passes
    // through under the proxy's signature of the request, and the server checks the CRC.
    let out = client(
        &["--unsigned-payload", "--trailer-checksum", "crc32c"],
        "/framed/unsigned.bin",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let back = dir.path().join("back.bin");
    let download = Command::new("curl")
        .args(["-sS", "--fail", "-o"])
        .arg(&back)
        .arg(proxy.url("/framed/unsigned.bin"))
        .status()
        .unwrap();
    assert!(download.success());
    assert_eq!(sha256_file(&back), sha);
    // Signed chunks are the client's signatures, which the proxy cannot redo: a clear 400,
    // answered before the body is read (a client that waits for 100-continue sees it).
    let out = client(&["-H", "Expect: 100-continue"], "/framed/signed.bin");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("HTTP 400") && stderr.contains("cannot be re-signed"),
        "{stderr}"
    );
    let stored = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(proxy.url("/framed/signed.bin"))
        .output()
        .unwrap();
    assert_eq!(stored.stdout, b"404", "nothing was stored");
}

/// An upstream that records each request head and answers 200.
fn recording_upstream() -> (SocketAddr, mpsc::Receiver<String>) {
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Arc::new(std::sync::Mutex::new(tx));
    let addr = scripted_upstream(move |mut s| {
        let head = read_head(&mut s);
        let _ = tx.lock().unwrap().send(head);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
    });
    (addr, rx)
}

#[test]
fn hop_by_hop_headers_are_neither_forwarded_nor_signed_and_no_secret_is_logged() {
    let (upstream, heads) = recording_upstream();
    let token = "SessionTokenTHATMUSTNOTLEAK";
    let proxy = Proxy::start_with(Some(&format!("http://{upstream}")), &[], |cmd| {
        cmd.env("AWS_SESSION_TOKEN", token);
    });
    let request = ureq::http::Request::builder()
        .uri(proxy.url("/b/k?X-Amz-Security-Token=client-token&list-type=2"))
        .header("connection", "keep-alive, X-Drop-Me")
        .header("x-drop-me", "1")
        .header("proxy-authorization", "Basic c2VjcmV0")
        .header("x-amz-meta-kept", "yes")
        .body(())
        .unwrap();
    let mut response = agent().run(request).unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.body_mut().read_to_vec().unwrap(), b"ok");
    let head = heads.recv_timeout(Duration::from_secs(5)).unwrap().to_ascii_lowercase();
    assert!(head.starts_with("get /b/k?list-type=2 http/1.1\r\n"), "{head}");
    for gone in ["x-drop-me", "proxy-authorization", "client-token"] {
        assert!(!head.contains(gone), "{gone} reached the upstream:\n{head}");
    }
    assert!(head.contains("x-amz-meta-kept: yes"), "{head}");
    assert!(
        head.contains(&format!("x-amz-security-token: {}", token.to_ascii_lowercase())),
        "{head}"
    );
    let signed = head
        .split("signedheaders=")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .unwrap();
    // `accept` is ureq's own header, signed like any other end-to-end header.
    assert_eq!(
        signed,
        "accept;host;x-amz-content-sha256;x-amz-date;x-amz-meta-kept;x-amz-security-token"
    );
    // A refused request (upstream gone) is logged without its query, and nothing secret is.
    drop(proxy);
    let down = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let proxy = Proxy::start_with(Some(&format!("http://{down}")), &[], |cmd| {
        cmd.env("AWS_SESSION_TOKEN", token);
    });
    let (status, _) = call(
        &agent(),
        "GET",
        &proxy.url("/b/k?X-Amz-Security-Token=client-token"),
        b"",
    );
    assert_eq!(status, 502);
    let logged = proxy.log_until("GET /b/k: 502");
    assert!(logged.contains("GET /b/k: 502"), "{logged}");
    for secret in [token, SECRET, "client-token"] {
        assert!(!logged.contains(secret), "{secret} in the log:\n{logged}");
    }
}

#[test]
fn sigv4a_signs_with_the_region_set() {
    let (upstream, heads) = recording_upstream();
    let proxy = Proxy::start(&format!("http://{upstream}"), &["--sigv4a", "--region-set", "*"]);
    let (status, _) = call(&agent(), "PUT", &proxy.url("/b/k"), b"hashed, not chunked");
    assert_eq!(status, 200);
    let head = heads.recv_timeout(Duration::from_secs(5)).unwrap().to_ascii_lowercase();
    assert!(
        head.contains("authorization: aws4-ecdsa-p256-sha256 credential="),
        "{head}"
    );
    assert!(head.contains("x-amz-region-set: *"), "{head}");
    // The body's own hash, not aws-chunked (the chunked signer is SigV4 only).
    let hash = hex::encode(Sha256::digest(b"hashed, not chunked"));
    assert!(head.contains(&format!("x-amz-content-sha256: {hash}")), "{head}");
    assert!(!head.contains("aws-chunked"), "{head}");
}

#[test]
fn max_connections_holds_further_clients_until_one_closes() {
    let (upstream, _heads) = recording_upstream();
    let proxy = Proxy::start(&format!("http://{upstream}"), &["--max-connections", "1"]);
    let holder = TcpStream::connect(proxy.addr).unwrap(); // one idle connection: the cap
    std::thread::sleep(Duration::from_millis(200));
    let url = proxy.url("/b/k");
    let waiting = std::thread::spawn(move || {
        let started = Instant::now();
        let answer = call(&agent(), "GET", &url, b"");
        (answer, started.elapsed())
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!waiting.is_finished(), "a second client was served beside the first");
    drop(holder);
    let ((status, body), waited) = waiting.join().unwrap();
    assert_eq!((status, body.as_slice()), (200, &b"ok"[..]));
    assert!(waited >= Duration::from_millis(1400), "served after {waited:?}");
}
