"""Every case of the official v4 suite, header and query form, through the package: canonical
request, string to sign and signature equal the suite's files."""

import datetime as dt

import pytest

import realsig
from conftest import load_context, parse_request, vectors_dir

SUITE = vectors_dir() / "aws-signing-test-suite" / "v4"
CASES = sorted(p.name for p in SUITE.iterdir() if p.is_dir())


def test_the_suite_has_cases():
    assert len(CASES) >= 30, CASES


@pytest.mark.parametrize("form", ["header", "query"])
@pytest.mark.parametrize("name", CASES)
def test_vector(name, form):
    case = SUITE / name
    ctx = load_context(case)
    method, target, headers, body = parse_request((case / "request.txt").read_bytes())
    host = next(v for n, v in headers if n.lower() == "host")
    when = dt.datetime.fromisoformat(ctx["timestamp"].replace("Z", "+00:00"))
    signer = realsig.Signer(realsig.fixed(when))
    creds = ctx["credentials"]
    out = signer.sign(
        method=method,
        url=f"https://{host}{target}",
        headers=headers,
        body=body,
        credentials=realsig.Credentials(creds["access_key_id"], creds["secret_access_key"], creds.get("token")),
        region=ctx["region"],
        service=ctx["service"],
        normalize_path=ctx.get("normalize", True),
        content_sha256_header=ctx.get("sign_body", False),
        omit_session_token=ctx.get("omit_session_token", False),
        expires_in=ctx["expiration_in_seconds"] if form == "query" else None,
        debug=True,
    )
    expect = lambda part: (case / f"{form}-{part}.txt").read_text().rstrip()  # noqa: E731
    assert out.canonical_request == expect("canonical-request")
    assert out.string_to_sign == expect("string-to-sign")
    assert out.signature == expect("signature")
    if form == "query":
        assert out.url.endswith(f"X-Amz-Signature={expect('signature')}")
