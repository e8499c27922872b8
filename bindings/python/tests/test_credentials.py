"""realsig.default_credentials: botocore's chain (here its container provider, pointed at a
loopback ECS-style endpoint), its refreshable credentials judged by realsig's clock, signing
uploads that s3s-fs verifies: one fetch for many uploads, a refresh when only the REAL time
nears expiry, and credentials expired by the real time refused."""

import datetime as dt
import json
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

import realsig
import realsig.botocore
from realsig.clocks import clock_of

from conftest import AKID, SECRET


@pytest.fixture
def ecs(monkeypatch, tmp_path):
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            expiration = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
            body = json.dumps({"AccessKeyId": AKID, "SecretAccessKey": SECRET, "Token": "ecs-token", "Expiration": expiration}).encode()
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    empty = tmp_path / "empty"
    empty.write_text("")
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
                "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f"http://127.0.0.1:{server.server_port}/creds")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    yield hits
    server.shutdown()
    realsig.botocore.unpatch()


def test_default_credentials_refresh_by_the_real_time(ecs, s3s_fs):
    ahead = [0]  # how far the real time is ahead of this process's clock, ns
    clock = clock_of(lambda: time.time_ns() + ahead[0], "test real time")
    creds = realsig.default_credentials(clock=clock)
    signer = realsig.Signer(realsig.system_clock())

    def put(path, body=b""):
        s = signer.sign(method="PUT", url=f"{s3s_fs.endpoint}{path}", body=body, credentials=creds,
                        region="us-east-1", service="s3")
        req = urllib.request.Request(s.url, data=body, method="PUT", headers=s.headers)
        with urllib.request.urlopen(req, timeout=10) as res:
            assert res.status == 200

    put("/bucket")
    for i in range(50):
        put(f"/bucket/k{i}", b"data")
    assert len(ecs) == 1, "51 uploads, one fetch"

    # 50 minutes later by the real time only: inside botocore's advisory window (15 minutes
    # before expiry), judged by realsig's clock, so the next signature refreshes.
    ahead[0] = 50 * 60 * 10**9
    put("/bucket/after", b"data")
    assert len(ecs) == 2, "refreshed when the real time neared expiry"

    # Two hours on, what the endpoint gives has expired by the real time: botocore refuses.
    ahead[0] = 2 * 3600 * 10**9
    with pytest.raises(Exception, match="expired"):
        put("/bucket/late", b"data")


# -- the reference host's chain and cache (a Signer's own credentials) -------------------------

def test_a_signer_without_credentials_uses_the_hosts_chain_once_for_many_uploads(ecs, s3s_fs):
    """No credentials per call: the signer's CredentialsProvider.default() (the host's chain,
    here its container provider on the loopback endpoint) fetches once and its cache serves
    the rest, so an app that signs per request never hammers the endpoint."""
    signer = realsig.Signer(realsig.raw_clock())

    def put(path, body=b""):
        s = signer.sign(method="PUT", url=f"{s3s_fs.endpoint}{path}", body=body, region="us-east-1", service="s3")
        req = urllib.request.Request(s.url, data=body, method="PUT", headers=s.headers)
        with urllib.request.urlopen(req, timeout=10) as res:
            assert res.status == 200
        return s

    first = put("/hostchain")
    assert first.headers["x-amz-security-token"] == "ecs-token"
    for i in range(50):
        put(f"/hostchain/k{i}", b"data")
    assert ecs == ["/creds"], "51 uploads, one fetch"
    creds = signer.credentials()
    assert creds.session_token == "ecs-token" and creds.expiration > dt.datetime.now(dt.timezone.utc)
    assert "ecs-token" not in repr(creds) and SECRET not in repr(creds)


def test_an_explicit_ecs_provider_and_one_that_finds_nothing(ecs, monkeypatch):
    url = __import__("os").environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI")
    signer = realsig.Signer(realsig.raw_clock(), credentials=realsig.CredentialsProvider.ecs(url))
    assert signer.sign(url="https://example.amazonaws.com/", region="us-east-1", service="sts").headers[
        "x-amz-security-token"] == "ecs-token"
    nothing = realsig.Signer(realsig.raw_clock())  # the default chain, with every source empty
    with pytest.raises(realsig.CredentialsError) as e:
        nothing.sign(url="https://example.amazonaws.com/", region="us-east-1", service="sts")
    assert "environment" in str(e.value), e.value
