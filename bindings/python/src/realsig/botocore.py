"""botocore signs, and judges credential expiry, with the real time.

    import realsig.botocore
    realsig.botocore.patch()            # or patch(clock=realsig.ntp("time.example:123"))

Without code: `REALSIG_BOTOCORE=1` in the environment does the same in any Python process that
imports botocore (the `realsig_botocore.pth` hook the package installs; see realsig._autopatch),
and `realsig = realsig.awscli` under `[plugins]` in ~/.aws/config does it for the AWS CLI.

What is replaced, in every copy of botocore the process loads (`botocore`, and the AWS CLI's
vendored `awscli.botocore`), now or later:

- the signing time: `compat.get_current_datetime` and every module's imported name for it (SigV4
  headers, the awscrt signers, presigned URLs, POST policies, S3 Express, the IMDS expiry check,
  the retry header's ttl); in botocore from before `get_current_datetime` (added in 2025,
  boto/botocore#3533; Debian 12 ships 1.29, the AWS CLI v2 vendors such a copy), which reads
  `datetime.datetime.utcnow()`, the modules auth, crt.auth (the awscrt signer botocore prefers
  when awscrt is installed), signers, utils and endpoint get a `datetime` whose `utcnow`/`now`
  read the clock; the legacy S3 signers' `_get_date` (HmacV1's Date header, SigV2 presigned
  URLs' Expires);
- the expiry clock of refreshable credentials and SSO tokens: `credentials._local_now` and
  `tokens._utc_now`, and the default `time_fetcher` arguments bound to them (the part
  libfaketimefs-botocore patched and the old `realsig.botocore` did not).

Left alone: botocore's retry back-off, logging and session names (they need no real time).

When the clock has no reading, botocore raises realsig.ClockUnavailable where it asked for the
time: it sends nothing signed with a time realsig cannot vouch for, and does not judge expiry.
"""

import datetime as _dt
import sys
import threading
import types

from . import clocks as _clocks
from .errors import ClockError, ClockUnavailable

# The copies of botocore a process may hold: the AWS CLI v2, and v1 (1.46 here), vendor theirs.
_PACKAGES = ("botocore", "awscli.botocore")
_MODULES = ("compat", "auth", "crt.auth", "signers", "utils", "endpoint", "credentials", "tokens")
_TARGETS = frozenset(f"{p}.{m}" for p in _PACKAGES for m in _MODULES)

_lock = threading.RLock()
_clock = None
_undo = []  # (object, attribute, original value), in the order they were replaced
_hook = None


def patch(clock=None):
    """Makes botocore use `clock` (a realsig clock; default clocks.default_clock()) for signing and
    credential expiry, in the copies loaded now and those imported later. Calling it again
    replaces the clock. Returns the clock in use."""
    global _clock, _hook
    clock = clock if clock is not None else _clocks.default_clock()
    with _lock:
        _clock = clock
        if _hook is None:
            _hook = _PostImportHook()
            sys.meta_path.insert(0, _hook)
            for name in sorted(_TARGETS):
                module = sys.modules.get(name)
                if module is not None:
                    _apply(module)
    return clock


def patch_from_env():
    """patch() with $REALSIG_CLOCK's chain (the CLI's `--clock` syntax), else the default clock,
    built when botocore first asks for the time: the REALSIG_BOTOCORE hook runs this at every
    interpreter start, and building a clock loads the native extension (realsig._native), which
    most processes never need. A $REALSIG_CLOCK that does not parse still patches, with a clock
    that fails with the parse error: botocore then refuses to sign rather than use the process
    clock."""
    return patch(_FromEnv())


class _FromEnv:
    """The clock patch_from_env() chose, built on its first read (then kept)."""

    name = "$REALSIG_CLOCK or the default clock"

    def __init__(self):
        self._clock = None
        self._lock = threading.Lock()

    def __call__(self) -> int:
        clock = self._clock
        if clock is None:
            with self._lock:
                if self._clock is None:
                    self._clock = self._build()
                clock = self._clock
        return clock()

    @staticmethod
    def _build():
        try:
            return _clocks.from_env()
        except _clocks.SpecError as e:
            reason = f"${_clocks.CLOCK_ENV}: {e}"

            def broken():
                raise ClockError(reason)

            return broken


def unpatch():
    """Restores botocore's own time everywhere patch() changed it."""
    global _clock, _hook
    with _lock:
        if _hook is not None and _hook in sys.meta_path:
            sys.meta_path.remove(_hook)
        _hook = None
        while _undo:
            obj, attr, original = _undo.pop()
            if original is _ABSENT:
                delattr(obj, attr)
            else:
                setattr(obj, attr, original)
        _clock = None


def is_patched() -> bool:
    return _hook is not None


def clock():
    """The clock botocore uses now, or None."""
    return _clock


# -- the real time, in the forms botocore reads it --------------------------------------------

def _now_ns() -> int:
    current = _clock
    if current is None:  # unpatched while a call was in flight
        raise ClockUnavailable("realsig: botocore's patch was removed while it was in use")
    try:
        return _clocks.to_ns(current())
    except ClockError as e:
        raise ClockUnavailable(f"realsig: botocore cannot sign without the real time: {e}") from None


def _aware_now(tz=_dt.timezone.utc) -> _dt.datetime:
    ns = _now_ns()
    utc = _dt.datetime.fromtimestamp(ns // 1_000_000_000, _dt.timezone.utc).replace(
        microsecond=ns % 1_000_000_000 // 1000
    )
    return utc.astimezone(tz) if tz is not _dt.timezone.utc else utc


def get_current_datetime(remove_tzinfo=True):
    """botocore.compat.get_current_datetime, at the real time."""
    now = _aware_now()
    return now.replace(tzinfo=None) if remove_tzinfo else now


def _local_now():
    """botocore.credentials._local_now (an aware local time), at the real time."""
    return _aware_now().astimezone()


def _utc_now():
    """botocore.tokens._utc_now, at the real time."""
    return _aware_now()


class _DatetimeType(type):
    # isinstance(x, shim.datetime) must hold for every datetime, as botocore's checks expect.
    def __instancecheck__(cls, obj):
        return isinstance(obj, _dt.datetime)

    def __subclasscheck__(cls, sub):
        return issubclass(sub, _dt.datetime)


class _RealDatetime(_dt.datetime, metaclass=_DatetimeType):
    """datetime.datetime whose utcnow() and now() read realsig's clock (botocore before get_current_datetime)."""

    @classmethod
    def utcnow(cls):
        return _aware_now().replace(tzinfo=None)

    @classmethod
    def now(cls, tz=None):
        return _aware_now(tz) if tz is not None else _aware_now().astimezone().replace(tzinfo=None)


def _datetime_module() -> types.ModuleType:
    shim = types.ModuleType("datetime", "the datetime module, with realsig's clock for utcnow/now")
    shim.__dict__.update({k: v for k, v in vars(_dt).items() if not k.startswith("__")})
    shim.datetime = _RealDatetime
    return shim


_DATETIME = _datetime_module()


# -- applying it to a module -------------------------------------------------------------------

_ABSENT = object()


def _replace(obj, attr, value):
    _undo.append((obj, attr, getattr(obj, attr, _ABSENT)))
    setattr(obj, attr, value)


def _rebind_defaults(module, original, replacement):
    """Functions bound `time_fetcher=_local_now` when the module ran; point them at ours."""
    def fix(func):
        func = getattr(func, "__func__", func)
        if not isinstance(func, types.FunctionType):
            return
        if func.__defaults__ and any(d is original for d in func.__defaults__):
            _replace(func, "__defaults__", tuple(replacement if d is original else d for d in func.__defaults__))
        if func.__kwdefaults__ and any(d is original for d in func.__kwdefaults__.values()):
            _replace(func, "__kwdefaults__", {k: replacement if d is original else d for k, d in func.__kwdefaults__.items()})

    for value in list(vars(module).values()):
        if isinstance(value, type) and value.__module__ == module.__name__:
            for member in list(vars(value).values()):
                fix(member)
        else:
            fix(value)


def _apply(module):
    """Points one botocore module at the real time (idempotent per module and patch)."""
    if getattr(module, "__realsig_patched__", False):
        return
    short = module.__name__.rsplit(".", 1)[1]
    current = getattr(module, "get_current_datetime", None)
    if current is not None and current is not get_current_datetime:
        _replace(module, "get_current_datetime", get_current_datetime)
    elif current is None and short in ("auth", "signers", "utils", "endpoint") and isinstance(
        getattr(module, "datetime", None), types.ModuleType
    ):
        _replace(module, "datetime", _DATETIME)  # botocore before get_current_datetime
    if short == "auth":
        for name, method in (("HmacV1Auth", _header_date), ("HmacV1QueryAuth", _query_expires)):
            cls = vars(module).get(name)
            if isinstance(cls, type) and "_get_date" in vars(cls):
                _replace(cls, "_get_date", method)
    elif short == "credentials" and callable(getattr(module, "_local_now", None)):
        _rebind_defaults(module, module._local_now, _local_now)
        _replace(module, "_local_now", _local_now)
    elif short == "tokens" and callable(getattr(module, "_utc_now", None)):
        _rebind_defaults(module, module._utc_now, _utc_now)
        _replace(module, "_utc_now", _utc_now)
    _replace(module, "__realsig_patched__", True)


def _header_date(_self):  # HmacV1Auth: the Date header
    from email.utils import formatdate  # imported when used: the hook runs at every start-up

    return formatdate(_now_ns() / 1e9, usegmt=True)


def _query_expires(self):  # HmacV1QueryAuth: Expires, in Unix seconds
    return str(_now_ns() // 1_000_000_000 + int(self._expires))


# The finder and loader protocols, duck-typed: importlib.abc would add about 14 ms to every
# interpreter start the hook runs in (it pulls importlib.resources).
class _PostImportHook:
    """A sys.meta_path finder that patches a botocore module as soon as it has run: the finders
    after this one find it, and its loader's exec_module is followed by _apply."""

    def find_spec(self, fullname, path, target=None):
        if fullname not in _TARGETS:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        spec.loader = _PatchingLoader(loader)
        return spec


class _PatchingLoader:
    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        with _lock:
            if _hook is not None:
                _apply(module)

    def __getattr__(self, name):  # get_resource_reader, is_package, get_source, ...
        return getattr(self._loader, name)
