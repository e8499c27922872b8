//go:build !linux

package realsig

import "time"

// sinceBoot, off Linux, is Go's monotonic clock since the process started: it may not count
// time suspended, so an NTP estimate can fall behind by a sleep's length until the next
// re-sync (NTPPollInterval). Only Linux has CLOCK_BOOTTIME.
func sinceBoot() time.Duration { return time.Since(processStart) }

var processStart = time.Now()
