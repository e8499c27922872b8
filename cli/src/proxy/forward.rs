//! What of a client's request is forwarded, sans-IO: the target URL, the headers that are
//! the client's own signature or belong to one hop, and the presign query parameters.

use http::HeaderMap;

/// Headers that belong to one connection (RFC 9110 §7.6.1, and the two de-facto ones every
/// proxy drops): neither forwarded nor signed, either way. A name listed in `Connection` is
/// one too.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The client's own signature: replaced by ours. `expect` goes too: the proxy answers
/// `100-continue` itself (hyper does, when the body is first read).
const CLIENT_SIGNATURE: &[&str] = &[
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
    "expect",
    "host",
];

/// The query parameters of a presigned URL (SigV4 and SigV4a), matched without regard to
/// case: a client's presigned URL is re-signed in headers.
const PRESIGN_PARAMS: &[&str] = &[
    "x-amz-algorithm",
    "x-amz-credential",
    "x-amz-date",
    "x-amz-expires",
    "x-amz-signedheaders",
    "x-amz-signature",
    "x-amz-security-token",
    "x-amz-region-set",
];

/// Whether `name` (lowercase) belongs to one hop, given the `Connection` header's list.
pub fn is_hop_by_hop(name: &str, headers: &HeaderMap) -> bool {
    HOP_BY_HOP.contains(&name)
        || headers.get_all(http::header::CONNECTION).iter().any(|v| {
            v.to_str()
                .unwrap_or("")
                .split(',')
                .any(|listed| listed.trim().eq_ignore_ascii_case(name))
        })
}

/// Removes the hop-by-hop headers of `headers` (a response's, before it goes to the client).
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let names: Vec<http::HeaderName> = headers
        .keys()
        .filter(|n| is_hop_by_hop(n.as_str(), headers))
        .cloned()
        .collect();
    for name in names {
        headers.remove(name);
    }
}

/// Whether a client's header is forwarded (and signed): not one hop's, not its signature.
pub fn forwarded(name: &str, headers: &HeaderMap) -> bool {
    !CLIENT_SIGNATURE.contains(&name) && !is_hop_by_hop(name, headers)
}

/// `query` without the presign parameters; the rest keeps its order and encoding.
pub fn strip_presign(query: &str) -> String {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| {
            let name = pair.split('=').next().unwrap_or("");
            !PRESIGN_PARAMS.iter().any(|p| p.eq_ignore_ascii_case(name))
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// `http` or `https`.
    pub scheme: String,
    /// `host[:port]`, the port only when it is not the scheme's default.
    pub authority: String,
    /// The host alone (no port, no IPv6 brackets): what service and region are told from.
    pub host: String,
    /// A path prefix the request's path is appended to (`""` or `/prefix`, no trailing `/`).
    pub base_path: String,
}

impl Upstream {
    /// Parses `--upstream`: `http(s)://host[:port][/prefix]`, nothing after the path.
    pub fn parse(url: &str) -> Result<Self, String> {
        let (scheme, rest) = url
            .split_once("://")
            .filter(|(s, _)| matches!(*s, "http" | "https"))
            .ok_or_else(|| format!("--upstream {url:?}: expected http://HOST[:PORT] or https://HOST[:PORT]"))?;
        if rest.contains(['?', '#', '@']) {
            return Err(format!("--upstream {url:?}: no query, fragment or user info"));
        }
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let mut upstream = Self::for_host(scheme, authority)?;
        upstream.base_path = path.trim_end_matches('/').to_owned();
        Ok(upstream)
    }

    /// `authority` (a Host header, or `--upstream`'s) over `scheme`.
    pub fn for_host(scheme: &str, authority: &str) -> Result<Self, String> {
        let uri_authority: http::uri::Authority = authority
            .parse()
            .map_err(|_| format!("{authority:?} is not a host name with an optional port"))?;
        if uri_authority.as_str().contains('@') || uri_authority.host().is_empty() {
            return Err(format!("{authority:?} is not a host name with an optional port"));
        }
        let default_port = if scheme == "https" { 443 } else { 80 };
        let host = uri_authority.host().trim_start_matches('[').trim_end_matches(']');
        let authority = match uri_authority.port_u16() {
            Some(port) if port != default_port => format!("{}:{port}", uri_authority.host()),
            _ => uri_authority.host().to_owned(),
        };
        Ok(Self {
            scheme: scheme.to_owned(),
            authority: authority.to_ascii_lowercase(),
            host: host.to_ascii_lowercase(),
            base_path: String::new(),
        })
    }

    /// The absolute URL for a client's path and query (the presign parameters removed).
    pub fn url(&self, path: &str, query: Option<&str>) -> String {
        let mut url = format!("{}://{}{}{path}", self.scheme, self.authority, self.base_path);
        if let Some(query) = query.map(strip_presign).filter(|q| !q.is_empty()) {
            url.push('?');
            url.push_str(&query);
        }
        url
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presign_parameters_go_and_the_rest_keeps_its_encoding() {
        let query = "list-type=2&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F2015&prefix=a%20b&\
                     x-amz-signature=00&X-Amz-SignedHeaders=host&X-Amz-Expires=60&X-Amz-Date=20150830T123600Z";
        assert_eq!(strip_presign(query), "list-type=2&prefix=a%20b");
        assert_eq!(strip_presign("uploads"), "uploads");
        assert_eq!(strip_presign("X-Amz-Signature=1"), "");
    }

    #[test]
    fn connection_listed_headers_are_hop_by_hop() {
        let mut headers = HeaderMap::new();
        headers.insert("connection", "close, X-Private".parse().unwrap());
        headers.insert("x-private", "1".parse().unwrap());
        headers.insert("x-amz-meta-a", "1".parse().unwrap());
        headers.insert("transfer-encoding", "chunked".parse().unwrap());
        assert!(is_hop_by_hop("x-private", &headers));
        assert!(!forwarded("x-private", &headers));
        assert!(!forwarded("authorization", &headers));
        assert!(forwarded("x-amz-meta-a", &headers));
        strip_hop_by_hop(&mut headers);
        let left: Vec<_> = headers.keys().map(|k| k.as_str()).collect();
        assert_eq!(left, ["x-amz-meta-a"]);
    }

    #[test]
    fn upstreams_parse_with_their_default_ports_dropped() {
        let up = Upstream::parse("http://127.0.0.1:9000/base/").unwrap();
        assert_eq!(
            (up.authority.as_str(), up.host.as_str(), up.base_path.as_str()),
            ("127.0.0.1:9000", "127.0.0.1", "/base")
        );
        assert_eq!(
            up.url("/b/k", Some("X-Amz-Date=1&a=b")),
            "http://127.0.0.1:9000/base/b/k?a=b"
        );
        let aws = Upstream::for_host("https", "S3.us-west-2.amazonaws.com:443").unwrap();
        assert_eq!(aws.authority, "s3.us-west-2.amazonaws.com");
        let v6 = Upstream::for_host("http", "[::1]:8080").unwrap();
        assert_eq!((v6.authority.as_str(), v6.host.as_str()), ("[::1]:8080", "::1"));
        for bad in ["ftp://x", "http://", "http://a@b", "http://h/?q", "h:1"] {
            assert!(Upstream::parse(bad).is_err(), "{bad}");
        }
    }
}
