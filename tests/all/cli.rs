//! The `realsig` binary: its public flags against the official suites, and bad input.

use crate::common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use common::{test_cache_dir, vectors_dir};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const TIME: &str = "2015-08-30T12:36:00Z";
/// `realsig sign` reading the request from stdin, for us-east-1/service.
pub(crate) const SIGN_STDIN: [&str; 7] = [
    "sign",
    "--request",
    "-",
    "--region",
    "us-east-1",
    "--service",
    "service",
];

fn case(name: &str) -> PathBuf {
    vectors_dir().join("aws-signing-test-suite/v4").join(name)
}

fn expected(case_dir: &Path, file: &str) -> String {
    std::fs::read_to_string(case_dir.join(file))
        .unwrap()
        .trim_end()
        .to_owned()
}

/// Runs `realsig` with AKIDEXAMPLE credentials (plus `env`) and `stdin`.
pub(crate) fn realsig(args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_realsig"));
    cmd.args(args);
    hermetic(&mut cmd);
    cmd.env_remove("AWS_SESSION_TOKEN")
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("REALSIG_CACHE_DIR", test_cache_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        if v.is_empty() {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
    let mut child = cmd.spawn().expect("realsig runs");
    // A child that fails before reading stdin closes the pipe: not this test's concern.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

/// No credentials, region or profile from this machine, and never the real IMDS address.
pub(crate) fn hermetic(cmd: &mut Command) {
    for var in [
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        "REALSIG_CLOCK",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/realsig/credentials")
        .env("AWS_CONFIG_FILE", "/nonexistent/realsig/config")
        .env("AWS_EC2_METADATA_DISABLED", "true");
}

fn sign_json(case_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Value {
    let request = case_dir.join("request.txt");
    let mut args = vec!["sign", "--request", request.to_str().unwrap(), "--region", "us-east-1"];
    args.extend(["--service", "service", "--time", TIME, "--format", "json"]);
    args.extend(extra);
    let out = realsig(&args, env, b"");
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("json output")
}

#[test]
fn sign_json_has_every_field_and_matches_the_suite() {
    let dir = case("get-vanilla");
    let v = sign_json(&dir, &[], &[]);
    assert_eq!(v["signature"], expected(&dir, "header-signature.txt"));
    assert_eq!(v["canonical_request"], expected(&dir, "header-canonical-request.txt"));
    assert_eq!(v["string_to_sign"], expected(&dir, "header-string-to-sign.txt"));
    assert_eq!(v["signing_time"], TIME);
    assert_eq!(v["url"], "https://example.amazonaws.com/");
    let auth = v["authorization"].as_str().unwrap();
    assert!(
        auth.ends_with(&format!("Signature={}", expected(&dir, "header-signature.txt"))),
        "{auth}"
    );
    assert_eq!(v["headers"][0], serde_json::json!(["x-amz-date", "20150830T123600Z"]));
    assert_eq!(v["headers"][1][0], "authorization");
}

#[test]
fn sign_http_from_stdin_prints_the_signed_request() {
    let dir = case("post-x-www-form-urlencoded");
    let request = std::fs::read(dir.join("request.txt")).unwrap();
    let args = [&SIGN_STDIN[..], &["--time", TIME]].concat();
    let out = realsig(&[&args[..], &["--content-sha256-header"]].concat(), &[], &request);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ours = realsig_cli::http_text::RawRequest::parse(&out.stdout).unwrap();
    let want =
        realsig_cli::http_text::RawRequest::parse(&std::fs::read(dir.join("header-signed-request.txt")).unwrap())
            .unwrap();
    let lower = |r: &realsig_cli::http_text::RawRequest| {
        let mut h: Vec<_> = r
            .headers
            .iter()
            .map(|h| (h.name.to_ascii_lowercase(), h.value.clone()))
            .collect();
        h.sort();
        (r.target.clone(), h, r.body.clone())
    };
    assert_eq!(lower(&ours), lower(&want));
}

#[test]
fn presign_prints_the_suites_url() {
    let dir = case("get-vanilla-query-order-encoded");
    let v = sign_json(&dir, &["--presign", "--expires", "3600"], &[]);
    let line = expected(&dir, "query-signed-request.txt");
    let target = line
        .lines()
        .next()
        .unwrap()
        .strip_prefix("GET ")
        .unwrap()
        .strip_suffix(" HTTP/1.1")
        .unwrap();
    assert_eq!(v["url"], format!("https://example.amazonaws.com{target}"));
    assert_eq!(v["signature"], expected(&dir, "query-signature.txt"));
    assert_eq!(v["authorization"], Value::Null);
}

#[test]
fn s3_style_and_token_flags_match_their_suite_cases() {
    let unnormalized = case("get-slashes-unnormalized");
    let v = sign_json(&unnormalized, &["--no-normalize-path"], &[]);
    assert_eq!(v["signature"], expected(&unnormalized, "header-signature.txt"));

    // The same request with its path already encoded, signed once-encoded.
    let smithy = vectors_dir().join("smithy-rs-extras/v4/get-space-normalized");
    let v = sign_json(&smithy, &["--no-double-encode"], &[]);
    assert_eq!(
        v["signature"],
        expected(&case("get-space-normalized"), "header-signature.txt")
    );

    let after = case("post-sts-header-after");
    let ctx: Value = serde_json::from_str(&std::fs::read_to_string(after.join("context.json")).unwrap()).unwrap();
    let token = ctx["credentials"]["token"].as_str().unwrap();
    let v = sign_json(&after, &["--omit-session-token"], &[("AWS_SESSION_TOKEN", token)]);
    assert_eq!(v["signature"], expected(&after, "header-signature.txt"));
    let v = sign_json(&case("post-sts-header-before"), &[], &[("AWS_SESSION_TOKEN", token)]);
    assert_eq!(
        v["signature"],
        expected(&case("post-sts-header-before"), "header-signature.txt")
    );
}

#[test]
fn payload_flags_set_the_canonical_payload_line() {
    let dir = case("get-vanilla");
    let v = sign_json(&dir, &["--unsigned-payload"], &[]);
    assert!(v["canonical_request"].as_str().unwrap().ends_with("\nUNSIGNED-PAYLOAD"));
    let hash = "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e";
    let v = sign_json(&dir, &["--payload-hash", hash, "--content-sha256-header"], &[]);
    let creq = v["canonical_request"].as_str().unwrap();
    assert!(
        creq.ends_with(&format!("\n{hash}")) && creq.contains(&format!("x-amz-content-sha256:{hash}")),
        "{creq}"
    );
}

#[test]
fn component_out_writes_the_embedded_component() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("realsig.wasm");
    let out = realsig(&["component", "--out", path.to_str().unwrap()], &[], b"");
    assert!(out.status.success());
    assert_eq!(std::fs::read(&path).unwrap(), realsig::COMPONENT);
    let core = dir.path().join("core.wasm");
    assert!(
        realsig(&["component", "--out", core.to_str().unwrap(), "--core"], &[], b"")
            .status
            .success()
    );
    assert_eq!(std::fs::read(&core).unwrap(), realsig::CORE_MODULE);
}

/// `--component` signs with another component: the embedded one written out signs as the
/// built-in does; a hostile one's failures and a refused one's imports are one-line errors.
#[test]
fn component_flag_runs_a_plugin_under_the_same_caps() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let ours = path("realsig.wasm", realsig::COMPONENT);
    let with_ours = sign_json(&case("get-vanilla"), &["--component", &ours], &[]);
    assert_eq!(with_ours, sign_json(&case("get-vanilla"), &[], &[]));

    let hostile = path("hostile.wasm", &common::plugins::hostile());
    let filesystem = path("fs.wasm", &common::plugins::with_filesystem_import());
    let missing = dir.path().join("missing.wasm").to_str().unwrap().to_owned();
    let sign = |component: &str, method: &str| {
        let base = ["sign", "--region", "us-east-1", "--service", "s", "--time", TIME];
        realsig(
            &[
                &base[..],
                &["--component", component, "-X", method, "https://example.com/"],
            ]
            .concat(),
            &[],
            b"",
        )
    };
    assert_one_line_error(
        "trapping plugin",
        &sign(&hostile, "TRAP"),
        "the signing component failed: wasm trap",
    );
    assert_one_line_error("huge plugin", &sign(&hostile, "HUGE"), "output cap");
    assert_one_line_error(
        "plugin importing the filesystem",
        &sign(&filesystem, "GET"),
        "imports `wasi:filesystem/preopens@0.2.0`",
    );
    assert_one_line_error("missing plugin", &sign(&missing, "GET"), "the component: cannot read");
    // From the environment too.
    let out = realsig(
        &[
            "sign",
            "--region",
            "us-east-1",
            "--service",
            "s",
            "--time",
            TIME,
            "-X",
            "BOMB",
            "https://example.com/",
        ],
        &[("REALSIG_COMPONENT", &hostile)],
        b"",
    );
    assert_one_line_error("memory bomb plugin", &out, "memory cap");
}

/// Every bad input: non-zero exit, nothing on stdout, exactly one line on stderr, no panic.
/// A failing exit, nothing on stdout, one `realsig: error:` line containing `needle`, no
/// panic and no secret.
fn assert_one_line_error(what: &str, out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{what}: exit 0");
    assert!(
        out.stdout.is_empty(),
        "{what}: printed {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{what}: not one line: {stderr}");
    assert!(
        stderr.starts_with("realsig: error: ") && stderr.contains(needle),
        "{what}: {stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains(SECRET),
        "{what}: {stderr}"
    );
}

#[test]
fn bad_input_gets_one_line_and_a_failing_exit() {
    let sign = SIGN_STDIN;
    let good = b"GET / HTTP/1.1\nHost: example.amazonaws.com\n\n".as_slice();
    // (what, arguments, environment changes, stdin, text the error must contain)
    type Case<'a> = (&'a str, Vec<&'a str>, &'a [(&'a str, &'a str)], &'a [u8], &'a str);
    let cases: &[Case] = &[
        (
            "garbage request",
            sign.to_vec(),
            &[],
            b"this is not http",
            "malformed request",
        ),
        (
            "unparsable header name",
            sign.to_vec(),
            &[],
            b"GET / HTTP/1.1\nHost: h\nBad : x\n\n",
            "bad header name",
        ),
        (
            "header name the signer refuses",
            sign.to_vec(),
            &[],
            b"GET / HTTP/1.1\nHost: h\nBad Name: x\n\n",
            "invalid-header-name",
        ),
        (
            "non-UTF-8 head",
            sign.to_vec(),
            &[],
            b"GET /\xff HTTP/1.1\nHost: h\n\n",
            "UTF-8",
        ),
        (
            "no host",
            sign.to_vec(),
            &[],
            b"GET / HTTP/1.1\nX: y\n\n",
            "no Host header",
        ),
        (
            "missing credentials",
            sign.to_vec(),
            &[("AWS_SECRET_ACCESS_KEY", "")],
            good,
            "AWS_SECRET_ACCESS_KEY",
        ),
        (
            "bad --time",
            [&sign[..], &["--time", "yesterday"]].concat(),
            &[],
            good,
            "--time",
        ),
        (
            "missing file",
            vec![
                "sign",
                "--request",
                "/nonexistent/req.txt",
                "--region",
                "r",
                "--service",
                "s",
            ],
            &[],
            good,
            "cannot read",
        ),
        (
            "expiry too long",
            [&sign[..], &["--presign", "--expires", "604801"]].concat(),
            &[],
            good,
            "expiry out of range",
        ),
        (
            "bad payload hash",
            [&sign[..], &["--payload-hash", "xyz"]].concat(),
            &[],
            good,
            "invalid-payload-hash",
        ),
        (
            "bad region",
            vec!["sign", "--request", "-", "--region", "us/east", "--service", "s"],
            &[],
            good,
            "region",
        ),
        (
            "unknown flag",
            [&sign[..], &["--frobnicate"]].concat(),
            &[],
            good,
            "--frobnicate",
        ),
    ];
    for (what, args, env, stdin, needle) in cases {
        let out = realsig(args, env, stdin);
        assert_one_line_error(what, &out, needle);
    }
}

#[test]
fn the_url_form_signs_what_the_suite_expects() {
    // get-vanilla-query-order-key-case as a curl-like command line, with a header.
    let dir = case("post-header-key-sort");
    let out = realsig(
        &[
            "sign",
            "-X",
            "POST",
            "-H",
            "My-Header1: value1",
            "--time",
            TIME,
            "--region",
            "us-east-1",
            "--service",
            "service",
            "--format",
            "json",
            "https://example.amazonaws.com/",
        ],
        &[],
        b"",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["canonical_request"], expected(&dir, "header-canonical-request.txt"));
    assert_eq!(v["signature"], expected(&dir, "header-signature.txt"));
}

#[test]
fn headers_and_curl_formats() {
    let base = [
        "sign",
        "--time",
        TIME,
        "--region",
        "us-east-1",
        "--service",
        "service",
        "-H",
        "X-Note: it's",
    ];
    let url = "https://example.amazonaws.com/";
    let headers = realsig(&[&base[..], &["--format", "headers", url]].concat(), &[], b"");
    let headers = String::from_utf8(headers.stdout).unwrap();
    assert!(
        headers.starts_with("x-amz-date: 20150830T123600Z\nauthorization: AWS4-HMAC-SHA256 "),
        "{headers}"
    );
    let curl = realsig(
        &[&base[..], &["--format", "curl", "--data", "a=1", url]].concat(),
        &[],
        b"",
    );
    let curl = String::from_utf8(curl.stdout).unwrap();
    // The body is piped in (tests/all/s3.rs runs such commands against s3s-fs).
    assert!(
        curl.starts_with("printf '%s' 'a=1' | curl -X 'POST' -H 'X-Note: it'\\''s' -H 'x-amz-date: 20150830T123600Z' "),
        "{curl}"
    );
    assert!(
        curl.contains("-H 'authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
        "{curl}"
    );
    assert!(
        curl.ends_with("-H 'Content-Type:' --data-binary @- 'https://example.amazonaws.com/'\n"),
        "{curl}"
    );
}

#[test]
fn credentials_from_a_profile_with_credential_process_and_a_redacted_verbose() {
    let dir = tempfile::tempdir().unwrap();
    let credentials = dir.path().join("credentials");
    let config = dir.path().join("config");
    std::fs::write(
        &credentials,
        "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s1\n",
    )
    .unwrap();
    let process = r#"printf '{"Version":1,"AccessKeyId":"AKIDPROCESS","SecretAccessKey":"procSecretXYZ","SessionToken":"procToken/123+abc"}'"#;
    std::fs::write(
        &config,
        format!("[profile proc]\ncredential_process = {process}\nregion = eu-west-3\n"),
    )
    .unwrap();
    let files = [
        ("AWS_SHARED_CREDENTIALS_FILE", credentials.to_str().unwrap()),
        ("AWS_CONFIG_FILE", config.to_str().unwrap()),
        ("AWS_ACCESS_KEY_ID", ""),
        ("AWS_SECRET_ACCESS_KEY", ""),
    ];
    let args = [
        "sign",
        "--time",
        TIME,
        "--service",
        "service",
        "--format",
        "json",
        "--verbose",
    ];
    let url = "https://example.amazonaws.com/";
    let out = realsig(&[&args[..], &["--profile", "proc", url]].concat(), &files, b"");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let auth = v["authorization"].as_str().unwrap();
    assert!(
        auth.contains("Credential=AKIDPROCESS/20150830/eu-west-3/service/"),
        "{auth}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("credentials: profile proc credential_process (access key AKIDPROCESS)"),
        "{stderr}"
    );
    assert!(stderr.contains("x-amz-security-token:** redacted **"), "{stderr}");
    assert!(
        !stderr.contains("procToken") && !stderr.contains("procSecretXYZ"),
        "{stderr}"
    );

    let out = realsig(
        &[&args[..3], &["--region", "r", "--service", "s", url]].concat(),
        &files,
        b"",
    );
    let v = String::from_utf8_lossy(&out.stdout);
    assert!(v.contains("Credential=AKIDDEFAULT/"), "the default profile: {v}");
}

/// What is wrong, the arguments, extra environment, and a phrase the error must contain.
type BadCase<'a> = (&'a str, Vec<&'a str>, &'a [(&'a str, &'a str)], &'a str);

#[test]
fn bad_url_form_input_gets_one_line_and_a_failing_exit() {
    let url = "https://example.amazonaws.com/";
    let sign = ["sign", "--region", "us-east-1", "--service", "service"];
    let no_creds: &[(&str, &str)] = &[("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", "")];
    let cases: Vec<BadCase> = vec![
        (
            "header without colon",
            [&sign[..], &["-H", "NoColon", url]].concat(),
            &[],
            "has no colon",
        ),
        (
            "unreadable @file",
            [&sign[..], &["--data", "@/nonexistent/body", url]].concat(),
            &[],
            "cannot read /nonexistent/body: No such file",
        ),
        (
            "malformed URL",
            [&sign[..], &["example.amazonaws.com/"]].concat(),
            &[],
            "malformed URL",
        ),
        (
            "unknown service",
            vec!["sign", "--region", "r", "https://example.com/"],
            &[],
            "cannot tell the AWS service",
        ),
        (
            "expiry out of range",
            vec![
                "presign",
                "--region",
                "r",
                "--service",
                "s3",
                "--expires",
                "604801",
                url,
            ],
            &[],
            "expiry out of range",
        ),
        (
            "missing credentials",
            [&sign[..], &[url]].concat(),
            no_creds,
            "no credentials found",
        ),
        (
            "unknown profile",
            [&sign[..], &["--profile", "nope", url]].concat(),
            &[],
            "no profile \"nope\"",
        ),
        (
            "server unreachable",
            vec!["request", "--region", "r", "--service", "s", "http://127.0.0.1:1/"],
            &[],
            "http://127.0.0.1:1/",
        ),
        (
            "bad clock",
            [&sign[..], &["--clock", "sundial", url]].concat(),
            &[],
            "unknown source",
        ),
    ];
    for (what, args, env, needle) in cases {
        let out = realsig(&args, env, b"");
        assert_one_line_error(what, &out, needle);
    }
}

#[test]
fn region_comes_from_the_flag_the_environment_then_the_host() {
    let scope = |args: &[&str], env: &[(&str, &str)]| {
        let base = ["sign", "--time", TIME, "--format", "json"];
        let out = realsig(&[&base[..], args].concat(), env, b"");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let auth = v["authorization"].as_str().unwrap().to_owned();
        auth.split("Credential=AKIDEXAMPLE/20150830/")
            .nth(1)
            .unwrap()
            .split(',')
            .next()
            .unwrap()
            .to_owned()
    };
    let url = ["--service", "service", "https://example.amazonaws.com/"];
    let both = [("AWS_REGION", "eu-north-1"), ("AWS_DEFAULT_REGION", "ap-south-1")];
    assert_eq!(
        scope(&[&["--region", "sa-east-1"], &url[..]].concat(), &both),
        "sa-east-1/service/aws4_request"
    );
    assert_eq!(scope(&url, &both), "eu-north-1/service/aws4_request");
    assert_eq!(scope(&url, &both[1..]), "ap-south-1/service/aws4_request");
    assert_eq!(
        scope(&["https://sts.us-west-2.amazonaws.com/"], &[]),
        "us-west-2/sts/aws4_request"
    );
    assert_eq!(
        scope(&["https://iam.amazonaws.com/"], &[]),
        "us-east-1/iam/aws4_request"
    );
    let out = realsig(&["sign", "--service", "s", "https://example.com/"], &[], b"");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no region"));
}

fn creds_json(akid: &str) -> String {
    serde_json::json!({
        "AccessKeyId": akid,
        "SecretAccessKey": "endpointSecretEXAMPLE",
        "Token": "endpoint-token",
        "Expiration": "2099-01-01T00:00:00Z",
    })
    .to_string()
}

#[test]
fn credentials_from_the_container_endpoint_and_imds_in_the_environment() {
    use common::http_server::HttpServer;
    let token_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(token_file.path(), "Bearer from-file\n").unwrap();
    let ecs = HttpServer::start(|seen| match seen.header("authorization") {
        Some("Bearer from-file") => ("200 OK", creds_json("ASIAFROMECS")),
        _ => ("403 Forbidden", String::new()),
    });
    let imds = HttpServer::start(|seen| {
        let token_ok = seen.header("x-aws-ec2-metadata-token") == Some("imds-token");
        match seen.request_line.as_str() {
            "PUT /latest/api/token HTTP/1.1" if seen.header("x-aws-ec2-metadata-token-ttl-seconds").is_some() => {
                ("200 OK", "imds-token".into())
            }
            "GET /latest/meta-data/iam/security-credentials/ HTTP/1.1" if token_ok => ("200 OK", "my-role\n".into()),
            "GET /latest/meta-data/iam/security-credentials/my-role HTTP/1.1" if token_ok => {
                ("200 OK", creds_json("ASIAFROMIMDS"))
            }
            _ => ("401 Unauthorized", String::new()),
        }
    });
    let ecs_uri = format!("http://{}/v2/credentials", ecs.addr);
    let imds_uri = format!("http://{}", imds.addr);
    let args = [
        "sign",
        "--region",
        "r",
        "--service",
        "s",
        "--time",
        TIME,
        "--format",
        "headers",
        "https://h.example/",
    ];
    let no_env = [("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", "")];
    let ecs_env = [
        &no_env[..],
        &[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs_uri.as_str()),
            (
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                token_file.path().to_str().unwrap(),
            ),
        ],
    ]
    .concat();
    let out = String::from_utf8(realsig(&args, &ecs_env, b"").stdout).unwrap();
    assert!(
        out.contains("Credential=ASIAFROMECS/") && out.contains("x-amz-security-token: endpoint-token"),
        "{out}"
    );
    // IMDS (the test helper disables it; this case turns it back on, at the loopback fake).
    let imds_env = [
        &no_env[..],
        &[
            ("AWS_EC2_METADATA_DISABLED", "false"),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds_uri.as_str()),
        ],
    ]
    .concat();
    let out = String::from_utf8(realsig(&args, &imds_env, b"").stdout).unwrap();
    assert!(out.contains("Credential=ASIAFROMIMDS/"), "{out}");
    assert_eq!(imds.requests(), 3, "token, role, credentials");
}

/// `--sigv4a --region-set` signs the v4a suite's get-vanilla: the stages equal the files and
/// the signature verifies with the case's public key.
#[test]
fn sigv4a_flags_sign_the_v4a_suite_case() {
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::{Signature, VerifyingKey};
    let dir = vectors_dir().join("aws-signing-test-suite/v4a/get-vanilla");
    let v = sign_json(&dir, &["--sigv4a", "--region-set", "us-east-1"], &[]);
    assert_eq!(v["canonical_request"], expected(&dir, "header-canonical-request.txt"));
    assert_eq!(v["string_to_sign"], expected(&dir, "header-string-to-sign.txt"));
    let key: Value = serde_json::from_str(&expected(&dir, "public-key.json")).unwrap();
    let mut sec1 = vec![4u8];
    sec1.extend(hex::decode(key["X"].as_str().unwrap()).unwrap());
    sec1.extend(hex::decode(key["Y"].as_str().unwrap()).unwrap());
    let key = VerifyingKey::from_sec1_bytes(&sec1).unwrap();
    let sig = Signature::from_der(&hex::decode(v["signature"].as_str().unwrap()).unwrap()).unwrap();
    key.verify(v["string_to_sign"].as_str().unwrap().as_bytes(), &sig)
        .unwrap();
    assert!(
        v["authorization"]
            .as_str()
            .unwrap()
            .starts_with("AWS4-ECDSA-P256-SHA256 Credential=")
    );
    // --region-set without --sigv4a is refused, as one line.
    let out = realsig(
        &["sign", "--region-set", "*", "https://example.amazonaws.com/"],
        &[],
        b"",
    );
    assert_one_line_error("--region-set alone", &out, "--sigv4a");
}

/// Every output path of the CLI, successes and failures, with a secret and a session token
/// that appear nowhere else: the secret is never printed; the token only on stdout where it is
/// part of what to send (the signed request, the presigned URL, the POST form), never in
/// `--verbose` output, logs or errors on stderr.
#[test]
fn no_output_path_shows_the_secret() {
    const TOKEN: &str = "TOKENSENTINELqz7Xw0ExampleSessionToken";
    let server = common::http_server::HttpServer::start(|seen| {
        if seen.request_line.contains("/forbidden") {
            (
                "403 Forbidden",
                "<Error><Code>SignatureDoesNotMatch</Code></Error>".into(),
            )
        } else {
            ("200 OK", "ok".into())
        }
    });
    let url = format!("http://{}", server.addr);
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap()) // closed when l drops here
    };
    let dir = tempfile_dir("secret-grep");
    // A credential_process whose output holds a second secret but is not usable credentials.
    let proc_secret = "PROCSECRETq8Zr4Example/Secret+Key0000000000";
    let config = dir.join("config");
    std::fs::write(
        &config,
        format!(
            "[profile broken]\ncredential_process = echo '{{\"Version\": 1, \"SecretAccessKey\": \"{proc_secret}\"}}'\n\
             [profile garbled]\ncredential_process = echo '{{\"Version\": 1, \"AccessKeyId\": \"AKID\", \"SecretAccessKey\": \"{proc_secret}\", '\n"
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let get = b"GET /?Param1=value1 HTTP/1.1\r\nHost: example.amazonaws.com\r\n\r\n";
    let with_token = [("AWS_SESSION_TOKEN", TOKEN)];
    let s3 = ["--region", "us-east-1", "--service", "s3"];
    let creds_from = |profile: &'static str| {
        let env = vec![
            ("AWS_CONFIG_FILE", config),
            ("AWS_ACCESS_KEY_ID", ""),
            ("AWS_SECRET_ACCESS_KEY", ""),
        ];
        (args(&SIGN_STDIN, &["--time", TIME, "--profile", profile]), env)
    };
    let (broken, broken_env) = creds_from("broken");
    let (garbled, garbled_env) = creds_from("garbled");
    // (what, arguments, stdin, extra environment, whether it succeeds: None when it depends
    // on timing, as a server that answers before reading an upload)
    let runs: Vec<Run<'_>> = vec![
        (
            "sign http",
            args(&SIGN_STDIN, &["--time", TIME, "-v", "--format", "http"]),
            get,
            vec![],
            Some(true),
        ),
        (
            "sign headers",
            args(&SIGN_STDIN, &["--time", TIME, "-v", "--format", "headers"]),
            get,
            vec![],
            Some(true),
        ),
        (
            "sign json",
            args(&SIGN_STDIN, &["--time", TIME, "-v", "--format", "json"]),
            get,
            vec![],
            Some(true),
        ),
        (
            "sign curl",
            args(&SIGN_STDIN, &["--time", TIME, "-v", "--format", "curl"]),
            get,
            vec![],
            Some(true),
        ),
        (
            "presign",
            args(&SIGN_STDIN, &["--time", TIME, "-v", "--presign"]),
            get,
            vec![],
            Some(true),
        ),
        (
            "sigv4a",
            args(&SIGN_STDIN, &["--time", TIME, "-v", "--sigv4a", "--region-set", "*"]),
            get,
            vec![],
            Some(true),
        ),
        (
            "post-policy",
            args(
                &["post-policy", "--bucket", "b", "--key", "k", "--region", "us-east-1"],
                &[],
            ),
            b"",
            vec![],
            Some(true),
        ),
        (
            "request",
            args(&["request", "-v", "-i"], &[&s3[..], &[&format!("{url}/ok")]].concat()),
            b"",
            vec![],
            Some(true),
        ),
        (
            "request 403",
            args(&["request", "-v"], &[&s3[..], &[&format!("{url}/forbidden")]].concat()),
            b"",
            vec![],
            Some(false),
        ),
        (
            "request refused",
            args(&["request", "-v"], &[&s3[..], &[&format!("{closed}/x")]].concat()),
            b"",
            vec![],
            Some(false),
        ),
        (
            "request chunked",
            args(
                &[
                    "request",
                    "-v",
                    "-X",
                    "PUT",
                    "--chunked",
                    "--trailer-checksum",
                    "crc32c",
                    "-d",
                    "data",
                ],
                &[&s3[..], &[&format!("{url}/ok")]].concat(),
            ),
            b"",
            vec![],
            None,
        ),
        (
            "bad url",
            args(&["sign", "--time", TIME, "-v"], &[&s3[..], &["ftp://x/"]].concat()),
            b"",
            vec![],
            Some(false),
        ),
        (
            "bad header",
            args(
                &["sign", "--time", TIME, "-v", "-H", "x-bad: a\u{1}b"],
                &[&s3[..], &["https://b.s3.amazonaws.com/"]].concat(),
            ),
            b"",
            vec![],
            Some(false),
        ),
        (
            "clock fails",
            args(&SIGN_STDIN, &["--clock", "faketimefs:/nonexistent/realtime", "-v"]),
            get,
            vec![],
            Some(false),
        ),
        (
            "credential_process without a key id",
            broken,
            get,
            broken_env,
            Some(false),
        ),
        ("credential_process garbled", garbled, get, garbled_env, Some(false)),
    ];
    for (what, argv, stdin, extra, succeeds) in &runs {
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let mut env: Vec<(&str, &str)> = with_token.to_vec();
        env.extend(extra.iter().copied());
        let out = realsig(&argv, &env, stdin);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        if let Some(succeeds) = succeeds {
            assert_eq!(out.status.success(), *succeeds, "{what}: {}\n{stderr}", out.status);
        }
        for secret in [SECRET, proc_secret] {
            assert!(
                !stdout.contains(secret) && !stderr.contains(secret),
                "{what}: the secret was printed\n{stdout}\n{stderr}"
            );
        }
        assert!(
            !stderr.contains(TOKEN),
            "{what}: the session token is on stderr:\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
        // What to send carries the token: the check above is not vacuous. (A `request`'s stdout
        // is the server's answer, not what was sent. "request chunked" may succeed or not: the
        // test server answers without reading the body, and it used to fail here whenever the
        // upload won that race.)
        if out.status.success() && !what.starts_with("request") {
            assert!(
                stdout.contains(TOKEN),
                "{what}: the signed output lacks the session token:\n{stdout}"
            );
        }
    }
}

/// One CLI run: what it is, its arguments, stdin, extra environment, whether it succeeds.
type Run<'a> = (&'a str, Vec<String>, &'a [u8], Vec<(&'a str, &'a str)>, Option<bool>);

fn args(base: &[&str], more: &[&str]) -> Vec<String> {
    base.iter().chain(more).map(|s| s.to_string()).collect()
}

/// A fresh directory under the target dir for one test.
fn tempfile_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `realsig completions SHELL` and `realsig man` are generated from the clap definitions:
/// every command is in each, bash parses its script, the man page is roff for realsig(1);
/// an unknown shell is a one-line usage error.
#[test]
fn completions_and_the_man_page_name_every_command() {
    let commands = [
        "sign",
        "presign",
        "request",
        "post-policy",
        "now",
        "component",
        "completions",
        "man",
    ];
    for shell in ["bash", "zsh", "fish"] {
        let out = realsig(&["completions", shell], &[], b"");
        assert!(
            out.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let script = String::from_utf8(out.stdout).unwrap();
        for command in commands {
            assert!(script.contains(command), "{shell} completions lack {command}");
        }
        assert!(
            script.contains("--clock"),
            "{shell} completions lack the commands' flags"
        );
        if shell == "bash" {
            let file = tempfile::NamedTempFile::new().unwrap();
            std::fs::write(file.path(), &script).unwrap();
            let check = Command::new("bash")
                .arg("-n")
                .arg(file.path())
                .output()
                .expect("bash runs");
            assert!(
                check.status.success(),
                "bash -n: {}",
                String::from_utf8_lossy(&check.stderr)
            );
        }
    }
    let out = realsig(&["man"], &[], b"");
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.contains(".TH realsig 1"), "not a realsig(1) page");
    for command in commands {
        assert!(
            page.contains(&format!("realsig\\-{}", command.replace('-', "\\-"))),
            "the man page lacks {command}"
        );
    }

    let out = realsig(&["completions", "tcsh"], &[], b"");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("tcsh"), "{stderr}");
}

/// `realsig --version` names the SHA-256 of the component it embeds (the bytes `realsig
/// component` writes), so a bug report names the exact signing code.
#[test]
fn the_version_names_the_components_sha256() {
    use sha2::{Digest, Sha256};
    let out = realsig(&["--version"], &[], b"");
    assert!(out.status.success());
    let component = tempfile::NamedTempFile::new().unwrap();
    assert!(
        realsig(&["component", "--out", component.path().to_str().unwrap()], &[], b"")
            .status
            .success()
    );
    let sha = hex::encode(Sha256::digest(std::fs::read(component.path()).unwrap()));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("realsig {} (component sha256 {sha})\n", env!("CARGO_PKG_VERSION"))
    );
}
