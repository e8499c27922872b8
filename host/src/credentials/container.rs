//! The ECS (and EKS Pod Identity) container credentials endpoint.

use std::time::Duration;

use super::{CredentialsError, JsonCredentials, ProvideCredentials, Provided, env_nonempty, http_agent};

/// Where `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` points.
const ECS_HOST: &str = "http://169.254.170.2";

/// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` / `_FULL_URI`, with the token from
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN` or the file `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`
/// names (re-read per fetch: EKS rotates it).
#[derive(Debug, Clone, Default)]
pub struct EcsProvider {
    uri: Option<String>,
    /// A token given directly; else the environment's.
    token: Option<String>,
}

impl EcsProvider {
    /// From the environment; not configured when neither URI variable is set.
    pub fn from_env() -> Self {
        let uri = env_nonempty("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
            .map(|rel| format!("{ECS_HOST}{rel}"))
            .or_else(|| env_nonempty("AWS_CONTAINER_CREDENTIALS_FULL_URI"));
        Self { uri, token: None }
    }

    /// An endpoint given directly (the token still comes from the environment unless
    /// [`Self::authorization`] gives one).
    pub fn new(uri: impl Into<String>) -> Self {
        Self {
            uri: Some(uri.into()),
            token: None,
        }
    }

    /// The `Authorization` value to send.
    pub fn authorization(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }
}

fn token() -> Result<Option<String>, CredentialsError> {
    if let Some(path) = env_nonempty("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
        return std::fs::read_to_string(&path)
            .map(|t| Some(t.trim().to_owned()))
            .map_err(|e| CredentialsError::Invalid {
                provider: "container".into(),
                reason: format!("cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE {path}: {e}"),
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
        let mut request = http_agent(Duration::from_secs(5)).get(uri);
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
