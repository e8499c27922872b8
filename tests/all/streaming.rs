//! Chained signatures through the component: S3 aws-chunked uploads against AWS's worked
//! examples, and event-stream messages against `aws-sigv4`'s event-stream signer.

use crate::common;

use std::io::Read;
use std::time::{Duration, UNIX_EPOCH};

use aws_credential_types::Credentials as AwsCredentials;
use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header as EsHeader, HeaderValue, Message};
use realsig::chunked::{Checksum, ChunkedBody, DEFAULT_CHUNK_SIZE, framed_length};
use realsig::{ChunkedMode, Credentials, Error, Header, Options, Payload, Request, Upload};

use common::{rfc3339, signer_at};

/// The credentials of AWS's S3 examples ("Signature Calculations for the Authorization
/// Header: Transferring Payload in Multiple Chunks" and "... Including Trailing Headers").
fn doc_credentials() -> Credentials {
    Credentials::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", None)
}

/// The examples' request: PUT examplebucket/chunkObject.txt, 66,560 bytes of `a`.
fn doc_request(headers: &[(&str, &str)]) -> Request {
    let mut request = Request::new(
        "PUT",
        "https://s3.amazonaws.com/examplebucket/chunkObject.txt",
        "us-east-1",
        "s3",
    );
    request.headers = headers
        .iter()
        .map(|(n, v)| Header {
            name: (*n).into(),
            value: (*v).into(),
        })
        .collect();
    request.options = Options {
        debug: true,
        ..Options::default()
    };
    request
}

const DOC_DATA_LEN: usize = 65_536 + 1_024;

/// The chunk header lines (`size;chunk-signature=...`) and trailer lines of a framed body.
fn frame_lines(body: &[u8]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut at = 0;
    while let Some(end) = body[at..].windows(2).position(|w| w == b"\r\n") {
        let line = String::from_utf8_lossy(&body[at..at + end]).into_owned();
        at += end + 2;
        let size = line.split(';').next().and_then(|s| usize::from_str_radix(s, 16).ok());
        match size {
            Some(n) if n > 0 && line.contains("chunk-signature") => {
                lines.push(line);
                at += n + 2; // data and its CRLF
            }
            _ if line.is_empty() => {}
            _ => lines.push(line),
        }
    }
    lines
}

#[test]
fn chunked_upload_matches_the_documented_example() {
    let signer = signer_at(rfc3339("2013-05-24T00:00:00Z"));
    let length = framed_length(DOC_DATA_LEN as u64, DEFAULT_CHUNK_SIZE, ChunkedMode::Signed, None);
    assert_eq!(length, 66_824, "the example's Content-Length");
    let request = doc_request(&[
        ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ("content-length", &length.to_string()),
    ]);
    let upload = Upload {
        mode: ChunkedMode::Signed,
        decoded_content_length: DOC_DATA_LEN as u64,
        trailer: None,
    };
    let (signed, chunks) = signer.start_chunked(&request, &doc_credentials(), &upload).unwrap();
    assert_eq!(
        signed.canonical_request.as_deref(),
        Some(concat!(
            "PUT\n/examplebucket/chunkObject.txt\n\n",
            "content-encoding:aws-chunked\ncontent-length:66824\nhost:s3.amazonaws.com\n",
            "x-amz-content-sha256:STREAMING-AWS4-HMAC-SHA256-PAYLOAD\nx-amz-date:20130524T000000Z\n",
            "x-amz-decoded-content-length:66560\nx-amz-storage-class:REDUCED_REDUNDANCY\n\n",
            "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;",
            "x-amz-decoded-content-length;x-amz-storage-class\nSTREAMING-AWS4-HMAC-SHA256-PAYLOAD"
        ))
    );
    assert_eq!(
        signed.signature,
        "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
    );

    let mut body = Vec::new();
    ChunkedBody::new(&vec![b'a'; DOC_DATA_LEN][..], Some(chunks), None, DEFAULT_CHUNK_SIZE)
        .read_to_end(&mut body)
        .unwrap();
    assert_eq!(body.len() as u64, length);
    assert_eq!(
        frame_lines(&body),
        [
            "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
            "400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
            "0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
        ]
    );
    assert!(
        body.ends_with(b"0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n")
    );
}

#[test]
fn chunked_upload_with_trailer_matches_the_documented_example() {
    let signer = signer_at(rfc3339("2013-05-24T00:00:00Z"));
    let request = doc_request(&[("x-amz-storage-class", "REDUCED_REDUNDANCY")]);
    let upload = Upload {
        mode: ChunkedMode::SignedWithTrailer,
        decoded_content_length: DOC_DATA_LEN as u64,
        trailer: Some("x-amz-checksum-crc32c".into()),
    };
    let (signed, chunks) = signer.start_chunked(&request, &doc_credentials(), &upload).unwrap();
    assert_eq!(
        signed.signature,
        "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
    );
    let mut body = Vec::new();
    ChunkedBody::new(
        &vec![b'a'; DOC_DATA_LEN][..],
        Some(chunks),
        Some(Checksum::Crc32c),
        DEFAULT_CHUNK_SIZE,
    )
    .read_to_end(&mut body)
    .unwrap();
    assert_eq!(
        body.len() as u64,
        framed_length(
            DOC_DATA_LEN as u64,
            DEFAULT_CHUNK_SIZE,
            ChunkedMode::SignedWithTrailer,
            Some(Checksum::Crc32c)
        )
    );
    assert_eq!(
        frame_lines(&body),
        [
            "10000;chunk-signature=b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
            "400;chunk-signature=1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
            "0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
            "x-amz-checksum-crc32c:sOO8/Q==",
            "x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435",
        ]
    );
}

#[test]
fn unsigned_trailer_upload_frames_without_signatures() {
    let signer = signer_at(rfc3339("2013-05-24T00:00:00Z"));
    let request = doc_request(&[]);
    let upload = Upload {
        mode: ChunkedMode::UnsignedWithTrailer,
        decoded_content_length: 20_000,
        trailer: Some("x-amz-checksum-crc32".into()),
    };
    let (signed, mut chunks) = signer.start_chunked(&request, &doc_credentials(), &upload).unwrap();
    let header = |n: &str| signed.headers.iter().find(|h| h.name == n).map(|h| h.value.as_str());
    assert_eq!(
        header("x-amz-content-sha256"),
        Some("STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    );
    assert_eq!(header("x-amz-trailer"), Some("x-amz-checksum-crc32"));
    assert_eq!(header("content-encoding"), Some("aws-chunked"));
    assert_eq!(header("x-amz-decoded-content-length"), Some("20000"));
    // Chunks of this mode carry no signature; asking for one is a clear refusal.
    let refused = chunks.sign_chunk(&[0; 32]).unwrap_err();
    assert_eq!(refused.kind(), "invalid-option", "{refused}");
    drop(chunks);

    let mut body = Vec::new();
    ChunkedBody::new(&[7u8; 20_000][..], None, Some(Checksum::Crc32), 8192)
        .read_to_end(&mut body)
        .unwrap();
    let text = String::from_utf8_lossy(&body);
    assert!(text.starts_with("2000\r\n"), "{}", &text[..10]);
    assert!(!text.contains("chunk-signature"));
    let crc = crc32fast::hash(&[7u8; 20_000]);
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, crc.to_be_bytes());
    assert!(text.ends_with(&format!("0\r\nx-amz-checksum-crc32:{b64}\r\n\r\n")));
    assert_eq!(
        body.len() as u64,
        framed_length(20_000, 8192, ChunkedMode::UnsignedWithTrailer, Some(Checksum::Crc32))
    );
}

#[test]
fn chunk_signer_refuses_out_of_order_calls_and_bad_input() {
    let signer = signer_at(rfc3339("2013-05-24T00:00:00Z"));
    let upload = |mode, trailer: Option<&str>| Upload {
        mode,
        decoded_content_length: 1,
        trailer: trailer.map(Into::into),
    };
    let creds = doc_credentials();
    fn kind<T>(r: Result<T, Error>) -> &'static str {
        r.map(|_| ()).unwrap_err().kind()
    }
    let request = doc_request(&[]);
    // A trailer mode without its trailer, a trailer without a trailer mode, a bad name.
    assert_eq!(
        kind(signer.start_chunked(&request, &creds, &upload(ChunkedMode::SignedWithTrailer, None))),
        "invalid-option"
    );
    assert_eq!(
        kind(signer.start_chunked(
            &request,
            &creds,
            &upload(ChunkedMode::Signed, Some("x-amz-checksum-crc32"))
        )),
        "invalid-option"
    );
    assert_eq!(
        kind(signer.start_chunked(&request, &creds, &upload(ChunkedMode::SignedWithTrailer, Some("X Bad")))),
        "invalid-header-name"
    );
    // A body given in line: the data must go through the chunk signer.
    let mut with_body = doc_request(&[]);
    with_body.payload = Payload::Bytes(b"data".to_vec());
    assert_eq!(
        kind(signer.start_chunked(&with_body, &creds, &upload(ChunkedMode::Signed, None))),
        "invalid-option"
    );

    let (_, mut chunks) = signer
        .start_chunked(&request, &creds, &upload(ChunkedMode::Signed, None))
        .unwrap();
    // The trailer of a mode without one.
    assert_eq!(kind(chunks.sign_trailer(&[])), "invalid-option");
    let empty: [u8; 32] = sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new()).into();
    chunks.sign_chunk(&empty).unwrap();
    // Nothing after the final chunk.
    assert_eq!(kind(chunks.sign_chunk(&empty)), "invalid-option");
}

/// Event-stream messages signed through the component equal `aws-sigv4`'s signatures of
/// the same messages at the same times, chained over several messages and the closing frame.
#[test]
fn event_stream_messages_match_aws_sigv4() {
    use aws_sigv4::event_stream::{sign_empty_message, sign_message};
    use aws_sigv4::sign::v4;

    let t0 = 1_700_000_000u64;
    let seed = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    let creds = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None);
    let identity = AwsCredentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        None,
        None,
        "t",
    )
    .into();

    let params = |time: u64| {
        v4::SigningParams::builder()
            .identity(&identity)
            .region("us-west-2")
            .name("transcribe")
            .time(UNIX_EPOCH + Duration::from_secs(time))
            .settings(())
            .build()
            .unwrap()
    };
    let mut theirs_previous = seed.to_owned();
    // Each message is signed at its own time: one fixed-clock signer per time, each opened
    // with the previous signature, so the chain is what is compared.
    for (i, payload) in [&b"first audio"[..], b"", b"third, after an empty-payload message"]
        .iter()
        .enumerate()
    {
        let time = t0 + 86_399 * i as u64; // crosses dates: the key is derived per message date
        let message = Message::new(payload.to_vec())
            .add_header(EsHeader::new(":message-type", HeaderValue::String("event".into())))
            .add_header(EsHeader::new(":event-type", HeaderValue::String("AudioEvent".into())));
        let mut encoded = Vec::new();
        write_message_to(&message, &mut encoded).unwrap();

        let (theirs, their_sig) = sign_message(&message, &theirs_previous, &params(time))
            .unwrap()
            .into_parts();

        let signer = signer_at(UNIX_EPOCH + Duration::from_secs(time));
        let mut ours = signer
            .event_stream(&theirs_previous, "us-west-2", "transcribe")
            .unwrap();
        let signed = ours.sign_message(&encoded, &creds).unwrap();
        assert_eq!(hex::encode(&signed.signature), their_sig, "message {i}");
        assert_eq!(signed.date, UNIX_EPOCH + Duration::from_secs(time));
        let their_header = theirs
            .headers()
            .iter()
            .find(|h| h.name().as_str() == ":chunk-signature")
            .map(|h| h.value().clone());
        assert_eq!(
            their_header,
            Some(HeaderValue::ByteArray(signed.signature.clone().into()))
        );
        theirs_previous = their_sig;
    }

    // The closing frame signs an empty payload.
    let time = t0 + 3 * 86_399;
    let (_, their_sig) = sign_empty_message(&theirs_previous, &params(time))
        .unwrap()
        .into_parts();
    let signer = signer_at(UNIX_EPOCH + Duration::from_secs(time));
    let mut ours = signer
        .event_stream(&theirs_previous, "us-west-2", "transcribe")
        .unwrap();
    assert_eq!(
        hex::encode(ours.sign_message(b"", &creds).unwrap().signature),
        their_sig
    );
}

/// One message signer chains by itself: its second signature equals a fresh signer's
/// seeded with the first.
#[test]
fn event_stream_signer_chains() {
    let signer = signer_at(rfc3339("2024-01-02T03:04:05Z"));
    let creds = Credentials::new("AKIDEXAMPLE", "secret", None);
    let seed = "ab".repeat(32);
    let mut one = signer.event_stream(&seed, "us-east-1", "bedrock").unwrap();
    let first = one.sign_message(b"m1", &creds).unwrap().signature;
    let second = one.sign_message(b"m2", &creds).unwrap().signature;
    let mut fresh = signer
        .event_stream(&hex::encode(&first), "us-east-1", "bedrock")
        .unwrap();
    assert_eq!(fresh.sign_message(b"m2", &creds).unwrap().signature, second);
    let bad = signer
        .event_stream("not-a-signature", "us-east-1", "bedrock")
        .unwrap_err();
    assert_eq!(bad.kind(), "invalid-option");
}
