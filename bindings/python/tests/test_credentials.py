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
from realsig.clocks import Clock

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
    clock = Clock("test real time", lambda: time.time_ns() + ahead[0])
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
