//! The shared files: `~/.aws/credentials` and `~/.aws/config` (or `$AWS_SHARED_CREDENTIALS_FILE`
//! and `$AWS_CONFIG_FILE`): static keys, `credential_process`, assume-role profiles
//! (`role_arn` with `source_profile` or `credential_source`, chained), web identity
//! (`web_identity_token_file`) and SSO (`sso_session`, or a legacy `sso_start_url`), resolved
//! in botocore's order.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use zeroize::Zeroizing;

use ini::{Ini, ParseOption};

use super::sso::{SsoConfig, SsoProvider};
use super::sts::{AssumeRoleProvider, LazySigner, RoleRequest, Sts, WebIdentityProvider};
use super::{
    CredentialsError, EcsProvider, EnvProvider, ImdsProvider, JsonCredentials, ProvideCredentials, Provided,
    env_nonempty,
};
use crate::clock::TimeSource;
use crate::clock::raw::monotonic;
use crate::files;
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

/// Largest shared credentials or config file read (hundreds of profiles fit in a few KiB).
const MAX_SHARED_FILE: u64 = 4 << 20;

/// Loads an AWS-style INI file; a missing file is empty. A FIFO, a device or an oversized
/// file is an error, never a hang ([`crate::files`]).
fn load(path: &Option<PathBuf>, provider: &str) -> Result<Option<Ini>, CredentialsError> {
    Ok(load_with_text(path, provider)?.map(|(ini, _)| ini))
}

/// [`load`], keeping the file's text too.
fn load_with_text(path: &Option<PathBuf>, provider: &str) -> Result<Option<(Ini, String)>, CredentialsError> {
    let Some(path) = path else { return Ok(None) };
    let invalid = |reason: String| CredentialsError::Invalid {
        provider: provider.into(),
        reason,
    };
    let text = match files::read_capped_string(path, MAX_SHARED_FILE) {
        Ok(text) => text,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(invalid(e.to_string())),
    };
    let options = ParseOption {
        enabled_quote: false,
        enabled_escape: false,
        ..ParseOption::default()
    };
    Ini::load_from_str_opt(&text, options)
        .map(|ini| Some((ini, text)))
        .map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))
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

/// `profile`, else `$AWS_PROFILE`, else `default`.
pub(crate) fn selected_profile(profile: Option<&str>) -> String {
    profile
        .map(str::to_owned)
        .or_else(|| env_nonempty("AWS_PROFILE"))
        .unwrap_or_else(|| "default".into())
}

/// The config file alone, read once, for settings (region, endpoint URLs); unreadable is
/// empty.
pub(crate) struct ConfigFile {
    ini: [(Option<Ini>, bool); 1],
    text: Option<String>,
}

impl ConfigFile {
    pub(crate) fn load() -> Self {
        let (ini, text) = load_with_text(&config_file(), "config").ok().flatten().unzip();
        Self {
            ini: [(ini, true)],
            text,
        }
    }

    /// `key` of `profile`'s section.
    pub(crate) fn value(&self, profile: &str, key: &str) -> Option<String> {
        profile_value(&self.ini, profile, key)
    }

    /// The file's text (for the nested sections the INI parser flattens).
    pub(crate) fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }
}

/// The `region` of `profile` (else `$AWS_PROFILE`, else `default`) in the config file.
pub fn profile_region(profile: Option<&str>) -> Option<String> {
    ConfigFile::load().value(&selected_profile(profile), "region")
}

/// A named profile of the shared files.
#[derive(Clone)]
pub struct ProfileProvider {
    profile: String,
    explicit: bool,
    name: String,
    process_timeout: Duration,
    sts_timeout: Duration,
    signer: LazySigner,
}

impl std::fmt::Debug for ProfileProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileProvider")
            .field("profile", &self.profile)
            .field("explicit", &self.explicit)
            .field("clock", &self.signer.clock().name())
            .finish_non_exhaustive()
    }
}

impl ProfileProvider {
    /// `profile`, or `default` when `None` (a missing default profile is "not configured";
    /// a missing named one is an error). Role sessions are named, STS calls signed and SSO
    /// tokens judged by the default real-time chain unless [`Self::clock`] gives another.
    pub fn new(profile: Option<String>) -> Self {
        let explicit = profile.is_some();
        let profile = profile.unwrap_or_else(|| "default".into());
        Self {
            name: format!("profile {profile}"),
            profile,
            explicit,
            process_timeout: DEFAULT_PROCESS_TIMEOUT,
            sts_timeout: super::sts::DEFAULT_TIMEOUT,
            signer: LazySigner::new(Arc::new(crate::clock::Chain::default_chain())),
        }
    }

    /// How long a `credential_process` may run (default [`DEFAULT_PROCESS_TIMEOUT`]).
    pub fn process_timeout(mut self, timeout: Duration) -> Self {
        self.process_timeout = timeout;
        self
    }

    /// How long one STS or SSO call may take (default 10 s).
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.sts_timeout = timeout;
        self
    }

    /// The real time: it signs the STS AssumeRole calls, names role sessions and judges
    /// SSO tokens and the source credentials' expiry.
    pub fn clock(mut self, clock: Arc<dyn TimeSource>) -> Self {
        self.signer = LazySigner::new(clock);
        self
    }

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

/// Both shared files, the credentials file first (its values win).
struct Shared {
    files: [(Option<Ini>, bool); 2],
    paths: (Option<PathBuf>, Option<PathBuf>),
}

impl Shared {
    fn load(provider: &str) -> Result<Self, CredentialsError> {
        let paths = (credentials_file(), config_file());
        Ok(Self {
            files: [(load(&paths.0, provider)?, false), (load(&paths.1, provider)?, true)],
            paths,
        })
    }

    fn get(&self, profile: &str, key: &str) -> Option<String> {
        profile_value(&self.files, profile, key)
    }

    fn exists(&self, profile: &str) -> bool {
        profile_exists(&self.files, profile)
    }

    fn has_static_keys(&self, profile: &str) -> bool {
        self.get(profile, "aws_access_key_id").is_some() && self.get(profile, "aws_secret_access_key").is_some()
    }

    /// `key` of the config file's `[sso-session NAME]` section.
    fn sso_session(&self, name: &str, key: &str) -> Option<String> {
        let ini = self.files[1].0.as_ref()?;
        let section = ini.section(Some(format!("sso-session {name}").as_str()))?;
        section
            .get(key)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }

    fn where_(&self) -> String {
        let shown = |p: &Option<PathBuf>| p.as_ref().map_or("(no path)".into(), |p| p.display().to_string());
        format!("{} or {}", shown(&self.paths.0), shown(&self.paths.1))
    }
}

/// Credentials already in hand (a profile's static keys).
struct Static(Provided);

impl ProvideCredentials for Static {
    fn provide(&self) -> Result<Provided, CredentialsError> {
        Ok(self.0.clone())
    }

    fn name(&self) -> &str {
        &self.0.provider
    }
}

/// A profile's `credential_process`.
struct Process {
    name: String,
    command: String,
    timeout: Duration,
}

impl ProvideCredentials for Process {
    fn provide(&self) -> Result<Provided, CredentialsError> {
        run_process(&self.name, &self.command, self.timeout)
    }

    fn name(&self) -> &str {
        &self.name
    }
}

impl ProfileProvider {
    /// The provider `profile` describes, in botocore's order: `role_arn` (with
    /// `web_identity_token_file`, `source_profile` or `credential_source`), then SSO, then
    /// static keys, then `credential_process`. `visited` holds the profiles of the
    /// assume-role chain so far (a loop is an error, as in botocore).
    fn resolve(
        &self,
        files: &Shared,
        profile: &str,
        visited: &mut Vec<String>,
    ) -> Result<Box<dyn ProvideCredentials>, CredentialsError> {
        let name = format!("profile {profile}");
        let invalid = |reason: String| CredentialsError::Invalid {
            provider: name.clone(),
            reason,
        };
        let get = |key: &str| files.get(profile, key);
        if let Some(role_arn) = get("role_arn") {
            let role = RoleRequest {
                role_arn,
                session_name: get("role_session_name"),
                external_id: get("external_id"),
                duration_seconds: get("duration_seconds")
                    .map(|d| match d.parse::<u32>() {
                        Ok(secs) if (900..=43_200).contains(&secs) => Ok(secs),
                        _ => Err(invalid(format!("duration_seconds {d:?} must be 900 to 43200"))),
                    })
                    .transpose()?,
            };
            let sts = Sts::for_profile(Some(&self.profile)).timeout(self.sts_timeout);
            if let Some(token_file) = get("web_identity_token_file") {
                return Ok(Box::new(WebIdentityProvider::new(
                    name,
                    token_file.into(),
                    role,
                    sts,
                    Arc::clone(self.signer.clock()),
                )));
            }
            if get("mfa_serial").is_some() {
                return Err(invalid(
                    "uses mfa_serial: assuming its role needs an MFA code, which realsig cannot prompt for \
                     (use credential_process or a session from `aws sts get-session-token`)"
                        .into(),
                ));
            }
            let source: Box<dyn ProvideCredentials> = match (get("source_profile"), get("credential_source")) {
                (Some(_), Some(_)) => {
                    return Err(invalid(
                        "has both source_profile and credential_source; give one".into(),
                    ));
                }
                (None, None) => {
                    return Err(invalid(
                        "has role_arn but neither source_profile nor credential_source".into(),
                    ));
                }
                (Some(source), None) => {
                    if !files.exists(&source) {
                        return Err(invalid(format!(
                            "source_profile {source:?} is not in {}",
                            files.where_()
                        )));
                    }
                    let looped = visited.contains(&source) && !(source == profile && files.has_static_keys(&source));
                    if looped {
                        visited.push(source);
                        return Err(invalid(format!(
                            "its source_profile chain loops: {}",
                            visited.join(" -> ")
                        )));
                    }
                    visited.push(source.clone());
                    if files.has_static_keys(&source) {
                        // A source profile's static keys win over its own role_arn (botocore).
                        static_keys(files, &source)
                    } else {
                        self.resolve(files, &source, visited)?
                    }
                }
                (None, Some(credential_source)) => match credential_source.as_str() {
                    "Environment" => Box::new(EnvProvider),
                    "EcsContainer" => Box::new(EcsProvider::from_env().timeout(self.sts_timeout)),
                    "Ec2InstanceMetadata" => Box::new(ImdsProvider::from_env()),
                    other => {
                        return Err(invalid(format!(
                            "credential_source {other:?} is not Environment, EcsContainer or Ec2InstanceMetadata"
                        )));
                    }
                },
            };
            return Ok(Box::new(AssumeRoleProvider::new(
                name,
                role,
                source,
                sts,
                self.signer.clone(),
            )));
        }
        let sso_keys = || -> Result<Option<SsoConfig>, CredentialsError> {
            let session = get("sso_session");
            let from_session = |key: &str| session.as_deref().and_then(|s| files.sso_session(s, key));
            let start_url = from_session("sso_start_url").or_else(|| get("sso_start_url"));
            let region = from_session("sso_region").or_else(|| get("sso_region"));
            if session.is_none() && start_url.is_none() {
                return Ok(None);
            }
            if let Some(s) = &session
                && start_url.is_none()
            {
                return Err(invalid(format!(
                    "sso_session {s:?} has no [sso-session {s}] section with sso_start_url"
                )));
            }
            let need =
                |what: &str, v: Option<String>| v.ok_or_else(|| invalid(format!("is an SSO profile without {what}")));
            Ok(Some(SsoConfig {
                session,
                start_url: need("sso_start_url", start_url)?,
                region: need("sso_region", region)?,
                account_id: need("sso_account_id", get("sso_account_id"))?,
                role_name: need("sso_role_name", get("sso_role_name"))?,
            }))
        };
        if let Some(config) = sso_keys()? {
            return Ok(Box::new(SsoProvider::new(
                name,
                profile.to_owned(),
                config,
                Arc::clone(self.signer.clock()),
            )));
        }
        if files.has_static_keys(profile) {
            return Ok(static_keys(files, profile));
        }
        if let Some(command) = get("credential_process") {
            return Ok(Box::new(Process {
                name,
                command,
                timeout: self.process_timeout,
            }));
        }
        Err(if profile == self.profile {
            self.missing("has no credentials: no role_arn, SSO settings, static keys or credential_process".into())
        } else {
            invalid("has no credentials: no role_arn, SSO settings, static keys or credential_process".into())
        })
    }
}

fn static_keys(files: &Shared, profile: &str) -> Box<dyn ProvideCredentials> {
    let get = |key: &str| files.get(profile, key).unwrap_or_default();
    Box::new(Static(Provided {
        credentials: Credentials::new(
            get("aws_access_key_id"),
            get("aws_secret_access_key"),
            files.get(profile, "aws_session_token"),
        ),
        expiration: None,
        provider: format!("profile {profile}"),
    }))
}

impl ProvideCredentials for ProfileProvider {
    fn provide(&self) -> Result<Provided, CredentialsError> {
        let files = Shared::load(&self.name)?;
        if !files.exists(&self.profile) {
            let reason = format!("no profile {:?} in {}", self.profile, files.where_());
            return Err(self.missing(reason));
        }
        let mut visited = vec![self.profile.clone()];
        self.resolve(&files, &self.profile, &mut visited)?.provide()
    }

    fn name(&self) -> &str {
        &self.name
    }
}

/// How long a `credential_process` may run before it is killed (a helper that waits for
/// a browser login can take a while; one that never exits must not hang the caller).
pub const DEFAULT_PROCESS_TIMEOUT: Duration = Duration::from_secs(60);
/// Largest `credential_process` output accepted (the JSON is a few KiB).
const MAX_PROCESS_OUTPUT: u64 = 1 << 20;

/// Runs a `credential_process` command (through `sh -c`, as the AWS CLI does on Unix), in
/// a process group of its own, for at most `timeout`: then the whole group is killed
/// (SIGKILL), so a helper's children cannot keep its stdout open either.
fn run_process(profile: &str, command: &str, timeout: Duration) -> Result<Provided, CredentialsError> {
    let provider = format!("{profile} credential_process");
    let unavailable = |reason: String| CredentialsError::Unavailable {
        provider: provider.clone(),
        reason,
    };
    let started = monotonic();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit()) // the helper's own messages, for the user
        .process_group(0)
        .spawn()
        .map_err(|e| unavailable(format!("cannot run it: {e}")))?;
    let group = rustix::process::Pid::from_child(&child);
    let kill_group = || {
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
    };
    // The output is read on a thread, so the wait below can time out.
    let Some(mut stdout) = child.stdout.take() else {
        kill_group();
        return Err(unavailable("its output pipe was not set up (unreachable)".into()));
    };
    let (sent, output) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Zeroizing::new(Vec::new());
        let result = (&mut stdout)
            .take(MAX_PROCESS_OUTPUT + 1)
            .read_to_end(&mut bytes)
            .map(|_| bytes);
        let _ = sent.send(result);
    });
    let left = || timeout.saturating_sub(monotonic().saturating_sub(started));
    let output = match output.recv_timeout(left()) {
        Ok(result) => result,
        Err(_) => {
            kill_group();
            let _ = child.wait();
            return Err(unavailable(format!(
                "it did not finish within {} s; killed it and its process group",
                timeout.as_secs_f64()
            )));
        }
    };
    if output.as_ref().is_ok_and(|o| o.len() as u64 > MAX_PROCESS_OUTPUT) {
        // It may be blocked writing the rest: nothing more will be read.
        kill_group();
        let _ = child.wait();
        return Err(CredentialsError::Invalid {
            provider,
            reason: format!("its output is larger than {}", files::human_size(MAX_PROCESS_OUTPUT)),
        });
    }
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if left().is_zero() => {
                kill_group();
                let _ = child.wait();
                return Err(unavailable(format!(
                    "it closed its output but did not exit within {} s; killed it and its process group",
                    timeout.as_secs_f64()
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(unavailable(format!("cannot wait for it: {e}"))),
        }
    };
    let stdout = output.map_err(|e| unavailable(format!("cannot read its output: {e}")))?;
    if !status.success() {
        return Err(unavailable(format!("it exited with {status}")));
    }
    // Version 1 is the only one defined; the rest is the same JSON as ECS.
    #[derive(serde::Deserialize)]
    struct Version {
        #[serde(rename = "Version")]
        version: Option<u64>,
    }
    if let Ok(Version { version: Some(v) }) = serde_json::from_slice(&stdout)
        && v != 1
    {
        return Err(CredentialsError::Invalid {
            provider,
            reason: format!("output has Version {v}; only 1 is defined"),
        });
    }
    JsonCredentials::parse(&provider, &stdout)
}
