package realsig

// NTP as a RealNow source. Packets are built and checked by github.com/beevik/ntp (random
// origin timestamp matched on reply, mode, kiss-o'-death codes, stratum, leap indicator,
// dispersion); this file adds the reference host's policy on top: a 1.5 s root-distance
// limit, a zero-transmit check, per-server min-poll and kiss handling, majority selection
// across servers, and an estimate anchored to a clock that counts suspend between queries.
//
// Why not Go's monotonic clock: on Linux it is CLOCK_MONOTONIC, which stops while the machine
// is suspended. An estimate extrapolated on it, and aged on it, came back from an 8-hour sleep
// 8 hours behind and still "fresh" (the seed scenario: a laptop sleeps, its clock falls behind).
// The estimate is anchored to CLOCK_BOOTTIME instead (sinceBoot, boottime_linux.go), which
// keeps counting through a suspend, as the reference host's is.

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/beevik/ntp"
)

// NTPOption configures NewNTPClock.
type NTPOption func(*NTPClock)

// NTPTimeout bounds one query (default 1 s).
func NTPTimeout(d time.Duration) NTPOption { return func(c *NTPClock) { c.timeout = d } }

// NTPPollInterval is how old the estimate may grow before a read starts a background
// re-sync (default 64 s).
func NTPPollInterval(d time.Duration) NTPOption { return func(c *NTPClock) { c.poll = d } }

// NTPMaxAge is how old the estimate may grow before reads block on a re-sync and fail if it
// fails (default 1024 s).
func NTPMaxAge(d time.Duration) NTPOption { return func(c *NTPClock) { c.maxAge = d } }

// NTPMinPoll is the least time between two queries to one server (default 16 s).
func NTPMinPoll(d time.Duration) NTPOption { return func(c *NTPClock) { c.minPoll = d } }

const (
	maxRootDistance = 1500 * time.Millisecond
	driftPPM        = 15 // how fast the uncertainty grows, per million
	rateBackoffMin  = 64 * time.Second
	rateBackoffMax  = 1024 * time.Second
)

// NTPClock reads the real time from NTP servers. Use its Now method as a RealNow.
type NTPClock struct {
	timeout, poll, maxAge, minPoll time.Duration
	servers                        []*ntpServer
	// since is the clock estimates are anchored to and aged on: sinceBoot, or a test's.
	since func() time.Duration

	mu       sync.Mutex
	est      *ntpEstimate
	inflight chan struct{} // closed when the running sync ends; nil when none runs
	lastErr  error
}

type ntpServer struct {
	addr      string
	asked     bool
	lastQuery time.Duration // on c.since
	notBefore time.Duration // RATE backoff, on c.since
	backoff   time.Duration
	retired   string // DENY or RSTR: never asked again
}

type ntpEstimate struct {
	anchor      time.Duration // c.since() when the reply arrived
	real        time.Time     // the real time at anchor
	uncertainty time.Duration
	server      string
}

// NewNTPClock asks servers ("host" or "host:port"; port 123 by default). Nothing is sent
// until the first read.
func NewNTPClock(servers []string, opts ...NTPOption) *NTPClock {
	c := &NTPClock{timeout: time.Second, poll: 64 * time.Second, maxAge: 1024 * time.Second, minPoll: 16 * time.Second, since: sinceBoot}
	for _, s := range servers {
		c.servers = append(c.servers, &ntpServer{addr: s})
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// NTP is NewNTPClock(servers).Now: a RealNow reading the given servers.
func NTP(servers ...string) RealNow { return NewNTPClock(servers).Now }

// Now returns the real time extrapolated from the last NTP estimate, syncing first when there
// is none or it is older than the max age.
func (c *NTPClock) Now() (time.Time, error) {
	if len(c.servers) == 0 {
		return time.Time{}, errors.New("ntp: no servers given")
	}
	c.mu.Lock()
	est := c.est
	if est != nil {
		age := c.since() - est.anchor
		if age < c.maxAge {
			if age >= c.poll {
				c.startSync() // refresh in the background; this read uses the estimate
			}
			c.mu.Unlock()
			return est.real.Add(age), nil
		}
	}
	done := c.startSync()
	c.mu.Unlock()
	<-done
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.est == nil || c.since()-c.est.anchor >= c.maxAge {
		return time.Time{}, fmt.Errorf("ntp: %w", c.lastErr)
	}
	return c.est.real.Add(c.since() - c.est.anchor), nil
}

// Uncertainty bounds the error of Now's current estimate (0 before the first sync).
func (c *NTPClock) Uncertainty() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.est == nil {
		return 0
	}
	return c.est.uncertainty + (c.since()-c.est.anchor)*driftPPM/1e6
}

// startSync starts a sync unless one runs (single flight) and returns its done channel.
// Called with c.mu held.
func (c *NTPClock) startSync() chan struct{} {
	if c.inflight != nil {
		return c.inflight
	}
	done := make(chan struct{})
	c.inflight = done
	go func() {
		est, err := c.sync()
		c.mu.Lock()
		if est != nil {
			c.est = est
		}
		c.lastErr = err
		c.inflight = nil
		c.mu.Unlock()
		close(done)
	}()
	return done
}

type ntpSample struct {
	server string
	offset time.Duration
	delay  time.Duration
	dist   time.Duration
	anchor time.Duration // c.since() at the reply
	wall   time.Time     // time.Now() at the same moment, monotonic reading stripped
}

// sync asks every eligible server at once (the lock is not held meanwhile) and picks one
// sample: those whose interval offset±distance overlaps a majority's, then the least delay.
func (c *NTPClock) sync() (*ntpEstimate, error) {
	c.mu.Lock()
	now := c.since()
	var ask []*ntpServer
	var skipped []string
	for _, s := range c.servers {
		switch {
		case s.retired != "":
			skipped = append(skipped, fmt.Sprintf("%s: retired after kiss-o'-death %s", s.addr, s.retired))
		case now < s.notBefore:
			skipped = append(skipped, fmt.Sprintf("%s: rate-limited (RATE), next query in %s", s.addr, (s.notBefore-now).Round(time.Second)))
		case s.asked && now-s.lastQuery < c.minPoll:
			skipped = append(skipped, fmt.Sprintf("%s: asked %s ago (min poll %s)", s.addr, (now-s.lastQuery).Round(time.Millisecond), c.minPoll))
		default:
			s.asked, s.lastQuery = true, now
			ask = append(ask, s)
		}
	}
	c.mu.Unlock()

	samples := make([]*ntpSample, len(ask))
	errs := make([]error, len(ask))
	var wg sync.WaitGroup
	for i, s := range ask {
		wg.Add(1)
		go func() {
			defer wg.Done()
			samples[i], errs[i] = c.query(s)
		}()
	}
	wg.Wait()

	var got []*ntpSample
	reasons := skipped
	for i, s := range ask {
		if errs[i] != nil {
			reasons = append(reasons, fmt.Sprintf("%s: %v", s.addr, errs[i]))
		} else {
			got = append(got, samples[i])
		}
	}
	best := selectSample(got)
	if best == nil {
		if len(got) > 0 {
			reasons = append(reasons, "no majority of servers agree")
		}
		return nil, errors.New(strings.Join(reasons, "; "))
	}
	return &ntpEstimate{
		anchor:      best.anchor,
		real:        best.wall.Add(best.offset),
		uncertainty: best.dist,
		server:      best.server,
	}, nil
}

// query asks one server and applies the checks and kiss handling.
func (c *NTPClock) query(s *ntpServer) (*ntpSample, error) {
	r, err := ntp.QueryWithOptions(s.addr, ntp.QueryOptions{Timeout: c.timeout})
	anchor, wall := c.since(), time.Now().Round(0)
	if err != nil {
		return nil, err
	}
	if r.Stratum == 0 {
		switch r.KissCode {
		case "RATE":
			c.mu.Lock()
			s.backoff = min(max(2*s.backoff, rateBackoffMin), rateBackoffMax)
			s.notBefore = anchor + s.backoff
			c.mu.Unlock()
			return nil, fmt.Errorf("kiss-o'-death RATE: backing off %s", s.backoff)
		case "DENY", "RSTR":
			c.mu.Lock()
			s.retired = r.KissCode
			c.mu.Unlock()
			return nil, fmt.Errorf("kiss-o'-death %s: server retired", r.KissCode)
		case "":
			return nil, errors.New("unsynchronised (stratum 0)")
		default:
			return nil, fmt.Errorf("kiss-o'-death %s", r.KissCode)
		}
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if r.Time.Year() < 2000 {
		return nil, errors.New("zero transmit timestamp")
	}
	if r.RootDistance > maxRootDistance {
		return nil, fmt.Errorf("root distance %s exceeds %s", r.RootDistance, maxRootDistance)
	}
	c.mu.Lock()
	s.backoff = 0
	c.mu.Unlock()
	return &ntpSample{server: s.addr, offset: r.ClockOffset, delay: r.RTT, dist: r.RootDistance, anchor: anchor, wall: wall}, nil
}

// selectSample keeps the samples whose intervals overlap more than half of all samples'
// (each overlaps itself), then takes the least delay.
func selectSample(samples []*ntpSample) *ntpSample {
	var ok []*ntpSample
	for _, a := range samples {
		n := 0
		for _, b := range samples {
			if a.offset-a.dist <= b.offset+b.dist && b.offset-b.dist <= a.offset+a.dist {
				n++
			}
		}
		if 2*n > len(samples) {
			ok = append(ok, a)
		}
	}
	if len(ok) == 0 {
		return nil
	}
	sort.Slice(ok, func(i, j int) bool { return ok[i].delay < ok[j].delay })
	return ok[0]
}
