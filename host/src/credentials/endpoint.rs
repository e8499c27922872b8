//! Configured endpoint URLs, resolved as the AWS CLI and SDKs do ("service-specific endpoints"):
//! for the STS and SSO calls the credential providers make, and for the CLI's own requests.

use super::env_nonempty;
use super::profile::{ConfigFile, selected_profile};

/// The endpoint URL configured for the service whose SDK service id is `service_id` (`STS`,
/// `SSO`, `S3`, ...), for `profile` (else `$AWS_PROFILE`, else `default`), in the AWS CLI's
/// order:
///
/// 1. none at all if `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is `true` (or the profile's
///    `ignore_configured_endpoint_urls`);
/// 2. `AWS_ENDPOINT_URL_<SERVICE_ID>` (upper case, spaces and `-` as `_`);
/// 3. the profile's `services` section, `<service_id> = ` then an indented `endpoint_url`;
/// 4. `AWS_ENDPOINT_URL`;
/// 5. the profile's `endpoint_url`.
pub fn endpoint_url(service_id: &str, profile: Option<&str>) -> Option<String> {
    endpoint_url_in(&ConfigFile::load(), service_id, profile)
}

/// [`endpoint_url`] with the config file already read.
pub(crate) fn endpoint_url_in(config: &ConfigFile, service_id: &str, profile: Option<&str>) -> Option<String> {
    let profile = selected_profile(profile);
    let truthy = |v: Option<String>| v.is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if truthy(env_nonempty("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"))
        || truthy(config.value(&profile, "ignore_configured_endpoint_urls"))
    {
        return None;
    }
    let env_id = service_id.to_ascii_uppercase().replace([' ', '-'], "_");
    let config_id = service_id.to_ascii_lowercase().replace([' ', '-'], "_");
    env_nonempty(&format!("AWS_ENDPOINT_URL_{env_id}"))
        .or_else(|| {
            let services = config.value(&profile, "services")?;
            services_endpoint(config.text()?, &services, &config_id)
        })
        .or_else(|| env_nonempty("AWS_ENDPOINT_URL"))
        .or_else(|| config.value(&profile, "endpoint_url"))
}

/// `endpoint_url` under `service` in the config's `[services NAME]` section.
///
/// Read by hand: the section nests (`s3 =` then indented `endpoint_url = ...` lines), which
/// the INI parser (rust-ini) flattens, losing which service a value belongs to.
fn services_endpoint(config: &str, name: &str, service: &str) -> Option<String> {
    let header = format!("[services {name}]");
    let mut lines = config.lines().skip_while(|l| l.trim() != header).skip(1);
    let mut current: Option<String> = None;
    for line in lines.by_ref() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            break;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let Some((key, value)) = trimmed.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if !line.starts_with([' ', '\t']) {
            current = value.is_empty().then(|| key.to_ascii_lowercase());
        } else if current.as_deref() == Some(service) && key == "endpoint_url" && !value.is_empty() {
            return Some(value.to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::services_endpoint;

    #[test]
    fn the_services_section_nests() {
        let config = "[profile dev]\nservices = local\n\n[services local]\ns3 =\n  endpoint_url = http://127.0.0.1:9000\nsts =\n  endpoint_url = http://127.0.0.1:5000\n\n[services other]\nsts =\n  endpoint_url = http://elsewhere\n";
        assert_eq!(
            services_endpoint(config, "local", "sts").as_deref(),
            Some("http://127.0.0.1:5000")
        );
        assert_eq!(
            services_endpoint(config, "local", "s3").as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(services_endpoint(config, "local", "sso"), None);
        assert_eq!(
            services_endpoint(config, "other", "sts").as_deref(),
            Some("http://elsewhere")
        );
        assert_eq!(services_endpoint(config, "missing", "sts"), None);
    }
}
