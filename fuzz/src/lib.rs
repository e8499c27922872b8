//! What the fuzz targets share: how fuzz input becomes a request to sign, and the checks on
//! what a signer returns.
//!
//! Input is [`PREFIX`] bytes of settings followed by raw HTTP request text, the format of the
//! suites' `request.txt` (parsed by the CLI's own parser, `realsig_cli::http_text`). So the seed
//! corpora are the official vectors as they are, behind a few settings prefixes (`seed.sh`).

use realsig_cli::http_text::RawRequest;
use realsig_guest::{Algorithm, Credentials, Payload, Placement, Request, Settings, Signed, SigningParams, sha256_hex};

#[path = "../../tests/common/oracle.rs"]
pub mod oracle;

/// Bytes before the request text: flags, the signing time (u32, little endian), a selector.
pub const PREFIX: usize = 6;

/// The secret every target signs with: it must never appear in any output.
pub const SECRET: &str = oracle::SECRET;
/// The session token, used when the flags ask for one.
pub const TOKEN: &str = "FQoGZXIvYXdzEXAMPLETOKEN//////////wEaDEXAMPLE=";

const REGIONS: [&str; 6] = ["us-east-1", "eu-west-1", "*", "us-east-1,us-west-2", "", "a b"];
const SERVICES: [&str; 4] = ["service", "s3", "execute-api", ""];
const EXPIRES: [u32; 4] = [86_400, 1, 604_800, 604_801];

/// One decoded input.
#[derive(Debug)]
pub struct Input {
    /// The parsed request text.
    pub raw: RawRequest,
    /// `https://` + the host header (or `example.amazonaws.com`) + the request target.
    pub url: String,
    /// Headers as (name, value) pairs.
    pub headers: Vec<(String, String)>,
    /// Region (SigV4a: region set).
    pub region: &'static str,
    /// Service.
    pub service: &'static str,
    /// Settings from the flag bits.
    pub settings: Settings,
    /// Seconds since the Unix epoch.
    pub time: u64,
    /// Whether to sign with the session token.
    pub with_token: bool,
    /// Whether the request text itself contains [`SECRET`] (then outputs and errors may
    /// echo it: it came from the caller's request, not from the credentials).
    pub echoes_secret: bool,
}

impl Input {
    /// Decodes fuzz input; `None` when it is too short or the text does not parse.
    pub fn decode(data: &[u8]) -> Option<Self> {
        let (prefix, text) = data.split_first_chunk::<PREFIX>()?;
        let [flags, t0, t1, t2, t3, select] = *prefix;
        let raw = RawRequest::parse(text).ok()?;
        let host = raw.host().unwrap_or("example.amazonaws.com");
        let url = format!("https://{host}{}", raw.target);
        let headers = raw.headers.iter().map(|h| (h.name.clone(), h.value.clone())).collect();
        let bit = |n: u8| flags & (1 << n) != 0;
        let settings = Settings {
            algorithm: if bit(5) {
                Algorithm::EcdsaP256Sha256
            } else {
                Algorithm::HmacSha256
            },
            placement: if bit(0) {
                Placement::Query {
                    expires: EXPIRES[usize::from(select >> 6)],
                }
            } else {
                Placement::Headers
            },
            double_uri_encode: bit(1),
            normalize_path: bit(2),
            content_sha256_header: bit(3),
            omit_session_token: bit(4),
            debug: bit(6),
        };
        Some(Self {
            url,
            headers,
            region: REGIONS[usize::from(select & 7) % REGIONS.len()],
            service: SERVICES[usize::from((select >> 3) & 3)],
            settings,
            time: u64::from(u32::from_le_bytes([t0, t1, t2, t3])),
            with_token: bit(7),
            echoes_secret: text.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
            raw,
        })
    }

    /// The headers as the core signer borrows them.
    pub fn header_pairs(&self) -> Vec<(&str, &str)> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect()
    }

    /// The request for the core signer, with `headers` from [`Input::header_pairs`].
    pub fn request<'a>(&'a self, headers: &'a [(&'a str, &'a str)]) -> Request<'a> {
        Request {
            method: &self.raw.method,
            url: &self.url,
            headers,
            payload: self.payload(),
        }
    }

    /// The core signer's parameters: this input's region, service and settings at `time`.
    pub fn params(&self, settings: Settings, time: u64) -> SigningParams<'static> {
        SigningParams {
            credentials: self.credentials(),
            region: self.region,
            service: self.service,
            settings,
            time,
        }
    }

    /// The body when there is one, else no payload.
    pub fn payload(&self) -> Payload<'_> {
        if self.raw.body.is_empty() {
            Payload::Empty
        } else {
            Payload::Bytes(&self.raw.body)
        }
    }

    /// The credentials every target signs with.
    pub fn credentials(&self) -> Credentials<'static> {
        Credentials {
            access_key_id: oracle::AKID,
            secret_access_key: SECRET,
            session_token: self.with_token.then_some(TOKEN),
        }
    }
}

/// Panics unless `signed` is well formed for `input`: a lowercase hex signature of the
/// algorithm's length, headers a client can send as they are (lowercase names, no control
/// characters in values), the signature where the placement puts it, no secret anywhere,
/// and with `debug` a string to sign that ends in the hash of the canonical request.
/// Without double encoding the URL to send differs from the input only in its path, which
/// names the same key bytes, each byte but `A-Za-z0-9-._~/` encoded once (upper-case hex).
fn assert_same_s3_key(input: &str, sent: &str) {
    let (Ok(i), Ok(s)) = (realsig_guest::Url::parse(input), realsig_guest::Url::parse(sent)) else {
        panic!("the URL to send does not parse: {sent:?}");
    };
    assert_eq!(
        (i.scheme, i.authority, i.query),
        (s.scheme, s.authority, s.query),
        "{sent:?}"
    );
    assert_eq!(
        &input[i.without_fragment.len()..],
        &sent[s.without_fragment.len()..],
        "the fragment changed"
    );
    let key = |p: &str| percent_encoding::percent_decode_str(p).collect::<Vec<u8>>();
    assert_eq!(key(i.path), key(s.path), "the key changed: {input:?} -> {sent:?}");
    let mut bytes = s.path.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex: Vec<u8> = bytes.by_ref().take(2).collect();
            assert!(
                hex.len() == 2 && hex.iter().all(|h| matches!(h, b'0'..=b'9' | b'A'..=b'F')),
                "{sent:?}"
            );
        } else {
            assert!(
                b.is_ascii_alphanumeric() || b"-._~/".contains(&b),
                "raw {:?} in {sent:?}",
                b as char
            );
        }
    }
}

pub fn assert_well_formed(input: &Input, signed: &Signed) {
    let sig = &signed.signature;
    assert!(
        sig.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
        "signature is not lowercase hex: {sig:?}"
    );
    match input.settings.algorithm {
        Algorithm::HmacSha256 => assert_eq!(sig.len(), 64, "SigV4 signature length"),
        // DER of two INTEGERs of up to 33 bytes: 8..=72 bytes.
        Algorithm::EcdsaP256Sha256 => assert!((16..=144).contains(&sig.len()) && sig.len() % 2 == 0),
    }
    for h in &signed.headers {
        assert!(
            !h.name.is_empty()
                && h.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "added header name {:?}",
            h.name
        );
        assert!(
            !h.value.chars().any(|c| c.is_control() && c != '\t'),
            "added header {} carries a control character",
            h.name
        );
    }
    assert!(!signed.url.contains(['\r', '\n']), "newline in the URL");
    match input.settings.placement {
        Placement::Headers => {
            if input.settings.double_uri_encode {
                assert_eq!(signed.url, input.url, "header placement changed the URL");
            } else {
                assert_same_s3_key(&input.url, &signed.url);
            }
            let auth = signed
                .headers
                .iter()
                .find(|h| h.name == "authorization")
                .expect("header placement adds authorization");
            let algorithm = input.settings.algorithm.name();
            assert!(
                auth.value
                    .starts_with(&format!("{algorithm} Credential={}/", oracle::AKID))
            );
            assert!(auth.value.ends_with(&format!("Signature={sig}")));
        }
        Placement::Query { .. } => {
            // A fragment is kept after the query (it is never sent).
            let sent = signed.url.split('#').next().unwrap_or_default();
            assert!(sent.ends_with(&format!("X-Amz-Signature={sig}")), "{}", signed.url);
        }
    }
    for text in [
        Some(&*signed.url),
        signed.canonical_request.as_deref(),
        signed.string_to_sign.as_deref(),
    ]
    .into_iter()
    .flatten()
    .chain(signed.headers.iter().map(|h| h.value.as_str()))
    {
        assert!(
            input.echoes_secret || !text.contains(SECRET),
            "the secret is in the output"
        );
    }
    if let (Some(cr), Some(sts)) = (&signed.canonical_request, &signed.string_to_sign) {
        let hash = sha256_hex(cr.as_bytes());
        assert!(
            sts.ends_with(&hash),
            "the string to sign does not end in the canonical request's hash"
        );
    }
    assert_eq!(
        signed.canonical_request.is_some(),
        input.settings.debug,
        "debug output iff debug"
    );
}
