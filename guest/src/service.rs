//! Where services differ in how they want requests signed: the one copy of these rules,
//! which every face (the CLI, Node, Go, Ruby, Python, the plug-ins) gets from the component
//! by leaving the WIT `options` flags unset (STYLE 17).

/// The signing names that follow S3's rules: S3 itself (and S3 Control, which signs as
/// `s3`), S3 Object Lambda, S3 on Outposts and S3 Express, as the SDKs' endpoint rules set
/// `disableDoubleEncoding` for them.
const S3_LIKE: [&str; 4] = ["s3", "s3-object-lambda", "s3-outposts", "s3express"];

/// How a service wants its requests signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceRules {
    /// Encode the path once more (every service but S3); when false the path is an S3 key,
    /// see [`crate::s3_path`].
    pub double_uri_encode: bool,
    /// Remove dot and empty segments from the path (every service but S3).
    pub normalize_path: bool,
    /// Send the payload hash as `x-amz-content-sha256` in header placement (S3 requires it).
    pub content_sha256_header: bool,
    /// A presigned URL given no body signs `UNSIGNED-PAYLOAD`: S3 checks nothing else for
    /// one, since the body is not known when the URL is made.
    pub presign_unsigned_payload: bool,
}

impl ServiceRules {
    /// The SigV4 defaults every service but the S3 family follows.
    pub const DEFAULT: Self = Self {
        double_uri_encode: true,
        normalize_path: true,
        content_sha256_header: false,
        presign_unsigned_payload: false,
    };

    /// S3's rules.
    pub const S3: Self = Self {
        double_uri_encode: false,
        normalize_path: false,
        content_sha256_header: true,
        presign_unsigned_payload: true,
    };

    /// The rules of the service whose signing name is `service` (matched exactly: signing
    /// names are lowercase).
    pub fn of(service: &str) -> Self {
        if S3_LIKE.contains(&service) {
            Self::S3
        } else {
            Self::DEFAULT
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_s3_family_and_the_rest() {
        for s in S3_LIKE {
            assert_eq!(ServiceRules::of(s), ServiceRules::S3, "{s}");
        }
        for s in ["service", "execute-api", "sts", "S3", "s3x", "dynamodb"] {
            assert_eq!(ServiceRules::of(s), ServiceRules::DEFAULT, "{s}");
        }
    }
}
