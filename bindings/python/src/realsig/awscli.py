"""The AWS CLI signs with the real time: a CLI plug-in.

In ~/.aws/config (or the file $AWS_CONFIG_FILE names):

    [plugins]
    realsig = realsig.awscli
    # AWS CLI v2 only: the directory that holds the realsig package
    cli_legacy_plugin_path = /path/to/site-packages

The CLI imports this module and calls awscli_initialize before it runs a command. The clock is
$REALSIG_CLOCK's chain (the realsig CLI's `--clock` syntax, e.g. `ntp:169.254.169.123,raw`) or the
default (the realtime file in $FAKETIME_REALTIME_FILE, then the kernel's clock by raw syscall,
which libfaketime does not fake). Everything realsig.botocore.patch() covers is covered: SigV4 and
SigV2 signing, presigned URLs (`aws s3 presign`), credential expiry. wasmtime is not imported.
"""

import logging

from . import botocore as _botocore

_log = logging.getLogger("realsig.awscli")


def awscli_initialize(cli):
    """The AWS CLI's plug-in entry point (`cli` is its event emitter; no event is needed: the
    signing time is patched where botocore reads it)."""
    clock = _botocore.patch_from_env()
    _log.debug("realsig: botocore signs with the clock %s", getattr(clock, "name", clock))
