// Package realsig signs AWS requests (SigV4, AWS4-HMAC-SHA256) with the realsig component,
// in pure Go (no cgo), at the real time a RealNow source gives.
//
// The signing itself is the realsig core module (realsig_core.wasm), translated to Go by
// wasm2go (internal/core): the same code as the CLI, the Rust library and the other
// bindings. This package supplies the component's one import, real-now, and the Go API.
package realsig

//go:generate sh -c "cd ../.. && scripts/derive.sh"

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
)

// Credentials are AWS credentials. Printing them with fmt shows the access key id only.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string // empty for long-term credentials
}

// String redacts the secret and the session token.
func (c Credentials) String() string {
	token := "none"
	if c.SessionToken != "" {
		token = "<redacted>"
	}
	return fmt.Sprintf("Credentials{AccessKeyID: %q, SecretAccessKey: <redacted>, SessionToken: %s}", c.AccessKeyID, token)
}

// GoString redacts like String, for %#v.
func (c Credentials) GoString() string { return c.String() }

// Option configures NewSigner.
type Option func(*config)

type config struct {
	now  RealNow
	pool int
}

// WithRealNow sets the time source (default: DefaultClock()).
func WithRealNow(now RealNow) Option { return func(c *config) { c.now = now } }

// WithCompilationCacheDir does nothing: the module is Go code, compiled with this package, so
// there is nothing to compile at start-up and nothing to cache.
//
// Deprecated: the module is no longer compiled at run time (earlier versions of this package
// ran it in wazero); remove the option.
func WithCompilationCacheDir(dir string) Option { return func(*config) {} }

// WithPoolSize sets how many idle instances the Signer keeps (default: GOMAXPROCS).
// Concurrent calls beyond it instantiate more and close them afterwards.
func WithPoolSize(n int) Option { return func(c *config) { c.pool = n } }

// Signer signs requests. It is safe for concurrent use: each call takes a module instance from
// a pool. Close it when done.
type Signer struct {
	now    RealNow
	pool   chan *instance
	closed atomic.Bool
}

// The largest request accepted, by total bytes of its strings: far beyond any real request,
// and well within an instance's 256 MiB memory cap (scripts/go-core.sh sets it in the module).
const maxRequestBytes = 16 << 20

// NewSigner prepares the pool, with one instance up front.
func NewSigner(opts ...Option) (*Signer, error) {
	c := config{pool: runtime.GOMAXPROCS(0)}
	for _, o := range opts {
		o(&c)
	}
	if c.now == nil {
		c.now = DefaultClock()
	}
	if c.pool < 1 {
		c.pool = 1
	}
	s := &Signer{now: c.now, pool: make(chan *instance, c.pool)}
	// One instance up front: instantiation problems show here, not on the first Sign.
	in, err := s.instantiate()
	if err != nil {
		return nil, err
	}
	s.pool <- in
	return s, nil
}

func (s *Signer) instantiate() (*instance, error) {
	mod, err := newModule(s.now)
	if err != nil {
		return nil, fmt.Errorf("realsig: instantiating the module: %w", err)
	}
	return newInstance(mod)
}

// Close releases every instance. Signing afterwards fails.
func (s *Signer) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	for {
		select {
		case in := <-s.pool:
			in.mod.Close(context.Background())
		default:
			return nil
		}
	}
}

var errClosed = errors.New("realsig: the Signer is closed")

// call runs one signature on a pooled instance.
func (s *Signer) call(ctx context.Context, req *abiRequest, creds *Credentials) (*abiSigned, error) {
	if err := checkSize(req, creds); err != nil {
		return nil, err
	}
	var out *abiSigned
	err := s.with(ctx, func(in *instance) (err error) {
		out, err = in.callSign(ctx, req, creds)
		return err
	})
	return out, err
}

// with runs f on an instance from the pool and puts it back.
func (s *Signer) with(ctx context.Context, f func(*instance) error) error {
	in, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	err = f(in)
	return s.release(ctx, in, err)
}

// acquire takes an idle instance, or instantiates one.
func (s *Signer) acquire(ctx context.Context) (*instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.closed.Load() {
		return nil, errClosed
	}
	select {
	case in := <-s.pool:
		return in, nil
	default:
	}
	in, err := s.instantiate()
	if err != nil && s.closed.Load() {
		return nil, errClosed
	}
	return in, err
}

// release returns in to the pool after a call that ended with err. An instance that failed
// (trap, glue error) is closed, never reused: nothing carries over from a failed call.
func (s *Signer) release(ctx context.Context, in *instance, err error) error {
	if err != nil && errors.Is(err, errGuest) {
		in.mod.Close(ctx)
		if s.closed.Load() {
			return errClosed
		}
		return err
	}
	select {
	case s.pool <- in:
	default:
		in.mod.Close(ctx)
	}
	return err
}

func checkSize(req *abiRequest, creds *Credentials) error {
	n := len(req.method) + len(req.url) + len(req.payload) + len(req.region) + len(req.service) +
		len(creds.AccessKeyID) + len(creds.SecretAccessKey) + len(creds.SessionToken)
	for _, h := range req.headers {
		n += len(h.Name) + len(h.Value) + headerSize
	}
	if n > maxRequestBytes {
		return &SignError{Code: CodeInvalidOption, Message: fmt.Sprintf(
			"the request is too large to sign: %d bytes of method, URL, headers and credentials (the limit is %d)", n, maxRequestBytes)}
	}
	return nil
}
