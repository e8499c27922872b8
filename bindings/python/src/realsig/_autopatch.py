"""Run at interpreter start by realsig_botocore.pth when $REALSIG_BOTOCORE asks for it: botocore
(whenever the process imports it) signs and judges credential expiry with the real time, as
realsig.botocore.patch_from_env() describes. Imports neither botocore nor wasmtime."""

import os
import sys

from .clocks import Clock
from .errors import ClockError

ENV = "REALSIG_BOTOCORE"
_ON = ("1", "true", "yes", "on")
_OFF = ("", "0", "false", "no", "off")


def main():
    value = os.environ.get(ENV, "").strip().lower()
    if value in _OFF:
        return
    from . import botocore

    if value in _ON:
        botocore.patch_from_env()
        return
    # An unknown value is more likely a typo for "on" than for "off": fail closed, so botocore
    # refuses to sign (with this message) rather than sign with the process clock.
    reason = f"${ENV}={os.environ[ENV]!r} is not one of 1, true, yes, on, 0, false, no, off"
    print(f"realsig: {reason}; botocore will refuse to sign", file=sys.stderr)

    def refuse():
        raise ClockError(reason)

    botocore.patch(Clock(f"invalid ${ENV}", refuse))


main()
