"""Every case of the official v4 suite, header and query form, through the package: canonical
request, string to sign and signature equal the suite's files."""

import pytest

from conftest import sign_case, vectors_dir

SUITE = vectors_dir() / "aws-signing-test-suite" / "v4"
CASES = sorted(p.name for p in SUITE.iterdir() if p.is_dir())


def test_the_suite_has_cases():
    assert len(CASES) >= 30, CASES


@pytest.mark.parametrize("form", ["header", "query"])
@pytest.mark.parametrize("name", CASES)
def test_vector(name, form):
    case = SUITE / name
    out = sign_case(case, form)
    expect = lambda part: (case / f"{form}-{part}.txt").read_text().rstrip()  # noqa: E731
    assert out.canonical_request == expect("canonical-request")
    assert out.string_to_sign == expect("string-to-sign")
    assert out.signature == expect("signature")
    if form == "query":
        assert out.url.endswith(f"X-Amz-Signature={expect('signature')}")
