//! AWS STS: `AssumeRole` (signed by our own [`Signer`] with the real time, with the source
//! credentials) and `AssumeRoleWithWebIdentity` (unsigned: the token is the proof), for
//! assume-role profiles, web identity (EKS IRSA) and `credential_source`.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use zeroize::Zeroizing;

use super::{
    CredentialsCache, CredentialsError, ProvideCredentials, Provided, env_nonempty, http_agent, parse_expiration,
};
use crate::clock::TimeSource;
use crate::files;
use crate::signer::{Credentials, Header, Payload, Request, Signer};

/// How long one STS call may take, connect to last byte.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest web identity token file read (an EKS service account token is about 1 KiB).
const MAX_TOKEN_FILE: u64 = 64 << 10;
/// Largest STS answer read (a few KiB).
const MAX_RESPONSE: u64 = 256 << 10;

/// Where STS calls go: the configured endpoint (`AWS_ENDPOINT_URL_STS`, ...), else the
/// regional endpoint of the configured region, else the global one (signed for us-east-1).
#[derive(Debug, Clone)]
pub struct Sts {
    endpoint: String,
    region: String,
    timeout: Duration,
}

impl Sts {
    /// STS for `profile`'s configuration (its endpoint URLs and region).
    pub fn for_profile(profile: Option<&str>) -> Self {
        let config = super::profile::ConfigFile::load();
        let region = env_nonempty("AWS_REGION")
            .or_else(|| env_nonempty("AWS_DEFAULT_REGION"))
            .or_else(|| config.value(&super::profile::selected_profile(profile), "region"));
        let endpoint = super::endpoint::endpoint_url_in(&config, "STS", profile).unwrap_or_else(|| match &region {
            Some(r) if r.starts_with("cn-") => format!("https://sts.{r}.amazonaws.com.cn"),
            Some(r) => format!("https://sts.{r}.amazonaws.com"),
            None => "https://sts.amazonaws.com".into(),
        });
        Self {
            endpoint,
            region: region.unwrap_or_else(|| "us-east-1".into()),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// An explicit endpoint and signing region.
    pub fn new(endpoint: impl Into<String>, region: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            region: region.into(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// How long one call may take (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn url(&self) -> String {
        let base = self.endpoint.trim_end_matches('/');
        format!("{base}/")
    }

    /// Posts the query-protocol `form` (signed with `signer` and `source` when given) and
    /// parses the credentials of the answer.
    fn call(
        &self,
        provider: &str,
        form: &[(&str, &str)],
        signed_by: Option<(&Signer, &Credentials)>,
    ) -> Result<(Provided, Option<String>), CredentialsError> {
        let unavailable = |reason: String| CredentialsError::Unavailable {
            provider: provider.into(),
            reason,
        };
        let body = Zeroizing::new(
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form)
                .finish(),
        );
        let url = self.url();
        let content_type = "application/x-www-form-urlencoded; charset=utf-8";
        let mut request = http_agent(self.timeout).post(&url).header("content-type", content_type);
        if let Some((signer, source)) = signed_by {
            let mut to_sign = Request::new("POST", &url, &self.region, "sts");
            to_sign.headers.push(Header {
                name: "content-type".into(),
                value: content_type.into(),
            });
            to_sign.payload = Payload::Bytes(body.as_bytes().to_vec());
            let signed = signer.sign(&to_sign, source).map_err(|e| CredentialsError::Invalid {
                provider: provider.into(),
                reason: format!("cannot sign the STS call: {e}"),
            })?;
            for h in &signed.headers {
                request = request.header(h.name.as_str(), h.value.as_str());
            }
        }
        let mut response = request
            .send(body.as_bytes())
            .map_err(|e| unavailable(format!("{url}: {e}")))?;
        let status = response.status().as_u16();
        let text = Zeroizing::new(
            response
                .body_mut()
                .with_config()
                .limit(MAX_RESPONSE)
                .read_to_string()
                .map_err(|e| unavailable(format!("{url}: {e}")))?,
        );
        if status == 200 {
            return parse_credentials(provider, &text);
        }
        let error = quick_xml::de::from_str::<ErrorResponse>(&text)
            .ok()
            .and_then(|e| e.error.or(e.errors.map(|e| e.error)));
        let (code, message) = error.map_or((None, None), |e| (Some(e.code), e.message));
        if status == 429 || status >= 500 || code.as_deref().is_some_and(|c| c.contains("Throttl")) {
            return Err(CredentialsError::Throttled {
                provider: provider.into(),
                status,
            });
        }
        let why = match (code, message) {
            (Some(c), Some(m)) => format!("{c}: {}", m.chars().take(300).collect::<String>()),
            (Some(c), None) => c,
            _ => format!("HTTP {status}"),
        };
        Err(unavailable(format!("{url} refused: HTTP {status} {why}")))
    }
}

/// STS's error answer, `<ErrorResponse><Error>`; moto nests it in `<Errors>`.
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorResponse {
    error: Option<ErrorBody>,
    errors: Option<Errors>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Errors {
    error: ErrorBody,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorBody {
    code: String,
    message: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RoleResponse {
    #[serde(alias = "AssumeRoleWithWebIdentityResult")]
    assume_role_result: RoleResult,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RoleResult {
    credentials: XmlCredentials,
    assumed_role_user: Option<AssumedRoleUser>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AssumedRoleUser {
    arn: String,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct XmlCredentials {
    access_key_id: String,
    secret_access_key: Zeroizing<String>,
    session_token: Zeroizing<String>,
    expiration: String,
}

/// The credentials (and the assumed role's ARN) of an `AssumeRole*` answer; never echoes it.
fn parse_credentials(provider: &str, text: &str) -> Result<(Provided, Option<String>), CredentialsError> {
    let parsed: RoleResponse = quick_xml::de::from_str(text).map_err(|e| CredentialsError::Invalid {
        provider: provider.into(),
        reason: format!("the STS answer has no credentials ({e})"),
    })?;
    let RoleResult {
        credentials: mut c,
        assumed_role_user,
    } = parsed.assume_role_result;
    let expiration = parse_expiration(provider, c.expiration.trim())?;
    Ok((
        Provided {
            credentials: Credentials::new(
                c.access_key_id.trim().to_owned(),
                std::mem::take(&mut *c.secret_access_key).trim().to_owned(),
                Some(std::mem::take(&mut *c.session_token).trim().to_owned()),
            ),
            expiration: Some(expiration),
            provider: provider.into(),
        },
        assumed_role_user.map(|u| u.arn),
    ))
}

/// What an assume-role call asks for.
#[derive(Debug, Clone)]
pub struct RoleRequest {
    /// `role_arn`.
    pub role_arn: String,
    /// `role_session_name`; default `realsig-session-<real unix time>`.
    pub session_name: Option<String>,
    /// `external_id`.
    pub external_id: Option<String>,
    /// `duration_seconds`, 900 to 43200.
    pub duration_seconds: Option<u32>,
}

impl RoleRequest {
    fn session_name(&self, clock: &dyn TimeSource) -> Result<String, CredentialsError> {
        if let Some(name) = &self.session_name {
            return Ok(name.clone());
        }
        let now = clock.now().map_err(|e| CredentialsError::Clock(e.to_string()))?.time;
        let secs = now.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        Ok(format!("realsig-session-{secs}"))
    }
}

/// A signer made on first use (compiling or loading the component is not free) and shared
/// by every assume-role provider of a chain.
#[derive(Clone)]
pub(crate) struct LazySigner {
    clock: Arc<dyn TimeSource>,
    signer: Arc<OnceLock<Result<Signer, String>>>,
}

impl LazySigner {
    pub(crate) fn new(clock: Arc<dyn TimeSource>) -> Self {
        Self {
            clock,
            signer: Arc::default(),
        }
    }

    pub(crate) fn clock(&self) -> &Arc<dyn TimeSource> {
        &self.clock
    }

    fn get(&self, provider: &str) -> Result<&Signer, CredentialsError> {
        self.signer
            .get_or_init(|| {
                Signer::builder()
                    .shared_clock(Arc::clone(&self.clock))
                    .build()
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| CredentialsError::Unavailable {
                provider: provider.into(),
                reason: format!("cannot build the signer for the STS call: {e}"),
            })
    }
}

/// `AssumeRole` with credentials from a source (a profile, `credential_source`), signed with
/// the real time; the source's own credentials are cached by the same real time.
pub struct AssumeRoleProvider {
    name: String,
    role: RoleRequest,
    source: CredentialsCache,
    sts: Sts,
    signer: LazySigner,
}

impl AssumeRoleProvider {
    pub(crate) fn new(
        name: String,
        role: RoleRequest,
        source: impl ProvideCredentials,
        sts: Sts,
        signer: LazySigner,
    ) -> Self {
        Self {
            source: CredentialsCache::new(source, Arc::clone(signer.clock())),
            name,
            role,
            sts,
            signer,
        }
    }
}

impl ProvideCredentials for AssumeRoleProvider {
    fn provide(&self) -> Result<Provided, CredentialsError> {
        let source = self.source.credentials()?;
        let session = self.role.session_name(&**self.signer.clock())?;
        let duration = self.role.duration_seconds.map(|d| d.to_string());
        let mut form = vec![
            ("Action", "AssumeRole"),
            ("Version", "2011-06-15"),
            ("RoleArn", self.role.role_arn.as_str()),
            ("RoleSessionName", session.as_str()),
        ];
        if let Some(id) = &self.role.external_id {
            form.push(("ExternalId", id));
        }
        if let Some(d) = &duration {
            form.push(("DurationSeconds", d));
        }
        let signer = self.signer.get(&self.name)?;
        let (mut provided, arn) = self.sts.call(&self.name, &form, Some((signer, &source.credentials)))?;
        provided.provider = format!(
            "{}: assumed role {} (session {session}) with credentials from {}",
            self.name,
            arn.unwrap_or_else(|| self.role.role_arn.clone()),
            source.provider
        );
        Ok(provided)
    }

    fn name(&self) -> &str {
        &self.name
    }
}

/// `AssumeRoleWithWebIdentity` with the token in a file (re-read per call: EKS rotates it),
/// from `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` [+ `AWS_ROLE_SESSION_NAME`] or a
/// profile's `web_identity_token_file` + `role_arn`.
pub struct WebIdentityProvider {
    name: String,
    token_file: Option<std::path::PathBuf>,
    role: Option<RoleRequest>,
    /// STS, or `None` to find it (`Sts::for_profile`) only when the variables are set.
    sts: Option<Sts>,
    timeout: Duration,
    clock: Arc<dyn TimeSource>,
}

impl WebIdentityProvider {
    /// From the environment; not configured unless both variables are set. Each STS call
    /// may take `timeout`.
    pub fn from_env(timeout: Duration, clock: Arc<dyn TimeSource>) -> Self {
        let role = env_nonempty("AWS_ROLE_ARN").map(|role_arn| RoleRequest {
            role_arn,
            session_name: env_nonempty("AWS_ROLE_SESSION_NAME"),
            external_id: None,
            duration_seconds: None,
        });
        Self {
            name: "web identity".into(),
            token_file: env_nonempty("AWS_WEB_IDENTITY_TOKEN_FILE").map(Into::into),
            role,
            sts: None,
            timeout,
            clock,
        }
    }

    pub(crate) fn new(
        name: String,
        token_file: std::path::PathBuf,
        role: RoleRequest,
        sts: Sts,
        clock: Arc<dyn TimeSource>,
    ) -> Self {
        Self {
            name,
            token_file: Some(token_file),
            role: Some(role),
            timeout: sts.timeout,
            sts: Some(sts),
            clock,
        }
    }
}

impl ProvideCredentials for WebIdentityProvider {
    fn provide(&self) -> Result<Provided, CredentialsError> {
        let (Some(path), Some(role)) = (&self.token_file, &self.role) else {
            return Err(CredentialsError::NotConfigured {
                provider: self.name.clone(),
                reason: "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are not both set".into(),
            });
        };
        let read = files::read_capped_string(path, MAX_TOKEN_FILE).map_err(|e| CredentialsError::Invalid {
            provider: self.name.clone(),
            reason: format!("the web identity token file: {e}"),
        })?;
        let read = Zeroizing::new(read);
        let token = Zeroizing::new(read.trim().to_owned());
        if token.is_empty() {
            return Err(CredentialsError::Invalid {
                provider: self.name.clone(),
                reason: format!("the web identity token file {} is empty", path.display()),
            });
        }
        let session = role.session_name(&*self.clock)?;
        let form = [
            ("Action", "AssumeRoleWithWebIdentity"),
            ("Version", "2011-06-15"),
            ("RoleArn", role.role_arn.as_str()),
            ("RoleSessionName", session.as_str()),
            ("WebIdentityToken", token.as_str()),
        ];
        let sts = match &self.sts {
            Some(sts) => sts.clone(),
            None => Sts::for_profile(None).timeout(self.timeout),
        };
        let (mut provided, arn) = sts.call(&self.name, &form, None)?;
        provided.provider = format!(
            "{}: assumed role {} (session {session}) with the token in {}",
            self.name,
            arn.unwrap_or_else(|| role.role_arn.clone()),
            path.display()
        );
        Ok(provided)
    }

    fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::parse_credentials;

    /// The shape of AWS's documented AssumeRole answer.
    #[test]
    fn parses_the_documented_answer() {
        let xml = r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
  <SourceIdentity>Alice</SourceIdentity>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/demo/TestAR</Arn>
      <AssumedRoleId>ARO123EXAMPLE123:TestAR</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <SessionToken>AQoDYXdzEPT//////////wEXAMPLEtc764</SessionToken>
      <Expiration>2019-11-09T13:34:41Z</Expiration>
    </Credentials>
    <PackedPolicySize>6</PackedPolicySize>
  </AssumeRoleResult>
  <ResponseMetadata>
    <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>
  </ResponseMetadata>
</AssumeRoleResponse>"#;
        let (p, arn) = parse_credentials("t", xml).unwrap();
        assert_eq!(p.credentials.access_key_id(), "ASIAIOSFODNN7EXAMPLE");
        assert_eq!(
            p.credentials.secret_access_key(),
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
        );
        assert_eq!(
            p.credentials.session_token(),
            Some("AQoDYXdzEPT//////////wEXAMPLEtc764")
        );
        assert_eq!(crate::clock::rfc3339(p.expiration.unwrap()), "2019-11-09T13:34:41Z");
        assert_eq!(
            arn.as_deref(),
            Some("arn:aws:sts::123456789012:assumed-role/demo/TestAR")
        );
        let err = parse_credentials("t", "<AssumeRoleResponse><AssumeRoleResult/></AssumeRoleResponse>").unwrap_err();
        assert!(err.to_string().contains("no credentials"), "{err}");
    }
}
