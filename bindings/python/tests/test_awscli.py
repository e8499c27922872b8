"""The AWS CLI plug-in, with the real CLIs: v1 from PyPI (awscli 1.46.3, in this venv; it vendors
botocore 1.43 as awscli.botocore) and v2 from Debian (2.9.19, /usr/bin/aws, whose vendored
botocore predates get_current_datetime). Each runs under libfaketime 3 days behind against
s3s-fs on 127.0.0.1, which refuses a request more than 15 minutes off; each command is also run
without the plug-in, and must be refused, so a pass cannot come from a clock nobody faked."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

import realsig
from conftest import AKID, SECRET, aws_env, faked

V1 = str(Path(sys.executable).with_name("aws"))
V2 = "/usr/bin/aws"  # Debian's awscli package (scripts/setup.sh installs it)


@pytest.fixture
def aws_files(tmp_path):
    """Credentials and three configs: without the plug-in, with it for v1, with it for v2."""
    creds = tmp_path / "credentials"
    creds.write_text(f"[default]\naws_access_key_id = {AKID}\naws_secret_access_key = {SECRET}\n")
    base = "[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n"
    plain = tmp_path / "config-plain"
    plain.write_text(base)
    # v2 loads plug-ins only from cli_legacy_plugin_path: a directory holding the package alone,
    # copied from this venv's install (what `pip install --no-deps --target DIR realsig` gives).
    plugins = tmp_path / "cli-plugins"
    shutil.copytree(Path(realsig.__file__).parent, plugins / "realsig", ignore=shutil.ignore_patterns("__pycache__"))
    # v1 takes every [plugins] entry for a module, so it must not see cli_legacy_plugin_path.
    plugged = tmp_path / "config"
    plugged.write_text(base + "[plugins]\nrealsig = realsig.awscli\n")
    plugged_v2 = tmp_path / "config-v2"
    plugged_v2.write_text(base + f"[plugins]\nrealsig = realsig.awscli\ncli_legacy_plugin_path = {plugins}\n")
    return {"creds": creds, "plain": plain, "plugged": plugged, "plugged_v2": plugged_v2}


def aws(cli, s3s_fs, files, *args, plugin=True, env=None, check=True):
    environment = faked(aws_env(AWS_SHARED_CREDENTIALS_FILE=str(files["creds"]),
                                AWS_CONFIG_FILE=str(files[("plugged_v2" if cli == V2 else "plugged") if plugin else "plain"]),
                                **(env or {})))
    out = subprocess.run([cli, "--endpoint-url", s3s_fs.endpoint, *args], env=environment,
                         capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    if check:
        assert out.returncode == 0, f"aws {' '.join(args)}: {out.stderr}"
    return out


def refused(out):
    assert out.returncode != 0 and "RequestTimeTooSkewed" in out.stderr, (out.returncode, out.stderr)


def test_the_v1_cli_works_3_days_behind_with_the_plugin_and_not_without(s3s_fs, aws_files, tmp_path):
    refused(aws(V1, s3s_fs, aws_files, "s3", "mb", "s3://realsig", plugin=False, check=False))
    aws(V1, s3s_fs, aws_files, "s3", "mb", "s3://realsig")

    small = tmp_path / "small.txt"
    small.write_bytes(b"hello from 3 days ago\n")
    refused(aws(V1, s3s_fs, aws_files, "s3", "cp", str(small), "s3://realsig/small.txt", plugin=False, check=False))
    aws(V1, s3s_fs, aws_files, "s3", "cp", str(small), "s3://realsig/small.txt")

    # 20 MiB: over the CLI's 8 MiB threshold, so a multipart upload (an ETag "<md5>-<parts>").
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(20 * 1024 * 1024))
    aws(V1, s3s_fs, aws_files, "s3", "cp", str(big), "s3://realsig/big.bin")
    head = json.loads(aws(V1, s3s_fs, aws_files, "s3api", "head-object", "--bucket", "realsig", "--key", "big.bin").stdout)
    assert head["ETag"].endswith('-3"') and head["ContentLength"] == 20 * 1024 * 1024, f"not a 3-part multipart upload: {head}"
    back = tmp_path / "back.bin"
    aws(V1, s3s_fs, aws_files, "s3", "cp", "s3://realsig/big.bin", str(back))
    assert hashlib.sha256(back.read_bytes()).digest() == hashlib.sha256(big.read_bytes()).digest()

    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    for name in ("a.txt", "b.txt", "sub/c.txt"):
        (tree / name).write_text(name)
    aws(V1, s3s_fs, aws_files, "s3", "sync", str(tree), "s3://realsig/tree")
    listing = aws(V1, s3s_fs, aws_files, "s3", "ls", "--recursive", "s3://realsig/").stdout
    for key in ("small.txt", "big.bin", "tree/a.txt", "tree/b.txt", "tree/sub/c.txt"):
        assert key in listing, listing
    refused(aws(V1, s3s_fs, aws_files, "s3", "ls", "s3://realsig/", plugin=False, check=False))


# The v1 CLI presigns with SigV2 (HmacV1Query: an Expires in Unix seconds) against a custom
# endpoint unless the config says s3v4; both read the time where the plug-in patched it.
@pytest.mark.parametrize("signature_version", [None, "s3v4"])
def test_v1_presigned_urls_are_accepted(s3s_fs, aws_files, tmp_path, signature_version):
    aws(V1, s3s_fs, aws_files, "s3", "mb", "s3://realsig")
    body = tmp_path / "p.txt"
    body.write_text("presigned 3 days ago")
    aws(V1, s3s_fs, aws_files, "s3", "cp", str(body), "s3://realsig/p.txt")
    if signature_version:
        for config in (aws_files["plugged"], aws_files["plain"]):
            config.write_text(config.read_text().replace("addressing_style = path\n", f"addressing_style = path\n  signature_version = {signature_version}\n"))
    url = aws(V1, s3s_fs, aws_files, "s3", "presign", "s3://realsig/p.txt", "--expires-in", "300").stdout.strip()
    assert ("X-Amz-Signature=" in url if signature_version else "&Expires=" in url), url
    assert urllib.request.urlopen(url, timeout=10).read() == b"presigned 3 days ago"
    stale = aws(V1, s3s_fs, aws_files, "s3", "presign", "s3://realsig/p.txt", "--expires-in", "300", plugin=False).stdout.strip()
    with pytest.raises(urllib.error.HTTPError) as e:  # 3 days old: expired, or too skewed
        urllib.request.urlopen(stale, timeout=10)
    assert e.value.code == 403


def test_the_v2_cli_works_3_days_behind_with_the_plugin_path(s3s_fs, aws_files, tmp_path):
    version = subprocess.run([V2, "--version"], capture_output=True, text=True, env=aws_env()).stdout
    assert version.startswith("aws-cli/2."), version
    refused(aws(V2, s3s_fs, aws_files, "s3", "mb", "s3://realsig", plugin=False, check=False))
    aws(V2, s3s_fs, aws_files, "s3", "mb", "s3://realsig")
    src = tmp_path / "v2.txt"
    src.write_text("from the v2 CLI")
    aws(V2, s3s_fs, aws_files, "s3", "cp", str(src), "s3://realsig/v2.txt")
    assert "v2.txt" in aws(V2, s3s_fs, aws_files, "s3", "ls", "s3://realsig/").stdout
    url = aws(V2, s3s_fs, aws_files, "s3", "presign", "s3://realsig/v2.txt").stdout.strip()
    assert "X-Amz-Signature=" in url, url
    assert urllib.request.urlopen(url, timeout=10).read() == b"from the v2 CLI"


def test_a_bad_clock_makes_the_cli_refuse_rather_than_sign(s3s_fs, aws_files):
    out = aws(V1, s3s_fs, aws_files, "s3", "ls", env={"REALSIG_CLOCK": "ntp:"}, check=False)
    assert out.returncode != 0, out.stdout
    assert "bad clock chain" in out.stderr and "needs HOST[:PORT]" in out.stderr, out.stderr
    assert SECRET not in out.stderr
