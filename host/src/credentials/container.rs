//! The ECS (and EKS Pod Identity) container credentials endpoint.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use super::{CredentialsError, JsonCredentials, ProvideCredentials, Provided, env_nonempty, http_agent};
use crate::files;

/// Where `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` points.
const ECS_HOST: &str = "http://169.254.170.2";
/// The hosts a plain-http full URI may name besides loopback addresses: the ECS and EKS Pod
/// Identity agents (botocore's `ContainerMetadataFetcher._ALLOWED_HOSTS`).
const ALLOWED_HTTP_HOSTS: &[&str] = &["169.254.170.2", "169.254.170.23", "fd00:ec2::23", "localhost"];
/// Largest authorization token file read (an EKS Pod Identity token is about 1 KiB).
const MAX_TOKEN_FILE: u64 = 64 << 10;
/// How long one fetch may take, connect to last byte.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether a container credentials URI may be sent the authorization token, as the AWS SDKs
/// decide: any `https` URI; a plain `http` one only on a loopback address or the ECS/EKS
/// agents' addresses. No name is resolved to decide (botocore's rule).
pub fn check_uri(uri: &str) -> Result<(), String> {
    if let Some(rest) = uri.strip_prefix("https://") {
        return host_of(rest).map(|_| ()).ok_or_else(|| format!("{uri:?} has no host"));
    }
    let Some(rest) = uri.strip_prefix("http://") else {
        return Err(format!("{uri:?} is not an http:// or https:// URI"));
    };
    let host = host_of(rest).ok_or_else(|| format!("{uri:?} has no host"))?;
    let loopback = host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if loopback || ALLOWED_HTTP_HOSTS.iter().any(|h| h.eq_ignore_ascii_case(host)) {
        return Ok(());
    }
    Err(format!(
        "will not send credentials over plain http to {host:?}: only to a loopback address or one of {} (or use https)",
        ALLOWED_HTTP_HOSTS.join(", ")
    ))
}

/// The host of `authority[/path...]`, without brackets or port; `None` if empty or malformed.
fn host_of(after_scheme: &str) -> Option<&str> {
    let authority = &after_scheme[..after_scheme.find(['/', '?', '#']).unwrap_or(after_scheme.len())];
    if authority.contains('@') {
        return None; // userinfo: nothing the agents use, and a way to disguise the host
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split_once(']')?.0,
        None => authority.split(':').next()?,
    };
    (!host.is_empty()).then_some(host)
}

/// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` / `_FULL_URI`, with the token from
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN` or the file `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`
/// names (re-read per fetch: EKS rotates it).
#[derive(Debug, Clone)]
pub struct EcsProvider {
    uri: Option<String>,
    /// A token given directly; else the environment's.
    token: Option<String>,
    timeout: Duration,
}

impl EcsProvider {
    /// From the environment; not configured when neither URI variable is set.
    pub fn from_env() -> Self {
        let uri = env_nonempty("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
            .map(|rel| format!("{ECS_HOST}{rel}"))
            .or_else(|| env_nonempty("AWS_CONTAINER_CREDENTIALS_FULL_URI"));
        Self {
            uri,
            token: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// An endpoint given directly (the token still comes from the environment unless
    /// [`Self::authorization`] gives one).
    pub fn new(uri: impl Into<String>) -> Self {
        Self {
            uri: Some(uri.into()),
            token: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The most one fetch may take (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The `Authorization` value to send.
    pub fn authorization(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }
}

fn token() -> Result<Option<String>, CredentialsError> {
    if let Some(path) = env_nonempty("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
        return files::read_capped_string(Path::new(&path), MAX_TOKEN_FILE)
            .map(|t| Some(t.trim().to_owned()))
            .map_err(|e| CredentialsError::Invalid {
                provider: "container".into(),
                reason: format!("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: {e}"),
            });
    }
    Ok(env_nonempty("AWS_CONTAINER_AUTHORIZATION_TOKEN"))
}

impl ProvideCredentials for EcsProvider {
    fn provide(&self) -> Result<Provided, CredentialsError> {
        let Some(uri) = &self.uri else {
            return Err(CredentialsError::NotConfigured {
                provider: "container".into(),
                reason: "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI/FULL_URI are not set".into(),
            });
        };
        let unavailable = |reason: String| CredentialsError::Unavailable {
            provider: "container".into(),
            reason,
        };
        check_uri(uri).map_err(|reason| CredentialsError::Invalid {
            provider: "container".into(),
            reason,
        })?;
        let mut request = http_agent(self.timeout).get(uri);
        let token = match &self.token {
            Some(t) => Some(t.clone()),
            None => token()?,
        };
        if let Some(token) = token {
            request = request.header("Authorization", token);
        }
        let mut response = request.call().map_err(|e| unavailable(format!("{uri}: {e}")))?;
        let status = response.status().as_u16();
        if status == 429 || status >= 500 {
            return Err(CredentialsError::Throttled {
                provider: "container".into(),
                status,
            });
        }
        if (300..400).contains(&status) {
            return Err(unavailable(format!(
                "{uri} answered HTTP {status}, a redirect; the container endpoint's redirects are not followed"
            )));
        }
        if status != 200 {
            return Err(unavailable(format!("{uri} answered HTTP {status}")));
        }
        let body = zeroize::Zeroizing::new(
            response
                .body_mut()
                .with_config()
                .limit(64 * 1024)
                .read_to_vec()
                .map_err(|e| unavailable(format!("{uri}: {e}")))?,
        );
        JsonCredentials::parse("container", &body)
    }

    fn name(&self) -> &str {
        "container"
    }
}

#[cfg(test)]
mod tests {
    use super::check_uri;

    /// botocore's cases, and the disguises a careless check lets through.
    #[test]
    fn plain_http_only_to_loopback_and_the_agents() {
        for ok in [
            "https://creds.example.com/v1",
            "http://127.0.0.1:8080/creds",
            "http://127.9.9.9/x",
            "http://[::1]:80/x",
            "http://localhost:51679/x",
            "http://169.254.170.2/v2/credentials/abc",
            "http://169.254.170.23/v1/credentials",
            "http://[fd00:ec2::23]/v1/credentials",
        ] {
            assert_eq!(check_uri(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://creds.example.com/v1",
            "http://127.0.0.1.example.com/x",
            "http://localhost.example.com/x",
            "http://127.0.0.1@evil.example/x",
            "http://10.0.0.1/x",
            "http://169.254.169.254/latest",
            "ftp://127.0.0.1/x",
            "http:///x",
            "127.0.0.1:80/x",
        ] {
            assert!(check_uri(bad).is_err(), "{bad}");
        }
        let e = check_uri("http://any.host/creds").unwrap_err();
        assert!(e.contains("\"any.host\"") && e.contains("use https"), "{e}");
    }
}
