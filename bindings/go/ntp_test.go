package realsig

// The NTP source against chronyd and a scripted responder on 127.0.0.1.

import (
	"context"
	"encoding/binary"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestNTPChrony(t *testing.T) {
	c := NewNTPClock([]string{startChrony(t, true, "")})
	got, err := c.Now()
	if err != nil {
		t.Fatal(err)
	}
	near(t, got, time.Now(), 100*time.Millisecond)
	if u := c.Uncertainty(); u <= 0 || u > 50*time.Millisecond {
		t.Fatalf("uncertainty %s", u)
	}
}

// chronyd under libfaketime +2d serves that time; the client believes the server.
func TestNTPChronyFakedAhead(t *testing.T) {
	got, err := NTP(startChrony(t, true, "+2d"))()
	if err != nil {
		t.Fatal(err)
	}
	near(t, got, time.Now().Add(48*time.Hour), time.Second)
}

func TestNTPChronyUnsynchronised(t *testing.T) {
	_, err := NTP(startChrony(t, false, ""))()
	if err == nil || !strings.Contains(err.Error(), "unsynchronised") {
		t.Fatalf("got %v", err)
	}
}

func TestNTPScriptedGoodReply(t *testing.T) {
	srv := startScriptedNTP(t, goodReply(time.Hour))
	s := testSigner(t, WithRealNow(NTP(srv.addr)))
	out, err := s.SignRequest(context.Background(), goodRequest(), testCreds)
	if err != nil {
		t.Fatal(err)
	}
	near(t, out.SigningTime, time.Now().Add(time.Hour), 50*time.Millisecond)
}

func TestNTPRejections(t *testing.T) {
	for name, c := range map[string]struct {
		r    reply
		want string
	}{
		"wrong origin":  {edited(func(b []byte) { binary.BigEndian.PutUint64(b[24:], 0x0123456789abcdef) }), "origin timestamp"},
		"client mode":   {edited(func(b []byte) { b[0] = 4<<3 | 3 }), "mode"},
		"stratum 16":    {edited(func(b []byte) { b[1] = 16 }), "stratum"},
		"zero transmit": {edited(func(b []byte) { clear(b[40:48]) }), ""},
		"leap unsynced": {edited(func(b []byte) { b[0] = 3<<6 | 4<<3 | 4 }), "leap"},
		"far root":      {edited(func(b []byte) { binary.BigEndian.PutUint32(b[8:], 2<<16) }), "root distance"},
		"short reply":   {func(req []byte) []byte { return goodReply(0)(req)[:20] }, ""},
		"unsynced s0":   {edited(func(b []byte) { b[1] = 0; copy(b[12:], []byte{0, 0, 0, 0}) }), "unsynchronised"},
	} {
		t.Run(name, func(t *testing.T) {
			srv := startScriptedNTP(t, c.r)
			_, err := NewNTPClock([]string{srv.addr}, NTPTimeout(300*time.Millisecond)).Now()
			if err == nil || !strings.Contains(strings.ToLower(err.Error()), c.want) || !strings.Contains(err.Error(), srv.addr) {
				t.Fatalf("got %v, want an error naming %s and saying %q", err, srv.addr, c.want)
			}
			if testing.Verbose() {
				t.Log(err)
			}
		})
	}
	// The baseline: the same responder with no edit is accepted, so none of the above passes
	// for a reason of its own.
	if _, err := NTP(startScriptedNTP(t, goodReply(0)).addr)(); err != nil {
		t.Fatal(err)
	}
}

func TestNTPKissCodes(t *testing.T) {
	for _, code := range []string{"RATE", "DENY", "RSTR"} {
		t.Run(code, func(t *testing.T) {
			srv := startScriptedNTP(t, kiss(code))
			c := NewNTPClock([]string{srv.addr}, NTPMinPoll(0))
			_, err := c.Now()
			if err == nil || !strings.Contains(err.Error(), code) {
				t.Fatalf("got %v", err)
			}
			_, err = c.Now()
			want := map[string]string{"RATE": "rate-limited", "DENY": "retired", "RSTR": "retired"}[code]
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("second read: got %v, want %q", err, want)
			}
			if n := srv.requests.Load(); n != 1 {
				t.Fatalf("the server was asked %d times after %s", n, code)
			}
		})
	}
}

func TestNTPSilenceAndMinPoll(t *testing.T) {
	srv := startScriptedNTP(t, func([]byte) []byte { return nil })
	c := NewNTPClock([]string{srv.addr}, NTPTimeout(300*time.Millisecond))
	start := time.Now()
	_, err := c.Now()
	if took := time.Since(start); err == nil || took < 250*time.Millisecond || took > 1500*time.Millisecond {
		t.Fatalf("got %v after %s", err, took)
	}
	for range 4 {
		if _, err := c.Now(); err == nil || !strings.Contains(err.Error(), "min poll") {
			t.Fatalf("got %v", err)
		}
	}
	if n := srv.requests.Load(); n != 1 {
		t.Fatalf("a silent server was asked %d times in 5 reads (min poll 16 s)", n)
	}
}

func TestNTPReadsDoNotQuery(t *testing.T) {
	srv := startScriptedNTP(t, goodReply(0))
	c := NewNTPClock([]string{srv.addr})
	for range 10_000 {
		if _, err := c.Now(); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.requests.Load(); n != 1 {
		t.Fatalf("10,000 reads sent %d requests", n)
	}
}

func TestNTPMajority(t *testing.T) {
	a := startScriptedNTP(t, goodReply(0))
	b := startScriptedNTP(t, goodReply(time.Hour))
	c := startScriptedNTP(t, goodReply(0))
	got, err := NTP(a.addr, b.addr, c.addr)()
	if err != nil {
		t.Fatal(err)
	}
	near(t, got, time.Now(), 50*time.Millisecond)
}

// TestNTPSurvivesSuspend simulates an 8-hour suspend with injected clocks: the clock the
// estimate is aged on (CLOCK_BOOTTIME in production) jumps 8 hours, and the server's time
// is now 8 hours ahead of this process's (a VM whose clock stood still while it slept).
// The estimate must be re-synced before the next read, not extrapolated from before the
// sleep; on CLOCK_MONOTONIC (Go's monotonic clock) that read came back 8 hours behind.
func TestNTPSurvivesSuspend(t *testing.T) {
	var offset atomic.Int64
	srv := startScriptedNTP(t, func(req []byte) []byte { return goodReply(time.Duration(offset.Load()))(req) })
	c := NewNTPClock([]string{srv.addr})
	var boot atomic.Int64
	boot.Store(int64(time.Hour))
	c.since = func() time.Duration { return time.Duration(boot.Load()) }

	got, err := c.Now()
	if err != nil {
		t.Fatal(err)
	}
	near(t, got, time.Now(), 50*time.Millisecond)

	const sleep = 8 * time.Hour
	boot.Add(int64(sleep))
	offset.Store(int64(sleep))
	got, err = c.Now()
	if err != nil {
		t.Fatal(err)
	}
	near(t, got, time.Now().Add(sleep), 50*time.Millisecond)
	if n := srv.requests.Load(); n != 2 {
		t.Fatalf("the server was asked %d times, want 2 (once before the suspend, once after)", n)
	}
}

// TestSinceBootCountsLikeTheMonotonicClock checks the production clock is a clock: it
// advances with Go's monotonic clock while the machine is awake.
func TestSinceBootCountsLikeTheMonotonicClock(t *testing.T) {
	// Each boot reading is bracketed by monotonic ones, so a descheduled test widens the
	// bracket instead of failing: the boot clock's advance must lie within it (±1 ms).
	m0a, b0, m0b := time.Now(), sinceBoot(), time.Now()
	time.Sleep(50 * time.Millisecond)
	m1a, b1, m1b := time.Now(), sinceBoot(), time.Now()
	db, lo, hi := b1-b0, m1a.Sub(m0b), m1b.Sub(m0a)
	if db < lo-time.Millisecond || db > hi+time.Millisecond {
		t.Fatalf("boot clock advanced %s while the monotonic clock advanced %s to %s", db, lo, hi)
	}
}
