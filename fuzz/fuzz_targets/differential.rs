//! Our core against `aws-sigv4` on every input both accept: the signature and, in header
//! placement, the whole `authorization` value must be equal. Inputs in the deliberate
//! differences tests/all/differential.rs lists are skipped (`deliberate_difference`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use percent_encoding::percent_decode_str;
use realsig_fuzz::Input;
use realsig_fuzz::oracle::{Body, Case, oracle, ours};
use realsig_guest::KeyCache;

fuzz_target!(|data: &[u8]| {
    let Some(input) = Input::decode(data) else { return };
    if deliberate_difference(&input) {
        return;
    }
    let case = Case {
        method: input.raw.method.clone(),
        url: input.url.clone(),
        headers: input.headers.clone(),
        body: Body::Bytes(input.raw.body.clone()),
        region: input.region.to_owned(),
        service: input.service.to_owned(),
        token: input.with_token.then(|| realsig_fuzz::TOKEN.to_owned()),
        settings: realsig_guest::Settings {
            debug: false,
            ..input.settings
        },
        time: input.time,
    };
    if let (Some(theirs), Some(mine)) = (oracle(&case), ours(&case, &mut KeyCache::default())) {
        assert_eq!(theirs, mine, "case: {case:#?}");
    }
});

/// The differences tests/all/differential.rs documents (and keeps out of its generators).
fn deliberate_difference(input: &Input) -> bool {
    // The URL's own path and query: a host header with a `/` in it moves into the path.
    let rest = input.url.trim_start_matches("https://");
    let rest = &rest[rest.find(['/', '?']).unwrap_or(rest.len())..];
    let rest = rest.split('#').next().unwrap_or_default();
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let double = input.settings.double_uri_encode;
    // Percent-escapes of invalid UTF-8 in the query: aws-sigv4 decodes lossily.
    let lossy_query = percent_decode_str(query).decode_utf8().is_err();
    // Raw non-ASCII in the path with single encoding: S3 canonicalises the decoded key.
    let raw_non_ascii = !double && !path.is_ascii();
    // Characters outside RFC 3986's pchar that aws-sigv4 signs raw and UriEncode encodes.
    let unencoded = path.contains(['"', '<', '>', '[', '\\', ']', '^', '`', '{', '|', '}']);
    lossy_query || raw_non_ascii || unencoded
}
