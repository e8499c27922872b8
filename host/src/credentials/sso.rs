//! IAM Identity Center (SSO) profiles: the token `aws sso login` cached under
//! `~/.aws/sso/cache`, exchanged for role credentials with `GetRoleCredentials` (a bearer
//! token, no signature). The token's expiry is judged by the real time.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sha1::{Digest, Sha1};
use zeroize::Zeroizing;

use super::{CredentialsError, ProvideCredentials, Provided, env_nonempty, http_agent, parse_expiration};
use crate::clock::TimeSource;
use crate::files;
use crate::signer::Credentials;

/// How long one `GetRoleCredentials` call may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest cached token file read (a few KiB).
const MAX_TOKEN_FILE: u64 = 1 << 20;

/// Where an SSO profile's token and role come from.
#[derive(Debug, Clone)]
pub struct SsoConfig {
    /// `sso_session` (the `[sso-session NAME]` section), or `None` for a legacy profile with
    /// `sso_start_url` of its own.
    pub session: Option<String>,
    /// `sso_start_url`.
    pub start_url: String,
    /// `sso_region`: where the portal is.
    pub region: String,
    /// `sso_account_id`.
    pub account_id: String,
    /// `sso_role_name`.
    pub role_name: String,
}

/// An SSO profile's role credentials.
pub struct SsoProvider {
    name: String,
    profile: String,
    config: SsoConfig,
    endpoint: String,
    clock: Arc<dyn TimeSource>,
    timeout: Duration,
}

impl SsoProvider {
    pub(crate) fn new(name: String, profile: String, config: SsoConfig, clock: Arc<dyn TimeSource>) -> Self {
        let endpoint = super::endpoint::endpoint_url("SSO", Some(&profile))
            .unwrap_or_else(|| format!("https://portal.sso.{}.amazonaws.com", config.region));
        Self {
            name,
            profile,
            config,
            endpoint,
            clock,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// `~/.aws/sso/cache/<sha1 of the session name, or of the start URL>.json`.
    fn token_path(&self) -> Option<PathBuf> {
        let key = self.config.session.as_deref().unwrap_or(&self.config.start_url);
        let name = hex::encode(Sha1::digest(key.as_bytes()));
        let home = env_nonempty("HOME")?;
        Some(PathBuf::from(home).join(".aws/sso/cache").join(format!("{name}.json")))
    }

    fn login_hint(&self) -> String {
        format!("run `aws sso login --profile {}`", self.profile)
    }
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct CachedToken {
    access_token: Option<Zeroizing<String>>,
    expires_at: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoleCredentialsResponse {
    role_credentials: RoleCredentials,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoleCredentials {
    access_key_id: String,
    secret_access_key: Zeroizing<String>,
    session_token: Option<Zeroizing<String>>,
    /// Milliseconds since the Unix epoch.
    expiration: u64,
}

impl ProvideCredentials for SsoProvider {
    fn provide(&self) -> Result<Provided, CredentialsError> {
        let invalid = |reason: String| CredentialsError::Invalid {
            provider: self.name.clone(),
            reason,
        };
        let path = self
            .token_path()
            .ok_or_else(|| invalid("HOME is not set, so there is no SSO token cache".into()))?;
        let text = match files::read_capped_string(&path, MAX_TOKEN_FILE) {
            Ok(text) => Zeroizing::new(text),
            Err(e) if e.is_not_found() => {
                return Err(invalid(format!(
                    "no SSO token at {}: {}",
                    path.display(),
                    self.login_hint()
                )));
            }
            Err(e) => return Err(invalid(format!("the SSO token cache: {e}"))),
        };
        let token: CachedToken = serde_json::from_str(&text)
            .map_err(|e| invalid(format!("{} is not an SSO token ({e})", path.display())))?;
        let (Some(access_token), Some(expires_at)) = (token.access_token, token.expires_at) else {
            return Err(invalid(format!("{} has no accessToken/expiresAt", path.display())));
        };
        // Older AWS CLIs wrote `2019-11-14T04:05:45UTC`.
        let expires_at = match expires_at.strip_suffix("UTC") {
            Some(stem) => format!("{stem}Z"),
            None => expires_at,
        };
        let expires = parse_expiration(&self.name, &expires_at)?;
        let now = self
            .clock
            .now()
            .map_err(|e| CredentialsError::Clock(e.to_string()))?
            .time;
        if expires <= now {
            return Err(invalid(format!(
                "the SSO session expired at {} (the real time is {}): {}",
                crate::clock::rfc3339(expires),
                crate::clock::rfc3339(now),
                self.login_hint()
            )));
        }
        let url = format!("{}/federation/credentials", self.endpoint.trim_end_matches('/'));
        let unavailable = |reason: String| CredentialsError::Unavailable {
            provider: self.name.clone(),
            reason,
        };
        let mut response = http_agent(self.timeout)
            .get(&url)
            .query("account_id", &self.config.account_id)
            .query("role_name", &self.config.role_name)
            .header("x-amz-sso_bearer_token", access_token.as_str())
            .call()
            .map_err(|e| unavailable(format!("{url}: {e}")))?;
        let status = response.status().as_u16();
        if status == 429 || status >= 500 {
            return Err(CredentialsError::Throttled {
                provider: self.name.clone(),
                status,
            });
        }
        if status == 401 || status == 403 {
            return Err(invalid(format!(
                "{url} refused the SSO token (HTTP {status}): {}",
                self.login_hint()
            )));
        }
        if status != 200 {
            return Err(unavailable(format!("{url} answered HTTP {status}")));
        }
        let body = Zeroizing::new(
            response
                .body_mut()
                .with_config()
                .limit(64 * 1024)
                .read_to_vec()
                .map_err(|e| unavailable(format!("{url}: {e}")))?,
        );
        let parsed: RoleCredentialsResponse =
            serde_json::from_slice(&body).map_err(|e| invalid(format!("the answer is not role credentials ({e})")))?;
        let mut c = parsed.role_credentials;
        Ok(Provided {
            credentials: Credentials::new(
                c.access_key_id,
                std::mem::take(&mut *c.secret_access_key),
                c.session_token.map(|mut t| std::mem::take(&mut *t)),
            ),
            expiration: Some(SystemTime::UNIX_EPOCH + Duration::from_millis(c.expiration)),
            provider: format!(
                "{}: SSO role {} in account {} ({})",
                self.name,
                self.config.role_name,
                self.config.account_id,
                self.config.session.as_deref().map_or_else(
                    || format!("start URL {}", self.config.start_url),
                    |s| format!("sso-session {s}")
                )
            ),
        })
    }

    fn name(&self) -> &str {
        &self.name
    }
}
