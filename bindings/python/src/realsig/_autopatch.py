"""Run at interpreter start by realsig_botocore.pth when $REALSIG_BOTOCORE asks for it: botocore
(whenever the process imports it) signs and judges credential expiry with the real time, as
realsig.botocore.patch_from_env() describes.

At start-up this only puts a finder on sys.meta_path that waits for botocore: realsig.botocore
(and what it imports: datetime, threading) is imported when the process first imports botocore
or the AWS CLI's copy of it, and the native extension when botocore first asks for the time. A
process that never imports botocore pays for this module and realsig's package __init__ alone
(bench.py measures it)."""

import _thread
import os
import sys

ENV = "REALSIG_BOTOCORE"
_ON = ("1", "true", "yes", "on")
_OFF = ("", "0", "false", "no", "off")
# The copies of botocore realsig.botocore patches (its _PACKAGES).
_WATCHED = ("botocore", "awscli.botocore")


class _UntilBotocore:
    """A sys.meta_path finder that finds nothing: on the first import of a watched package it
    patches (realsig.botocore's own finder goes first on sys.meta_path), steps aside and hands
    that import to realsig.botocore's finder."""

    def __init__(self, refusal):
        self._refusal = refusal  # None: patch_from_env(); else the reason botocore must refuse
        self._lock = _thread.allocate_lock()  # not threading: it costs 4 ms to import at start-up
        self._patched = None  # realsig.botocore, once patched

    def find_spec(self, fullname, path, target=None):
        if not any(fullname == p or fullname.startswith(p + ".") for p in _WATCHED):
            return None
        with self._lock:  # a second thread importing botocore waits for the patch
            if self._patched is None:
                from . import botocore  # imports nothing of botocore

                if self._refusal is None:
                    botocore.patch_from_env()
                else:
                    botocore.patch(_refuse(self._refusal))
                self._patched = botocore
                try:
                    sys.meta_path.remove(self)
                except ValueError:  # the program took it off itself
                    pass
        hook = self._patched._hook
        return None if hook is None else hook.find_spec(fullname, path, target)


def _refuse(reason):
    def refuse():
        from .errors import ClockError

        raise ClockError(reason)

    return refuse


def main():
    value = os.environ.get(ENV, "").strip().lower()
    if value in _OFF:
        return
    refusal = None
    if value not in _ON:
        # An unknown value is more likely a typo for "on" than for "off": fail closed, so
        # botocore refuses to sign (with this message) rather than sign with the process clock.
        refusal = f"${ENV}={os.environ[ENV]!r} is not one of 1, true, yes, on, 0, false, no, off"
        print(f"realsig: {refusal}; botocore will refuse to sign", file=sys.stderr)
    sys.meta_path.insert(0, _UntilBotocore(refusal))


main()
