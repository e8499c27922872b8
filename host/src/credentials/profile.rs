//! The shared files: `~/.aws/credentials` and `~/.aws/config` (or `$AWS_SHARED_CREDENTIALS_FILE`
//! and `$AWS_CONFIG_FILE`), static keys and `credential_process`.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use ini::{Ini, ParseOption};

use super::{CredentialsError, JsonCredentials, ProvideCredentials, Provided, env_nonempty};
use crate::signer::Credentials;

fn aws_dir_file(env: &str, name: &str) -> Option<PathBuf> {
    env_nonempty(env)
        .map(PathBuf::from)
        .or_else(|| env_nonempty("HOME").map(|home| PathBuf::from(home).join(".aws").join(name)))
}

fn credentials_file() -> Option<PathBuf> {
    aws_dir_file("AWS_SHARED_CREDENTIALS_FILE", "credentials")
}

fn config_file() -> Option<PathBuf> {
    aws_dir_file("AWS_CONFIG_FILE", "config")
}

/// Loads an AWS-style INI file; a missing file is empty.
fn load(path: &Option<PathBuf>, provider: &str) -> Result<Option<Ini>, CredentialsError> {
    let Some(path) = path else { return Ok(None) };
    if !path.exists() {
        return Ok(None);
    }
    let options = ParseOption {
        enabled_quote: false,
        enabled_escape: false,
        ..ParseOption::default()
    };
    Ini::load_from_file_opt(path, options)
        .map(Some)
        .map_err(|e| CredentialsError::Invalid {
            provider: provider.into(),
            reason: format!("cannot read {}: {e}", path.display()),
        })
}

/// A profile's keys, credentials file first (it wins), then the config file.
fn profile_value(files: &[(Option<Ini>, bool)], profile: &str, key: &str) -> Option<String> {
    files.iter().find_map(|(ini, is_config)| {
        let ini = ini.as_ref()?;
        let section = if *is_config && profile != "default" {
            format!("profile {profile}")
        } else {
            profile.to_owned()
        };
        let props = ini
            .section(Some(section.as_str()))
            .or_else(|| (*is_config && profile == "default").then(|| ini.section(Some("profile default")))?)?;
        props
            .get(key)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    })
}

fn profile_exists(files: &[(Option<Ini>, bool)], profile: &str) -> bool {
    files.iter().any(|(ini, is_config)| {
        ini.as_ref().is_some_and(|ini| {
            ini.section(Some(profile)).is_some() && (!is_config || profile == "default")
                || *is_config && ini.section(Some(format!("profile {profile}").as_str())).is_some()
        })
    })
}

/// The `region` of `profile` (else `$AWS_PROFILE`, else `default`) in the config file.
pub fn profile_region(profile: Option<&str>) -> Option<String> {
    let name = profile
        .map(str::to_owned)
        .or_else(|| env_nonempty("AWS_PROFILE"))
        .unwrap_or_else(|| "default".into());
    let files = [(load(&config_file(), "config").ok().flatten(), true)];
    profile_value(&files, &name, "region")
}

/// A named profile of the shared files.
#[derive(Debug, Clone)]
pub struct ProfileProvider {
    profile: String,
    explicit: bool,
    name: String,
}

impl ProfileProvider {
    /// `profile`, or `default` when `None` (a missing default profile is "not configured";
    /// a missing named one is an error).
    pub fn new(profile: Option<String>) -> Self {
        let explicit = profile.is_some();
        let profile = profile.unwrap_or_else(|| "default".into());
        Self {
            name: format!("profile {profile}"),
            profile,
            explicit,
        }
    }
}

impl ProfileProvider {
    /// Nothing usable: an error for a profile asked for by name, "not configured" (the
    /// chain moves on) for the implicit default.
    fn missing(&self, reason: String) -> CredentialsError {
        let provider = self.name.clone();
        if self.explicit {
            CredentialsError::Invalid { provider, reason }
        } else {
            CredentialsError::NotConfigured { provider, reason }
        }
    }
}

impl ProvideCredentials for ProfileProvider {
    fn provide(&self) -> Result<Provided, CredentialsError> {
        let (creds_path, config_path) = (credentials_file(), config_file());
        let files = [
            (load(&creds_path, &self.name)?, false),
            (load(&config_path, &self.name)?, true),
        ];
        let shown = |p: &Option<PathBuf>| p.as_ref().map_or("(no path)".into(), |p| p.display().to_string());
        if !profile_exists(&files, &self.profile) {
            let reason = format!(
                "no profile {:?} in {} or {}",
                self.profile,
                shown(&creds_path),
                shown(&config_path)
            );
            return Err(self.missing(reason));
        }
        let get = |key: &str| profile_value(&files, &self.profile, key);
        if let (Some(akid), Some(secret)) = (get("aws_access_key_id"), get("aws_secret_access_key")) {
            return Ok(Provided {
                credentials: Credentials::new(akid, secret, get("aws_session_token")),
                expiration: None,
                provider: self.name.clone(),
            });
        }
        if let Some(command) = get("credential_process") {
            return run_process(&self.name, &command);
        }
        let unsupported = ["role_arn", "sso_session", "sso_start_url", "web_identity_token_file"];
        if let Some(key) = unsupported.iter().find(|k| get(k).is_some()) {
            return Err(CredentialsError::Invalid {
                provider: self.name.clone(),
                reason: format!("uses {key}, which realsig does not support (use credential_process or static keys)"),
            });
        }
        Err(self.missing("has no aws_access_key_id/aws_secret_access_key or credential_process".to_owned()))
    }

    fn name(&self) -> &str {
        &self.name
    }
}

/// Runs a `credential_process` command (through `sh -c`, as the AWS CLI does on Unix).
fn run_process(profile: &str, command: &str) -> Result<Provided, CredentialsError> {
    let provider = format!("{profile} credential_process");
    let mut output = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit()) // the helper's own messages, for the user
        .output()
        .map_err(|e| CredentialsError::Unavailable {
            provider: provider.clone(),
            reason: format!("cannot run it: {e}"),
        })?;
    if !output.status.success() {
        return Err(CredentialsError::Unavailable {
            provider,
            reason: format!("it exited with {}", output.status),
        });
    }
    // Version 1 is the only one defined; the rest is the same JSON as ECS.
    #[derive(serde::Deserialize)]
    struct Version {
        #[serde(rename = "Version")]
        version: Option<u64>,
    }
    if let Ok(Version { version: Some(v) }) = serde_json::from_slice(&output.stdout)
        && v != 1
    {
        return Err(CredentialsError::Invalid {
            provider,
            reason: format!("output has Version {v}; only 1 is defined"),
        });
    }
    let stdout = zeroize::Zeroizing::new(std::mem::take(&mut output.stdout)); // holds the secret
    JsonCredentials::parse(&provider, &stdout)
}
