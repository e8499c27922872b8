package realsig

// NTP as a RealNow source, with the reference host's checks and policy
// (host/src/clock/ntp/packet.rs and mod.rs): a random origin nonce matched on reply, mode 4,
// version 1..4, Kiss-o'-Death codes (DENY/RSTR retire the server, RATE backs off), leap
// indicator 3, stratum 16, a zero transmit timestamp, root distance <= 1.5 s, era-safe
// wrapping differences; per-server min-poll, majority selection across servers, and an
// estimate anchored to a clock that counts suspend between queries. Every reply case in
// ../../tests/data/time-cases/ntp-reply.json gets the host's verdict (timecases_test.go).
//
// The packet is written and checked here rather than by github.com/beevik/ntp (1.5.0, which
// this module used before), because its checks are not the host's and it does not expose a
// reply's bytes, so the shared cases could not be run against it. Read from its source: it
// checks no version, tests a zero transmit before the origin, refuses a transmit before the
// receive, a reference time more than 36 hours before the transmit or after it (so a zero
// reference timestamp, which the host accepts), and allows a root distance up to 16 s.
//
// Why not Go's monotonic clock: on Linux it is CLOCK_MONOTONIC, which stops while the machine
// is suspended. An estimate extrapolated on it, and aged on it, came back from an 8-hour sleep
// 8 hours behind and still "fresh" (the seed scenario: a laptop sleeps, its clock falls behind).
// The estimate is anchored to CLOCK_BOOTTIME instead (sinceBoot, boottime_linux.go), which
// keeps counting through a suspend, as the reference host's is.

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"time"
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
	r, t1, t4, err := exchange(s.addr, c.timeout)
	anchor := c.since() // at the reply, as t4
	if err != nil {
		var rej *ntpRejection
		if errors.As(err, &rej) && rej.code == "kiss-of-death" {
			switch rej.kiss {
			case "RATE":
				c.mu.Lock()
				s.backoff = min(max(2*s.backoff, rateBackoffMin), rateBackoffMax)
				s.notBefore = anchor + s.backoff
				c.mu.Unlock()
				return nil, fmt.Errorf("%w: backing off %s", err, s.backoff)
			case "DENY", "RSTR":
				c.mu.Lock()
				s.retired = rej.kiss
				c.mu.Unlock()
				return nil, fmt.Errorf("%w: server retired", err)
			}
		}
		return nil, err
	}
	c.mu.Lock()
	s.backoff = 0
	c.mu.Unlock()
	// offset = ((T2 - T1) + (T3 - T4)) / 2; delay = (T4 - T1) - (T3 - T2)
	n1, n4 := toNTPTime(t1), toNTPTime(t4)
	offset := (nanosBetween(r.receive, n1) + nanosBetween(r.transmit, n4)) / 2
	delay := max(nanosBetween(n4, n1)-nanosBetween(r.transmit, r.receive), 0)
	// dist is the host's uncertainty of a sample: half the round trip plus the root distance.
	dist := time.Duration(delay)/2 + r.rootDistance
	return &ntpSample{server: s.addr, offset: time.Duration(offset), delay: time.Duration(delay), dist: dist,
		anchor: anchor, wall: t4.Round(0)}, nil
}

// exchange sends one request to addr ("host" or "host:port", port 123 by default) and checks
// the one reply, waited for at most timeout. It returns the reply and the client's send and
// receive times (time.Now).
func exchange(addr string, timeout time.Duration) (*ntpReply, time.Time, time.Time, error) {
	var zero time.Time
	hostPort := addr
	if _, _, err := net.SplitHostPort(addr); err != nil {
		hostPort = net.JoinHostPort(strings.Trim(addr, "[]"), "123")
	}
	deadline := time.Now().Add(timeout)
	// Connected: the kernel drops datagrams from any other address or port.
	conn, err := net.DialTimeout("udp", hostPort, timeout)
	if err != nil {
		return nil, zero, zero, err
	}
	defer conn.Close()
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, zero, zero, err
	}
	var nb [8]byte
	if _, err := rand.Read(nb[:]); err != nil {
		return nil, zero, zero, err
	}
	nonce := binary.BigEndian.Uint64(nb[:])
	req := make([]byte, ntpPacketLen)
	req[0] = 4<<3 | 3 // LI 0, version 4, mode 3 (client)
	binary.BigEndian.PutUint64(req[40:], nonce)
	t1 := time.Now()
	if _, err := conn.Write(req); err != nil {
		return nil, zero, zero, err
	}
	buf := make([]byte, 2*ntpPacketLen)
	n, err := conn.Read(buf)
	t4 := time.Now()
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, zero, zero, fmt.Errorf("no reply within %s", timeout)
		}
		return nil, zero, zero, err
	}
	r, err := parseReply(buf[:n], nonce)
	return r, t1, t4, err
}

const (
	ntpPacketLen  = 48
	ntpUnixOffset = 2_208_988_800 // seconds from 1900 to 1970
)

// ntpRejection is why a reply is not a usable time; code names the check as the shared cases
// do (truncated, wrong-mode, bad-version, origin-mismatch, kiss-of-death, unsynchronised,
// stratum, zero-transmit, root-distance), and kiss is a Kiss-o'-Death code.
type ntpRejection struct{ code, kiss, msg string }

func (r *ntpRejection) Error() string { return r.msg }

// ntpReply holds the fields of a reply that passed every check of parseReply.
type ntpReply struct {
	stratum           uint8
	rootDistance      time.Duration // root delay / 2 + root dispersion
	receive, transmit uint64        // T2 and T3, 32.32 NTP timestamps
}

// parseReply checks a reply to the request that carried nonce, in the host's order.
func parseReply(b []byte, nonce uint64) (*ntpReply, error) {
	if len(b) < ntpPacketLen {
		return nil, &ntpRejection{code: "truncated", msg: fmt.Sprintf("truncated reply (%d bytes, need %d)", len(b), ntpPacketLen)}
	}
	leap, version, mode, stratum := b[0]>>6, (b[0]>>3)&7, b[0]&7, b[1]
	if mode != 4 {
		return nil, &ntpRejection{code: "wrong-mode", msg: fmt.Sprintf("reply has mode %d, not 4 (server)", mode)}
	}
	if version < 1 || version > 4 {
		return nil, &ntpRejection{code: "bad-version", msg: fmt.Sprintf("reply has NTP version %d", version)}
	}
	// Before anything the server says about itself: a packet that does not answer our
	// request must not be able to make us stop using a server.
	if binary.BigEndian.Uint64(b[24:]) != nonce {
		return nil, &ntpRejection{code: "origin-mismatch", msg: "reply's origin timestamp is not the one we sent"}
	}
	unsynchronised := &ntpRejection{code: "unsynchronised", msg: "server is unsynchronised (leap indicator 3)"}
	if stratum == 0 {
		// chrony without a reference answers stratum 0 with RefID 0: that is "no time", not a
		// kiss. Kiss codes are printable ASCII.
		code := b[12:16]
		for _, c := range code {
			if c <= 0x20 || c >= 0x7f {
				return nil, unsynchronised
			}
		}
		return nil, &ntpRejection{code: "kiss-of-death", kiss: string(code), msg: "server sent Kiss-o'-Death " + string(code)}
	}
	if leap == 3 {
		return nil, unsynchronised
	}
	if stratum > 15 {
		return nil, &ntpRejection{code: "stratum", msg: fmt.Sprintf("server stratum %d is unsynchronised", stratum)}
	}
	transmit := binary.BigEndian.Uint64(b[40:])
	if transmit == 0 {
		return nil, &ntpRejection{code: "zero-transmit", msg: "reply has a zero transmit timestamp"}
	}
	short := func(v uint32) time.Duration { return time.Duration((uint64(v) * 1e9) >> 16) }
	dist := short(binary.BigEndian.Uint32(b[4:]))/2 + short(binary.BigEndian.Uint32(b[8:]))
	if dist > maxRootDistance {
		return nil, &ntpRejection{code: "root-distance",
			msg: fmt.Sprintf("server's root distance %d ms exceeds %d ms", dist.Milliseconds(), maxRootDistance.Milliseconds())}
	}
	return &ntpReply{stratum: stratum, rootDistance: dist, receive: binary.BigEndian.Uint64(b[32:]), transmit: transmit}, nil
}

// toNTPTime is t as a 32.32 NTP timestamp (the era is dropped).
func toNTPTime(t time.Time) uint64 {
	secs := (uint64(t.Unix()) + ntpUnixOffset) & 0xffffffff
	frac := (uint64(t.Nanosecond()) << 32) / 1e9
	return secs<<32 | frac
}

// nanosBetween is a - b in nanoseconds, era-safe: the wrapping 64-bit difference read as
// signed, the short way round (right while the two clocks are within 68 years).
func nanosBetween(a, b uint64) int64 {
	d := int64(a - b)
	secs, frac := d>>32, d&0xffffffff // d = secs*2^32 + frac, 0 <= frac < 2^32
	return secs*1e9 + (frac*1e9)>>32
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
