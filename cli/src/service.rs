//! The signing service (and region) implied by a well-known AWS host name.

/// Endpoint prefixes whose signing name differs from the prefix.
const SIGNING_NAMES: &[(&str, &str)] = &[
    ("email", "ses"),
    ("runtime.sagemaker", "sagemaker"),
    ("runtime.lex", "lex"),
    ("data.iot", "iotdata"),
    ("data-ats.iot", "iotdata"),
    ("streams.dynamodb", "dynamodb"),
    ("execute-api", "execute-api"),
];

/// What a host name says: the signing service and, when the host names one, the region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inferred {
    /// The signing name, e.g. `s3`.
    pub service: String,
    /// The region the host names, if any (a global service's host names none).
    pub region: Option<String>,
}

fn is_region(label: &str) -> bool {
    // us-east-1, eu-central-2, us-gov-west-1, ap-southeast-4, cn-north-1, il-central-1
    let parts: Vec<&str> = label.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
}

/// The service and region of `host` (no port), if it is an AWS endpoint this knows.
pub fn infer(host: &str) -> Option<Inferred> {
    let host = host.to_ascii_lowercase();
    let stem = [".amazonaws.com.cn", ".amazonaws.com", ".api.aws"]
        .iter()
        .find_map(|suffix| host.strip_suffix(suffix))?;
    let labels: Vec<&str> = stem.split('.').collect();
    let region = labels.iter().copied().find(|l| is_region(l)).map(str::to_owned);
    // S3 in all its forms: s3, s3.us-west-2, bucket.s3..., s3-us-west-2, s3-accesspoint, s3-control
    if let Some(s3) = labels.iter().find(|l| **l == "s3" || l.starts_with("s3-")) {
        let legacy_region = s3.strip_prefix("s3-").filter(|r| is_region(r)).map(str::to_owned);
        return Some(Inferred {
            service: "s3".into(),
            region: region.or(legacy_region),
        });
    }
    let dotted = format!(".{stem}.");
    if let Some(&(_, name)) = SIGNING_NAMES
        .iter()
        .find(|(prefix, _)| dotted.contains(&format!(".{prefix}.")))
    {
        return Some(Inferred {
            service: name.into(),
            region,
        });
    }
    // service.region... or a global service (iam, sts, cloudfront): the label before the
    // region, else the first label.
    let service = match labels.iter().position(|l| is_region(l)) {
        Some(0) => return None,
        Some(i) => labels[i - 1],
        None if labels.len() == 1 => labels[0],
        None => return None,
    };
    (!service.is_empty()).then(|| Inferred {
        service: service.into(),
        region,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inferred(host: &str) -> Option<(String, Option<String>)> {
        infer(host).map(|i| (i.service, i.region))
    }

    fn some(service: &str, region: Option<&str>) -> Option<(String, Option<String>)> {
        Some((service.into(), region.map(Into::into)))
    }

    #[test]
    fn well_known_hosts() {
        assert_eq!(inferred("s3.amazonaws.com"), some("s3", None));
        assert_eq!(
            inferred("bucket.s3.us-west-2.amazonaws.com"),
            some("s3", Some("us-west-2"))
        );
        assert_eq!(inferred("s3-eu-west-1.amazonaws.com"), some("s3", Some("eu-west-1")));
        assert_eq!(
            inferred("ap-123.s3-accesspoint.eu-central-1.amazonaws.com"),
            some("s3", Some("eu-central-1"))
        );
        assert_eq!(inferred("sts.amazonaws.com"), some("sts", None));
        assert_eq!(
            inferred("sts.us-gov-west-1.amazonaws.com"),
            some("sts", Some("us-gov-west-1"))
        );
        assert_eq!(
            inferred("dynamodb.us-east-1.amazonaws.com"),
            some("dynamodb", Some("us-east-1"))
        );
        assert_eq!(
            inferred("abc123.execute-api.us-east-1.amazonaws.com"),
            some("execute-api", Some("us-east-1"))
        );
        assert_eq!(
            inferred("email.eu-west-1.amazonaws.com"),
            some("ses", Some("eu-west-1"))
        );
        assert_eq!(
            inferred("runtime.sagemaker.us-east-1.amazonaws.com"),
            some("sagemaker", Some("us-east-1"))
        );
        assert_eq!(
            inferred("ec2.cn-north-1.amazonaws.com.cn"),
            some("ec2", Some("cn-north-1"))
        );
        assert_eq!(inferred("IAM.AMAZONAWS.COM"), some("iam", None));
    }

    #[test]
    fn other_hosts_are_not_guessed() {
        for host in [
            "127.0.0.1",
            "example.com",
            "localhost",
            "amazonaws.com",
            "a.b.amazonaws.com",
        ] {
            assert_eq!(infer(host), None, "{host}");
        }
    }
}
