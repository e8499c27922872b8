package realsig

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func near(t *testing.T, got, want time.Time, within time.Duration) {
	t.Helper()
	if d := got.Sub(want); d > within || d < -within {
		t.Fatalf("got %s, want %s within %s (off by %s)", got.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano), within, d)
	}
}

func TestParseRealtime(t *testing.T) {
	for _, c := range []struct {
		text  string
		nanos int64
		frac  bool
	}{
		{"1795341747", 1795341747_000000000, false},
		{"1795341747\n", 1795341747_000000000, false},
		{" 1795341747.5 ", 1795341747_500000000, true},
		{"1795341747.12345678901234567890123456789012", 1795341747_123456789, true},
		{"0.000000001", 1, true},
	} {
		nanos, frac, err := ParseRealtime(c.text)
		if err != nil || nanos != c.nanos || frac != c.frac {
			t.Errorf("%q: got %d %v %v, want %d %v", c.text, nanos, frac, err, c.nanos, c.frac)
		}
	}
	for _, bad := range []string{"", "  \n", "abc", "1795341747.", ".5", "-1", "1e9", "1795341747 1", "99999999999999999999"} {
		if _, _, err := ParseRealtime(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

func TestRealtimeFileLive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "realtime")
	startRealtimeWriter(t, path, time.Hour, false) // the file, not the process clock, is the truth
	now := RealtimeFile(path)
	got, err := now()
	if err != nil {
		t.Fatal(err)
	}
	near(t, got, time.Now().Add(time.Hour), 50*time.Millisecond)
	for range 100 { // proven once; later reads stay in step without probing
		if _, err := now(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRealtimeFileWholeSeconds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "realtime")
	startRealtimeWriter(t, path, 0, true)
	got, err := RealtimeFile(path)()
	if err != nil {
		t.Fatal(err)
	}
	near(t, got, time.Now(), 1100*time.Millisecond)
}

func TestRealtimeFileRefusals(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for name, c := range map[string]struct {
		path, want string
	}{
		"stale fraction": {write("stale", "1700000000.123456789"), "stale snapshot"},
		"stale integer":  {write("stale-int", "1700000000\n"), "stale snapshot"},
		"garbage":        {write("garbage", "not a time"), "expected Unix seconds"},
		"empty":          {write("empty", ""), "the file is empty"},
		"too long":       {write("long", strings.Repeat("1", 300)), "longer than 256 bytes"},
		"missing":        {filepath.Join(dir, "missing"), "cannot read the file"},
		"directory":      {dir, "cannot read the file"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := RealtimeFile(c.path)()
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "faketimefs:"+c.path) {
				t.Fatalf("got %v, want an error naming the file and saying %q", err, c.want)
			}
		})
	}
	got, err := RealtimeFile(filepath.Join(dir, "stale"), AllowStatic())()
	if err != nil || !got.Equal(time.Unix(1700000000, 123456789)) {
		t.Fatalf("AllowStatic: %s %v", got, err)
	}
}

func TestASlowReadWidensTheBracketAndNothingElse(t *testing.T) {
	base := time.Now()
	sample := func(openedMs, doneMs, nanos int64) realtimeSample {
		return realtimeSample{
			opened:      base.Add(time.Duration(openedMs) * time.Millisecond),
			mono:        base.Add(time.Duration(doneMs) * time.Millisecond),
			nanos:       nanos,
			hasFraction: true,
		}
	}
	t0 := int64(1000 * time.Second)
	first := sample(0, 0, t0)
	ms := int64(time.Millisecond)
	// The second read took 30 ms (the reader was descheduled): 20 to 50 ms passed, 21 fits.
	if !together(first, sample(20, 50, t0+21*ms)) {
		t.Error("a slow read of a live file was called stale")
	}
	if together(first, sample(50, 50, t0+21*ms)) {
		t.Error("a point read 29 ms off was accepted")
	}
	if together(first, sample(20, 50, t0)) {
		t.Error("a value that stood still was accepted")
	}
	if together(first, sample(20, 50, t0+60*ms)) {
		t.Error("a value ahead of the longest interval was accepted")
	}
}

func TestRealtimeFileThatFreezesIsCaught(t *testing.T) {
	path := filepath.Join(t.TempDir(), "realtime")
	stop := startRealtimeWriter(t, path, 0, false)
	now := RealtimeFile(path)
	if _, err := now(); err != nil {
		t.Fatal(err)
	}
	stop()
	time.Sleep(30 * time.Millisecond)
	if _, err := now(); err == nil || !strings.Contains(err.Error(), "stale snapshot") {
		t.Fatalf("a frozen file was accepted: %v", err)
	}
}

func TestDefaultClockUsesTheRealtimeFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "realtime")
	// Whole seconds: the reader's tolerance is then 1 s, so a busy machine cannot make this
	// test's writer look stale and the chain fall through to the raw clock.
	startRealtimeWriter(t, path, -72*time.Hour, true)
	t.Setenv(RealtimeEnv, path)
	s := testSigner(t) // DefaultClock
	out, err := s.SignRequest(context.Background(), goodRequest(), testCreds)
	if err != nil {
		t.Fatal(err)
	}
	near(t, out.SigningTime, time.Now().Add(-72*time.Hour), 1100*time.Millisecond)

	t.Setenv(RealtimeEnv, filepath.Join(t.TempDir(), "gone"))
	s2 := testSigner(t, WithRealNow(Chain(RealtimeFile(""))))
	if _, err := s2.SignRequest(context.Background(), goodRequest(), testCreds); !errors.Is(err, ErrClockUnavailable) || !strings.Contains(err.Error(), "gone") {
		t.Fatalf("got %v", err)
	}
}

// The Go runtime reads the clock through the vDSO, not libc: libfaketime, preloaded into this
// (dynamically linked, cgo) test binary, fakes `date` but not RawClock. The child half runs
// in a re-executed test binary.
func TestRawClockIgnoresLibfaketime(t *testing.T) {
	if os.Getenv("REALSIG_FAKETIME_CHILD") == "1" {
		defer removeFaketimeShm(os.Getpid()) // a Go program never runs libfaketime's own cleanup
		s := testSigner(t, WithRealNow(RawClock()), WithCompilationCacheDir(""))
		out, err := s.SignRequest(context.Background(), goodRequest(), testCreds)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("REALSIG_CHILD %d\n", out.SigningTime.Unix())
		return
	}
	env := append(os.Environ(), "LD_PRELOAD="+libfaketime(t), "FAKETIME=-3d")
	date := exec.Command("date", "+%s")
	date.Env = env
	dateOut, err := date.Output()
	if err != nil {
		t.Fatal(err)
	}
	faked, _ := strconv.ParseInt(strings.TrimSpace(string(dateOut)), 10, 64)
	if d := time.Now().Unix() - faked; d < 3*86400-5 || d > 3*86400+5 {
		t.Fatalf("libfaketime is not in effect: date says %d, %d s from now", faked, d)
	}
	child := exec.Command(os.Args[0], "-test.run=^TestRawClockIgnoresLibfaketime$", "-test.count=1")
	child.Env = append(env, "REALSIG_FAKETIME_CHILD=1")
	out, err := child.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	_, after, ok := strings.Cut(string(out), "REALSIG_CHILD ")
	if !ok {
		t.Fatalf("child printed no time:\n%s", out)
	}
	signed, _ := strconv.ParseInt(strings.Fields(after)[0], 10, 64)
	if d := time.Now().Unix() - signed; d < -2 || d > 5 {
		t.Fatalf("under FAKETIME=-3d the child signed at %d, %d s from the real time", signed, d)
	}
}

// TestRealtimeFileNeverHangs: a FIFO nothing writes to used to block the signer forever in
// os.Open. Each read now has a deadline, later reads fail at once while it is stuck, a chain
// moves on to the next source, and a device is refused.
func TestRealtimeFileNeverHangs(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	src := RealtimeFile(fifo, RealtimeTimeout(300*time.Millisecond))
	start := time.Now()
	if _, err := src(); err == nil || !strings.Contains(err.Error(), "no answer from the file within 300ms") {
		t.Fatalf("got %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("took %s", took)
	}
	start = time.Now()
	if _, err := src(); err == nil || !strings.Contains(err.Error(), "has not returned for") {
		t.Fatalf("got %v", err)
	}
	if took := time.Since(start); took >= 300*time.Millisecond {
		t.Fatalf("a second read waited %s behind the stuck one (its own deadline is 300 ms)", took)
	}
	got, err := Chain(RealtimeFile(fifo, RealtimeTimeout(100*time.Millisecond)), RawClock())()
	if err != nil {
		t.Fatal(err)
	}
	near(t, got, time.Now(), time.Second)
	if _, err := RealtimeFile("/dev/zero")(); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("got %v", err)
	}
	// Release the blocked opens: a writer that closes at once gives them end of file.
	w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err == nil {
		w.Close()
	}
}
