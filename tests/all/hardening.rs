//! Hardening, round two (issue 21): no write silently lost, every wait bounded, no credential
//! sent where it should not go. Each test is one finding of the probe, against the release
//! behaviour it replaced; servers run on 127.0.0.1 and stop on drop.

use crate::cli::{SIGN_STDIN, hermetic, realsig};
use crate::common::http_server::HttpServer;
use crate::common::test_cache_dir;
use crate::common::time_servers::{ScriptedNtp, good_reply};

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use realsig::{NtpClock, TimeSource};

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Exit 1 with `want` on stderr, and no panic (101).
fn fails_with(output: &Output, want: &str) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains(want), "wanted {want:?} in: {err}");
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo runs");
    assert!(status.success());
}

/// A redirected PUT (or DELETE) used to be replayed as a GET of the Location (301/302/303)
/// and exit 0: the upload never happened. Now nothing is followed, the status, Location and
/// S3 error are reported, exit 1, and the other host never sees a request (nor the token).
#[test]
fn redirects_are_reported_never_followed() {
    let elsewhere = HttpServer::start(|_| ("200 OK", "you were redirected".into()));
    let target = format!("http://{}/bucket/key", elsewhere.addr);
    for status in [
        "301 Moved Permanently",
        "302 Found",
        "303 See Other",
        "307 Temporary Redirect",
        "308 Permanent Redirect",
    ] {
        let location = target.clone();
        let redirecting = HttpServer::start_raw(move |_, stream, _| {
            let body = "<Error><Code>PermanentRedirect</Code><Message>use the other endpoint</Message>\
                        <Endpoint>bucket.s3.eu-west-1.amazonaws.com</Endpoint></Error>";
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nlocation: {location}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        });
        let url = format!("http://{}/bucket/key", redirecting.addr);
        for method in ["PUT", "DELETE"] {
            let mut args = vec!["request", "-X", method, "--region", "us-east-1", "--service", "s3"];
            if method == "PUT" {
                args.extend(["--data", "payload"]);
            }
            args.push(&url);
            let out = realsig(&args, &[("AWS_SESSION_TOKEN", "TOKEN-MUST-STAY")], b"");
            let code = &status[..3];
            fails_with(&out, &format!("HTTP {code} redirect, not followed: Location {target}"));
            fails_with(
                &out,
                "(PermanentRedirect, endpoint bucket.s3.eu-west-1.amazonaws.com): use the other endpoint",
            );
            assert!(
                out.stdout.is_empty(),
                "{method} {code}: the redirect's body is not printed as a success"
            );
        }
    }
    assert_eq!(elsewhere.requests(), 0, "the Location was never requested");
}

/// A server that accepts and never answers, one that trickles its headers a byte at a
/// time, and one that stops mid-body each used to hang `request` forever (only the connect
/// had a timeout). Each now fails within the read timeout; `--max-time` bounds it all.
#[test]
fn slow_servers_fail_within_the_read_timeout() {
    let wait = |stopping: &std::sync::atomic::AtomicBool, secs: u64| {
        let until = Instant::now() + Duration::from_secs(secs);
        while !stopping.load(Ordering::Relaxed) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    let silent = HttpServer::start_raw(move |_, _, stopping| wait(stopping, 30));
    let trickle = HttpServer::start_raw(move |_, stream, stopping| {
        for b in b"HTTP/1.1 200 OK\r\nx-slow: ".iter().chain(std::iter::repeat(&b'a')) {
            if stopping.load(Ordering::Relaxed) || stream.write_all(&[*b]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let stalls = HttpServer::start_raw(move |_, stream, stopping| {
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\nfirst ten.");
        wait(stopping, 30);
    });
    let request = |flags: &[&str], url: &str| {
        let args = [
            &["request"][..],
            flags,
            &["--region", "us-east-1", "--service", "s3", url],
        ]
        .concat();
        realsig(&args, &[], b"")
    };
    for (server, want) in [
        (&silent, "timeout"),
        (&trickle, "timeout"),
        (&stalls, "the response body"),
    ] {
        let url = format!("http://{}/bucket/key", server.addr);
        let started = Instant::now();
        let out = request(&["--read-timeout", "1"], &url);
        let took = started.elapsed();
        fails_with(&out, want);
        assert!(took < Duration::from_secs(10), "{url} took {took:?}");
    }
    // --max-time bounds the whole exchange, whatever the per-read timeout.
    let url = format!("http://{}/bucket/key", trickle.addr);
    let started = Instant::now();
    let out = request(&["--max-time", "1.5"], &url);
    fails_with(&out, "timeout");
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// Whether a process whose command line contains `marker` is running.
fn running(marker: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
        std::fs::read(entry.path().join("cmdline")).is_ok_and(|c| String::from_utf8_lossy(&c).contains(marker))
    })
}

/// A `credential_process` that never exits, or exits leaving a child that holds its stdout,
/// used to hang every command. It now runs in its own process group for at most the
/// timeout (`--max-time` here), and then the whole group is killed.
#[test]
fn a_credential_process_that_hangs_is_killed_with_its_group() {
    let dir = tempfile::tempdir().unwrap();
    for (marker, command) in [
        ("987651", "sleep 987651"),
        (
            "987652",
            r#"echo '{"Version": 1, "AccessKeyId": "AKIDPROC", "SecretAccessKey": "s"}'; sleep 987652 & exit 0"#,
        ),
    ] {
        let config = dir.path().join(format!("config-{marker}"));
        std::fs::write(&config, format!("[default]\ncredential_process = {command}\n")).unwrap();
        let started = Instant::now();
        let out = realsig(
            &["sign", "--max-time", "2", "https://sts.amazonaws.com/"],
            &[
                ("AWS_ACCESS_KEY_ID", ""),
                ("AWS_SECRET_ACCESS_KEY", ""),
                ("AWS_CONFIG_FILE", config.to_str().unwrap()),
            ],
            b"",
        );
        fails_with(&out, "did not finish within 2 s; killed it and its process group");
        assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            !running(&format!("sleep {marker}")),
            "the helper's child was killed too"
        );
    }
    // Its output is capped too: a helper that writes without end is stopped at 1 MiB.
    let config = dir.path().join("config-yes");
    std::fs::write(&config, "[default]\ncredential_process = yes\n").unwrap();
    let out = realsig(
        &["sign", "https://sts.amazonaws.com/"],
        &[
            ("AWS_ACCESS_KEY_ID", ""),
            ("AWS_SECRET_ACCESS_KEY", ""),
            ("AWS_CONFIG_FILE", config.to_str().unwrap()),
        ],
        b"",
    );
    fails_with(
        &out,
        "profile default credential_process: its output is larger than 1 MiB",
    );
}

/// Every file the tools read is opened without blocking on a FIFO and must be a regular
/// file: each of these used to hang (or, for /dev/zero, grow to gigabytes). `/dev/zero` as
/// the realtime file is refused too.
#[test]
fn fifos_and_devices_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let fifo = fifo.to_str().unwrap();
    let url = "https://example.amazonaws.com/";
    let sign = ["sign", "--region", "us-east-1", "--service", "service"];
    let (at_fifo, clock) = (format!("@{fifo}"), format!("faketimefs:{fifo},raw"));
    // (arguments, environment changes, text the error must contain)
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, String);
    let cases: Vec<Case> = vec![
        (
            [&sign[..], &["--data", &at_fifo, url]].concat(),
            vec![],
            format!("cannot read {fifo}: it is a FIFO (named pipe), not a regular file"),
        ),
        (
            [&sign[..], &["--component", fifo, url]].concat(),
            vec![],
            "it is a FIFO".into(),
        ),
        (vec!["sign", "--request", fifo], vec![], "it is a FIFO".into()),
        (
            [&sign[..], &[url]].concat(),
            vec![("AWS_ACCESS_KEY_ID", ""), ("AWS_SHARED_CREDENTIALS_FILE", fifo)],
            "it is a FIFO".into(),
        ),
        (
            [&sign[..], &[url]].concat(),
            vec![("AWS_ACCESS_KEY_ID", ""), ("AWS_SHARED_CREDENTIALS_FILE", "/dev/zero")],
            "cannot read /dev/zero: it is a character device, not a regular file".into(),
        ),
        (
            [&sign[..], &[url]].concat(),
            vec![("AWS_ACCESS_KEY_ID", ""), ("AWS_CONFIG_FILE", "/dev/zero")],
            "it is a character device".into(),
        ),
    ];
    let zero_clock = [&sign[..], &["--clock", "faketimefs:/dev/zero", url]].concat();
    let mut cases = cases;
    cases.push((
        zero_clock,
        vec![],
        "it is a character device, not a regular file".into(),
    ));
    for (args, env, want) in cases {
        let started = Instant::now();
        let out = realsig(&args, &env, b"");
        fails_with(&out, &want);
        assert!(started.elapsed() < Duration::from_secs(10), "{args:?}");
    }
    // A time source that cannot answer is skipped to the next, with the reason. (The
    // realtime file may be a FIFO, as the tests' libfaketimefs emulation is: its reads run on
    // a thread with a deadline, 1 s, so one that nothing writes to fails within it.)
    let args = [&sign[..], &["--clock", &clock, "--format", "headers", url]].concat();
    let started = Instant::now();
    let out = realsig(&args, &[], b"");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        stderr(&out).contains(&format!(
            "realsig: warning: time: skipped faketimefs:{fifo}: no answer from the file within 1000 ms (a FIFO nothing writes to, or a wedged FUSE mount); using raw"
        )),
        "{}",
        stderr(&out)
    );
}

/// A realtime file holding a huge number aborted with exit 101 ("overflow when adding
/// duration to instant"); now it is a source with no reading, and signing fails closed.
#[test]
fn huge_realtime_values_are_out_of_range_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("realtime");
    for value in ["18446744073709551615", "9223372036854775807", "253402300800"] {
        std::fs::write(&file, value).unwrap();
        for kind in ["faketimefs", "faketimefs-static"] {
            let clock = format!("{kind}:{}", file.display());
            let out = realsig(
                &[
                    "sign",
                    "--clock",
                    &clock,
                    "--region",
                    "us-east-1",
                    "--service",
                    "service",
                    "https://example.amazonaws.com/",
                ],
                &[],
                b"",
            );
            fails_with(&out, "out of range");
            let out = realsig(&["now", "--clock", &clock], &[], b"");
            fails_with(&out, "out of range");
        }
    }
}

/// `--data @-` buffered all of standard input; it is capped now, and the message says how
/// to send more (a file is streamed).
#[test]
fn standard_input_is_read_with_a_cap() {
    let big = vec![b'x'; (64 << 20) + 1];
    let out = realsig(
        &[
            "sign",
            "--data",
            "@-",
            "--region",
            "us-east-1",
            "--service",
            "service",
            "https://example.amazonaws.com/",
        ],
        &[],
        &big,
    );
    fails_with(
        &out,
        "standard input: it is larger than 64 MiB: save it to a file and pass --data @FILE",
    );
}

/// Output to a full disk used to be lost with exit 0.
#[test]
fn a_failed_write_is_an_error_exit() {
    let url = "https://bucket.s3.us-east-1.amazonaws.com/key";
    for args in [
        vec!["presign", url],
        vec!["sign", url],
        vec!["post-policy", "--bucket", "b", "--key", "k", "--region", "us-east-1"],
        vec!["now", "--clock", "raw"],
        vec!["completions", "bash"],
    ] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_realsig"));
        hermetic(&mut cmd);
        let out = cmd
            .args(&args)
            .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "secret")
            .env("REALSIG_CACHE_DIR", test_cache_dir())
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        fails_with(&out, "cannot write the output: No space left on device");
    }
}

/// The container endpoint's redirect is not followed (it would carry the authorization
/// token to the Location), and credentials that arrive already expired by the real time are
/// refused, naming the source.
#[test]
fn the_container_endpoint_is_not_followed_and_expired_credentials_are_refused() {
    let elsewhere = HttpServer::start(|_| ("200 OK", "{}".into()));
    let location = format!("http://{}/steal", elsewhere.addr);
    let redirecting = HttpServer::start_raw(move |_, stream, _| {
        let _ = write!(
            stream,
            "HTTP/1.1 302 Found\r\nlocation: {location}\r\ncontent-length: 0\r\n\r\n"
        );
    });
    let expired = HttpServer::start(|_| {
        (
            "200 OK",
            r#"{"AccessKeyId": "AKIDOLD", "SecretAccessKey": "s", "Token": "t", "Expiration": "2020-01-01T00:00:00Z"}"#
                .into(),
        )
    });
    let sign = |server: &HttpServer| {
        let uri = format!("http://{}/creds", server.addr);
        realsig(
            &[
                "sign",
                "--region",
                "us-east-1",
                "--service",
                "service",
                "https://example.amazonaws.com/",
            ],
            &[
                ("AWS_ACCESS_KEY_ID", ""),
                ("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri),
                ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "CONTAINER-TOKEN"),
            ],
            b"",
        )
    };
    fails_with(
        &sign(&redirecting),
        "answered HTTP 302, a redirect; the container endpoint's redirects are not followed",
    );
    assert_eq!(elsewhere.requests(), 0);
    let out = sign(&expired);
    fails_with(
        &out,
        "container: the credentials it gave expired at 2020-01-01T00:00:00Z (the real time is ",
    );
    assert!(out.stdout.is_empty());
}

/// Two names for one address counted twice, so `localhost:P+127.0.0.1:P+HONEST` let one
/// liar win 2 to 1. Servers are now de-duplicated by resolved address: one liar against one
/// honest server is no majority, and the clock refuses rather than take the liar's time.
#[test]
fn ntp_servers_are_counted_once_per_address() {
    let liar = ScriptedNtp::start(|req| Some(good_reply(req, SystemTime::now() + Duration::from_secs(86_400))));
    let honest = ScriptedNtp::start(|req| Some(good_reply(req, SystemTime::now())));
    let port = liar.addr.port();
    let clock = NtpClock::builder([
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        honest.addr.to_string(),
    ])
    .timeout(Duration::from_millis(500))
    .build();
    let e = clock.now().expect_err("no majority");
    assert!(e.reason().contains("2 servers answered but no majority agrees"), "{e}");
    assert_eq!(liar.requests(), 1, "one query per address");
}

/// A server's error text reached the terminal raw (an escape sequence could rewrite it).
#[test]
fn server_text_is_sanitised_before_the_terminal() {
    let server = HttpServer::start(|_| {
        (
            "403 Forbidden",
            "<Error><Code>AccessDenied\u{1b}[2J</Code><Message>no\u{1b}]0;owned\u{7} way</Message></Error>".into(),
        )
    });
    let url = format!("http://{}/bucket/key", server.addr);
    let out = realsig(&["request", "--region", "us-east-1", "--service", "s3", &url], &[], b"");
    fails_with(&out, r"HTTP 403 AccessDenied\u{1b}[2J: no\u{1b}]0;owned\u{7} way");
    assert!(!out.stderr.contains(&0x1b), "no raw escape reached stderr");
}

/// A `--request` file whose target is not a path, or disagrees with its Host header, was
/// signed into a wrong URL.
#[test]
fn request_targets_are_checked_against_the_host() {
    for (text, want) in [
        (
            "GET foo HTTP/1.1\nHost: example.amazonaws.com\n\n",
            "must be a path starting with /",
        ),
        (
            "GET https://other.example/ HTTP/1.1\nHost: example.amazonaws.com\n\n",
            "the request target names host \"other.example\" but the Host header says \"example.amazonaws.com\"",
        ),
    ] {
        let out = realsig(&SIGN_STDIN, &[], text.as_bytes());
        fails_with(&out, want);
    }
}

/// Bad arguments found after clap's parse exited 1; the README promises 2.
#[test]
fn bad_arguments_exit_2() {
    let url = "https://bucket.s3.us-east-1.amazonaws.com/key";
    for (args, want) in [
        (vec!["presign", "--expires", "0", url], "expiry out of range"),
        (vec!["sign", "-H", "no colon here", url], "has no colon"),
        (vec!["sign", "ftp://example.com/"], "expected http:// or https://"),
        (vec!["sign", "--clock", "sundial", url], "sundial"),
        (
            vec!["request", "--chunked", "--chunk-size", "10", url],
            "below S3's smallest chunk",
        ),
        (
            vec!["request", "--chunked", "--unsigned-payload", url],
            "needs --trailer-checksum",
        ),
        (vec!["sign", "--service", "s3", "https://example.com/"], "no region"),
        (
            vec!["post-policy", "--bucket", "b", "--region", "us-east-1"],
            "give --key",
        ),
        (vec!["now", "--clock", "ntp:"], "ntp"),
    ] {
        let out = realsig(&args, &[("AWS_REGION", "")], b"");
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(want) && err.ends_with("(see realsig --help)\n"),
            "{args:?}: {err}"
        );
    }
}

/// A corrupted compiled-code cache entry crashed every later run until deleted; it is now
/// verified (length and SHA-256) and recompiled.
#[test]
fn a_corrupted_compiled_cache_is_recompiled() {
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_realsig"));
        hermetic(&mut cmd);
        cmd.args(["presign", "https://bucket.s3.us-east-1.amazonaws.com/key"])
            .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "secret")
            .env("REALSIG_CACHE_DIR", dir.path())
            .output()
            .unwrap()
    };
    assert!(run().status.success());
    let entry = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .expect("a cache entry");
    let mut bytes = Vec::new();
    std::fs::File::open(&entry).unwrap().read_to_end(&mut bytes).unwrap();
    // Flip bytes through the code (not the header wasmtime checks itself).
    for i in (bytes.len() / 4..bytes.len() * 3 / 4).step_by(997) {
        bytes[i] ^= 0xa5;
    }
    std::fs::write(&entry, &bytes).unwrap();
    let out = run();
    assert!(out.status.success(), "exit {:?}: {}", out.status, stderr(&out));
    assert_ne!(std::fs::read(&entry).unwrap(), bytes, "the entry was rewritten");
}
