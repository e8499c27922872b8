"""The signing surface beyond SigV4 through the package: SigV4a against the official v4a suite
(signatures verified with each case's public key), aws-chunked uploads against AWS's worked
examples and uploaded to s3s-fs (which verifies the chunk chain), POST policies and
event-stream messages against the documented algorithms computed here with hmac."""

import datetime as dt
import hashlib
import hmac
import http.client
import io
import json
import struct
import urllib.parse

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

import realsig
from conftest import AKID, SECRET, sign_case, vectors_dir

SUITE = vectors_dir() / "aws-signing-test-suite" / "v4a"
CASES = sorted(p.name for p in SUITE.iterdir() if p.is_dir())
# Upstream has no query form (or neither form) for some cases: those are not trials.
FORMS = [(name, form) for name in CASES for form in ("header", "query")
         if (SUITE / name / f"{form}-canonical-request.txt").exists()]
EXAMPLE = realsig.Credentials(AKID, SECRET)


def test_the_v4a_suite_has_cases():
    assert len(CASES) >= 30, CASES
    assert len(FORMS) >= 60, FORMS


@pytest.mark.parametrize("name, form", FORMS)
def test_v4a_vector_verifies_with_the_case_key(name, form):
    case = SUITE / name
    out = sign_case(case, form, sigv4a=True)
    assert out.canonical_request == (case / f"{form}-canonical-request.txt").read_text().rstrip()
    assert out.string_to_sign == (case / f"{form}-string-to-sign.txt").read_text().rstrip()
    if form == "query":
        assert urllib.parse.parse_qs(urllib.parse.urlsplit(out.url).query)["X-Amz-Signature"] == [out.signature]
    # ECDSA signatures are not the suite's bytes: they must verify with the case's key.
    key = json.loads((case / "public-key.json").read_text())
    public = ec.EllipticCurvePublicNumbers(int(key["X"], 16), int(key["Y"], 16), ec.SECP256R1()).public_key()
    signature = bytes.fromhex(out.signature)
    public.verify(signature, out.string_to_sign.encode(), ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):  # a control: not any string verifies
        public.verify(signature, out.string_to_sign.encode() + b"x", ec.ECDSA(hashes.SHA256()))


def test_sigv4a_takes_a_list_as_the_region_set():
    signer = realsig.Signer(realsig.fixed(dt.datetime(2015, 8, 30, 12, 36, tzinfo=dt.timezone.utc)))
    out = signer.sign(url="https://example.amazonaws.com/", credentials=EXAMPLE, region=["us-east-1", "us-west-2"],
                      service="service", sigv4a=True)
    assert out.headers["x-amz-region-set"] == "us-east-1,us-west-2"
    assert out.headers["authorization"].startswith("AWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE/20150830/service/aws4_request, ")


# AWS S3 documentation: "Signature Calculations for the Authorization Header: Transferring
# Payload in Multiple Chunks" (and "... Including Trailing Headers").
DOC_CREDENTIALS = realsig.Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
DOC_DATA = b"a" * (65536 + 1024)


def doc_upload(headers=None, **upload):
    signer = realsig.Signer(realsig.fixed(dt.datetime(2013, 5, 24, tzinfo=dt.timezone.utc)))
    return signer.start_chunked(
        url="https://s3.amazonaws.com/examplebucket/chunkObject.txt",
        headers={"x-amz-storage-class": "REDUCED_REDUNDANCY", **(headers or {})},
        credentials=DOC_CREDENTIALS,
        region="us-east-1",
        decoded_content_length=len(DOC_DATA),
        **upload,
    )


def frame_lines(body: bytes):
    """The chunk header and trailer lines of a framed body."""
    lines, at = [], 0
    while (end := body.find(b"\r\n", at)) >= 0:
        line = body[at:end].decode()
        at = end + 2
        size = line.split(";")[0]
        if "chunk-signature" in line and int(size, 16) > 0:
            at += int(size, 16) + 2
        if line:
            lines.append(line)
    return lines


def test_a_chunked_upload_frames_the_documented_example():
    length = realsig.framed_length(len(DOC_DATA))
    assert length == 66824, "the example's Content-Length"
    with doc_upload({"content-length": str(length)}) as upload:
        assert upload.signed.signature == "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
        assert upload.signed.headers["x-amz-decoded-content-length"] == "66560"
        body = b"".join(upload.body(io.BytesIO(DOC_DATA)))
    assert len(body) == length
    assert frame_lines(body) == [
        "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
        "400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
        "0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
    ]
    assert body.endswith(b"\r\n\r\n")


def test_a_chunked_upload_with_a_trailer_signs_the_documented_example():
    with doc_upload(mode="signed-with-trailer", trailer="x-amz-checksum-crc32c") as upload:
        assert upload.signed.signature == "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
        assert upload.sign_chunk(DOC_DATA[:65536]) == "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2"
        rest = hashlib.sha256(DOC_DATA[65536:]).hexdigest()
        assert upload.sign_chunk(sha256=rest) == "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7"
        # The documented CRC32C (the standard library has no CRC32C to compute it with).
        assert upload.end({"x-amz-checksum-crc32c": "sOO8/Q=="}) == (
            b"0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992\r\n"
            b"x-amz-checksum-crc32c:sOO8/Q==\r\n"
            b"x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n"
        )
        with pytest.raises(realsig.InvalidOption):  # the chain has ended
            upload.sign_chunk(b"more")
    with pytest.raises(realsig.InvalidOption, match="closed"):
        upload.sign_chunk(b"more")


def test_chunked_refusals_are_typed():
    with pytest.raises(realsig.InvalidOption):  # a trailer in signed mode
        doc_upload(trailer="x-amz-checksum-crc32")
    with pytest.raises(realsig.InvalidOption):
        doc_upload(mode="nonsense")
    with pytest.raises(realsig.InvalidOption, match="crc32c"):
        list(doc_upload(mode="signed-with-trailer", trailer="x-amz-checksum-crc32c").body(io.BytesIO(b"x"), checksum="crc32c"))


def s3_request(s3s_fs, signer, method, path, headers=None, body=None):
    """Signs with the package and sends with http.client; returns (status, body)."""
    url = f"{s3s_fs.endpoint}{path}"
    signed = signer.sign(method=method, url=url, headers=headers, body=body, credentials=EXAMPLE, region="us-east-1",
                         service="s3", double_uri_encode=False, normalize_path=False, content_sha256_header=True)
    return send(s3s_fs, method, path, {**(headers or {}), **signed.headers}, body)


def send(s3s_fs, method, path, headers, body):
    conn = http.client.HTTPConnection("127.0.0.1", s3s_fs.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.mark.parametrize(
    "mode, checksum",
    [("signed", None), ("signed-with-trailer", "crc32"), ("signed-with-trailer", "sha256"), ("unsigned-with-trailer", "crc32")],
)
def test_a_chunked_upload_to_s3s_fs_is_verified_and_read_back(s3s_fs, mode, checksum):
    signer = realsig.Signer(realsig.system_clock())
    assert s3_request(s3s_fs, signer, "PUT", "/bucket")[0] == 200
    data = bytes(range(256)) * (3 * 4096 + 7)  # about 3 MiB, not a multiple of the chunk size
    trailer = f"x-amz-checksum-{checksum}" if checksum else None
    length = realsig.framed_length(len(data), mode=mode, trailer=trailer)
    with signer.start_chunked(url=f"{s3s_fs.endpoint}/bucket/object", headers={"content-length": str(length)},
                              credentials=EXAMPLE, region="us-east-1", decoded_content_length=len(data),
                              mode=mode, trailer=trailer) as upload:
        body = b"".join(upload.body(io.BytesIO(data), checksum=checksum))
    assert len(body) == length
    status, answer = send(s3s_fs, "PUT", "/bucket/object", {"content-length": str(length), **upload.signed.headers}, body)
    assert status == 200, answer
    assert s3_request(s3s_fs, signer, "GET", "/bucket/object") == (200, data)


def test_s3s_fs_refuses_a_chunk_altered_after_signing(s3s_fs):
    signer = realsig.Signer(realsig.system_clock())
    assert s3_request(s3s_fs, signer, "PUT", "/bucket")[0] == 200
    data = b"z" * 200_000
    length = realsig.framed_length(len(data))

    def framed(key):
        """The signed headers and framed body of an upload of data to key."""
        with signer.start_chunked(url=f"{s3s_fs.endpoint}{key}", headers={"content-length": str(length)},
                                  credentials=EXAMPLE, region="us-east-1", decoded_content_length=len(data)) as upload:
            body = bytearray(b"".join(upload.body(io.BytesIO(data))))
            return {"content-length": str(length), **upload.signed.headers}, body

    headers, body = framed("/bucket/unaltered")
    assert send(s3s_fs, "PUT", "/bucket/unaltered", headers, bytes(body))[0] == 200
    headers, body = framed("/bucket/altered")
    body[70_000] ^= 1  # inside the second chunk's data
    # s3s-fs 0.14.1 finds the bad chunk while streaming, answers 500 (not 403) and closes the
    # connection without reading the rest of the body. A client still sending then has its
    # write cut off and never sees the answer (the Go test met this in CI). Either way the
    # upload was refused.
    try:
        status, _ = send(s3s_fs, "PUT", "/bucket/altered", headers, bytes(body))
        assert not 200 <= status < 300, f"an altered chunk was accepted: {status}"
    except (BrokenPipeError, ConnectionResetError):
        pass
    assert s3_request(s3s_fs, signer, "GET", "/bucket/unaltered") == (200, data)


def signing_key(secret, date, region, service):
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def test_a_post_policy_is_the_document_it_says_signed_with_the_sigv4_key():
    signer = realsig.Signer(realsig.fixed(dt.datetime(2015, 12, 29, tzinfo=dt.timezone.utc)))
    creds = realsig.Credentials(DOC_CREDENTIALS.access_key_id, DOC_CREDENTIALS.secret_access_key, "TOKEN-EXAMPLE")
    form = signer.sign_post_policy(
        conditions=[{"bucket": "sigv4examplebucket"}, ["starts-with", "$key", "user/user1/"], ["content-length-range", 1, 1048576]],
        credentials=creds,
        region="us-east-1",
    )
    assert list(form.fields) == ["policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-security-token",
                                 "x-amz-signature"]
    assert form.sensitive_fields == {"x-amz-security-token"}
    assert "TOKEN-EXAMPLE" not in repr(form)
    doc = json.loads(form.policy_document)
    assert doc["expiration"] == "2015-12-29T01:00:00Z"
    assert doc["conditions"][:3] == [["eq", "$bucket", "sigv4examplebucket"], ["starts-with", "$key", "user/user1/"],
                                     ["content-length-range", 1, 1048576]]
    assert {"x-amz-security-token": "TOKEN-EXAMPLE"} in doc["conditions"]
    expected = hmac.new(signing_key(creds.secret_access_key, "20151229", "us-east-1", "s3"), form.fields["policy"].encode(),
                        hashlib.sha256).hexdigest()
    assert form.signature == form.fields["x-amz-signature"] == expected
    with pytest.raises(realsig.InvalidOption):
        signer.sign_post_policy(conditions=[["nope", "$a", "b"]], credentials=creds, region="us-east-1")


def test_event_stream_messages_follow_the_documented_chain():
    now = [dt.datetime(2026, 11, 22, 23, 59, 58, 250_000, tzinfo=dt.timezone.utc)]
    signer = realsig.Signer(lambda: now[0])
    prior = "e1d8e8c8815e60969f2a34765c9a15945ffc0badbaa4b7e3b163ea19131e949b"
    with signer.event_stream(prior, region="us-west-2", service="transcribe") as messages:
        # Three messages and the closing empty frame, across midnight (the key changes date).
        for message in (b"first audio frame", bytes(4096), b"last", b""):
            date, signature = messages.sign_message(message, EXAMPLE)
            assert date == now[0].replace(microsecond=0), "the :date header is the signing time, whole seconds"
            # The documented string to sign, computed here: the :date header encoded as an
            # event-stream timestamp (type 8, big-endian milliseconds).
            date_header = bytes([5]) + b":date" + bytes([8]) + struct.pack(">q", int(date.timestamp()) * 1000)
            scope = f"{date:%Y%m%d}/us-west-2/transcribe/aws4_request"
            string_to_sign = "\n".join([
                "AWS4-HMAC-SHA256-PAYLOAD", f"{date:%Y%m%dT%H%M%SZ}", scope, prior,
                hashlib.sha256(date_header).hexdigest(), hashlib.sha256(message).hexdigest(),
            ])
            key = signing_key(SECRET, f"{date:%Y%m%d}", "us-west-2", "transcribe")
            assert signature == hmac.new(key, string_to_sign.encode(), hashlib.sha256).digest()
            prior = signature.hex()
            now[0] += dt.timedelta(milliseconds=1500)
    with pytest.raises(realsig.InvalidOption, match="closed"):
        messages.sign_message(b"", EXAMPLE)
