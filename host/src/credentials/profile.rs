//! The shared files: `~/.aws/credentials` and `~/.aws/config` (or `$AWS_SHARED_CREDENTIALS_FILE`
//! and `$AWS_CONFIG_FILE`), static keys and `credential_process`.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use zeroize::Zeroizing;

use ini::{Ini, ParseOption};

use super::{CredentialsError, JsonCredentials, ProvideCredentials, Provided, env_nonempty};
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
        .map(Some)
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
    process_timeout: Duration,
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
            process_timeout: DEFAULT_PROCESS_TIMEOUT,
        }
    }

    /// How long a `credential_process` may run (default [`DEFAULT_PROCESS_TIMEOUT`]).
    pub fn process_timeout(mut self, timeout: Duration) -> Self {
        self.process_timeout = timeout;
        self
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
            return run_process(&self.name, &command, self.process_timeout);
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
