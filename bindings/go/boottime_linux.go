//go:build linux

package realsig

import (
	"time"

	"golang.org/x/sys/unix"
)

// sinceBoot is CLOCK_BOOTTIME: time since boot, counting time suspended (Go's monotonic
// clock, CLOCK_MONOTONIC, does not). x/sys makes the system call itself, so LD_PRELOAD
// fakers cannot intercept it. The call cannot fail on Linux 2.6.39 and later; if it did,
// the NTP estimate would age on Go's monotonic clock, as before.
func sinceBoot() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return time.Since(processStart)
	}
	return time.Duration(ts.Nano())
}

var processStart = time.Now()
