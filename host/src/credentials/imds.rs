//! EC2 instance metadata (IMDSv2: a session token first, then the role's credentials).

use std::time::Duration;

use super::{CredentialsError, JsonCredentials, ProvideCredentials, Provided, env_nonempty, http_agent};

const DEFAULT_ENDPOINT: &str = "http://169.254.169.254";
/// How long each of the three requests may take. Off EC2 nothing answers, so it is short.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// IMDSv2 at `$AWS_EC2_METADATA_SERVICE_ENDPOINT` (default `http://169.254.169.254`);
/// off when `AWS_EC2_METADATA_DISABLED=true`.
#[derive(Debug, Clone)]
pub struct ImdsProvider {
    endpoint: Option<String>,
    timeout: Duration,
}

impl ImdsProvider {
    /// From the environment.
    pub fn from_env() -> Self {
        let disabled = env_nonempty("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let endpoint = (!disabled).then(|| {
            env_nonempty("AWS_EC2_METADATA_SERVICE_ENDPOINT")
                .unwrap_or_else(|| DEFAULT_ENDPOINT.into())
                .trim_end_matches('/')
                .to_owned()
        });
        Self {
            endpoint,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// How long each request may take (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl ProvideCredentials for ImdsProvider {
    fn provide(&self) -> Result<Provided, CredentialsError> {
        let Some(endpoint) = &self.endpoint else {
            return Err(CredentialsError::NotConfigured {
                provider: "imds".into(),
                reason: "AWS_EC2_METADATA_DISABLED is true".into(),
            });
        };
        // Off EC2 nothing answers: a short timeout, and "not configured" so the chain's
        // final message lists it instead of stopping on it.
        let agent = http_agent(self.timeout);
        let not_here = |e: ureq::Error| CredentialsError::NotConfigured {
            provider: "imds".into(),
            reason: format!("no instance metadata service at {endpoint} ({e})"),
        };
        let fail = |what: &str, status: u16| {
            if status == 429 || status >= 500 {
                CredentialsError::Throttled {
                    provider: "imds".into(),
                    status,
                }
            } else {
                CredentialsError::Unavailable {
                    provider: "imds".into(),
                    reason: format!("{what} answered HTTP {status}"),
                }
            }
        };
        let read = |r: &mut ureq::http::Response<ureq::Body>| {
            r.body_mut()
                .with_config()
                .limit(64 * 1024)
                .read_to_string()
                .map_err(|e| CredentialsError::Unavailable {
                    provider: "imds".into(),
                    reason: e.to_string(),
                })
        };
        let mut token = agent
            .put(format!("{endpoint}/latest/api/token"))
            .header("x-aws-ec2-metadata-token-ttl-seconds", "21600")
            .send_empty()
            .map_err(not_here)?;
        match token.status().as_u16() {
            200 => {}
            // What the AWS SDKs take as "IMDSv2 is not available here": move on.
            403..=405 => {
                return Err(CredentialsError::NotConfigured {
                    provider: "imds".into(),
                    reason: format!("{endpoint} refused an IMDSv2 token (HTTP {})", token.status().as_u16()),
                });
            }
            status => return Err(fail("the token request", status)),
        }
        let token = read(&mut token)?;
        let base = format!("{endpoint}/latest/meta-data/iam/security-credentials/");
        let mut roles = agent
            .get(&base)
            .header("x-aws-ec2-metadata-token", &token)
            .call()
            .map_err(not_here)?;
        if roles.status() != 200 {
            return Err(fail("the role listing", roles.status().as_u16()));
        }
        let roles = read(&mut roles)?;
        let Some(role) = roles.lines().map(str::trim).find(|l| !l.is_empty()) else {
            return Err(CredentialsError::NotConfigured {
                provider: "imds".into(),
                reason: "the instance has no IAM role".into(),
            });
        };
        let mut creds = agent
            .get(format!("{base}{role}"))
            .header("x-aws-ec2-metadata-token", &token)
            .call()
            .map_err(not_here)?;
        if creds.status() != 200 {
            return Err(fail("the credentials request", creds.status().as_u16()));
        }
        let body = zeroize::Zeroizing::new(read(&mut creds)?); // holds the secret
        JsonCredentials::parse("imds", body.as_bytes())
    }

    fn name(&self) -> &str {
        "imds"
    }
}
