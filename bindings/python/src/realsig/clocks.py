"""Time sources for `real-now`.

A clock is a zero-argument callable that returns the real time as an `int` of nanoseconds
since the Unix epoch, or raises ClockError. The built-in sources are the reference host's own
(realsig._native: the same Rust code as the CLI and the gem, so one set of rules):

- `realtime_file(path)`: libfaketimefs's `realtime` file (the path in $FAKETIME_REALTIME_FILE):
  a strict parse, and the value must be seen to advance with the monotonic clock before it is
  trusted;
- `ntp(servers)`: SNTP with the host's checks, anchored to CLOCK_BOOTTIME (an estimate ages
  correctly across a suspend);
- `raw_clock()`: CLOCK_REALTIME by syscall, which libfaketime does not fake;
- `fixed(when)`, `system_clock()` (the process clock: faked under libfaketime), `chain(*clocks)`;
- `default_clock()`: the realtime file if $FAKETIME_REALTIME_FILE is set, then the raw clock,
  as the host and the other bindings;
- `from_spec(text)`: a chain in the CLI's `--clock` syntax, e.g. `ntp:169.254.169.123,raw`, and
  `from_env()`: $REALSIG_CLOCK's chain if set, else default_clock().

Any other callable returning an aware `datetime` or int nanoseconds is a clock too
(`Signer(lambda: my_trusted_time())`); wrap it with `clock_of` to name it in errors.

This module loads the native extension on the first clock it builds, not on import: the
REALSIG_BOTOCORE hook imports it at every interpreter start.
"""

import os

from .errors import ClockError

NS_PER_S = 1_000_000_000
REALTIME_ENV = "FAKETIME_REALTIME_FILE"
CLOCK_ENV = "REALSIG_CLOCK"

_READ_TIMEOUT = 1.0  # one read of the realtime file; a FIFO nothing writes to never answers
_NTP_TIMEOUT = 1.0  # one NTP reply (the host's default)


def _native():
    from . import _native as module

    return module


def to_ns(value) -> int:
    """A clock's return value as nanoseconds since the epoch."""
    if isinstance(value, bool):
        raise ClockError(f"a clock returned {value!r}, not a time")
    if isinstance(value, int):
        return value
    import datetime as dt  # here, not at the top: the REALSIG_BOTOCORE hook imports this module at start-up

    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ClockError("a clock returned a naive datetime; give it a tzinfo (e.g. timezone.utc)")
        delta = value - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
        return (delta.days * 86_400 + delta.seconds) * NS_PER_S + delta.microseconds * 1_000
    raise ClockError(f"a clock returned {type(value).__name__}, not a datetime or int nanoseconds")


class Clock:
    """A named time source: one of the host's, or a Python callable given to `clock_of`.
    Calling it reads it (int nanoseconds); names appear in errors and in a chain's report."""

    __slots__ = ("_native",)

    def __init__(self, native):
        self._native = native

    @property
    def name(self) -> str:
        return self._native.name

    @property
    def sources(self) -> tuple:
        """A chain's members in order (a single source: itself)."""
        return tuple(Clock(n) for n in self._native.sources())

    def __call__(self) -> int:
        return self._native.now()[0]

    def reading(self):
        """`(nanoseconds, uncertainty_ns or None, source, trusted)`: the whole reading."""
        return self._native.now()

    def uncertainty_ns(self):
        """How far a fresh reading may be from the true time, in ns, when the source bounds
        it (NTP: half the round trip plus the server's root distance); else None."""
        return self._native.now()[1]

    def __repr__(self):
        return f"<realsig clock {self.name}>"


def clock_of(read, name=None) -> Clock:
    """`read` (a Clock, or a callable returning an aware datetime or int nanoseconds) as a
    Clock. A callable's exception fails the reading (signing fails closed) and says why."""
    if isinstance(read, Clock):
        return read
    if not callable(read):
        raise TypeError(f"a clock is a callable returning the time, not {type(read).__name__}")
    name = name or getattr(read, "name", None) or getattr(read, "__name__", None) or "clock"

    def now():
        try:
            ns = to_ns(read())
        except ClockError:
            raise
        except Exception as e:  # a user clock that broke: fail closed, say how
            raise ClockError(f"the clock raised {type(e).__name__}: {e}") from None
        if ns < 0:
            raise ClockError("the clock returned a time before 1970")
        return ns

    return Clock(_native().Clock.callable(str(name), now))


def system_clock() -> Clock:
    """The process clock. Faked under libfaketime: for tests and as a last resort."""
    return Clock(_native().Clock.system())


def raw_clock() -> Clock:
    """CLOCK_REALTIME by raw syscall: the kernel's time even under libfaketime."""
    return Clock(_native().Clock.raw())


def fixed(when) -> Clock:
    """Always `when` (an aware datetime or int nanoseconds). For tests and replays."""
    ns = to_ns(when)
    if ns < 0:
        raise ClockError("a fixed time before 1970")
    return Clock(_native().Clock.fixed(ns))


def realtime_file(path=None, *, allow_static=False, timeout=_READ_TIMEOUT) -> Clock:
    """libfaketimefs's realtime file. It is trusted once two reads have advanced with the
    monotonic clock (a fraction within 20 ms, whole seconds within 1.2 s) and then while it
    keeps doing so, so a file that freezes is caught. `allow_static` accepts a snapshot that
    never advances (the signatures go stale with it). Each read is waited for at most
    `timeout` seconds; the file must be a regular file or a FIFO (a device such as /dev/zero
    is refused)."""
    path = path or os.environ.get(REALTIME_ENV)
    if not path:
        raise ClockError(f"realtime file: no path and ${REALTIME_ENV} is not set")
    return Clock(_native().Clock.realtime_file(os.fspath(path), bool(allow_static), float(timeout)))


def ntp(servers, *, timeout=_NTP_TIMEOUT) -> Clock:
    """SNTP against `servers` ("HOST[:PORT]" or a list of them; of three or more, the ones
    that disagree with the majority are outvoted). A server is asked at most once per 16 s;
    readings in between extrapolate the estimate on CLOCK_BOOTTIME."""
    servers = [servers] if isinstance(servers, str) else list(servers)
    if not servers or any(not isinstance(s, str) or not s for s in servers):
        raise ValueError(f"ntp takes HOST[:PORT] strings, not {servers!r}")
    return Clock(_native().Clock.ntp(servers, float(timeout)))


def chain(*clocks) -> Clock:
    """The first clock that gives a reading wins; the error names every source tried."""
    if not clocks:
        raise ValueError("chain needs at least one clock")
    return Clock(_native().Clock.chain([clock_of(c)._native for c in clocks]))


def default_clock() -> Clock:
    """The realtime file if $FAKETIME_REALTIME_FILE is set, then the raw kernel clock."""
    return Clock(_native().Clock.default_chain())


class SpecError(ValueError):
    """A clock text that does not describe a chain (the CLI's "bad clock chain")."""


def from_spec(spec: str) -> Clock:
    """The chain `spec` describes, in the CLI's `--clock` / $REALSIG_CLOCK syntax, parsed by
    the host's parser: comma-separated `faketimefs[:PATH]`, `faketimefs-static:PATH`,
    `ntp:HOST[:PORT][+HOST...]`, `raw`, `system`, `fixed:RFC3339`, `default`."""
    try:
        return Clock(_native().Clock.parse(spec))
    except ValueError as e:
        raise SpecError(str(e)) from None


def from_env() -> Clock:
    """$REALSIG_CLOCK's chain when it is set and not empty, else default_clock()."""
    spec = os.environ.get(CLOCK_ENV, "").strip()
    return from_spec(spec) if spec else default_clock()
