//! Credentials the AWS CLI resolves from roles: assume-role profiles (`source_profile`
//! chains, `credential_source`, `external_id`, `duration_seconds`, `role_session_name`),
//! web identity (the EKS IRSA variables and `web_identity_token_file`), and SSO profiles.
//!
//! STS is moto's server (PyPI `moto[server]` 5.2.1, started here on 127.0.0.1 and stopped by
//! its PID). With IAM auth on, moto verifies every SigV4 signature, so the AssumeRole call our
//! Signer signs is checked by something nobody here wrote; with it off (moto answers
//! AssumeRoleWithWebIdentity only then: with auth on it fails the unsigned call with HTTP 500)
//! it serves web identity. moto has no SSO portal, so `GetRoleCredentials` is a loopback
//! stand-in that checks the bearer token, and its credentials are then used against s3s-fs.

use crate::common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::http_server::HttpServer;
use common::s3_servers::{self, Kind, S3Server, installed};
use common::test_cache_dir;
use common::time_servers;

/// moto's server; killed by its PID on drop.
struct Moto {
    child: Child,
    addr: SocketAddr,
}

impl Moto {
    /// `auth_after`: IAM auth (and signature checks) start after this many actions.
    fn start(auth_after: Option<u32>) -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut cmd = Command::new(installed(
            "moto_server",
            "python3 -m venv ~/.local/share/realsig/moto && ~/.local/share/realsig/moto/bin/pip install 'moto[server]==5.2.1'",
        ));
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        if let Some(n) = auth_after {
            cmd.env("INITIAL_NO_AUTH_ACTION_COUNT", n.to_string());
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not listen within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, addr }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        time_servers::stop(&mut self.child);
    }
}

/// `realsig` with nothing of this machine's AWS configuration: a fresh HOME, the given
/// config file, no credential variables, IMDS off.
fn realsig(home: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_realsig"));
    cmd.args(args)
        .env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join("config"));
    cmd.env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"));
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_STS",
        "AWS_ENDPOINT_URL_SSO",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "AWS_ROLE_SESSION_NAME",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "REALSIG_CLOCK",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("AWS_EC2_METADATA_DISABLED", "true")
        .env("REALSIG_CACHE_DIR", test_cache_dir());
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("realsig runs")
}

fn ok(what: &str, out: Output) -> (String, String) {
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "{what}: {stderr}");
    (stdout, stderr)
}

fn failed(what: &str, out: Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{what} succeeded: {stderr}");
    stderr
}

/// The text of `<tag>` in an XML answer.
fn xml_value(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let start = xml.find(&open).unwrap_or_else(|| panic!("no <{tag}> in {xml}")) + open.len();
    xml[start..start + xml[start..].find('<').unwrap()].to_owned()
}

/// An IAM/STS query-protocol POST to moto, signed with `profile`'s credentials (or dummy
/// keys while moto's auth has not started).
fn query(home: &Path, moto: &Moto, service: &str, form: &str, extra: &[&str]) -> Command {
    let mut args = vec![
        "request",
        "-X",
        "POST",
        "--service",
        service,
        "--region",
        "us-east-1",
        "-H",
        "content-type: application/x-www-form-urlencoded",
        "--data",
        form,
    ];
    args.extend_from_slice(extra);
    let url = moto.url() + "/";
    args.push(&url);
    let mut cmd = realsig(home, &args);
    cmd.env("AWS_ENDPOINT_URL_STS", moto.url());
    cmd
}

const ACCOUNT: &str = "123456789012";
const CALLER: &str = "Action=GetCallerIdentity&Version=2011-06-15";

/// moto with auth after the setup: user `alice` with a key and an allow-all policy, and two
/// roles anyone may assume. Returns alice's key id and secret.
fn moto_with_users(home: &Path) -> (Moto, String, String) {
    const SETUP: [&str; 7] = [
        "Action=CreateUser&UserName=alice&Version=2010-05-08",
        "Action=CreateAccessKey&UserName=alice&Version=2010-05-08",
        "Action=PutUserPolicy&UserName=alice&PolicyName=all&PolicyDocument=%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D&Version=2010-05-08",
        "Action=CreateRole&RoleName=test-role&AssumeRolePolicyDocument=%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22AWS%22%3A%22%2A%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D&Version=2010-05-08",
        "Action=PutRolePolicy&RoleName=test-role&PolicyName=all&PolicyDocument=%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D&Version=2010-05-08",
        "Action=CreateRole&RoleName=second&AssumeRolePolicyDocument=%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22AWS%22%3A%22%2A%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D&Version=2010-05-08",
        "Action=PutRolePolicy&RoleName=second&PolicyName=all&PolicyDocument=%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D&Version=2010-05-08",
    ];
    let moto = Moto::start(Some(SETUP.len() as u32));
    let mut key = None;
    for form in SETUP {
        let mut cmd = query(home, &moto, "iam", form, &[]);
        cmd.env("AWS_ACCESS_KEY_ID", "AKIDSETUP")
            .env("AWS_SECRET_ACCESS_KEY", "setup");
        let (stdout, _) = ok(form, run(&mut cmd));
        if form.starts_with("Action=CreateAccessKey") {
            key = Some((xml_value(&stdout, "AccessKeyId"), xml_value(&stdout, "SecretAccessKey")));
        }
    }
    let (akid, secret) = key.unwrap();
    (moto, akid, secret)
}

fn write(path: PathBuf, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn assume_role_profiles_resolve_as_the_aws_cli_does() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (moto, akid, secret) = moto_with_users(h);
    let role = |name: &str| format!("arn:aws:iam::{ACCOUNT}:role/{name}");
    write(
        h.join("credentials"),
        &format!(
            "[base]\naws_access_key_id = {akid}\naws_secret_access_key = {secret}\n\n[wrong]\naws_access_key_id = {akid}\naws_secret_access_key = not-the-secret\n"
        ),
    );
    write(
        h.join("config"),
        &format!(
            "[profile ops]\nrole_arn = {}\nsource_profile = base\nrole_session_name = realsig-test\nexternal_id = ext-1\nduration_seconds = 900\n\n\
             [profile chained]\nrole_arn = {}\nsource_profile = ops\nrole_session_name = second-hop\n\n\
             [profile from-env]\nrole_arn = {}\ncredential_source = Environment\nrole_session_name = env-source\n\n\
             [profile refused]\nrole_arn = {}\nsource_profile = wrong\n\n\
             [profile loop-a]\nrole_arn = {}\nsource_profile = loop-b\n\n[profile loop-b]\nrole_arn = {}\nsource_profile = loop-a\n\n\
             [profile mfa]\nrole_arn = {}\nsource_profile = base\nmfa_serial = arn:aws:iam::{ACCOUNT}:mfa/alice\n\n\
             [profile via-services]\nrole_arn = {}\nsource_profile = base\nrole_session_name = services-section\nservices = local\n\n\
             [services local]\nsts =\n  endpoint_url = {}\n",
            role("test-role"),
            role("second"),
            role("test-role"),
            role("test-role"),
            role("test-role"),
            role("test-role"),
            role("test-role"),
            role("test-role"),
            moto.url()
        ),
    );
    let caller = |profile: &str| query(h, &moto, "sts", CALLER, &["--profile", profile, "--verbose"]);

    // source_profile with static keys: moto checked the AssumeRole signature and the
    // assumed credentials' (GetCallerIdentity answers with the role's session ARN).
    let (stdout, stderr) = ok("ops", run(&mut caller("ops")));
    let ops_arn = format!("arn:aws:sts::{ACCOUNT}:assumed-role/test-role/realsig-test");
    assert!(stdout.contains(&ops_arn), "{stdout}");
    assert!(
        stderr.contains(&format!(
            "profile ops: assumed role {ops_arn} (session realsig-test) with credentials from profile base"
        )),
        "--verbose names the provider and the role: {stderr}"
    );
    assert!(!stderr.contains(&secret), "the source secret is never shown");

    // A chain of two roles.
    let (stdout, stderr) = ok("chained", run(&mut caller("chained")));
    assert!(
        stdout.contains(&format!("arn:aws:sts::{ACCOUNT}:assumed-role/second/second-hop")),
        "{stdout}"
    );
    assert!(
        stderr.contains(&format!("with credentials from profile ops: assumed role {ops_arn}")),
        "{stderr}"
    );

    // credential_source = Environment.
    let mut cmd = caller("from-env");
    cmd.env("AWS_ACCESS_KEY_ID", &akid)
        .env("AWS_SECRET_ACCESS_KEY", &secret);
    let (stdout, _) = ok("from-env", run(&mut cmd));
    assert!(stdout.contains("assumed-role/test-role/env-source"), "{stdout}");

    // A URL given as a path goes to AWS_ENDPOINT_URL_STS (the CLI's own request); without
    // that variable, the profile's `services` section names the STS endpoint (for the role
    // and for the path), before AWS_ENDPOINT_URL.
    let via_services = |variable: &str, value: &str| {
        let mut cmd = realsig(
            h,
            &[
                "request",
                "--profile",
                "via-services",
                "--service",
                "sts",
                "--region",
                "us-east-1",
                "-X",
                "POST",
                "-H",
                "content-type: application/x-www-form-urlencoded",
                "--data",
                CALLER,
                "/",
            ],
        );
        cmd.env(variable, value);
        let (stdout, _) = ok(&format!("via-services, {variable} set"), run(&mut cmd));
        assert!(stdout.contains("assumed-role/test-role/services-section"), "{stdout}");
    };
    via_services("AWS_ENDPOINT_URL_STS", &moto.url());
    via_services("AWS_ENDPOINT_URL", "http://127.0.0.1:9");

    // moto refuses an AssumeRole signed with the wrong secret: the check is real.
    let stderr = failed("refused", run(&mut caller("refused")));
    assert!(
        stderr.contains("profile refused") && stderr.contains("SignatureDoesNotMatch"),
        "{stderr}"
    );
    assert!(!stderr.contains("not-the-secret"), "{stderr}");

    let stderr = failed("loop", run(&mut caller("loop-a")));
    assert!(
        stderr.contains("source_profile chain loops: loop-a -> loop-b -> loop-a"),
        "{stderr}"
    );
    let stderr = failed("mfa", run(&mut caller("mfa")));
    assert!(
        stderr.contains("mfa_serial") && stderr.contains("cannot prompt"),
        "{stderr}"
    );
}

#[test]
fn web_identity_from_the_environment_and_from_a_profile() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let moto = Moto::start(None);
    let token = h.join("token");
    write(
        token.clone(),
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGVmYXVsdDphcHAifQ.c2ln\n",
    );
    write(
        h.join("config"),
        &format!(
            "[profile irsa]\nrole_arn = arn:aws:iam::{ACCOUNT}:role/from-profile\nweb_identity_token_file = {}\nrole_session_name = profile-session\n",
            token.display()
        ),
    );
    // The variables EKS sets (no keys anywhere else).
    let mut cmd = query(h, &moto, "sts", CALLER, &["--verbose"]);
    cmd.env("AWS_WEB_IDENTITY_TOKEN_FILE", &token)
        .env("AWS_ROLE_ARN", format!("arn:aws:iam::{ACCOUNT}:role/irsa-role"))
        .env("AWS_ROLE_SESSION_NAME", "pod-session");
    let (stdout, stderr) = ok("web identity from the environment", run(&mut cmd));
    assert!(
        stdout.contains(&format!("arn:aws:sts::{ACCOUNT}:assumed-role/irsa-role/pod-session")),
        "{stdout}"
    );
    assert!(
        stderr.contains("web identity: assumed role") && stderr.contains("irsa-role"),
        "{stderr}"
    );
    assert!(!stderr.contains("eyJhbGci"), "the token is never shown: {stderr}");

    let (stdout, _) = ok(
        "irsa profile",
        run(&mut query(h, &moto, "sts", CALLER, &["--profile", "irsa"])),
    );
    assert!(stdout.contains("assumed-role/from-profile/profile-session"), "{stdout}");

    // A token file that is missing, or a FIFO, is a clear error at once.
    let mut cmd = query(h, &moto, "sts", CALLER, &[]);
    cmd.env("AWS_WEB_IDENTITY_TOKEN_FILE", h.join("missing"))
        .env("AWS_ROLE_ARN", format!("arn:aws:iam::{ACCOUNT}:role/r"));
    let stderr = failed("missing token", run(&mut cmd));
    assert!(
        stderr.contains("web identity") && stderr.contains("token file"),
        "{stderr}"
    );
}

#[test]
fn sso_profiles_use_the_cached_token_judged_by_the_real_time() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let s3 = S3Server::start(Kind::S3sFs, None);
    // The portal stand-in: answers GetRoleCredentials for the right token, account and role
    // with the s3s-fs keys (and a session token s3s-fs ignores but must see signed).
    let portal = HttpServer::start(|seen| {
        let wanted = "GET /federation/credentials?account_id=111122223333&role_name=Developer HTTP/1.1";
        if seen.header("x-amz-sso_bearer_token") != Some("sso-access-token") || seen.request_line != wanted {
            return (
                "401 Unauthorized",
                r#"{"message":"Session token not found or invalid"}"#.into(),
            );
        }
        let expires_ms = (std::time::SystemTime::now() + Duration::from_secs(3600))
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis();
        (
            "200 OK",
            format!(
                r#"{{"roleCredentials":{{"accessKeyId":"{}","secretAccessKey":"{}","sessionToken":"sso-session-token","expiration":{expires_ms}}}}}"#,
                s3_servers::AKID,
                s3_servers::SECRET
            ),
        )
    });
    write(
        h.join("config"),
        "[profile dev]\nsso_session = my-sso\nsso_account_id = 111122223333\nsso_role_name = Developer\nregion = us-east-1\n\n\
        [sso-session my-sso]\nsso_start_url = https://my-sso-portal.awsapps.com/start\nsso_region = us-east-1\nsso_registration_scopes = sso:account:access\n\n\
        [profile stale]\nsso_session = my-sso\nsso_account_id = 111122223333\nsso_role_name = Other\n",
    );
    let cache = h.join(".aws/sso/cache");
    std::fs::create_dir_all(&cache).unwrap();
    // `printf my-sso | sha1sum`: the name the AWS CLI gives the session's token.
    let token_file = cache.join("0ad374308c5a4e22f723adf10145eafad7c4031c.json");
    let token = |expires: &str| {
        format!(
            r#"{{"startUrl":"https://my-sso-portal.awsapps.com/start","region":"us-east-1","accessToken":"sso-access-token","expiresAt":"{expires}","clientId":"c","clientSecret":"s","refreshToken":"r"}}"#
        )
    };
    write(token_file.clone(), &token("2099-01-01T00:00:00Z"));
    let s3_request = |profile: &str, args: &[&str]| {
        let mut all = vec![
            "request",
            "--profile",
            profile,
            "--service",
            "s3",
            "--region",
            "us-east-1",
        ];
        all.extend_from_slice(args);
        let mut cmd = realsig(h, &all);
        cmd.env("AWS_ENDPOINT_URL_SSO", format!("http://{}", portal.addr));
        cmd
    };
    let (_, stderr) = ok(
        "sso: create a bucket",
        run(&mut s3_request(
            "dev",
            &["--verbose", "-X", "PUT", &s3.url("/sso-bucket")],
        )),
    );
    assert!(
        stderr.contains("profile dev: SSO role Developer in account 111122223333 (sso-session my-sso)"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("sso-access-token"),
        "the bearer token is never shown: {stderr}"
    );
    ok(
        "sso: upload",
        run(&mut s3_request(
            "dev",
            &["-X", "PUT", "--data", "via sso", &s3.url("/sso-bucket/k")],
        )),
    );
    let (body, _) = ok(
        "sso: read back",
        run(&mut s3_request("dev", &[&s3.url("/sso-bucket/k")])),
    );
    assert_eq!(body, "via sso");

    // The portal refuses another role for this token: the error says what to do.
    let stderr = failed("stale", run(&mut s3_request("stale", &[&s3.url("/sso-bucket/k")])));
    assert!(
        stderr.contains("refused the SSO token") && stderr.contains("aws sso login --profile stale"),
        "{stderr}"
    );

    // A token expired by the real time is refused before any call.
    write(token_file.clone(), &token("2020-01-01T00:00:00Z"));
    let before = portal.requests();
    let stderr = failed("expired", run(&mut s3_request("dev", &[&s3.url("/sso-bucket/k")])));
    assert!(
        stderr.contains("SSO session expired at 2020-01-01T00:00:00Z")
            && stderr.contains("aws sso login --profile dev"),
        "{stderr}"
    );
    assert_eq!(portal.requests(), before, "no call with an expired token");
    std::fs::remove_file(&token_file).unwrap();
    let stderr = failed("no token", run(&mut s3_request("dev", &[&s3.url("/sso-bucket/k")])));
    assert!(
        stderr.contains("no SSO token at") && stderr.contains("aws sso login"),
        "{stderr}"
    );
}
