//! The signing core on arbitrary requests: never a panic, and whatever it signs is well formed
//! (`realsig_fuzz::assert_well_formed`). Errors must not carry the secret.
#![no_main]

use libfuzzer_sys::fuzz_target;
use realsig_fuzz::{Input, SECRET, assert_well_formed};
use realsig_guest::KeyCache;

fuzz_target!(|data: &[u8]| {
    let Some(input) = Input::decode(data) else { return };
    let mut keys = KeyCache::default();
    let headers = input.header_pairs();
    let result = realsig_guest::sign(
        &input.request(&headers),
        &input.params(input.settings, input.time),
        &mut keys,
    );
    match result {
        Ok(signed) => assert_well_formed(&input, &signed),
        Err(e) => assert!(
            input.echoes_secret || !e.message().contains(SECRET),
            "the secret is in an error"
        ),
    }
});
