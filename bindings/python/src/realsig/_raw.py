"""The kernel clocks read with a raw syscall, past libc.

libfaketime (LD_PRELOAD) replaces libc's clock_gettime, so under it `time.time()` and
`time.clock_gettime()` are faked. libc's generic `syscall()` entry is not intercepted by
Debian's libfaketime 0.9.10 (checked: under `faketime -f -3d`, `syscall(SYS_clock_gettime)`
gave the real time while `time.time()` was 3 days behind; tests/test_clocks.py keeps
checking it), so a direct syscall sees the kernel clock.
"""

import ctypes
import platform

from .errors import ClockError

CLOCK_REALTIME = 0
CLOCK_MONOTONIC = 1
CLOCK_BOOTTIME = 7

# clock_gettime's syscall number (asm/unistd.h) on the architectures we know.
_SYS_CLOCK_GETTIME = {"x86_64": 228, "aarch64": 113, "arm64": 113}.get(platform.machine())


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def clock_ns(clock_id: int) -> int:
    """Nanoseconds on `clock_id`, read by syscall. Raises ClockError where that is unknown."""
    if _SYS_CLOCK_GETTIME is None:
        raise ClockError(f"raw: no clock_gettime syscall number for {platform.machine()}")
    ts = _Timespec()
    if _libc.syscall(ctypes.c_long(_SYS_CLOCK_GETTIME), ctypes.c_long(clock_id), ctypes.byref(ts)) != 0:
        raise ClockError(f"raw: clock_gettime failed: errno {ctypes.get_errno()}")
    return ts.tv_sec * 1_000_000_000 + ts.tv_nsec


def monotonic_ns() -> int:
    """CLOCK_MONOTONIC, unfaked: what the realtime file's freshness is judged on."""
    return clock_ns(CLOCK_MONOTONIC)


def boottime_ns() -> int:
    """CLOCK_BOOTTIME, unfaked: like CLOCK_MONOTONIC, but it keeps counting while the machine
    is suspended. NTP estimates are anchored to it, so after a laptop's sleep they are as old
    as they are, not as old as the time awake (as the reference host's are)."""
    return clock_ns(CLOCK_BOOTTIME)
