//! The CLI's raw HTTP request parser (`realsig sign --request`): never a panic, and what it
//! writes back (`to_text`) parses to the same request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use realsig_cli::http_text::RawRequest;

fuzz_target!(|data: &[u8]| {
    let Ok(request) = RawRequest::parse(data) else { return };
    let again = RawRequest::parse(&request.to_text()).expect("to_text output must parse");
    assert_eq!(again, request, "to_text does not round-trip");
});
