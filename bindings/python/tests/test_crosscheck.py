"""Random requests signed by realsig and by botocore's SigV4Auth (the signer boto3 uses) at a
pinned time: Authorization, X-Amz-Date and X-Amz-Security-Token must be equal. The seed is
printed; replay it with REALSIG_SEED."""

import datetime as dt
import os
import random
import string
from urllib.parse import quote

import botocore.auth
import botocore.credentials
from botocore.awsrequest import AWSRequest

import realsig

CASES = 300
WHEN = dt.datetime(2026, 3, 14, 15, 9, 26, tzinfo=dt.timezone.utc)
UNRESERVED = string.ascii_letters + string.digits + "-_.~"
AWKWARD = " !$&'()*+,;=:@é中/%?"


def _token(rng, alphabet, lo=1, hi=12):
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))


def _encoded(rng):
    return quote(_token(rng, UNRESERVED + AWKWARD), safe="-_.~")


def random_request(rng):
    segments = [_encoded(rng) for _ in range(rng.randint(0, 4))]
    if segments and segments[-1] in (".", ".."):
        # A known divergence, not drawn: for a path ending in "/." or "/..", RFC 3986 5.2.4 (and
        # realsig) keep the trailing slash ("/a/b/." is "/a/b/"); botocore 1.44's
        # remove_dot_segments drops it ("/a/b"). Dot segments elsewhere in the path are drawn.
        segments[-1] += "x"
    path = "/" + "/".join(segments)
    query = "&".join(f"{_encoded(rng)}={_encoded(rng) if rng.random() < 0.8 else ''}" for _ in range(rng.randint(0, 4)))
    host = f"{_token(rng, string.ascii_lowercase)}.example.com"
    headers = []
    for _ in range(rng.randint(0, 5)):
        name = rng.choice(["x-amz-meta-", "x-custom-", "content-type", "x-Mixed-Case-"])
        if name.endswith("-"):
            name += _token(rng, string.ascii_lowercase + string.digits, 1, 6)
        value = rng.choice(["", " "]) + _token(rng, string.ascii_letters + string.digits + "  ,;=/") + rng.choice(["", "  "])
        headers.append((name, value))
        if rng.random() < 0.2:
            headers.append((name, _token(rng, string.ascii_letters)))  # repeated
    body = bytes(rng.getrandbits(8) for _ in range(rng.choice([0, 0, 1, 100, 4096])))
    return {
        "method": rng.choice(["GET", "PUT", "POST", "DELETE", "HEAD", "PATCH"]),
        "url": f"https://{host}{path}" + (f"?{query}" if query else ""),
        "headers": headers,
        "body": body,
        "token": rng.choice([None, None, _token(rng, UNRESERVED + "+/=", 20, 60)]),
        "region": rng.choice(["us-east-1", "eu-west-3", "ap-southeast-2"]),
        "service": rng.choice(["sts", "execute-api", "dynamodb", "service"]),
    }


def botocore_sign(case, monkeypatch):
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda remove_tzinfo=True: WHEN.replace(tzinfo=None))
    request = AWSRequest(method=case["method"], url=case["url"], data=case["body"])
    for name, value in case["headers"]:
        request.headers.add_header(name, value)  # appends: repeated names stay repeated
    creds = botocore.credentials.Credentials(realsig_creds().access_key_id, realsig_creds().secret_access_key, case["token"])
    botocore.auth.SigV4Auth(creds, case["service"], case["region"]).add_auth(request)
    return request.headers


def realsig_creds(token=None):
    return realsig.Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)


def test_realsig_signs_as_botocore_does(monkeypatch):
    seed = int(os.environ.get("REALSIG_SEED", random.randrange(2**32)))
    print(f"seed {seed} (replay: REALSIG_SEED={seed})")
    rng = random.Random(seed)
    signer = realsig.Signer(realsig.fixed(WHEN))
    for i in range(CASES):
        case = random_request(rng)
        theirs = botocore_sign(case, monkeypatch)
        ours = signer.sign(
            method=case["method"], url=case["url"], headers=case["headers"], body=case["body"],
            credentials=realsig_creds(case["token"]), region=case["region"], service=case["service"], debug=True,
        )
        context = f"case {i} of seed {seed}: {case}\ncanonical request:\n{ours.canonical_request}"
        assert ours.headers["authorization"] == theirs["Authorization"], context
        assert ours.headers["x-amz-date"] == theirs["X-Amz-Date"], context
        assert ours.headers.get("x-amz-security-token") == theirs.get("X-Amz-Security-Token"), context


def test_a_peer_one_second_off_disagrees(monkeypatch):
    """The comparison can fail: the same request a second apart does not match."""
    rng = random.Random(1)
    case = random_request(rng)
    theirs = botocore_sign(case, monkeypatch)
    ours = realsig.Signer(realsig.fixed(WHEN + dt.timedelta(seconds=1))).sign(
        method=case["method"], url=case["url"], headers=case["headers"], body=case["body"],
        credentials=realsig_creds(case["token"]), region=case["region"], service=case["service"],
    )
    assert ours.headers["authorization"] != theirs["Authorization"]
