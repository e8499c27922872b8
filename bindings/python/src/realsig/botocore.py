"""botocore signs with the real time: the working replacement for libfaketimefs-botocore.

    import realsig.botocore
    realsig.botocore.patch()            # or patch(clock=realsig.ntp("time.example:123"))

botocore's SigV4 signers (headers, presigned URLs, POST policies, S3 Express) read the time
through `botocore.auth.get_current_datetime`, and its legacy S3 signers (HmacV1: the Date header,
and the Expires of SigV2 presigned URLs, which boto3 still makes for S3 with a custom endpoint
unless `signature_version="s3v4"`) through their `_get_date` methods. `patch` replaces those
with readings of realsig's clock (default: $FAKETIME_REALTIME_FILE if set, then the raw kernel clock, which
libfaketime does not fake). Nothing else changes: botocore's other uses of the time (credential
expiry, retries, logging) keep the process clock. libfaketimefs-botocore patched
`botocore.auth.datetime`, which botocore no longer reads for signing; that is why it stopped
working.

When the clock has no reading, signing raises realsig.ClockUnavailable: botocore sends nothing.
"""

import datetime as _dt
import threading
from email.utils import formatdate

import botocore.auth

from . import clocks as _clocks
from .errors import ClockError, ClockUnavailable

_lock = threading.Lock()
_original = None  # botocore.auth.get_current_datetime, HmacV1Auth._get_date, HmacV1QueryAuth._get_date


def patch(clock=None):
    """Makes botocore sign with `clock` (a realsig clock; default clocks.default_clock()).
    Calling it again replaces the clock. Returns the clock in use."""
    global _original
    if not hasattr(botocore.auth, "get_current_datetime"):
        raise RuntimeError(
            f"botocore {botocore.__version__} does not read the signing time through "
            "botocore.auth.get_current_datetime; realsig.botocore needs a botocore that does "
            "(tested with 1.44.5)"
        )
    clock = clock if clock is not None else _clocks.default_clock()

    def get_current_datetime(remove_tzinfo=True):
        try:
            ns = _clocks.to_ns(clock())
        except ClockError as e:
            raise ClockUnavailable(f"realsig: botocore cannot sign without the real time: {e}") from None
        now = _dt.datetime.fromtimestamp(ns // 1_000_000_000, _dt.timezone.utc).replace(microsecond=ns % 1_000_000_000 // 1000)
        return now.replace(tzinfo=None) if remove_tzinfo else now

    def header_date(_self):  # HmacV1Auth: the Date header
        return formatdate(get_current_datetime(remove_tzinfo=False).timestamp(), usegmt=True)

    def query_expires(self):  # HmacV1QueryAuth: Expires, in Unix seconds
        return str(int(get_current_datetime(remove_tzinfo=False).timestamp()) + int(self._expires))

    get_current_datetime.realsig_clock = clock
    with _lock:
        if _original is None:
            _original = (
                botocore.auth.get_current_datetime,
                botocore.auth.HmacV1Auth.__dict__["_get_date"],
                botocore.auth.HmacV1QueryAuth.__dict__["_get_date"],
            )
        botocore.auth.get_current_datetime = get_current_datetime
        botocore.auth.HmacV1Auth._get_date = header_date
        botocore.auth.HmacV1QueryAuth._get_date = query_expires
    return clock


def unpatch():
    """Restores botocore's own time."""
    global _original
    with _lock:
        if _original is not None:
            (
                botocore.auth.get_current_datetime,
                botocore.auth.HmacV1Auth._get_date,
                botocore.auth.HmacV1QueryAuth._get_date,
            ) = _original
            _original = None  # botocore.auth.get_current_datetime, HmacV1Auth._get_date, HmacV1QueryAuth._get_date


def is_patched() -> bool:
    return _original is not None
