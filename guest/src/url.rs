//! Splitting an absolute URL into the parts SigV4 signs.
//!
//! Written by hand rather than with the `url` or `http` crates, for a measured reason: the
//! official suites sign paths exactly as given, including raw spaces and raw UTF-8
//! (`get-space-*`, `get-utf8`), which `http::Uri` rejects, while `url::Url` rewrites dot
//! segments and percent-encoding before we could sign the path the caller will send
//! (`get-relative-*-unnormalized`, `double-encode-path`). Splitting is RFC 3986 appendix B;
//! nothing is decoded or rewritten here.

use crate::SignError;

/// The parts of an absolute `http(s)` URL, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Url<'a> {
    /// `http` or `https`, as written.
    pub scheme: &'a str,
    /// `host[:port]`, as written.
    pub authority: &'a str,
    /// The path, possibly empty, as written.
    pub path: &'a str,
    /// The query without `?`, if there was a `?`.
    pub query: Option<&'a str>,
    /// Everything before the fragment (`#...`), which is never sent and never signed.
    pub without_fragment: &'a str,
    /// Where the path starts in the URL's text.
    path_start: usize,
}

impl<'a> Url<'a> {
    /// Splits `url`, rejecting what cannot be sent as an HTTP request target.
    pub fn parse(url: &'a str) -> Result<Self, SignError> {
        let bad = |why: &str| SignError::InvalidUrl(format!("{why} in url {:?}", truncate(url)));
        // Byte scan first (the common, all-ASCII case); chars only to name C1 controls.
        if url.bytes().any(|b| b < 0x20 || b == 0x7f || b == 0xc2)
            && let Some(c) = url.chars().find(|c| c.is_control())
        {
            return Err(bad(&format!("control character {c:?}")));
        }
        // Byte positions, not `find`/`split_once`: their searchers cost about 3.5k instructions
        // per signature in the component (memchr set-up for strings of a few bytes).
        let (scheme, rest) = url
            .bytes()
            .position(|b| b == b':')
            .and_then(|i| Some((&url[..i], url[i + 1..].strip_prefix("//")?)))
            .ok_or_else(|| bad("expected an absolute http:// or https:// url"))?;
        if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
            return Err(bad("scheme must be http or https"));
        }
        let authority_start = url.len() - rest.len();
        // One pass: the authority ends at the first `/`, `?` or `#`, the path at the first `?`
        // or `#`, the query at the first `#`.
        let (mut authority_end, mut query_at, mut fragment_at) = (None, None, rest.len());
        for (i, b) in rest.bytes().enumerate() {
            match b {
                b'#' => {
                    fragment_at = i;
                    break;
                }
                b'/' if authority_end.is_none() => authority_end = Some(i),
                b'?' if query_at.is_none() => {
                    authority_end.get_or_insert(i);
                    query_at = Some(i);
                }
                _ => {}
            }
        }
        let authority_end = authority_end.unwrap_or(fragment_at);
        let without_fragment = &url[..authority_start + fragment_at];
        let authority = &rest[..authority_end];
        let (path, query) = match query_at {
            Some(q) => (&rest[authority_end..q], Some(&rest[q + 1..fragment_at])),
            None => (&rest[authority_end..fragment_at], None),
        };
        if authority.is_empty() {
            return Err(bad("missing host"));
        }
        if authority.bytes().any(|b| b == b'@') {
            return Err(bad("user info (user:password@) is not allowed"));
        }
        if !authority.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(bad("host must be printable ASCII"));
        }
        let parsed = Self {
            scheme,
            authority,
            path,
            query,
            without_fragment,
            path_start: authority_start + authority_end,
        };
        let (host, port) = parsed.host_and_port();
        if host.is_empty() {
            return Err(bad("missing host"));
        }
        if let Some(port) = port
            && (port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(bad("port must be a number"));
        }
        Ok(parsed)
    }

    /// The host (with brackets for IPv6) and the port text after `:`, if any.
    pub fn host_and_port(&self) -> (&'a str, Option<&'a str>) {
        let a = self.authority;
        let host_end = if a.starts_with('[') {
            a.bytes().position(|b| b == b']').map_or(a.len(), |i| i + 1)
        } else {
            0
        };
        match a[host_end..].bytes().rposition(|b| b == b':') {
            Some(i) => (&a[..host_end + i], Some(&a[host_end + i + 1..])),
            None => (a, None),
        }
    }

    /// `whole` (this URL's text, or a prefix of it that holds the path, such as
    /// `without_fragment`) with the path replaced by `path`.
    pub fn with_path(&self, whole: &str, path: &str) -> String {
        let start = self.path_start;
        let mut out = String::with_capacity(whole.len() + path.len() - self.path.len());
        out.push_str(&whole[..start]);
        out.push_str(path);
        out.push_str(&whole[start + self.path.len()..]);
        out
    }

    /// The value of a `host` header for this URL: the authority without a default port
    /// (80 for http, 443 for https), which clients leave out of the header they send.
    pub fn host_header(&self) -> &'a str {
        let (host, port) = self.host_and_port();
        let default = if self.scheme.eq_ignore_ascii_case("https") {
            "443"
        } else {
            "80"
        };
        if port == Some(default) { host } else { self.authority }
    }
}

/// The first 100 characters of `s`, so that an error about a huge input stays one line.
pub(crate) fn truncate(s: &str) -> &str {
    s.char_indices().nth(100).map_or(s, |(i, _)| &s[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_parts() {
        let u = Url::parse("https://h.example:8443/a b/ሴ?x=1&y#frag").unwrap();
        assert_eq!(u.scheme, "https");
        assert_eq!(u.authority, "h.example:8443");
        assert_eq!(u.path, "/a b/ሴ");
        assert_eq!(u.query, Some("x=1&y"));
        assert_eq!(u.without_fragment, "https://h.example:8443/a b/ሴ?x=1&y");
        assert_eq!(u.host_header(), "h.example:8443");
        assert_eq!(u.with_path(u.without_fragment, "/k"), "https://h.example:8443/k?x=1&y");
        let u = Url::parse("http://h#f").unwrap();
        assert_eq!(u.with_path("http://h#f", "/"), "http://h/#f");
    }

    #[test]
    fn default_ports_leave_the_host_header() {
        assert_eq!(Url::parse("https://h:443/").unwrap().host_header(), "h");
        assert_eq!(Url::parse("http://h:80").unwrap().host_header(), "h");
        assert_eq!(Url::parse("http://h:443").unwrap().host_header(), "h:443");
        assert_eq!(Url::parse("http://[::1]:80/").unwrap().host_header(), "[::1]");
        assert_eq!(Url::parse("http://[::1]/").unwrap().host_and_port(), ("[::1]", None));
    }

    #[test]
    fn rejects_what_cannot_be_sent() {
        for bad in [
            "/relative",
            "ftp://h/",
            "https:///path",
            "https://u:p@h/",
            "https://h:port/",
            "https://h:/",
            "https://h/\nx",
            "https://hö/",
            "https://h h/",
        ] {
            let err = Url::parse(bad).unwrap_err();
            assert!(matches!(err, SignError::InvalidUrl(_)), "{bad}: {err}");
        }
    }
}
