// Package realsig signs AWS requests (SigV4, AWS4-HMAC-SHA256) with the realsig component,
// run by wazero (pure Go, no cgo), at the real time a RealNow source gives.
//
// The signing itself is the realsig core module, embedded (realsig_core.wasm): the same code
// as the CLI, the Rust library and the other bindings. This package supplies the component's
// one import, real-now, and the Go API.
package realsig

//go:generate sh -c "cd ../.. && scripts/derive.sh"

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// coreModule is the realsig component's core module (derived: see the go:generate line).
//
//go:embed realsig_core.wasm
var coreModule []byte

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
	now      RealNow
	cacheDir *string
	pool     int
}

// WithRealNow sets the time source (default: DefaultClock()).
func WithRealNow(now RealNow) Option { return func(c *config) { c.now = now } }

// WithCompilationCacheDir keeps the compiled module in dir, so a new process starts without
// compiling (default: realsig/wazero under os.UserCacheDir, when there is one). "" keeps the
// cache in memory only, shared by the Signers of this process.
func WithCompilationCacheDir(dir string) Option { return func(c *config) { c.cacheDir = &dir } }

// WithPoolSize sets how many idle instances the Signer keeps (default: GOMAXPROCS).
// Concurrent calls beyond it instantiate more and close them afterwards.
func WithPoolSize(n int) Option { return func(c *config) { c.pool = n } }

// Signer signs requests. It is safe for concurrent use: each call takes a module instance from
// a pool. Close it when done.
type Signer struct {
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	pool     chan *instance
	closed   atomic.Bool
}

var (
	cachesMu sync.Mutex
	caches   = map[string]wazero.CompilationCache{}
)

// compilationCache returns the process-wide cache for dir ("" = in memory).
func compilationCache(dir string) (wazero.CompilationCache, error) {
	cachesMu.Lock()
	defer cachesMu.Unlock()
	if c, ok := caches[dir]; ok {
		return c, nil
	}
	var c wazero.CompilationCache
	if dir == "" {
		c = wazero.NewCompilationCache()
	} else {
		var err error
		if c, err = wazero.NewCompilationCacheWithDir(dir); err != nil {
			return nil, err
		}
	}
	caches[dir] = c
	return c, nil
}

func defaultCacheDir() string {
	base, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(base, "realsig", "wazero")
}

// The largest request accepted, by total bytes of its strings: far beyond any real request,
// and well within the memory cap below.
const maxRequestBytes = 16 << 20

// NewSigner compiles (or loads from the cache) the embedded module and prepares the pool.
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
	dir := defaultCacheDir()
	if c.cacheDir != nil {
		dir = *c.cacheDir
	}
	cache, err := compilationCache(dir)
	if err != nil {
		// The cache only saves start-up time: fall back to memory rather than fail.
		if cache, err = compilationCache(""); err != nil {
			return nil, err
		}
	}
	return newSigner(c, cache)
}

func newSigner(c config, cache wazero.CompilationCache) (*Signer, error) {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().
		WithCompilationCache(cache).
		WithMemoryLimitPages(4096)) // 256 MiB per instance
	_, err := rt.NewHostModuleBuilder(importModule).
		NewFunctionBuilder().
		WithGoModuleFunction(realNowFunc(c.now), []api.ValueType{api.ValueTypeI32}, nil).
		Export(importRealNow).
		Instantiate(ctx)
	if err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("realsig: defining %s#%s: %w", importModule, importRealNow, err)
	}
	for _, r := range resourceImports {
		newFn, dropFn := resourceFuncs(r.kind, r.dtor)
		_, err := rt.NewHostModuleBuilder(r.module).
			NewFunctionBuilder().
			WithGoModuleFunction(newFn, []api.ValueType{api.ValueTypeI32}, []api.ValueType{api.ValueTypeI32}).
			Export("[resource-new]"+r.name).
			NewFunctionBuilder().
			WithGoModuleFunction(dropFn, []api.ValueType{api.ValueTypeI32}, nil).
			Export("[resource-drop]" + r.name).
			Instantiate(ctx)
		if err != nil {
			rt.Close(ctx)
			return nil, fmt.Errorf("realsig: defining %s: %w", r.module, err)
		}
	}
	compiled, err := rt.CompileModule(ctx, coreModule)
	if err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("realsig: compiling the embedded module: %w", err)
	}
	s := &Signer{rt: rt, compiled: compiled, pool: make(chan *instance, c.pool)}
	// One instance up front: instantiation problems show here, not on the first Sign.
	in, err := s.instantiate(ctx)
	if err != nil {
		rt.Close(ctx)
		return nil, err
	}
	s.pool <- in
	return s, nil
}

func (s *Signer) instantiate(ctx context.Context) (*instance, error) {
	mod, err := s.rt.InstantiateModule(ctx, s.compiled, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		return nil, fmt.Errorf("realsig: instantiating the module: %w", err)
	}
	in, err := newInstance(mod)
	if err != nil {
		mod.Close(ctx)
		return nil, err
	}
	return in, nil
}

// Close releases the compiled module and every instance. Signing afterwards fails.
func (s *Signer) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.rt.Close(context.Background())
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
	in, err := s.instantiate(ctx)
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
