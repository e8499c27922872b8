package realsig

// Time sources for real-now. A Go program reads the time through the Go runtime, which calls
// the kernel's vDSO directly, never libc: LD_PRELOAD libfaketime cannot fake it, so the raw
// clock here is simply time.Now (the test suite checks this under libfaketime). What can still
// be wrong is the kernel clock itself (a drifted VM): for that, use NTP or the realtime file.

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// RealNow returns the real current time, or why it has none. Signing calls it once per
// signature and fails closed (ErrClockUnavailable) when it returns an error. It must be safe
// for concurrent use.
type RealNow func() (time.Time, error)

// RealtimeEnv names the environment variable holding the path of libfaketimefs's realtime
// file.
const RealtimeEnv = "FAKETIME_REALTIME_FILE"

// RawClock reads the kernel's CLOCK_REALTIME through the Go runtime (not libc, so not faked by
// libfaketime).
func RawClock() RealNow { return func() (time.Time, error) { return time.Now(), nil } }

// FixedClock always returns t: tests and replays.
func FixedClock(t time.Time) RealNow { return func() (time.Time, error) { return t, nil } }

// Chain tries sources in order; the first that gives a time wins. The error lists every
// source's reason.
func Chain(sources ...RealNow) RealNow {
	return func() (time.Time, error) {
		if len(sources) == 0 {
			return time.Time{}, errors.New("the chain is empty") // as the host says it
		}
		var tried []string
		for _, s := range sources {
			t, err := readClock(s)
			if err == nil {
				return t, nil
			}
			tried = append(tried, err.Error())
		}
		return time.Time{}, fmt.Errorf("no source has a trustworthy time (tried %s)", strings.Join(tried, "; "))
	}
}

// DefaultClock is what NewSigner uses without WithRealNow: the realtime file when
// $FAKETIME_REALTIME_FILE is set, then the raw clock. The same chain as the reference host.
func DefaultClock() RealNow {
	if os.Getenv(RealtimeEnv) != "" {
		return Chain(RealtimeFile(""), RawClock())
	}
	return RawClock()
}

// RealtimeOption configures RealtimeFile.
type RealtimeOption func(*realtimeFile)

// AllowStatic accepts a realtime file that never advances (a snapshot). Without it such a file
// is refused, because a live libfaketimefs file always advances.
func AllowStatic() RealtimeOption { return func(f *realtimeFile) { f.allowStatic = true } }

// RealtimeTimeout bounds one read of the file (default 1 s): a FIFO nothing writes to, or a
// FUSE mount whose daemon hangs, fails the source within it instead of blocking the signer.
func RealtimeTimeout(d time.Duration) RealtimeOption { return func(f *realtimeFile) { f.timeout = d } }

// RealtimeFile reads libfaketimefs's realtime file (path, or $FAKETIME_REALTIME_FILE when path
// is empty) on every call, with the same rules as the reference host: the text is Unix seconds
// `\s*\d+(\.\d+)?\s*`, truncated to nanoseconds; the value is trusted only once it has been
// seen to advance with the monotonic clock (a fraction within 20 ms, whole seconds within
// 1.2 s), and later reads must stay in step with that anchor.
//
// Each read runs on a goroutine waited for at most RealtimeTimeout; while one has not
// returned, later reads fail at once. The file must be a regular file or a FIFO (a device such
// as /dev/zero is refused), as in the host.
func RealtimeFile(path string, opts ...RealtimeOption) RealNow {
	f := &realtimeFile{path: path, timeout: time.Second}
	for _, o := range opts {
		o(f)
	}
	return f.now
}

type realtimeFile struct {
	path        string
	allowStatic bool
	timeout     time.Duration
	mu          sync.Mutex
	anchor      *realtimeSample
	stuck       atomic.Int64 // UnixNano when a read still running past its deadline began; 0: none
}

// realtimeSample is one read of the file, bracketed by the monotonic clock: a live file's
// value is computed somewhere between the open and the end of the read.
type realtimeSample struct {
	opened      time.Time // before the open; carries Go's monotonic reading
	mono        time.Time // after the read
	nanos       int64
	hasFraction bool
}

// realtimeSpace is what the host trims around a realtime value: space, tab, CR, LF, form feed
// (Rust's is_ascii_whitespace; not \v, not Unicode spaces).
const realtimeSpace = " \t\r\n\f"

var realtimeText = regexp.MustCompile(`^(\d+)(?:\.(\d+))?$`)

// ParseRealtime parses a realtime file's text as the host does: Unix seconds with an optional
// fraction, truncated to nanoseconds without a float, no later than
// 2262-04-11T23:47:16.854775807Z (what int64 nanoseconds hold). It also says whether a
// fraction was present. The shared cases in tests/data/time-cases hold it to the host's
// verdicts.
func ParseRealtime(text string) (nanos int64, hasFraction bool, err error) {
	trimmed := strings.Trim(text, realtimeSpace)
	if trimmed == "" {
		return 0, false, errors.New("the file is empty")
	}
	m := realtimeText.FindStringSubmatch(trimmed)
	if m == nil {
		shown := trimmed
		if len(shown) > 32 {
			shown = shown[:32]
		}
		return 0, false, fmt.Errorf("expected Unix seconds like 1795341747.123456, found %q", shown)
	}
	frac := m[2]
	if len(frac) > 9 {
		frac = frac[:9]
	}
	var ns int64
	for i := range 9 {
		ns *= 10
		if i < len(frac) {
			ns += int64(frac[i] - '0')
		}
	}
	outOfRange := errors.New("the time is out of range (after 2262-04-11T23:47:16.854775807Z)")
	const maxSeconds = int64(math.MaxInt64 / int64(time.Second))
	var secs int64
	for _, c := range m[1] {
		secs = secs*10 + int64(c-'0')
		if secs > maxSeconds {
			return 0, false, outOfRange
		}
	}
	if secs == maxSeconds && ns > math.MaxInt64%int64(time.Second) {
		return 0, false, outOfRange
	}
	return secs*1e9 + ns, m[2] != "", nil
}

func (f *realtimeFile) source() string {
	p := f.path
	if p == "" {
		p = os.Getenv(RealtimeEnv)
	}
	if f.allowStatic {
		return "faketimefs-static:" + p
	}
	return "faketimefs:" + p
}

// read reads the file on a goroutine, waiting at most f.timeout.
func (f *realtimeFile) read(path string) (realtimeSample, error) {
	if since := f.stuck.Load(); since != 0 {
		return realtimeSample{}, fmt.Errorf("%s: a read of the file has not returned for %s (a FIFO nothing writes to, or a wedged FUSE mount)",
			f.source(), time.Since(time.Unix(0, since)).Round(time.Millisecond))
	}
	type result struct {
		sample realtimeSample
		err    error
	}
	done := make(chan result, 1)
	started := time.Now()
	go func() {
		s, err := f.readNow(path)
		done <- result{s, err}
	}()
	timer := time.NewTimer(f.timeout)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.sample, r.err
	case <-timer.C:
		f.stuck.Store(started.UnixNano())
		go func() { <-done; f.stuck.Store(0) }()
		return realtimeSample{}, fmt.Errorf("%s: no answer from the file within %s (a FIFO nothing writes to, or a wedged FUSE mount)", f.source(), f.timeout)
	}
}

// describeMode names a file type as the host's messages do.
func describeMode(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a block device"
	case m&os.ModeSocket != 0:
		return "a socket"
	}
	return "not a file"
}

func (f *realtimeFile) readNow(path string) (realtimeSample, error) {
	opened := time.Now()
	if info, err := os.Stat(path); err == nil && !info.Mode().IsRegular() && info.Mode()&os.ModeNamedPipe == 0 {
		return realtimeSample{}, fmt.Errorf("%s: cannot read the file: it is %s, not a regular file", f.source(), describeMode(info.Mode()))
	}
	file, err := os.Open(path)
	if err != nil {
		return realtimeSample{}, fmt.Errorf("%s: cannot read the file: %w", f.source(), err)
	}
	defer file.Close()
	buf, err := io.ReadAll(io.LimitReader(file, 257))
	if err != nil {
		return realtimeSample{}, fmt.Errorf("%s: cannot read the file: %w", f.source(), err)
	}
	if len(buf) > 256 {
		return realtimeSample{}, fmt.Errorf("%s: longer than 256 bytes: not a realtime file", f.source())
	}
	mono := time.Now()
	nanos, frac, err := ParseRealtime(string(buf))
	if err != nil {
		return realtimeSample{}, fmt.Errorf("%s: %w", f.source(), err)
	}
	return realtimeSample{opened: opened, mono: mono, nanos: nanos, hasFraction: frac}, nil
}

// together says whether b follows a as the monotonic clock says it should: the advance must
// fit the time between the two reads (from the end of a to the start of b, up to from the
// start of a to the end of b), within the file's resolution plus 5 ms plus 1000 ppm. (A
// reader descheduled during a read widens its own bracket instead of calling a live file
// stale.) The host's rule, clock/realtime_file.rs.
func together(a, b realtimeSample) bool {
	advance := b.nanos - a.nanos
	if advance < 0 || b.mono.Before(a.mono) {
		return false
	}
	shortest := max(b.opened.Sub(a.mono).Nanoseconds(), 0)
	longest := max(b.mono.Sub(a.opened).Nanoseconds(), 0)
	var gap int64
	if advance < shortest {
		gap = shortest - advance
	} else if advance > longest {
		gap = advance - longest
	}
	resolution := int64(time.Second)
	if a.hasFraction && b.hasFraction {
		resolution = int64(time.Millisecond)
	}
	return gap <= resolution+5*int64(time.Millisecond)+longest/1000
}

func (f *realtimeFile) now() (time.Time, error) {
	path := f.path
	if path == "" {
		path = os.Getenv(RealtimeEnv)
		if path == "" {
			return time.Time{}, fmt.Errorf("faketimefs: no path given and $%s is not set", RealtimeEnv)
		}
	}
	latest, err := f.read(path)
	if err != nil {
		return time.Time{}, err
	}
	if f.allowStatic {
		return time.Unix(0, latest.nanos).UTC(), nil
	}
	f.mu.Lock()
	anchor := f.anchor
	f.mu.Unlock()
	if anchor != nil && together(*anchor, latest) {
		return time.Unix(0, latest.nanos).UTC(), nil
	}
	// Prove it: a fraction moves within 20 ms, whole seconds within 1.2 s.
	window, step := 1200*time.Millisecond, 50*time.Millisecond
	if latest.hasFraction {
		window, step = 20*time.Millisecond, 2*time.Millisecond
	}
	probe := latest
	for probe.nanos == latest.nanos && probe.mono.Sub(latest.mono) < window {
		time.Sleep(step)
		if probe, err = f.read(path); err != nil {
			return time.Time{}, err
		}
	}
	if probe.nanos != latest.nanos && together(latest, probe) {
		f.mu.Lock()
		f.anchor = &probe
		f.mu.Unlock()
		return time.Unix(0, probe.nanos).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%s: stale snapshot: the value did not advance with the monotonic clock; "+
		"a live libfaketimefs file does (use AllowStatic() to sign with a fixed snapshot)", f.source())
}
