"""The botocore plug-in: boto3 in a child process whose clock libfaketime sets 3 days back
(LD_PRELOAD, FAKETIME=-3d) creates a bucket, puts and gets an object and fetches a presigned
URL from s3s-fs on 127.0.0.1 (s3s-fs's clock is not faked and refuses requests more than 15
minutes off). Without the plug-in the same child fails with RequestTimeTooSkewed."""

import json
import os
import subprocess
import sys
import time

import pytest

from conftest import AKID, SECRET, RealtimeFifo, libfaketime

CHILD = """
import datetime, json, sys, time, urllib.request
import boto3, botocore.compat
from botocore.config import Config
from botocore.exceptions import ClientError
if sys.argv[2] == "patched":
    import realsig.botocore; realsig.botocore.patch()
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                  aws_access_key_id=%(akid)r, aws_secret_access_key=%(secret)r,
                  config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
out = {"fake": time.time(), "botocore_now": botocore.compat.get_current_datetime(remove_tzinfo=False).timestamp()}
try:
    s3.create_bucket(Bucket="realsig")
    s3.put_object(Bucket="realsig", Key="hello.txt", Body=b"hello from 3 days ago")
    out["got"] = s3.get_object(Bucket="realsig", Key="hello.txt")["Body"].read().decode()
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "realsig", "Key": "hello.txt"}, ExpiresIn=300)
    out["presigned_v2"] = urllib.request.urlopen(url).read().decode()  # boto3's default here: SigV2
    v4 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                      aws_access_key_id=%(akid)r, aws_secret_access_key=%(secret)r,
                      config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
    url = v4.generate_presigned_url("get_object", Params={"Bucket": "realsig", "Key": "hello.txt"}, ExpiresIn=300)
    assert "X-Amz-Signature=" in url, url
    out["presigned_v4"] = urllib.request.urlopen(url).read().decode()
except ClientError as e:
    out["error"] = e.response["Error"]["Code"]
print(json.dumps(out))
""" % {"akid": AKID, "secret": SECRET}


def run_faked(s3s_fs, mode, env=None):
    # The preload itself, not the `faketime` wrapper: the wrapper refuses to start when
    # /dev/shm holds a libfaketime semaphore left under its PID by a killed process
    # ("faketime: sem_open: File exists"; a CI run failed so), and the preload does not.
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    clean.update(AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    out = subprocess.run(
        [sys.executable, "-c", CHILD, s3s_fs.endpoint, mode],
        env={**clean, **(env or {}), "LD_PRELOAD": libfaketime(), "FAKETIME": "-3d"},
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def assert_faked(got, patched):
    assert abs(time.time() - got["fake"] - 3 * 86_400) < 10, f"the child's clock was not faked: {got}"
    # botocore's own notion of now (compat.get_current_datetime): the real time once patched.
    assert abs(got["botocore_now"] - (time.time() if patched else got["fake"])) < 10, got


def test_without_the_plugin_s3_refuses_the_skewed_time(s3s_fs):
    got = run_faked(s3s_fs, "plain")
    assert_faked(got, patched=False)
    assert got.get("error") == "RequestTimeTooSkewed", got


def test_with_the_plugin_boto3_works_under_a_clock_3_days_behind(s3s_fs):
    got = run_faked(s3s_fs, "patched")
    assert_faked(got, patched=True)
    assert "error" not in got, got
    assert got["got"] == "hello from 3 days ago"
    assert got["presigned_v2"] == got["presigned_v4"] == "hello from 3 days ago"


def test_with_the_plugin_and_a_realtime_file_the_file_is_the_time(s3s_fs, tmp_path):
    # The file says 3 days ago as well: s3s-fs must refuse, which shows the file is what signs.
    behind = RealtimeFifo(tmp_path / "behind", offset_ns=-3 * 86_400 * 10**9)
    try:
        got = run_faked(s3s_fs, "patched", {"FAKETIME_REALTIME_FILE": str(behind.path)})
    finally:
        behind.stop()
    assert got.get("error") == "RequestTimeTooSkewed", got
    real = RealtimeFifo(tmp_path / "real")
    try:
        got = run_faked(s3s_fs, "patched", {"FAKETIME_REALTIME_FILE": str(real.path)})
    finally:
        real.stop()
    assert got.get("got") == "hello from 3 days ago", got


def test_patch_and_unpatch_in_process():
    import datetime as dt

    import botocore.auth
    import botocore.compat
    import botocore.credentials

    import realsig
    import realsig.botocore

    original = botocore.auth.get_current_datetime
    original_v1 = botocore.auth.HmacV1Auth.__dict__["_get_date"]
    original_local_now = botocore.credentials._local_now
    original_defaults = botocore.credentials.RefreshableCredentials.__init__.__defaults__
    when = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    try:
        realsig.botocore.patch(realsig.fixed(when))
        assert botocore.auth.get_current_datetime() == when.replace(tzinfo=None)
        assert botocore.auth.get_current_datetime(remove_tzinfo=False) == when
        assert botocore.compat.get_current_datetime(remove_tzinfo=False) == when
        # Credential expiry: the module function and the time_fetcher defaults bound to it.
        assert botocore.credentials._local_now() == when
        refreshable = botocore.credentials.RefreshableCredentials(
            "AK", "SK", None, when + dt.timedelta(minutes=20), lambda: {}, "test")
        assert refreshable._seconds_remaining() == 20 * 60
        assert refreshable.refresh_needed(refresh_in=15 * 60) is False
        assert refreshable.refresh_needed(refresh_in=25 * 60) is True
        v1 = botocore.auth.HmacV1QueryAuth(None, expires=60)
        assert v1._get_date() == str(int(when.timestamp()) + 60)
        assert botocore.auth.HmacV1Auth(None)._get_date() == "Wed, 02 Jan 2030 03:04:05 GMT"
        realsig.botocore.patch(lambda: (_ for _ in ()).throw(realsig.ClockError("no source")))
        with pytest.raises(realsig.ClockUnavailable, match="no source"):
            botocore.auth.get_current_datetime()
    finally:
        realsig.botocore.unpatch()
    assert botocore.auth.get_current_datetime is original
    assert botocore.auth.HmacV1Auth.__dict__["_get_date"] is original_v1
    assert botocore.credentials._local_now is original_local_now
    assert botocore.credentials.RefreshableCredentials.__init__.__defaults__ == original_defaults
    assert not realsig.botocore.is_patched()
