"""The API's contract: typed errors with the WIT case, no secret in any error or repr, a Signer
that keeps signing after bad input, presigned URLs, botocore-style credentials, and threads."""

import concurrent.futures
import datetime as dt

import botocore.credentials
import pytest

import realsig
from conftest import AKID, SECRET

WHEN = dt.datetime(2015, 8, 30, 12, 36, tzinfo=dt.timezone.utc)
TOKEN = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI"
CREDS = realsig.Credentials(AKID, SECRET, TOKEN)
REQUEST = dict(url="https://example.amazonaws.com/", region="us-east-1", service="service")


@pytest.fixture(scope="module")
def signer():
    return realsig.Signer(realsig.fixed(WHEN))


def test_get_vanilla_through_the_module_api(signer):
    out = signer.sign(**REQUEST, credentials=realsig.Credentials(AKID, SECRET))
    assert out.signature == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"  # the suite's get-vanilla
    assert out.headers["x-amz-date"] == "20150830T123600Z"
    assert out.signing_time == WHEN


@pytest.mark.parametrize(
    "change, error",
    [
        (dict(url="ftp://example.com/"), realsig.InvalidUrl),
        (dict(url="https://exa\udcffmple.com/"), realsig.InvalidUrl),
        (dict(method="G T"), realsig.InvalidMethod),
        (dict(headers={"bad name": "x"}), realsig.InvalidHeaderName),
        (dict(headers={"x-a": "line\nbreak"}), realsig.InvalidHeaderValue),
        (dict(body_sha256="abc"), realsig.InvalidPayloadHash),
        (dict(region=""), realsig.InvalidOption),
        (dict(expires_in=0), realsig.InvalidOption),
        (dict(expires_in=604_801), realsig.InvalidOption),
        (dict(credentials=realsig.Credentials(AKID, "")), realsig.InvalidCredentials),
        (dict(credentials=realsig.Credentials("", SECRET)), realsig.InvalidCredentials),
        (dict(credentials=42), realsig.InvalidCredentials),
    ],
)
def test_bad_input_is_a_typed_error_without_the_secret(signer, change, error):
    request = {**REQUEST, "credentials": CREDS, **change}
    with pytest.raises(error) as caught:
        signer.sign(**request)
    e = caught.value
    assert isinstance(e, realsig.SignError) and e.code == error.code and str(e)
    assert SECRET not in str(e) and SECRET not in repr(e) and TOKEN not in str(e)
    assert signer.sign(**REQUEST, credentials=CREDS).signature  # still signing


def test_credentials_never_print_their_secrets():
    for shown in (repr(CREDS), str(CREDS), f"{CREDS!r}"):
        assert AKID in shown and SECRET not in shown and TOKEN not in shown


def test_the_session_token_is_signed_and_flagged_sensitive(signer):
    out = signer.sign(**REQUEST, credentials=CREDS)
    assert out.headers["x-amz-security-token"] == TOKEN
    assert out.sensitive_headers == {"x-amz-security-token"}


def test_a_signed_request_is_read_only_and_its_repr_hides_the_token(signer):
    out = signer.sign(**REQUEST, credentials=CREDS)
    assert TOKEN not in repr(out) and out.signature in repr(out) and SECRET not in repr(out)
    with pytest.raises(AttributeError):
        out.signature = "0" * 64
    assert out == signer.sign(**REQUEST, credentials=CREDS)  # the same request at the same time
    assert out != signer.sign(**REQUEST, credentials=realsig.Credentials(AKID, SECRET))


def test_presign_puts_the_signature_in_the_url(signer):
    url = signer.presign(**REQUEST, credentials=realsig.Credentials(AKID, SECRET), expires_in=3600)
    assert url.startswith("https://example.amazonaws.com/?X-Amz-Algorithm=AWS4-HMAC-SHA256&")
    assert "X-Amz-Expires=3600" in url and "X-Amz-Signature=" in url


def test_botocore_credentials_and_mappings_are_accepted(signer):
    expect = signer.sign(**REQUEST, credentials=CREDS).signature
    boto = botocore.credentials.Credentials(AKID, SECRET, TOKEN)
    mapping = {"AccessKeyId": AKID, "SecretAccessKey": SECRET, "Token": TOKEN}
    for creds in (boto, mapping, {"access_key_id": AKID, "secret_access_key": SECRET, "session_token": TOKEN}):
        assert signer.sign(**REQUEST, credentials=creds).signature == expect


def test_s3_options_and_an_unsigned_payload(signer):
    out = signer.sign(
        method="PUT", url="https://bucket.s3.amazonaws.com/a//b/../c", body=b"hello", credentials=CREDS,
        region="us-east-1", service="s3", double_uri_encode=False, normalize_path=False,
        content_sha256_header=True, debug=True,
    )
    assert out.headers["x-amz-content-sha256"] == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    assert out.canonical_request.split("\n")[1] == "/a//b/../c"
    unsigned = signer.sign(**REQUEST, credentials=CREDS, body_sha256="UNSIGNED-PAYLOAD", debug=True)
    assert unsigned.canonical_request.endswith("\nUNSIGNED-PAYLOAD")


def test_one_signer_from_many_threads(signer):
    expect = {i: signer.sign(**REQUEST, headers={"x-n": str(i)}, credentials=CREDS).signature for i in range(50)}
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda i: (i % 50, signer.sign(**REQUEST, headers={"x-n": str(i % 50)}, credentials=CREDS).signature), range(800)))
    assert all(sig == expect[i] for i, sig in got)


def test_a_clock_that_breaks_fails_the_call_closed_and_the_next_call_works():
    broken = [False]

    def clock():
        if broken[0]:
            raise RuntimeError("a bug in the clock")
        return WHEN

    signer = realsig.Signer(clock)
    signer.sign(**REQUEST, credentials=CREDS)
    broken[0] = True
    with pytest.raises(realsig.ClockUnavailable, match="RuntimeError: a bug in the clock"):
        signer.sign(**REQUEST, credentials=CREDS)
    broken[0] = False
    assert signer.sign(**REQUEST, credentials=realsig.Credentials(AKID, SECRET)).signature == (
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    )


def test_bytes_that_are_not_the_component_are_refused():
    with pytest.raises(realsig.ComponentFailure, match="refused the signing component"):
        realsig.Signer(realsig.fixed(WHEN), component=b"\0asm\x0d\0\x01\0 not a component")
