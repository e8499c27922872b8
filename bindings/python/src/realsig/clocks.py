"""Time sources for `real-now`.

A clock is a zero-argument callable that returns the real time, as an aware `datetime` or as
an `int` of nanoseconds since the Unix epoch, or raises ClockError. The built-in sources:

- `realtime_file(path)`: libfaketimefs's `realtime` file (the path in $FAKETIME_REALTIME_FILE),
  with the host's rules: a strict parse, and the value must be seen to advance with the
  monotonic clock before it is trusted;
- `ntp(servers)`: SNTP with the host's checks (realsig.sntp);
- `raw_clock()`: CLOCK_REALTIME by syscall, which libfaketime does not fake (realsig._raw);
- `fixed(when)`, `system_clock()` (time.time_ns: faked under libfaketime), `chain(*clocks)`;
- `default_clock()`: the realtime file if $FAKETIME_REALTIME_FILE is set, then the raw clock,
  as the host and the other bindings;
- `from_spec(text)`: a chain in the CLI's `--clock` syntax, e.g. `ntp:169.254.169.123,raw`, and
  `from_env()`: $REALSIG_CLOCK's chain if set, else default_clock().
"""

import datetime as _dt
import os
import queue
import re
import stat
import threading
import time

from .errors import ClockError


class _LazyRaw:
    """realsig._raw (ctypes) on first use: the REALSIG_BOTOCORE hook imports this module at
    every interpreter start, and ctypes alone costs about 10 ms there."""

    def __getattr__(self, name):
        from . import _raw as module

        return getattr(module, name)


_raw = _LazyRaw()

NS_PER_S = 1_000_000_000
REALTIME_ENV = "FAKETIME_REALTIME_FILE"
CLOCK_ENV = "REALSIG_CLOCK"

_MAX_LEN = 256
_READ_SLACK_NS = 5_000_000  # reading the file and the clock at slightly different moments
_READ_TIMEOUT = 1.0  # one read of the realtime file; a FIFO nothing writes to never answers


class _Reader:
    """Runs one function at a time on a daemon thread of its own, waiting at most `timeout`
    for it: a realtime file that is a FIFO nothing writes to, or on a hung FUSE mount, fails
    the clock (and a chain moves on) instead of blocking the signer. While a call is stuck,
    later calls fail at once."""

    def __init__(self, fn, name, timeout):
        self._fn, self._name, self._timeout = fn, name, timeout
        self._requests = queue.SimpleQueue()
        self._busy_since = 0
        threading.Thread(target=self._serve, name="realsig-realtime-file", daemon=True).start()

    def _serve(self):
        while True:
            reply = self._requests.get()
            self._busy_since = _raw.monotonic_ns() or 1
            try:
                result = (True, self._fn())
            except BaseException as e:  # handed to the caller, who re-raises it
                result = (False, e)
            self._busy_since = 0
            reply.put(result)

    def __call__(self):
        since = self._busy_since
        if since and _raw.monotonic_ns() - since > self._timeout * NS_PER_S:
            stuck_ms = (_raw.monotonic_ns() - since) // 1_000_000
            raise ClockError(
                f"{self._name}: a read of the file has not returned for {stuck_ms} ms "
                "(a FIFO nothing writes to, or a wedged FUSE mount)"
            )
        reply = queue.SimpleQueue()
        self._requests.put(reply)
        try:
            ok, value = reply.get(timeout=self._timeout)
        except queue.Empty:
            raise ClockError(
                f"{self._name}: no answer from the file within {int(self._timeout * 1000)} ms "
                "(a FIFO nothing writes to, or a wedged FUSE mount)"
            ) from None
        if ok:
            return value
        raise value


def _describe(mode):
    for test, what in ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return what
    return "not a file"
_REALTIME_TEXT = re.compile(r"[\t\n\v\f\r ]*([0-9]+)(?:\.([0-9]+))?[\t\n\v\f\r ]*", re.ASCII)


def to_ns(value) -> int:
    """A clock's return value as nanoseconds since the epoch."""
    if isinstance(value, bool):
        raise ClockError(f"a clock returned {value!r}, not a time")
    if isinstance(value, int):
        return value
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            raise ClockError("a clock returned a naive datetime; give it a tzinfo (e.g. timezone.utc)")
        delta = value - _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
        return (delta.days * 86_400 + delta.seconds) * NS_PER_S + delta.microseconds * 1_000
    raise ClockError(f"a clock returned {type(value).__name__}, not a datetime or int nanoseconds")


class Clock:
    """A named time source (names appear in errors and in chain's report)."""

    def __init__(self, name, read):
        self.name = name
        self._read = read

    def __call__(self) -> int:
        return self._read()

    def __repr__(self):
        return f"<realsig clock {self.name}>"


def system_clock() -> Clock:
    """The process clock. Faked under libfaketime: for tests and as a last resort."""
    return Clock("system", time.time_ns)


def raw_clock() -> Clock:
    """CLOCK_REALTIME by raw syscall: the kernel's time even under libfaketime."""
    return Clock("raw", lambda: _raw.clock_ns(_raw.CLOCK_REALTIME))


def fixed(when) -> Clock:
    """Always `when` (an aware datetime or int nanoseconds). For tests and replays."""
    ns = to_ns(when)
    return Clock("fixed", lambda: ns)


def parse_realtime(text: str):
    """A realtime file's text as (nanoseconds, has_fraction): Unix seconds with an optional
    fraction, truncated to nanoseconds without a float."""
    if not text.strip():
        raise ClockError("the file is empty")
    m = _REALTIME_TEXT.fullmatch(text)
    if not m:
        shown = text[:64]
        raise ClockError(f"expected Unix seconds like 1795341747.123456, found {shown!r}")
    secs, frac = m.group(1), m.group(2)
    if len(secs) > 19 or int(secs) >= 2**63 // NS_PER_S:
        raise ClockError("the value is out of range")
    nanos = int((frac or "")[:9].ljust(9, "0"))
    return int(secs) * NS_PER_S + nanos, frac is not None


def realtime_file(path=None, *, allow_static=False, timeout=_READ_TIMEOUT) -> Clock:
    """libfaketimefs's realtime file. It is trusted once two reads have advanced with the
    monotonic clock (a fraction within 20 ms, whole seconds within 1.2 s) and then while it
    keeps doing so, so a file that freezes is caught. `allow_static` accepts a snapshot that
    never advances (the signatures go stale with it). Each read runs on a thread of the
    clock's own, waited for at most `timeout` seconds; the file must be a regular file or a
    FIFO (a device such as /dev/zero is refused), as in the host."""
    path = path or os.environ.get(REALTIME_ENV)
    if not path:
        raise ClockError(f"realtime file: no path and ${REALTIME_ENV} is not set")
    name = f"{'faketimefs-static' if allow_static else 'faketimefs'}:{path}"
    lock = threading.Lock()
    anchor = [None]

    def read_now():
        # A sample brackets the read: a live file's value is computed between the open and
        # the end of the read.
        opened = _raw.monotonic_ns()
        try:
            mode = os.stat(path).st_mode
        except OSError as e:
            raise ClockError(f"{name}: cannot read the file: {e.strerror or e}") from None
        if not stat.S_ISREG(mode) and not stat.S_ISFIFO(mode):
            raise ClockError(f"{name}: cannot read the file: it is {_describe(mode)}, not a regular file")
        try:
            with open(path, "rb") as f:
                data = f.read(_MAX_LEN + 1)
        except OSError as e:
            raise ClockError(f"{name}: cannot read the file: {e.strerror or e}") from None
        done = _raw.monotonic_ns()
        if len(data) > _MAX_LEN:
            raise ClockError(f"{name}: the file is longer than {_MAX_LEN} bytes; not a realtime value")
        try:
            nanos, frac = parse_realtime(data.decode("ascii", errors="replace"))
        except ClockError as e:
            raise ClockError(f"{name}: {e}") from None
        return opened, done, nanos, frac

    read = _Reader(read_now, name, timeout)

    def together(a, b):
        # The advance must fit the time between the reads (end of a to start of b, up to start
        # of a to end of b), within the resolution, 5 ms and 1000 ppm: the host's rule.
        advance = b[2] - a[2]
        if advance < 0 or b[1] < a[1]:
            return False
        shortest = max(b[0] - a[1], 0)
        longest = b[1] - a[0]
        gap = shortest - advance if advance < shortest else max(advance - longest, 0)
        resolution = 1_000_000 if a[3] and b[3] else NS_PER_S
        return gap <= resolution + _READ_SLACK_NS + longest // 1000

    def now():
        latest = read()
        if allow_static:
            return latest[2]
        with lock:
            if anchor[0] is not None and together(anchor[0], latest):
                return latest[2]
            step, window = (0.02, 20_000_000) if latest[3] else (0.05, 1_200_000_000)
            while True:
                time.sleep(step)
                probe = read()
                if probe[2] != latest[2] or probe[1] - latest[1] >= window:
                    break
            if probe[2] != latest[2] and together(latest, probe):
                anchor[0] = probe
                return probe[2]
        raise ClockError(
            f"{name}: stale snapshot: the value did not advance with the monotonic clock; a live "
            "libfaketimefs file does (pass allow_static=True to sign with a fixed snapshot)"
        )

    return Clock(name, now)


def chain(*clocks) -> Clock:
    """The first clock that gives a reading wins; the error names every source tried."""
    if not clocks:
        raise ValueError("chain needs at least one clock")

    def now():
        reasons = []
        for c in clocks:
            try:
                return to_ns(c())
            except ClockError as e:
                reasons.append(str(e) if str(e).startswith(_name(c)) else f"{_name(c)}: {e}")
        raise ClockError("no time source has the real time: " + "; ".join(reasons))

    joined = Clock("chain(" + ",".join(_name(c) for c in clocks) + ")", now)
    joined.sources = tuple(clocks)
    return joined


def default_clock() -> Clock:
    """The realtime file if $FAKETIME_REALTIME_FILE is set, then the raw kernel clock."""
    return chain(*_default_sources())


def _default_sources():
    sources = []
    if os.environ.get(REALTIME_ENV):
        sources.append(realtime_file())
    sources.append(raw_clock())
    return sources


class SpecError(ValueError):
    """A clock text that does not describe a chain (the CLI's "bad clock chain")."""


def from_spec(spec: str) -> Clock:
    """The chain `spec` describes, in the CLI's `--clock` / $REALSIG_CLOCK syntax (host/src/clock/
    spec.rs): comma-separated `faketimefs[:PATH]`, `faketimefs-static:PATH`,
    `ntp:HOST[:PORT][+HOST...]`, `raw`, `system`, `fixed:RFC3339`, `default`."""
    from .sntp import ntp  # sntp imports this module

    sources = []
    for item in (i.strip() for i in spec.split(",")):
        kind, sep, arg = item.partition(":")
        arg = arg if sep else None

        def bad(text):
            return SpecError(f"bad clock chain: {text}")

        if kind == "":
            raise bad(f"empty item in {spec!r}")
        if kind == "faketimefs" and arg is None:
            if not os.environ.get(REALTIME_ENV):
                raise bad(f'"faketimefs" without a path needs ${REALTIME_ENV} to be set')
            sources.append(realtime_file())
        elif kind in ("faketimefs", "faketimefs-static") and arg:
            sources.append(realtime_file(arg, allow_static=kind == "faketimefs-static"))
        elif kind in ("faketimefs", "faketimefs-static"):
            raise bad(f'"{kind}" needs PATH, as in {kind}:PATH')
        elif kind == "ntp" and arg:
            servers = arg.split("+")
            if any(not s for s in servers):
                raise bad(f"empty server in {item!r}")
            sources.append(ntp(servers))
        elif kind == "ntp":
            raise bad('"ntp" needs HOST[:PORT], as in ntp:HOST[:PORT]')
        elif kind == "fixed" and arg is not None:
            try:
                when = _dt.datetime.fromisoformat(arg.replace("Z", "+00:00").replace("z", "+00:00"))
            except ValueError as e:
                raise bad(f"{item!r}: expected an RFC 3339 time ({e})") from None
            if when.tzinfo is None:
                raise bad(f"{item!r}: expected an RFC 3339 time (no UTC offset)")
            sources.append(fixed(when))
        elif kind == "fixed":
            raise bad('"fixed" needs RFC3339, as in fixed:RFC3339')
        elif kind in ("raw", "system", "default") and arg is not None:
            raise bad(f"{kind!r} takes no argument (in {item!r})")
        elif kind == "raw":
            sources.append(raw_clock())
        elif kind == "system":
            sources.append(system_clock())
        elif kind == "default":
            sources.extend(_default_sources())
        else:
            raise bad(
                f"unknown source {kind!r} (known: faketimefs[:PATH], faketimefs-static:PATH, "
                "ntp:HOST[:PORT][+HOST...], raw, system, fixed:RFC3339, default)"
            )
    return chain(*sources)


def from_env() -> Clock:
    """$REALSIG_CLOCK's chain when it is set and not empty, else default_clock()."""
    spec = os.environ.get(CLOCK_ENV, "").strip()
    return from_spec(spec) if spec else default_clock()


def _name(clock) -> str:
    return getattr(clock, "name", getattr(clock, "__name__", "clock"))
