"""real-now providers: the raw clock and the realtime file under libfaketime, the realtime
file's rules, NTP against chronyd and a scripted responder on 127.0.0.1, and the fail-closed
path. The sources are the reference host's (realsig._native): these tests check that Python
reaches them with the host's rules and messages."""

import datetime as dt
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest

import realsig
from conftest import AKID, REPO, SECRET, Chrony, RealtimeFifo, libfaketime

CREDS = realsig.Credentials(AKID, SECRET)
THREE_DAYS_NS = 3 * 86_400 * 10**9
NTP_UNIX_OFFSET = 2_208_988_800  # seconds from 1900 (NTP's era 0) to 1970 (RFC 5905)


def sign_with(clock):
    return realsig.Signer(clock).sign(url="https://example.amazonaws.com/", credentials=CREDS, region="us-east-1", service="service")


def faked_python(code, env=None):
    """Runs `code` in a child Python under libfaketime -3d and returns its JSON output."""
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **(env or {}), "LD_PRELOAD": libfaketime(), "FAKETIME": "-3d"},
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


CHILD = """
import json, time, realsig
signed = realsig.sign(url="https://example.amazonaws.com/", credentials=realsig.Credentials("AK", "SK"),
                      region="us-east-1", service="service")
print(json.dumps({"signed": signed.signing_time.timestamp(), "fake": time.time()}))
"""


def test_under_libfaketime_the_default_clock_is_the_real_time():
    got = faked_python(CHILD)
    now = time.time()
    assert abs(now - got["fake"] - THREE_DAYS_NS / 1e9) < 5, f"the child's clock was not faked: {got}"
    assert abs(got["signed"] - now) < 2, f"signed at {got['signed']}, real {now}"


def test_under_libfaketime_the_default_clock_prefers_the_realtime_file(tmp_path):
    # The file is an hour ahead of the real time: if it is used, the signature shows it.
    fifo = RealtimeFifo(tmp_path / "realtime", offset_ns=3600 * 10**9)
    try:
        got = faked_python(CHILD, {"FAKETIME_REALTIME_FILE": str(fifo.path)})
    finally:
        fifo.stop()
    assert abs(got["signed"] - (time.time() + 3600)) < 2, got


def test_a_live_realtime_file_is_the_real_time(realtime_fifo):
    clock = realsig.realtime_file(realtime_fifo.path)
    for _ in range(3):
        assert abs(clock() - time.time_ns()) < 50_000_000
    signed = sign_with(clock)
    assert abs(signed.signing_time.timestamp() - time.time()) < 1


def test_a_realtime_file_that_freezes_is_caught(realtime_fifo):
    clock = realsig.realtime_file(realtime_fifo.path)
    clock()  # proven live
    realtime_fifo.stop()
    frozen = realtime_fifo.path.with_name("frozen")
    now = time.time_ns()
    frozen.write_text(f"{now // 10**9}.{now % 10**9:09d}")
    os.replace(frozen, realtime_fifo.path)  # the file stops moving
    time.sleep(0.1)  # past the 50 ms for which the host reuses a proved reading (DEFAULT_REUSE)
    with pytest.raises(realsig.ClockError, match="stale snapshot"):
        clock()


@pytest.mark.parametrize(
    "content, reason",
    [
        ("1795341747.5", "stale snapshot"),
        ("1795341747\n", "stale snapshot"),
        ("yesterday", "expected Unix seconds"),
        ("", "empty"),
        ("1" * 300, "longer than 256 bytes"),
        ("1e9", "expected Unix seconds"),
    ],
)
def test_bad_realtime_files_fail_closed(tmp_path, content, reason):
    path = tmp_path / "realtime"
    path.write_text(content)
    with pytest.raises(realsig.ClockError, match=reason):
        realsig.realtime_file(path)()
    with pytest.raises(realsig.ClockUnavailable, match=reason):
        sign_with(realsig.realtime_file(path))


def test_missing_and_directory_realtime_files_fail_closed(tmp_path):
    for path, reason in ((tmp_path / "missing", "cannot read the file"), (tmp_path, "it is a directory, not a regular file")):
        with pytest.raises(realsig.ClockUnavailable, match=reason):
            sign_with(realsig.realtime_file(path))


def test_a_snapshot_only_when_allowed(tmp_path):
    path = tmp_path / "realtime"
    path.write_text("1795341747.123456789999")
    assert realsig.realtime_file(path, allow_static=True)() == 1_795_341_747_123_456_789


def test_user_clocks_that_fail_or_lie_fail_closed():
    def broken():
        raise OSError("no route to the time")

    for clock, reason in [
        (broken, "OSError: no route to the time"),
        (lambda: dt.datetime(2026, 1, 1), "naive datetime"),
        (lambda: "now", "not a datetime"),
        (lambda: -1, "before 1970"),
        (realsig.chain(realsig.realtime_file("/nonexistent"), lambda: (_ for _ in ()).throw(realsig.ClockError("down"))),
         "faketimefs:/nonexistent: cannot read the file"),
    ]:
        with pytest.raises(realsig.ClockUnavailable, match=reason):
            sign_with(clock)
    assert sign_with(lambda: dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)).headers["x-amz-date"] == "20260101T000000Z"


def test_the_raw_clock_is_the_kernel_clock():
    assert abs(realsig.raw_clock()() - time.time_ns()) < 50_000_000


def test_chrony_gives_the_real_time(tmp_path):
    server = Chrony(tmp_path)
    try:
        clock = realsig.ntp(server.addr)
        assert abs(clock() - time.time_ns()) < 100_000_000
        assert clock.uncertainty_ns() < 50_000_000
    finally:
        server.stop()


def test_chrony_without_a_reference_is_unsynchronised(tmp_path):
    server = Chrony(tmp_path, local=False)
    try:
        with pytest.raises(realsig.ClockUnavailable, match="unsynchronised"):
            sign_with(realsig.ntp(server.addr))
    finally:
        server.stop()


# -- a scripted SNTP responder ---------------------------------------------------------------

def _ntp_ts(ns):
    secs, rem = divmod(ns, 10**9)
    return ((secs + NTP_UNIX_OFFSET) % (1 << 32)) << 32 | (rem << 32) // 10**9


def good_reply(request, offset_ns=0):
    now = _ntp_ts(time.time_ns() + offset_ns)
    reply = bytearray(48)
    reply[0], reply[1] = (0 << 6) | (4 << 3) | 4, 2
    struct.pack_into("!II4s", reply, 4, 1 << 12, 1 << 12, b"GPS\0")
    struct.pack_into("!QQQQ", reply, 16, now, struct.unpack_from("!Q", request, 40)[0], now, now)
    return reply


class Scripted:
    """Answers each request with `edit(good_reply)`; None means stay silent."""

    def __init__(self, edit, offset_ns=0):
        self.offset_ns = offset_ns
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.requests = 0
        self.edit = edit
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                data, peer = self.sock.recvfrom(512)
            except OSError:
                return
            self.requests += 1
            reply = self.edit(bytearray(good_reply(data, self.offset_ns)))
            if reply is not None:
                self.sock.sendto(bytes(reply), peer)

    def close(self):
        self.sock.close()


def _set(offset, fmt, value):
    def edit(r):
        struct.pack_into(fmt, r, offset, value)
        return r
    return edit


@pytest.mark.parametrize(
    "edit, reason",
    [
        (lambda r: r, None),  # the baseline is accepted, so no case below passes vacuously
        (_set(24, "!Q", 12345), "origin timestamp is not the one we sent"),
        (_set(0, "!B", (4 << 3) | 3), "mode 3"),
        (_set(1, "!B", 16), "stratum 16"),
        (_set(0, "!B", (3 << 6) | (4 << 3) | 4), "leap indicator 3"),
        (_set(40, "!Q", 0), "zero transmit"),
        (_set(8, "!I", 3 << 16), "root distance"),
        (lambda r: r[:20], "truncated reply"),
        (lambda r: _set(12, "!4s", b"RATE")(_set(1, "!B", 0)(r)), "Kiss-o'-Death RATE"),
        (lambda r: _set(12, "!4s", b"DENY")(_set(1, "!B", 0)(r)), "Kiss-o'-Death DENY"),
        (lambda r: _set(12, "!4s", b"\x01\x02\x03\x04")(_set(1, "!B", 0)(r)), "unsynchronised"),
        (lambda r: None, "no reply within 300 ms"),
    ],
)
def test_each_bad_reply_is_rejected_for_its_reason(edit, reason):
    server = Scripted(edit)
    try:
        clock = realsig.ntp(server.addr, timeout=0.3)
        if reason is None:
            assert abs(clock() - time.time_ns()) < 100_000_000
        else:
            with pytest.raises(realsig.ClockError, match=reason):
                clock()
    finally:
        server.close()


def test_a_server_is_asked_at_most_once_per_min_poll_and_readings_reuse_the_estimate():
    silent = Scripted(lambda r: None)
    good = Scripted(lambda r: r)
    try:
        clock = realsig.ntp(silent.addr, timeout=0.2)
        for _ in range(5):
            with pytest.raises(realsig.ClockError):
                clock()
        assert silent.requests == 1
        clock = realsig.ntp(good.addr)
        for _ in range(10_000):
            clock()
        assert good.requests == 1
    finally:
        silent.close()
        good.close()


def test_of_three_servers_the_one_an_hour_ahead_is_outvoted():
    ahead = Scripted(lambda r: r, offset_ns=3600 * 10**9)
    servers = [Scripted(lambda r: r), Scripted(lambda r: r), ahead]
    try:
        clock = realsig.ntp([s.addr for s in servers])
        assert abs(clock() - time.time_ns()) < 100_000_000
    finally:
        for s in servers:
            s.close()


SPECS = json.loads((REPO / "tests" / "data" / "clock-specs.json").read_text())


@pytest.mark.parametrize("case", SPECS["valid"], ids=lambda c: c["spec"])
def test_clock_specs_read_as_the_host_reads_them(case):
    chain = realsig.clocks.from_spec(case["spec"])  # builds, never reads: no server is asked
    assert [c.name for c in chain.sources] == case["names"]


@pytest.mark.parametrize("case", SPECS["invalid"], ids=lambda c: c["spec"] or "(empty)")
def test_bad_clock_specs_say_what_is_wrong(case):
    with pytest.raises(realsig.clocks.SpecError, match="bad clock chain") as e:
        realsig.clocks.from_spec(case["spec"])
    assert case["error"] in str(e.value)


def test_realsig_clock_in_the_environment(monkeypatch):
    monkeypatch.setenv("REALSIG_CLOCK", "raw,system")
    assert [c.name for c in realsig.clocks.from_env().sources] == ["raw", "system"]
    monkeypatch.delenv("REALSIG_CLOCK")
    monkeypatch.delenv("FAKETIME_REALTIME_FILE", raising=False)
    assert [c.name for c in realsig.clocks.from_env().sources] == ["raw"]


def test_a_realtime_fifo_nothing_writes_to_never_hangs(tmp_path):
    """A FIFO nothing writes to blocked the signer forever in open(). Each read now has a
    deadline, a later read fails at once while it is stuck, a chain moves on, and a device is
    refused."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    clock = realsig.clocks.realtime_file(str(fifo), timeout=0.3)
    started = time.monotonic()
    with pytest.raises(realsig.ClockError, match="no answer from the file within 300 ms"):
        clock()
    assert time.monotonic() - started < 2
    started = time.monotonic()
    with pytest.raises(realsig.ClockError, match="has not returned for"):
        clock()
    assert time.monotonic() - started < 0.3, "it did not wait out its own 300 ms deadline behind the stuck read"
    both = realsig.clocks.chain(realsig.clocks.realtime_file(str(fifo), timeout=0.1), realsig.clocks.raw_clock())
    assert abs(both() - time.time_ns()) < 1_000_000_000
    with pytest.raises(realsig.ClockError, match="it is a character device, not a regular file"):
        realsig.clocks.realtime_file("/dev/zero")()
    # Release the blocked opens: a writer that closes at once gives them end of file.
    try:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass
