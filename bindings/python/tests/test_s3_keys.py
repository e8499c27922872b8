"""S3 object keys, whatever the caller typed: every shared key case (tests/data/s3-keys.json)
is uploaded with Signer.sign and the URL it returns, read back through a presigned URL made
with nothing but service="s3", and listed under its exact key, on both verifying servers
(s3s-fs and versitygw on 127.0.0.1)."""

import json
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import realsig

from conftest import AKID, SECRET

CASES = json.loads((Path(__file__).resolve().parents[3] / "tests" / "data" / "s3-keys.json").read_text())["cases"]


def _send(method, url, headers=None, body=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, res.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_every_shared_key_round_trips(s3_server):
    assert CASES
    signer = realsig.Signer(realsig.system_clock())
    creds = realsig.Credentials(AKID, SECRET)

    def signed(method, url, body=None):
        s = signer.sign(method=method, url=url, body=body, credentials=creds, region="us-east-1", service="s3")
        return _send(method, s.url, s.headers, body)

    assert signed("PUT", f"{s3_server.endpoint}/bucket")[0] == 200
    want = []
    for i, case in enumerate(CASES):
        url = f"{s3_server.endpoint}/bucket/k{i:02}/{case['typed']}"
        body = f"body of {case['key']}".encode()
        status, msg = signed("PUT", url, body)
        assert status == 200, f"{s3_server.kind}: PUT {case['typed']!r} (key {case['key']!r}): {msg!r}"
        presigned = signer.presign(url=url, credentials=creds, region="us-east-1", service="s3", expires_in=60)
        assert _send("GET", presigned) == (200, body), f"{s3_server.kind}: presigned GET {case['typed']!r}"
        want.append(f"k{i:02}/{case['key']}")
    status, listing = signed("GET", f"{s3_server.endpoint}/bucket?list-type=2")
    assert status == 200, listing
    got = [k.text for k in ET.fromstring(listing).iter() if k.tag.endswith("}Key") or k.tag == "Key"]
    assert sorted(got) == sorted(want)
