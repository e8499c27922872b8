//! Stage 1: the canonical request.
//!
//! [`CanonicalRequest`]'s `Display` is exactly the spec text, so tests compare it with the
//! suites' `*-canonical-request.txt` files and the signer hashes the same bytes.

use core::fmt;
use std::borrow::Cow;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode, percent_encode};

use crate::SignError;
use crate::url::truncate;

/// Everything but the unreserved characters `A-Z a-z 0-9 - . _ ~`: the SigV4 `UriEncode`.
const QUERY_SET: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
/// `UriEncode` of a path: as the query, but `/` separates segments and stays.
const PATH_SET: &AsciiSet = &QUERY_SET.remove(b'/');
/// The canonical URI of `path`.
///
/// `normalize` removes dot segments and empty segments (RFC 3986 5.2.4 as AWS applies it).
/// `double_encode` percent-encodes every byte but the unreserved ones and `/`, so an
/// already-encoded `%3D` becomes `%253D` (every service but S3). Without it the path is an
/// S3 key, see [`s3_path`].
pub fn canonical_uri(path: &str, normalize: bool, double_encode: bool) -> Cow<'_, str> {
    let path: Cow<'_, str> = match (path, normalize) {
        ("", _) => Cow::Borrowed("/"),
        (p, true) => normalize_path(p),
        (p, false) => Cow::Borrowed(p),
    };
    if !double_encode {
        return match s3_path(&path) {
            Cow::Borrowed(_) => path,
            Cow::Owned(encoded) => Cow::Owned(encoded),
        };
    }
    match percent_encode(path.as_bytes(), PATH_SET).into() {
        Cow::Borrowed(_) => path,
        Cow::Owned(encoded) => Cow::Owned(encoded),
    }
}

/// An S3 path in the one form S3 signs: the object key's bytes, each byte but the
/// unreserved ones and `/` percent-encoded once.
///
/// S3 canonicalises the key it decoded from the request target, not the bytes the client
/// typed, so a raw `$` and a sent `%24` are the same key, signed `%24`. The key's bytes are
/// the path with each `%XX` escape decoded once; a `%` that starts no escape is a literal
/// `%` (signed `%25`). A key that contains a literal `%41` must therefore be given as
/// `%2541`. The signer sends this same form (the signed URL carries it), so what is sent
/// and what is signed agree on every server, whether it canonicalises the decoded key
/// (AWS, versitygw) or the bytes as sent (s3s).
pub fn s3_path(path: &str) -> Cow<'_, str> {
    if path.bytes().all(|b| b == b'/' || is_unreserved(b)) {
        return Cow::Borrowed(path);
    }
    let key: Cow<'_, [u8]> = percent_decode(path.as_bytes()).into();
    Cow::Owned(percent_encode(&key, PATH_SET).to_string())
}

fn normalize_path(path: &str) -> Cow<'_, str> {
    let needs_work = path
        .as_bytes()
        .windows(2)
        .any(|w| w[0] == b'/' && (w[1] == b'.' || w[1] == b'/'));
    if !path.starts_with('/') || needs_work {
        let mut segments: Vec<&str> = Vec::new();
        for segment in path.split('/') {
            match segment {
                "" | "." => {}
                ".." => {
                    segments.pop();
                }
                s => segments.push(s),
            }
        }
        let mut out = String::with_capacity(path.len() + 1);
        for segment in &segments {
            out.push('/');
            out.push_str(segment);
        }
        let last = path.rsplit('/').next().unwrap_or_default();
        if out.is_empty() || matches!(last, "" | "." | "..") && !out.ends_with('/') {
            out.push('/');
        }
        Cow::Owned(out)
    } else {
        Cow::Borrowed(path)
    }
}

/// The query parameters of a URL, decoded as a form (`+` is a space) and re-encoded with
/// `UriEncode`, ready to sort.
///
/// Decoding is to bytes, so an escape of invalid UTF-8 (`%FF`) is signed as sent; a `%` that
/// starts no escape is signed as `%25`.
pub fn encoded_query_pairs(query: &str) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (reencode(k), reencode(v))
        })
        .collect()
}

fn reencode(component: &str) -> Cow<'_, str> {
    if component.bytes().all(is_unreserved) {
        return Cow::Borrowed(component);
    }
    let plus_as_space: Cow<'_, str> = if component.contains('+') {
        Cow::Owned(component.replace('+', " "))
    } else {
        Cow::Borrowed(component)
    };
    let bytes: Cow<'_, [u8]> = percent_decode(plus_as_space.as_bytes()).into();
    Cow::Owned(uri_encode(&bytes))
}

/// `A-Z a-z 0-9 - . _ ~`: what `UriEncode` leaves as it is.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~".contains(&b)
}

/// SigV4 `UriEncode` for a query key or value (everything but `A-Za-z0-9-._~`).
pub fn uri_encode(bytes: &[u8]) -> String {
    percent_encode(bytes, QUERY_SET).to_string()
}

/// Headers that are never signed, as the AWS SDKs agree: the signature's own header, and
/// headers proxies and CDNs change in flight.
const UNSIGNED_HEADERS: [&str; 4] = ["authorization", "user-agent", "x-amzn-trace-id", "transfer-encoding"];

/// Canonical headers in the making: lowercase name, normalised value, in request order.
#[derive(Debug, Default)]
pub struct HeaderSet<'a> {
    entries: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> HeaderSet<'a> {
    /// Validates and adds a request header, unless `skip` says it is replaced or unsigned.
    pub fn add_request_header(
        &mut self,
        name: &'a str,
        value: &'a str,
        skip: impl Fn(&str) -> bool,
    ) -> Result<(), SignError> {
        check_header_name(name)?;
        check_header_value(name, value)?;
        let name: Cow<'a, str> = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(name.to_ascii_lowercase())
        } else {
            Cow::Borrowed(name)
        };
        if UNSIGNED_HEADERS.contains(&name.as_ref()) || skip(&name) {
            return Ok(());
        }
        self.entries.push((name, trim_all(value)));
        Ok(())
    }

    /// Adds a header the signer itself sets (its name is lowercase and valid).
    pub fn add_own(&mut self, name: &'a str, value: &'a str) {
        self.entries.push((Cow::Borrowed(name), Cow::Borrowed(value)));
    }

    /// Whether a header of this lowercase name is present.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.iter().any(|(n, _)| n == name)
    }

    /// Sorts by name and joins repeated names with `,` in request order.
    pub fn finish(mut self) -> CanonicalHeaders<'a> {
        // Stable: values of a repeated name keep their request order.
        self.entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut merged = self.entries;
        merged.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                let joined = kept.1.to_mut();
                joined.push(',');
                joined.push_str(&later.1);
            }
            same
        });
        let mut signed = String::with_capacity(merged.iter().map(|(n, _)| n.len() + 1).sum());
        for (i, (name, _)) in merged.iter().enumerate() {
            if i > 0 {
                signed.push(';');
            }
            signed.push_str(name);
        }
        CanonicalHeaders {
            headers: merged,
            signed,
        }
    }
}

/// Sorted, merged canonical headers and the `SignedHeaders` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalHeaders<'a> {
    /// `(lowercase name, normalised value)`, sorted by name, one per name.
    pub headers: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    /// The names joined with `;`.
    pub signed: String,
}

/// Trims spaces at both ends and folds runs of spaces into one. Only spaces: S3 and the
/// SDKs leave tabs alone.
fn trim_all(value: &str) -> Cow<'_, str> {
    let trimmed = value.trim_matches(' ');
    if !trimmed.as_bytes().windows(2).any(|w| w == b"  ") {
        return Cow::Borrowed(trimmed);
    }
    let mut out = String::with_capacity(trimmed.len());
    for word in trimmed.split(' ').filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    Cow::Owned(out)
}

/// RFC 9110 `tchar`: what a method or header name may contain.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn check_header_name(name: &str) -> Result<(), SignError> {
    if is_token(name) {
        Ok(())
    } else {
        Err(SignError::InvalidHeaderName(format!(
            "header name {:?} must be a non-empty HTTP token (letters, digits, !#$%&'*+-.^_`|~)",
            truncate(name)
        )))
    }
}

fn check_header_value(name: &str, value: &str) -> Result<(), SignError> {
    match value.chars().find(|&c| c.is_control() && c != '\t') {
        None => Ok(()),
        Some(c) => Err(SignError::InvalidHeaderValue(format!(
            "value of header {:?} contains control character {c:?}; unfold multi-line values first",
            truncate(name)
        ))),
    }
}

/// Where the stages write their spec text: a formatter (`Display`) or the buffer that is
/// hashed.
///
/// Formatting through `fmt::Write` costs a dynamic call per piece, which inside wasm was a
/// visible share of a signature; writing the same pieces through this trait keeps `Display`
/// and the hashed bytes one code path.
pub(crate) trait Sink {
    /// Appends `s`.
    fn put(&mut self, s: &str);
}

/// Adapts a formatter to [`Sink`], keeping the first error.
pub(crate) struct FmtSink<'a, 'b>(&'a mut fmt::Formatter<'b>, fmt::Result);

/// `Display` for a stage: formats exactly what `write` puts into a [`Sink`].
pub(crate) fn display_spec_text(f: &mut fmt::Formatter<'_>, write: impl FnOnce(&mut FmtSink<'_, '_>)) -> fmt::Result {
    let mut sink = FmtSink(f, Ok(()));
    write(&mut sink);
    sink.1
}

impl Sink for FmtSink<'_, '_> {
    fn put(&mut self, s: &str) {
        if self.1.is_ok() {
            self.1 = self.0.write_str(s);
        }
    }
}

/// The canonical request: method, canonical URI, canonical query, canonical headers,
/// signed headers and payload hash, as AWS specifies them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalRequest<'a> {
    /// The HTTP method, as given.
    pub method: &'a str,
    /// The canonical URI.
    pub uri: Cow<'a, str>,
    /// Encoded `(key, value)` pairs, sorted.
    pub query: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    /// The canonical headers.
    pub headers: CanonicalHeaders<'a>,
    /// Lowercase hex SHA-256 of the payload, or `UNSIGNED-PAYLOAD`.
    pub payload_hash: &'a str,
}

impl CanonicalRequest<'_> {
    pub(crate) fn write_to(&self, out: &mut impl Sink) {
        out.put(self.method);
        out.put("\n");
        out.put(&self.uri);
        out.put("\n");
        for (i, (k, v)) in self.query.iter().enumerate() {
            if i > 0 {
                out.put("&");
            }
            out.put(k);
            out.put("=");
            out.put(v);
        }
        out.put("\n");
        for (name, value) in &self.headers.headers {
            out.put(name);
            out.put(":");
            out.put(value);
            out.put("\n");
        }
        out.put("\n");
        out.put(&self.headers.signed);
        out.put("\n");
        out.put(self.payload_hash);
    }
}

impl fmt::Display for CanonicalRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        display_spec_text(f, |sink| self.write_to(sink))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_double_and_single_encoding() {
        assert_eq!(canonical_uri("/a%3Db c/ሴ", false, true), "/a%253Db%20c/%E1%88%B4");
        assert_eq!(canonical_uri("/a%3Db c/ሴ", false, false), "/a%3Db%20c/%E1%88%B4");
        assert_eq!(canonical_uri("/k+=:@!", false, false), "/k%2B%3D%3A%40%21");
        assert_eq!(canonical_uri("/k+=:@!", false, true), "/k%2B%3D%3A%40%21");
        assert_eq!(canonical_uri("", false, true), "/");
    }

    #[test]
    fn an_s3_key_is_signed_decoded_then_encoded_once() {
        for (path, want) in [
            ("/b/plain.txt", "/b/plain.txt"),
            ("/b/a~b-c_d.txt", "/b/a~b-c_d.txt"),
            ("/b/a$b", "/b/a%24b"),
            ("/b/a%24b", "/b/a%24b"),
            ("/b/a%2fb", "/b/a/b"),
            ("/b/100%", "/b/100%25"),
            ("/b/100%zz", "/b/100%25zz"),
            ("/b/%2541", "/b/%2541"),
            ("/b/ü", "/b/%C3%BC"),
            ("/b/%c3%bc", "/b/%C3%BC"),
            ("/b/a b+c", "/b/a%20b%2Bc"),
            ("/b//x/./y", "/b//x/./y"),
        ] {
            assert_eq!(s3_path(path), want, "{path}");
            assert_eq!(s3_path(&s3_path(path)), want, "{path}: the form is a fixed point");
        }
    }

    #[test]
    fn normalizes_like_rfc3986_5_2_4() {
        for (path, want) in [
            ("/", "/"),
            ("//", "/"),
            ("/./", "/"),
            ("/example/..", "/"),
            ("/a/b/../..", "/"),
            ("//example//", "/example/"),
            ("/./example", "/example"),
            ("/a/b/.", "/a/b/"),
            ("/a/b/..", "/a/"),
            ("/../a", "/a"),
            ("a/b", "/a/b"),
        ] {
            assert_eq!(canonical_uri(path, true, true), want, "{path}");
        }
    }

    #[test]
    fn query_pairs_decode_as_a_form_and_keep_bytes() {
        let pairs = encoded_query_pairs("b=%E1%88%B4&a+b=c%20d&flag&&x=%FF&p=%zz");
        assert_eq!(
            pairs,
            [
                ("b", "%E1%88%B4"),
                ("a%20b", "c%20d"),
                ("flag", ""),
                ("x", "%FF"),
                ("p", "%25zz"),
            ]
            .map(|(k, v)| (Cow::Borrowed(k), Cow::Borrowed(v)))
        );
    }

    #[test]
    fn headers_merge_sort_and_trim() {
        let mut set = HeaderSet::default();
        for (n, v) in [
            ("My-Header1", "  a   b  "),
            ("Host", "h"),
            ("my-header1", "c"),
            ("User-Agent", "x"),
        ] {
            set.add_request_header(n, v, |_| false).unwrap();
        }
        let c = set.finish();
        assert_eq!(c.signed, "host;my-header1");
        assert_eq!(
            (c.headers[1].0.as_ref(), c.headers[1].1.as_ref()),
            ("my-header1", "a b,c")
        );
    }

    #[test]
    fn header_errors_name_the_header() {
        let mut set = HeaderSet::default();
        let e = set.add_request_header("bad name", "v", |_| false).unwrap_err();
        assert!(matches!(e, SignError::InvalidHeaderName(ref m) if m.contains("bad name")));
        let e = set.add_request_header("x", "a\nb", |_| false).unwrap_err();
        assert!(matches!(e, SignError::InvalidHeaderValue(_)));
        assert!(set.add_request_header("x", "a\tb", |_| false).is_ok());
    }
}
