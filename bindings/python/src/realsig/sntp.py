"""SNTP (RFC 4330) with the host's checks and policy, as a realsig clock.

Each reply must: come from the server asked, be at least 48 bytes, be in server mode, echo
our random origin timestamp, not be a kiss-o'-death (RATE backs the server off, DENY and RSTR
retire it), have stratum 1..15, no alarm leap indicator, a non-zero transmit time, and a root
distance (root delay / 2 + root dispersion) of at most 1.5 s. Several servers: the largest
group whose intervals overlap wins, then the least delay. The estimate is kept on the raw
CLOCK_BOOTTIME (not faked by libfaketime; unlike CLOCK_MONOTONIC it counts time suspended, so
an estimate from before a laptop's sleep is seen to be that old), re-synced after 64 s and
refused after 1024 s; a server is asked at most once per 16 s.

(Hand-written rather than PyPI's `ntplib`: ntplib 0.4 does not check the origin timestamp,
mode, kiss codes or root distance, which are the checks that matter here.)
"""

import secrets
import socket
import struct
import threading

from . import _raw
from .clocks import Clock, NS_PER_S
from .errors import ClockError

NTP_UNIX_OFFSET = 2_208_988_800  # seconds from 1900 to 1970
MAX_ROOT_DISTANCE_NS = 1_500_000_000
MIN_POLL_NS = 16 * NS_PER_S
REFRESH_NS = 64 * NS_PER_S
MAX_AGE_NS = 1024 * NS_PER_S


def _ntp_to_unix_ns(raw: int) -> int:
    secs, frac = raw >> 32, raw & 0xFFFF_FFFF
    if secs < 1 << 31:  # era 1: after 2036-02-07T06:28:16Z
        secs += 1 << 32
    return (secs - NTP_UNIX_OFFSET) * NS_PER_S + (frac * NS_PER_S >> 32)


def _short_ns(raw: int) -> int:
    return (raw >> 16) * NS_PER_S + ((raw & 0xFFFF) * NS_PER_S >> 16)


class Rejected(ClockError):
    """A reply that failed a check; `kiss` is the kiss code for kiss-o'-death replies."""

    def __init__(self, message, kiss=None):
        super().__init__(message)
        self.kiss = kiss


def check_reply(data: bytes, origin: int) -> dict:
    """Validates one reply to a request whose transmit timestamp was `origin`."""
    if len(data) < 48:
        raise Rejected(f"short reply ({len(data)} bytes)")
    first, stratum = data[0], data[1]
    li, mode = first >> 6, first & 7
    root_delay, root_disp, refid = struct.unpack_from("!II4s", data, 4)
    orig, recv, xmit = struct.unpack_from("!QQQ", data, 24)
    if mode != 4:
        raise Rejected(f"not a server reply (mode {mode})")
    if orig != origin:
        raise Rejected("the origin timestamp is not ours (spoofed or stale reply)")
    if stratum == 0:
        code = refid.decode("ascii", errors="replace")
        if code in ("RATE", "DENY", "RSTR"):
            raise Rejected(f"kiss-o'-death {code}", kiss=code)
        raise Rejected(f"unsynchronised (stratum 0, {code!r})")
    if stratum >= 16:
        raise Rejected("unsynchronised (stratum 16)")
    if li == 3:
        raise Rejected("unsynchronised (leap indicator 3)")
    if xmit == 0:
        raise Rejected("zero transmit timestamp")
    distance = _short_ns(root_delay) // 2 + _short_ns(root_disp)
    if distance > MAX_ROOT_DISTANCE_NS:
        raise Rejected(f"root distance {distance / 1e9:.3f} s exceeds 1.5 s")
    return {"recv": _ntp_to_unix_ns(recv), "xmit": _ntp_to_unix_ns(xmit), "distance": distance}


def query(server: str, timeout: float = 1.0) -> dict:
    """One exchange: the real time at the raw CLOCK_BOOTTIME instant `mono`, and its uncertainty."""
    host, _, port = server.rpartition(":") if server.count(":") == 1 else (server, "", "")
    host, port = host or server, int(port or 123)
    origin = secrets.randbits(64) or 1
    request = bytearray(48)
    request[0] = (4 << 3) | 3  # version 4, client
    struct.pack_into("!Q", request, 40, origin)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.connect((host, port))  # only replies from the server asked
        t1 = _raw.boottime_ns()
        s.send(request)
        try:
            data = s.recv(1024)
        except socket.timeout:
            raise Rejected(f"no reply within {timeout} s") from None
        except OSError as e:
            raise Rejected(f"no reply: {e.strerror or e}") from None
        t4 = _raw.boottime_ns()
    r = check_reply(data, origin)
    delay = max((t4 - t1) - (r["xmit"] - r["recv"]), 0)
    return {"real": r["xmit"] + delay // 2, "mono": t4, "uncertainty": delay // 2 + r["distance"], "delay": delay}


def select(samples):
    """The largest group of samples whose [real ± uncertainty] intervals overlap (at a common
    monotonic instant), then the one with the least delay in it."""
    if not samples:
        return None
    at = max(s["mono"] for s in samples)
    spans = [(s["real"] + at - s["mono"] - s["uncertainty"], s["real"] + at - s["mono"] + s["uncertainty"], s) for s in samples]
    best = []
    for lo, hi, _ in spans:
        group = [s for l2, h2, s in spans if l2 <= hi and h2 >= lo]
        if len(group) > len(best):
            best = group
    if len(best) * 2 <= len(samples) and len(samples) > 1:
        return None  # no majority
    return min(best, key=lambda s: s["delay"])


class NtpClock(Clock):
    """The real time from `servers` ("host[:port]", a list or "a+b+c")."""

    def __init__(self, servers, *, timeout: float = 1.0):
        if isinstance(servers, str):
            servers = servers.split("+")
        self.servers = list(servers)
        if not self.servers:
            raise ValueError("ntp needs at least one server")
        super().__init__("ntp:" + "+".join(self.servers), self._now)
        self._timeout = timeout
        self._lock = threading.Lock()
        self._estimate = None
        self._asked = {}  # server -> CLOCK_BOOTTIME of last request
        self._backoff = {}  # server -> CLOCK_BOOTTIME before which it must not be asked (RATE)
        self._retired = {}  # server -> reason (DENY, RSTR)
        self._last_error = None

    def _sync(self):
        now = _raw.boottime_ns()
        samples, reasons = [], []
        for server in self.servers:
            if server in self._retired:
                reasons.append(f"{server}: retired after {self._retired[server]}")
                continue
            if now < self._backoff.get(server, 0):
                reasons.append(f"{server}: backing off after RATE")
                continue
            last = self._asked.get(server)
            if last is not None and now - last < MIN_POLL_NS:
                reasons.append(f"{server}: asked less than 16 s ago")
                continue
            self._asked[server] = now
            try:
                samples.append(query(server, self._timeout))
            except Rejected as e:
                if e.kiss == "RATE":
                    self._backoff[server] = now + 64 * NS_PER_S
                elif e.kiss in ("DENY", "RSTR"):
                    self._retired[server] = e.kiss
                reasons.append(f"{server}: {e}")
            except OSError as e:
                reasons.append(f"{server}: {e}")
        best = select(samples)
        if best is not None:
            self._estimate = best
        elif samples:
            reasons.append("the servers disagree; no majority")
        if reasons:
            self._last_error = "; ".join(reasons)

    def _now(self) -> int:
        with self._lock:
            mono = _raw.boottime_ns()
            if self._estimate is None or mono - self._estimate["mono"] > REFRESH_NS:
                self._sync()
                mono = _raw.boottime_ns()
            e = self._estimate
            if e is None or mono - e["mono"] > MAX_AGE_NS:
                raise ClockError(f"{self.name}: no usable reply ({self._last_error or 'none yet'})")
            return e["real"] + (mono - e["mono"])

    def uncertainty_ns(self):
        """The current estimate's uncertainty, or None before the first sync."""
        e = self._estimate
        return None if e is None else e["uncertainty"] + (_raw.boottime_ns() - e["mono"]) // 1000


def ntp(servers, *, timeout: float = 1.0) -> NtpClock:
    """An NTP clock over `servers`; the first reading syncs (blocking up to `timeout` each)."""
    return NtpClock(servers, timeout=timeout)
