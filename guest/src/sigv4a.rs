//! SigV4a (`AWS4-ECDSA-P256-SHA256`): the P-256 key derived from the secret, and deterministic
//! ECDSA signatures over the string to sign.
//!
//! # Key derivation
//! AWS derives one P-256 key pair per access key, independent of date, region and service,
//! with the NIST SP 800-108 counter-mode KDF over HMAC-SHA256 (one 256-bit block):
//!
//! ```text
//! input key   = "AWS4A" || secret
//! fixed input = 0x00000001 || "AWS4-ECDSA-P256-SHA256" || 0x00 || access key id || counter || 0x00000100
//! k0          = HMAC-SHA256(input key, fixed input)       (counter = 1, 2, ... while k0 > n - 2)
//! private key = k0 + 1
//! ```
//!
//! This is the derivation of aws-sigv4's `generate_signing_key` and the CRT's
//! `aws_ecc_key_pair_new_ecdsa_p256_key_from_aws_credentials`. The official v4a suite carries
//! each case's public key, and the tests check that the key derived here has it.
//!
//! # Signing
//! ECDSA with nonces from RFC 6979 (HMAC-DRBG over the key and the digest), so the component
//! needs no entropy and its only import stays `real-now`. AWS verifies any valid signature;
//! the suites' own signatures were made with random nonces and are checked by verification,
//! never by comparing bytes. Signatures are ASN.1 DER, lowercase hex.

use core::fmt;

use hmac::{Hmac, KeyInit, Mac};
use p256::U256;
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::ecdsa::{DerSignature, Signature, SigningKey};
use sha2::{Digest, Sha256};

/// The algorithm name of SigV4a.
pub const ALGORITHM_V4A: &str = "AWS4-ECDSA-P256-SHA256";

/// The P-256 group order minus 2: `k0` must not exceed it (FIPS 186-5 A.2.2).
const N_MINUS_2: U256 = U256::from_be_hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc63254f");

/// The SigV4a key pair of one access key. `Debug` shows nothing of it.
#[derive(Clone)]
pub struct EcdsaKey(SigningKey);

impl fmt::Debug for EcdsaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EcdsaKey(** redacted **)")
    }
}

impl EcdsaKey {
    /// Derives the key pair of `access_key_id` from `secret` (see the module docs).
    pub fn derive(access_key_id: &str, secret: &str) -> Self {
        let mut input_key = Vec::with_capacity(5 + secret.len());
        input_key.extend_from_slice(b"AWS4A");
        input_key.extend_from_slice(secret.as_bytes());
        for counter in 1..=u8::MAX {
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&input_key)
                .unwrap_or_else(|_| unreachable!("hmac takes any key length"));
            for part in [
                &1u32.to_be_bytes()[..],
                ALGORITHM_V4A.as_bytes(),
                &[0],
                access_key_id.as_bytes(),
                &[counter],
                &256u32.to_be_bytes(),
            ] {
                mac.update(part);
            }
            let k0 = U256::from_be_slice(&mac.finalize().into_bytes());
            if k0 <= N_MINUS_2 {
                let private = k0.wrapping_add(&U256::ONE).to_be_bytes();
                input_key.fill(0);
                // 1 <= k0 + 1 <= n - 1: always a valid scalar.
                let key = SigningKey::from_bytes(&private.into()).unwrap_or_else(|_| unreachable!("k0 + 1 is in 1..n"));
                return Self(key);
            }
        }
        // Each counter fails with probability about 2^-32; 255 failures do not happen.
        unreachable!("no P-256 scalar in 255 KDF rounds")
    }

    /// The DER signature of `string_to_sign` (hashed with SHA-256 here), lowercase hex.
    pub fn sign(&self, string_to_sign: &[u8]) -> String {
        let digest = Sha256::digest(string_to_sign);
        // RFC 6979 signing of a 32-byte prehash with a P-256 key cannot fail.
        let signature: Signature = self
            .0
            .sign_prehash(&digest)
            .unwrap_or_else(|_| unreachable!("P-256 signs any 32-byte digest"));
        let der: DerSignature = signature.to_der();
        hex::encode(der.as_bytes())
    }

    /// The public key as uncompressed SEC1 coordinates `(x, y)`, lowercase hex (for tests
    /// against the suites' `public-key.json`).
    pub fn public_key_hex(&self) -> (String, String) {
        let point = self.0.verifying_key().to_sec1_point(false);
        let x = point.x().map(hex::encode).unwrap_or_default();
        let y = point.y().map(hex::encode).unwrap_or_default();
        (x, y)
    }
}

/// Derived SigV4a keys, keyed by (access key id, secret), most recently used first.
///
/// Deriving costs a few HMACs and a scalar multiplication, as much as a signature. The key
/// depends on the credentials only, so one entry serves every date, region set and service.
#[derive(Default)]
pub(crate) struct EcdsaKeyCache {
    entries: Vec<(String, String, EcdsaKey)>,
}

impl EcdsaKeyCache {
    const CAPACITY: usize = 4;

    pub(crate) fn get(&mut self, access_key_id: &str, secret: &str) -> &EcdsaKey {
        let found = self
            .entries
            .iter()
            .position(|(a, s, _)| a == access_key_id && s == secret);
        // Entries outlive the call (see `crate::lasting`).
        crate::lasting(|| {
            let entry = match found {
                Some(i) => self.entries.remove(i),
                None => {
                    self.entries.truncate(Self::CAPACITY - 1);
                    (
                        access_key_id.to_owned(),
                        secret.to_owned(),
                        EcdsaKey::derive(access_key_id, secret),
                    )
                }
            };
            self.entries.insert(0, entry);
        });
        &self.entries[0].2
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::VerifyingKey;
    use p256::ecdsa::signature::hazmat::PrehashVerifier;

    /// The official v4a suite's public key for its credentials (every case's
    /// public-key.json): the derivation matches AWS's.
    #[test]
    fn derives_the_suite_key() {
        let key = EcdsaKey::derive("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
        assert_eq!(
            key.public_key_hex(),
            (
                "b6618f6a65740a99e650b33b6b4b5bd0d43b176d721a3edfea7e7d2d56d936b1".to_owned(),
                "865ed22a7eadc9c5cb9d2cbaca1b3699139fedc5043dc6661864218330c8e518".to_owned()
            )
        );
    }

    #[test]
    fn signatures_are_deterministic_and_verify() {
        let key = EcdsaKey::derive("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
        let a = key.sign(b"string to sign");
        assert_eq!(a, key.sign(b"string to sign"), "RFC 6979 nonces");
        let der = hex::decode(&a).unwrap();
        let sig = Signature::from_der(&der).unwrap();
        let vk: &VerifyingKey = key.0.verifying_key();
        vk.verify_prehash(&Sha256::digest(b"string to sign"), &sig).unwrap();
        assert!(vk.verify_prehash(&Sha256::digest(b"another"), &sig).is_err());
    }

    #[test]
    fn cache_is_keyed_by_both_parts() {
        let mut cache = EcdsaKeyCache::default();
        let a = cache.get("A", "s").sign(b"x");
        assert_ne!(a, cache.get("B", "s").sign(b"x"));
        assert_ne!(a, cache.get("A", "t").sign(b"x"));
        assert_eq!(a, cache.get("A", "s").sign(b"x"));
        for i in 0..10 {
            cache.get(&format!("K{i}"), "s");
        }
        assert_eq!(cache.len(), EcdsaKeyCache::CAPACITY);
    }
}
