//! The official signing suites, every case through the component.
//!
//! Trials are generated at run time from the folders in `../shared/vectors`: each case of
//! every known suite gets one trial per signature form, and any folder no runner
//! understands becomes a FAILING trial, so a new vector folder cannot go unexercised.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use realsig::{Credentials, Options, Payload, Placement, Request, Signed};
use realsig_cli::http_text::RawRequest;
use serde_json::Value;

use common::{rfc3339, signer_at, vectors_dir};

fn main() {
    let args = Arguments::from_args();
    let trials = discover(&vectors_dir());
    libtest_mimic::run(&args, trials).exit();
}

/// SigV4 or SigV4a (whose signatures are ECDSA: verified with the case's public key).
type V4a = bool;
const V4: V4a = false;
const V4A: V4a = true;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    Header,
    Query,
}

impl Form {
    /// The prefix of the form's files, `header-*.txt` or `query-*.txt`.
    fn prefix(self) -> &'static str {
        match self {
            Form::Header => "header",
            Form::Query => "query",
        }
    }
}

fn discover(root: &Path) -> Vec<Trial> {
    let mut trials = Vec::new();
    for suite in sorted_dirs(root) {
        match file_name(&suite).as_str() {
            "aws-signing-test-suite" => {
                for version in sorted_dirs(&suite) {
                    match file_name(&version).as_str() {
                        "v4" => {
                            for case in sorted_dirs(&version) {
                                for form in [Form::Header, Form::Query] {
                                    let name = format!("aws-signing-test-suite/v4/{}/{form:?}", file_name(&case));
                                    let dir = case.clone();
                                    trials.push(Trial::test(name, move || crt_case(&dir, &dir, form, None, V4)));
                                }
                            }
                        }
                        "v4a" => {
                            for case in sorted_dirs(&version) {
                                // Some v4a cases have no query form upstream (no query-*.txt).
                                let forms = [Form::Header, Form::Query]
                                    .into_iter()
                                    .filter(|f| case.join(format!("{}-canonical-request.txt", f.prefix())).is_file());
                                for form in forms {
                                    let name = format!("aws-signing-test-suite/v4a/{}/{form:?}", file_name(&case));
                                    let dir = case.clone();
                                    trials.push(Trial::test(name, move || crt_case(&dir, &dir, form, None, V4A)));
                                }
                            }
                        }
                        _ => trials.push(no_runner(&version)),
                    }
                }
            }
            "botocore-aws4" => botocore_cases(&suite, &suite, &mut trials),
            "smithy-rs-extras" => smithy_extras(root, &suite, &mut trials),
            _ => trials.push(no_runner(&suite)),
        }
    }
    trials
}

fn no_runner(dir: &Path) -> Trial {
    let msg = format!("vector folder {} has no runner in tests/vectors.rs", dir.display());
    Trial::test(format!("no-runner/{}", file_name(dir)), move || Err(msg.clone().into()))
}

/// A case of the CRT suite (`context.json`, `request.txt`, `{header,query}-*.txt`).
///
/// `request_dir` holds `request.txt`; `expected_dir` the expected files and context;
/// `double_uri_encode` overrides the suite's default (on).
fn crt_case(
    request_dir: &Path,
    expected_dir: &Path,
    form: Form,
    double_uri_encode: Option<bool>,
    v4a: V4a,
) -> Result<(), Failed> {
    // With another request.txt, the expected signed request (its request line) does not apply.
    let compare_signed_request = request_dir == expected_dir;
    let ctx: Value = serde_json::from_str(&read(&expected_dir.join("context.json"))?)?;
    let creds = &ctx["credentials"];
    let token = creds["token"].as_str().map(str::to_owned);
    let credentials = Credentials::new(
        str_of(creds, "access_key_id")?,
        str_of(creds, "secret_access_key")?,
        token,
    );
    let raw = RawRequest::parse(&fs::read(request_dir.join("request.txt"))?)?;
    let options = Options {
        placement: match form {
            Form::Header => Placement::Headers,
            Form::Query => Placement::Query(ctx["expiration_in_seconds"].as_u64().ok_or("no expiration")? as u32),
        },
        double_uri_encode: Some(double_uri_encode.unwrap_or(true)),
        normalize_path: Some(ctx["normalize"].as_bool().unwrap_or(true)),
        content_sha256_header: Some(ctx["sign_body"].as_bool().unwrap_or(false)),
        omit_session_token: ctx["omit_session_token"].as_bool().unwrap_or(false),
        debug: true,
    };
    let request = request_from(&raw, str_of(&ctx, "region")?, str_of(&ctx, "service")?, options)?;
    let signer = signer_at(rfc3339(str_of(&ctx, "timestamp")?));
    let signed = if v4a {
        signer.sign_sigv4a(&request, &credentials)?
    } else {
        signer.sign(&request, &credentials)?
    };

    let prefix = form.prefix();
    let expected = |stage: &str| read(&expected_dir.join(format!("{prefix}-{stage}.txt")));
    same(
        "canonical request",
        &expected("canonical-request")?,
        signed.canonical_request.as_deref(),
    )?;
    same(
        "string to sign",
        &expected("string-to-sign")?,
        signed.string_to_sign.as_deref(),
    )?;
    let signed_request = expected_dir.join(format!("{prefix}-signed-request.txt"));
    if v4a {
        // ECDSA signatures differ run to run: ours must verify with the case's public key,
        // and the signed request must equal the file's but for the signature itself.
        verify_ecdsa(
            &read(&expected_dir.join("public-key.json"))?,
            signed.string_to_sign.as_deref().unwrap_or_default(),
            &signed.signature,
        )?;
        let text = fs::read_to_string(&signed_request)?;
        let at = text.find("Signature=").ok_or("signed request has no Signature=")? + "Signature=".len();
        let end = text[at..]
            .find(|c: char| !c.is_ascii_hexdigit())
            .map_or(text.len(), |e| at + e);
        let with_ours = format!("{}{}{}", &text[..at], signed.signature, &text[end..]);
        let file = tempfile::NamedTempFile::new()?;
        fs::write(file.path(), with_ours)?;
        return same_request(file.path(), &raw, &signed, false);
    }
    same("signature", expected("signature")?.trim_end(), Some(&signed.signature))?;
    if !compare_signed_request {
        return Ok(());
    }
    same_request(&signed_request, &raw, &signed, false)
}

/// `signature` (hex DER) is a valid P-256 ECDSA signature of `string_to_sign` under the
/// public key in `public_key_json` (`{"X": hex, "Y": hex}`).
fn verify_ecdsa(public_key_json: &str, string_to_sign: &str, signature: &str) -> Result<(), Failed> {
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::{Signature, VerifyingKey};
    let key: Value = serde_json::from_str(public_key_json)?;
    let mut sec1 = vec![4u8];
    sec1.extend(hex::decode(str_of(&key, "X")?)?);
    sec1.extend(hex::decode(str_of(&key, "Y")?)?);
    let key = VerifyingKey::from_sec1_bytes(&sec1).map_err(|e| format!("public-key.json: {e}"))?;
    let sig = Signature::from_der(&hex::decode(signature)?).map_err(|e| format!("signature is not DER: {e}"))?;
    key.verify(string_to_sign.as_bytes(), &sig)
        .map_err(|e| format!("signature does not verify with public-key.json: {e}").into())
}

/// botocore's copy of the older suite (`<case>.req/.creq/.sts/.authz/.sreq`), header form,
/// AKIDEXAMPLE in us-east-1 for `service` at 2015-08-30T12:36:00Z.
fn botocore_cases(root: &Path, dir: &Path, trials: &mut Vec<Trial>) {
    for case in sorted_dirs(dir) {
        let name = file_name(&case);
        if case.join(format!("{name}.req")).is_file() {
            let rel = case.strip_prefix(root).unwrap_or(&case).display().to_string();
            trials.push(Trial::test(format!("botocore-aws4/{rel}"), move || {
                botocore_case(&case)
            }));
        } else if sorted_dirs(&case).is_empty() {
            trials.push(no_runner(&case));
        } else {
            botocore_cases(root, &case, trials);
        }
    }
}

fn botocore_case(dir: &Path) -> Result<(), Failed> {
    let name = file_name(dir);
    let file = |ext: &str| dir.join(format!("{name}.{ext}"));
    let raw = RawRequest::parse(&fs::read(file("req"))?)?;
    let sent = RawRequest::parse(&fs::read(file("sreq"))?)?;
    let sent_token = sent
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("x-amz-security-token"));
    // The suite's readme: `post-sts-header-before` carries the token in the request (signed
    // like any header); `post-sts-header-after` adds it after signing; the session-token case
    // signs with temporary credentials. Each shows its token in the signed request.
    let (token, omit) = match name.as_str() {
        "get-vanilla-with-session-token" => (sent_token.map(|h| h.value.clone()), false),
        "post-sts-header-after" => (sent_token.map(|h| h.value.clone()), true),
        _ => (None, false),
    };
    let credentials = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token);
    let options = Options {
        omit_session_token: omit,
        debug: true,
        ..Options::default()
    };
    let request = request_from(&raw, "us-east-1", "service", options)?;
    let signed = signer_at(rfc3339("2015-08-30T12:36:00Z")).sign(&request, &credentials)?;
    same(
        "canonical request",
        &read(&file("creq"))?,
        signed.canonical_request.as_deref(),
    )?;
    same("string to sign", &read(&file("sts"))?, signed.string_to_sign.as_deref())?;
    same(
        "authorization",
        read(&file("authz"))?.trim_end(),
        signed.authorization(),
    )?;
    // Upstream defect: this .sreq repeats get-vanilla's signature although the case's own
    // .creq, .sts and .authz (checked above) and the CRT suite's same case include the token.
    let sreq_signature_is_stale = name == "get-vanilla-with-session-token";
    same_request(&file("sreq"), &raw, &signed, sreq_signature_is_stale)
}

/// smithy-rs's additions, run as its SOURCE.txt describes.
fn smithy_extras(root: &Path, suite: &Path, trials: &mut Vec<Trial>) {
    for version in sorted_dirs(suite) {
        if file_name(&version) != "v4" {
            trials.push(no_runner(&version));
            continue;
        }
        for case in sorted_dirs(&version) {
            let name = file_name(&case);
            let label = format!("smithy-rs-extras/v4/{name}");
            match name.as_str() {
                "double-encode-path" | "double-url-encode" => {
                    trials.push(Trial::test(label, move || smithy_old_format(&case)));
                }
                // The same request with its path already encoded (`%20`), signed WITHOUT
                // double encoding, must give the CRT case's expected files.
                "get-space-normalized" => {
                    let crt = root.join("aws-signing-test-suite/v4/get-space-normalized");
                    for form in [Form::Header, Form::Query] {
                        let (case, crt) = (case.clone(), crt.clone());
                        trials.push(Trial::test(format!("{label}/{form:?}"), move || {
                            crt_case(&case, &crt, form, Some(false), V4)
                        }));
                    }
                }
                _ => trials.push(no_runner(&case)),
            }
        }
    }
}

fn smithy_old_format(dir: &Path) -> Result<(), Failed> {
    let name = file_name(dir);
    let raw = RawRequest::parse(&fs::read(dir.join("request.txt"))?)?;
    let (creds, region, service) = match name.as_str() {
        "double-encode-path" => (
            Credentials::new("ANOTREAL", "notrealrnrELgWzOk3IfjzDKtFBhDby", None),
            "us-east-1",
            "service",
        ),
        _ => (
            Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None),
            "us-east-2",
            "lambda",
        ),
    };
    let request = request_from(
        &raw,
        region,
        service,
        Options {
            debug: true,
            ..Options::default()
        },
    )?;
    // smithy-rs checks the canonical request (and string to sign) at 2021-05-11T15:40:45Z ...
    let at_2021 = signer_at(rfc3339("2021-05-11T15:40:45Z")).sign(&request, &creds)?;
    // These older-format files end with a newline that is not part of the stage text.
    let stage = |file: &str| read(&dir.join(file)).map(|s| s.trim_end_matches('\n').to_owned());
    same(
        "canonical request",
        &stage("header-canonical-request.txt")?,
        at_2021.canonical_request.as_deref(),
    )?;
    if dir.join("header-string-to-sign.txt").is_file() {
        same(
            "string to sign",
            &stage("header-string-to-sign.txt")?,
            at_2021.string_to_sign.as_deref(),
        )?;
    }
    let expected_request = read(&dir.join("header-signed-request.txt"))?;
    let expected_sig: String = expected_request
        .split("Signature=")
        .nth(1)
        .ok_or("header-signed-request.txt has no Signature=")?
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    let signed = match name.as_str() {
        // ... and double-encode-path's full signature at 2015-08-30T12:36:00Z.
        "double-encode-path" => signer_at(rfc3339("2015-08-30T12:36:00Z")).sign(&request, &creds)?,
        _ => at_2021,
    };
    same("signature", &expected_sig, Some(&signed.signature))
}

fn request_from(raw: &RawRequest, region: &str, service: &str, options: Options) -> Result<Request, Failed> {
    let host = raw.host().ok_or("request.txt has no Host header")?;
    Ok(Request {
        method: raw.method.clone(),
        url: format!("https://{host}{}", raw.target),
        headers: raw.headers.clone(),
        // In-line bytes, so the component's own hashing is what the suites check.
        payload: Payload::Bytes(raw.body.clone()),
        region: region.into(),
        service: service.into(),
        options,
    })
}

/// The expected signed request equals ours: request line and body exactly; headers with
/// names compared case-insensitively (the suites mix `X-Amz-Date` and `x-amz-date`) and in
/// order per name (the suites disagree on where added headers go, which HTTP leaves open).
fn same_request(
    expected_file: &Path,
    raw: &RawRequest,
    signed: &Signed,
    skip_authorization: bool,
) -> Result<(), Failed> {
    let expected = RawRequest::parse(&fs::read(expected_file)?)?;
    let ours = raw.apply(signed);
    let norm = |r: &RawRequest| {
        let mut headers: Vec<(String, String)> = r
            .headers
            .iter()
            .map(|h| (h.name.to_ascii_lowercase(), h.value.clone()))
            .filter(|(n, _)| !(skip_authorization && n == "authorization"))
            .collect();
        headers.sort_by(|a, b| a.0.cmp(&b.0)); // stable: repeated names keep their order
        (r.method.clone(), r.target.clone(), headers, r.body.clone())
    };
    if norm(&expected) == norm(&ours) {
        Ok(())
    } else {
        Err(format!(
            "signed request differs\n--- expected ({})\n{}\n--- ours\n{}",
            expected_file.display(),
            String::from_utf8_lossy(&expected.to_text()),
            String::from_utf8_lossy(&ours.to_text())
        )
        .into())
    }
}

fn same(stage: &str, expected: &str, ours: Option<&str>) -> Result<(), Failed> {
    match ours {
        Some(ours) if ours == expected => Ok(()),
        ours => Err(format!(
            "{stage} differs\n--- expected\n{expected}\n--- ours\n{}",
            ours.unwrap_or("<none>")
        )
        .into()),
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> Result<&'a str, Failed> {
    v[key]
        .as_str()
        .ok_or_else(|| format!("context.json lacks {key}").into())
}

fn read(path: &Path) -> Result<String, Failed> {
    fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()).into())
}

fn sorted_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
