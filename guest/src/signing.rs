//! Stages 2 and 3: the credential scope, the string to sign and the signing key.

use core::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::SignError;
use crate::canonical::{CanonicalRequest, Sink, display_spec_text};
use crate::sigv4a::{EcdsaKey, EcdsaKeyCache};

/// The algorithm name of SigV4 with HMAC-SHA256.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

type HmacSha256 = Hmac<Sha256>;

/// A signing time in the two forms SigV4 uses, `YYYYMMDD` and `YYYYMMDDTHHMMSSZ` (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigningTime {
    date_time: [u8; 16],
}

impl SigningTime {
    /// The signing time for `seconds` since the Unix epoch (fractions are not signed).
    pub fn from_unix(seconds: u64) -> Result<Self, SignError> {
        let t = i64::try_from(seconds)
            .ok()
            .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
            .filter(|t| (1970..=9999).contains(&t.year()))
            .ok_or_else(|| {
                SignError::ClockUnavailable(format!("the clock gave {seconds} s since 1970, past year 9999"))
            })?;
        let mut date_time = *b"00000000T000000Z";
        let fields = [
            (0, 4, t.year() as u32),
            (4, 2, u8::from(t.month()) as u32),
            (6, 2, t.day() as u32),
            (9, 2, t.hour() as u32),
            (11, 2, t.minute() as u32),
            (13, 2, t.second() as u32),
        ];
        for (at, width, mut value) in fields {
            for i in (at..at + width).rev() {
                date_time[i] = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        Ok(Self { date_time })
    }

    /// `YYYYMMDDTHHMMSSZ`, the `x-amz-date` value.
    pub fn date_time(&self) -> &str {
        // Only ASCII digits, `T` and `Z` are ever written.
        core::str::from_utf8(&self.date_time).unwrap_or_default()
    }

    /// `YYYYMMDD`, the scope's date.
    pub fn date(&self) -> &str {
        &self.date_time()[..8]
    }
}

/// The credential scope, `date/region/service/aws4_request`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope<'a> {
    /// `YYYYMMDD`.
    pub date: &'a str,
    /// Signing region; `None` in SigV4a, whose scope has no region (the region set is a
    /// signed header or query parameter instead).
    pub region: Option<&'a str>,
    /// Signing service.
    pub service: &'a str,
}

impl Scope<'_> {
    pub(crate) fn write_to(&self, out: &mut impl Sink) {
        out.put(self.date);
        if let Some(region) = self.region {
            out.put("/");
            out.put(region);
        }
        for part in ["/", self.service, "/aws4_request"] {
            out.put(part);
        }
    }
}

impl fmt::Display for Scope<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        display_spec_text(f, |sink| self.write_to(sink))
    }
}

/// The string to sign: algorithm, time, scope and the hex SHA-256 of the canonical request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StringToSign<'a> {
    /// [`ALGORITHM`], or the SigV4a one.
    pub algorithm: &'a str,
    /// `YYYYMMDDTHHMMSSZ`.
    pub date_time: &'a str,
    /// The credential scope.
    pub scope: Scope<'a>,
    /// Lowercase hex SHA-256 of the canonical request.
    pub canonical_request_hash: &'a str,
}

impl StringToSign<'_> {
    fn write_to(&self, out: &mut impl Sink) {
        for part in [self.algorithm, "\n", self.date_time, "\n"] {
            out.put(part);
        }
        self.scope.write_to(out);
        out.put("\n");
        out.put(self.canonical_request_hash);
    }
}

impl fmt::Display for StringToSign<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        display_spec_text(f, |sink| self.write_to(sink))
    }
}

impl CanonicalRequest<'_> {
    /// Lowercase hex SHA-256 of the canonical request.
    ///
    /// The text is written to a buffer and hashed in one `update` instead of one per piece
    /// (a few dozen). Measured together with the one-pass URL split: 0.9k instructions less
    /// per signature in the component (BENCHMARKS.md, issue 24); not measured apart.
    pub fn sha256_hex(&self) -> HexDigest {
        let mut text = String::with_capacity(512);
        self.write_to(&mut text);
        HexDigest::of(&Sha256::digest(text.as_bytes()).into())
    }
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    HexDigest::of(&Sha256::digest(bytes).into()).as_str().to_owned()
}

/// A SHA-256 digest as 64 lowercase hex digits, on the stack.
///
/// `hex::encode` goes through a `char` iterator and a heap string, which showed in
/// instruction profiles of the signing path; `encode_to_slice` writes bytes directly.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct HexDigest([u8; 64]);

impl HexDigest {
    fn of(digest: &[u8; 32]) -> Self {
        let mut buf = [0u8; 64];
        // 64 bytes is exactly twice 32, so this cannot fail.
        let _ = hex::encode_to_slice(digest, &mut buf);
        Self(buf)
    }

    /// The hex digits.
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever written.
        core::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Debug for HexDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Sink for String {
    fn put(&mut self, s: &str) {
        self.push_str(s);
    }
}

/// The derived signing key `kSigning` for one scope, kept as a keyed HMAC so that each
/// signature costs only the final HMAC.
#[derive(Clone)]
pub struct SigningKey(HmacSha256);

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(** redacted **)")
    }
}

impl SigningKey {
    /// Derives `kSigning` from the secret: HMAC chain over date, region, service, `aws4_request`.
    pub fn derive(secret: &str, scope: &Scope<'_>) -> Self {
        let mut k = hmac(format!("AWS4{secret}").as_bytes(), scope.date.as_bytes());
        for part in [scope.region.unwrap_or_default(), scope.service, "aws4_request"] {
            k = hmac(&k, part.as_bytes());
        }
        Self(keyed(&k))
    }

    /// The lowercase hex HMAC of `parts` joined: the chained signatures of chunks, trailers
    /// and event-stream messages, and POST policies, whose strings to sign are not
    /// [`StringToSign`]s.
    pub fn sign_parts(&self, parts: &[&str]) -> String {
        let mut mac = self.0.clone();
        for part in parts {
            mac.update(part.as_bytes());
        }
        HexDigest::of(&mac.finalize().into_bytes().into()).as_str().to_owned()
    }

    /// The signature of `string_to_sign`, lowercase hex.
    pub fn sign(&self, string_to_sign: &StringToSign<'_>) -> String {
        // One `update`, as in `CanonicalRequest::sha256_hex`.
        let mut text = String::with_capacity(256);
        string_to_sign.write_to(&mut text);
        let mut mac = self.0.clone();
        mac.update(text.as_bytes());
        HexDigest::of(&mac.finalize().into_bytes().into()).as_str().to_owned()
    }
}

fn keyed(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length.
    HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!("hmac takes any key length"))
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = keyed(key);
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// A small cache of derived signing keys, keyed by (secret, date, region, service).
///
/// Deriving a key is four HMACs, more than the rest of a signature; a process signs with a
/// handful of scopes a day, so [`KeyCache::CAPACITY`] entries in most-recently-used order
/// suffice. Entries hold the secret to compare with, so the cache lives only as long as its
/// signer (in the component: the instance).
#[derive(Default)]
pub struct KeyCache {
    entries: Vec<(CacheKey, SigningKey)>,
    ecdsa: EcdsaKeyCache,
}

#[derive(PartialEq, Eq)]
struct CacheKey {
    secret: String,
    date: [u8; 8],
    region: String,
    service: String,
}

impl fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyCache({} entries, redacted)", self.entries.len())
    }
}

impl KeyCache {
    /// How many scopes are kept.
    pub const CAPACITY: usize = 8;

    /// The signing key for `secret` and `scope`, derived on a miss.
    pub fn get(&mut self, secret: &str, scope: &Scope<'_>) -> &SigningKey {
        let found = self.entries.iter().position(|(k, _)| {
            k.secret == secret
                && k.date.as_slice() == scope.date.as_bytes()
                && Some(k.region.as_str()) == scope.region
                && k.service == scope.service
        });
        let at = match found {
            Some(i) => i,
            // Entries outlive the call (see `crate::lasting`).
            None => crate::lasting(|| {
                if self.entries.len() == Self::CAPACITY {
                    self.entries.pop();
                }
                let mut date = [0u8; 8];
                date.copy_from_slice(&scope.date.as_bytes()[..8]);
                let key = CacheKey {
                    secret: secret.to_owned(),
                    date,
                    region: scope.region.unwrap_or_default().to_owned(),
                    service: scope.service.to_owned(),
                };
                self.entries.push((key, SigningKey::derive(secret, scope)));
                self.entries.len() - 1
            }),
        };
        if at != 0 {
            let entry = self.entries.remove(at);
            self.entries.insert(0, entry);
        }
        &self.entries[0].1
    }

    /// The SigV4a key of these credentials, derived on a miss.
    pub fn ecdsa(&mut self, access_key_id: &str, secret: &str) -> &EcdsaKey {
        self.ecdsa.get(access_key_id, secret)
    }

    /// How many keys are cached (SigV4 scopes and SigV4a credentials).
    pub fn len(&self) -> usize {
        self.entries.len() + self.ecdsa.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_signing_time() {
        let t = SigningTime::from_unix(1_440_938_160).unwrap();
        assert_eq!(t.date_time(), "20150830T123600Z");
        assert_eq!(t.date(), "20150830");
        assert!(SigningTime::from_unix(u64::MAX).is_err());
        assert!(SigningTime::from_unix(253_402_300_800).is_err(), "year 10000");
    }

    /// AWS's documented derivation example ("Examples of how to derive a signing key"):
    /// secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, 20120215/us-east-1/iam.
    #[test]
    fn derives_the_documented_key() {
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        let mut k = hmac(format!("AWS4{secret}").as_bytes(), b"20120215");
        for part in ["us-east-1", "iam", "aws4_request"] {
            k = hmac(&k, part.as_bytes());
        }
        assert_eq!(
            hex::encode(k),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn cache_is_bounded_and_keyed_by_secret() {
        let mut cache = KeyCache::default();
        let scope = |d: &'static str| Scope {
            date: d,
            region: Some("r"),
            service: "s",
        };
        let sts = StringToSign {
            algorithm: ALGORITHM,
            date_time: "20200101T000000Z",
            scope: scope("20200101"),
            canonical_request_hash: "x",
        };
        let a = cache.get("secret-a", &scope("20200101")).sign(&sts);
        let b = cache.get("secret-b", &scope("20200101")).sign(&sts);
        assert_ne!(a, b);
        for day in 10..30 {
            let d: &'static str = Box::leak(format!("202001{day}").into_boxed_str());
            cache.get("secret-a", &scope(d));
        }
        assert_eq!(cache.len(), KeyCache::CAPACITY);
        assert_eq!(cache.get("secret-a", &scope("20200101")).sign(&sts), a);
    }
}
