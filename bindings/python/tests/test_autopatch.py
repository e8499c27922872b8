"""REALSIG_BOTOCORE=1: the zero-code switch. The children below never import realsig; the
realsig_botocore.pth hook this venv's install put in site-packages does, at start-up, because of
the variable. They run under libfaketime 3 days behind against s3s-fs on 127.0.0.1."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import realsig
from conftest import AKID, SECRET, EcsEndpoint, aws_env, faked

BOTO3_APP = """
import json, sys, urllib.request
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
out = {}
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
try:
    s3.create_bucket(Bucket="app")
    s3.put_object(Bucket="app", Key="k.txt", Body=b"no realsig import here")
    out["got"] = s3.get_object(Bucket="app", Key="k.txt")["Body"].read().decode()
    v4 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                      config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
    url = v4.generate_presigned_url("get_object", Params={"Bucket": "app", "Key": "k.txt"}, ExpiresIn=300)
    out["presigned"] = urllib.request.urlopen(url, timeout=10).read().decode()
except ClientError as e:
    out["error"] = e.response["Error"]["Code"]
out["loaded"] = sorted(m for m in sys.modules if m.split(".")[0] == "realsig")
print(json.dumps(out))
"""


def run(code, *args, env, python=sys.executable):
    out = subprocess.run([python, "-c", code, *args], env=env, capture_output=True, text=True, timeout=120,
                         stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1]), out.stderr


def creds_env(tmp_path):
    creds = tmp_path / "credentials"
    creds.write_text(f"[default]\naws_access_key_id = {AKID}\naws_secret_access_key = {SECRET}\n")
    return aws_env(AWS_SHARED_CREDENTIALS_FILE=str(creds))


def test_the_pth_hook_is_installed_and_inert_without_the_variable(s3s_fs, tmp_path):
    site = Path(realsig.__file__).parent.parent
    assert (site / "realsig_botocore.pth").is_file(), "the wheel did not install the hook"
    got, _ = run(BOTO3_APP, s3s_fs.endpoint, env=faked(creds_env(tmp_path)))
    assert got["error"] == "RequestTimeTooSkewed", got
    assert got["loaded"] == [], got  # nothing of realsig is even imported


def test_a_boto3_app_that_never_imports_realsig_signs_with_the_real_time(s3s_fs, tmp_path):
    got, stderr = run(BOTO3_APP, s3s_fs.endpoint, env=faked({**creds_env(tmp_path), "REALSIG_BOTOCORE": "1"}))
    assert "error" not in got, (got, stderr)
    assert got["got"] == got["presigned"] == "no realsig import here"
    # The switch must not cost a component load: only the clock of the extension was used.
    assert "realsig.signer" not in got["loaded"], got
    assert "realsig._autopatch" in got["loaded"], got


def test_realsig_clock_chooses_the_clock(s3s_fs, chrony, tmp_path):
    base = {**creds_env(tmp_path), "REALSIG_BOTOCORE": "1"}
    got, _ = run(BOTO3_APP, s3s_fs.endpoint, env=faked({**base, "REALSIG_CLOCK": f"ntp:{chrony.addr},raw"}))
    assert got.get("got") == "no realsig import here", got
    # A clock 3 days behind, named explicitly: the server must refuse, so the variable is obeyed.
    three_days_ago = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3 * 86_400))
    got, _ = run(BOTO3_APP, s3s_fs.endpoint, env=faked({**base, "REALSIG_CLOCK": f"fixed:{three_days_ago}"}))
    assert got.get("error") == "RequestTimeTooSkewed", got


@pytest.mark.parametrize("value, clock, message", [
    ("maybe", None, "$REALSIG_BOTOCORE='maybe' is not one of"),
    ("1", "ntp:127.0.0.1:1+", "bad clock chain: empty server"),
])
def test_a_bad_setting_refuses_to_sign_instead_of_using_the_process_clock(s3s_fs, tmp_path, value, clock, message):
    env = {**creds_env(tmp_path), "REALSIG_BOTOCORE": value, **({"REALSIG_CLOCK": clock} if clock else {})}
    out = subprocess.run([sys.executable, "-c", BOTO3_APP, s3s_fs.endpoint], env=faked(env), capture_output=True,
                         text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert out.returncode != 0 and "ClockUnavailable" in out.stderr and message in out.stderr, out.stderr
    assert SECRET not in out.stderr + out.stdout


OLD_BOTOCORE_APP = """
import json, sys, urllib.request
import botocore, botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError
session = botocore.session.get_session()
out = {"version": botocore.__version__, "file": botocore.__file__}
try:
    s3 = session.create_client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                               config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
    s3.create_bucket(Bucket="old")
    s3.put_object(Bucket="old", Key="k", Body=b"botocore 1.29")
    for version in ("s3", "s3v4"):
        c = session.create_client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                                  config=Config(s3={"addressing_style": "path"}, signature_version=version))
        url = c.generate_presigned_url("get_object", Params={"Bucket": "old", "Key": "k"}, ExpiresIn=300)
        out[version] = urllib.request.urlopen(url, timeout=10).read().decode()
except ClientError as e:
    out["error"] = e.response["Error"]["Code"]
print(json.dumps(out))
"""


def test_debians_botocore_1_29_without_get_current_datetime(s3s_fs, tmp_path):
    """Debian 12's python3-botocore 1.29.27 on Debian's python3 (scripts/setup.sh installs both):
    it reads datetime.datetime.utcnow(), and signs through awscrt, which Debian also installs.
    The package is installed as a user site (PYTHONUSERBASE), whose .pth files Python runs."""
    python = "/usr/bin/python3"
    user = tmp_path / "userbase"
    site = subprocess.run([python, "-c", "import site; print(site.getusersitepackages())"], capture_output=True,
                          text=True, env={"PYTHONUSERBASE": str(user)}, check=True).stdout.strip()
    installed = Path(realsig.__file__).parent
    subprocess.run([sys.executable, "-c", "import shutil, sys; shutil.copytree(sys.argv[1], sys.argv[2] + '/realsig'); "
                    "shutil.copy(sys.argv[3], sys.argv[2])", str(installed), site,
                    str(installed.parent / "realsig_botocore.pth")], check=True)
    env = faked({**creds_env(tmp_path), "PYTHONUSERBASE": str(user)})
    got, _ = run(OLD_BOTOCORE_APP, s3s_fs.endpoint, env=env, python=python)
    assert got["version"].startswith("1.29.") and got["file"].startswith("/usr/lib/python3/"), got
    assert got.get("error") == "RequestTimeTooSkewed", got
    got, stderr = run(OLD_BOTOCORE_APP, s3s_fs.endpoint, env={**env, "REALSIG_BOTOCORE": "1"}, python=python)
    assert "error" not in got, (got, stderr)
    assert got["s3"] == got["s3v4"] == "botocore 1.29"


CREDENTIALS_APP = """
import json, sys, boto3
from botocore.config import Config
session = boto3.session.Session(region_name="us-east-1")
s3 = session.client("s3", endpoint_url=sys.argv[1], config=Config(s3={"addressing_style": "path"},
                                                                  retries={"max_attempts": 1}))
out = {"errors": []}
for i in range(5):
    try:
        if i == 0:
            s3.create_bucket(Bucket="ecs")
        s3.put_object(Bucket="ecs", Key=f"k{i}", Body=b"x")
    except Exception as e:
        out["errors"].append(type(e).__name__ + ": " + str(e)[:200])
creds = session.get_credentials()
out["token"] = creds.get_frozen_credentials().token
out["remaining"] = creds._seconds_remaining()
print(json.dumps(out))
"""


@pytest.mark.parametrize("patched", [True, False])
def test_refreshable_credentials_are_judged_by_the_real_clock(s3s_fs, tmp_path, patched):
    """The loopback ECS endpoint's first credentials expire 10 real minutes ahead, inside botocore's
    mandatory refresh window, so a client on the real clock fetches again at once (and gets an
    hour); one on the faked clock believes they last 3 days and 10 minutes and never refreshes."""
    ecs = EcsEndpoint(expiries=(600, 3600))
    try:
        env = aws_env(AWS_CONTAINER_CREDENTIALS_FULL_URI=ecs.url, **({"REALSIG_BOTOCORE": "1"} if patched else {}))
        got, stderr = run(CREDENTIALS_APP, s3s_fs.endpoint, env=faked(env))
    finally:
        ecs.stop()
    if patched:
        assert got["errors"] == [], (got, stderr)
        assert ecs.hits == 2, f"expected one fetch and one refresh, got {ecs.hits}"
        assert got["token"] == "token-1" and 3500 < got["remaining"] <= 3600, got
    else:
        assert ecs.hits == 1 and got["token"] == "token-0", got
        assert got["remaining"] > 3 * 86_400, got  # the faked clock's view of a 10-minute credential
        assert all("RequestTimeTooSkewed" in e for e in got["errors"]) and len(got["errors"]) == 5, got


def test_the_hook_loads_no_extension_in_a_process_that_never_signs():
    """REALSIG_BOTOCORE=1 set for a whole container reaches every Python process: one that never
    imports botocore must import no more than the hook (not realsig.botocore, datetime or
    threading), and one that imports botocore but never asks it for the time must not load the
    native extension (wasmtime and the host)."""
    code = """
import json, sys
def loaded():
    return sorted(m for m in sys.modules if m.startswith("realsig") or m in ("datetime", "threading"))
out = {"start": loaded()}
import botocore.auth, botocore.credentials
out["botocore"] = loaded()
out["patched"] = sys.modules["realsig.botocore"].is_patched()
out["hooks"] = [type(f).__name__ for f in sys.meta_path if type(f).__module__.startswith("realsig")]
print(json.dumps(out))
"""
    got, _ = run(code, env={**os.environ, "REALSIG_BOTOCORE": "1", "PYTHONNOUSERSITE": "1"})
    assert got["start"] == ["realsig", "realsig._autopatch", "realsig.clocks", "realsig.errors"], got
    assert "realsig.botocore" in got["botocore"] and got["patched"], got
    assert got["hooks"] == ["_PostImportHook"], got  # the start-up finder stepped aside
    assert "realsig._native" not in got["botocore"] and "realsig.signer" not in got["botocore"], got
