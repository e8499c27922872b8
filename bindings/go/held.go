package realsig

import (
	"context"
	"errors"
	"runtime"
	"sync"
)

// held is a resource of the component (a chunk signer, a message signer) and the instance it
// lives in. The instance leaves the pool for the resource's life: a resource is state in one
// instance's memory. Calls on it are serialised.
type held struct {
	mu      sync.Mutex
	s       *Signer
	in      *instance // nil once closed
	rep     uint32
	dtor    string
	what    string
	cleanup runtime.Cleanup
}

// hold takes an instance from the pool and runs create on it, which returns the new
// resource's rep. On failure the instance goes back (or, if it failed, is closed).
func (s *Signer) hold(ctx context.Context, h *held, dtor, what string, create func(*instance) (uint32, error)) error {
	in, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	rep, err := create(in)
	if err != nil {
		return s.release(ctx, in, err)
	}
	*h = held{s: s, in: in, rep: rep, dtor: dtor, what: what}
	return nil
}

// watch closes the instance of a resource its holder forgot to Close, once the holder is
// unreachable. The instance is closed, not pooled: the resource in it was never ended.
func watch[T any](holder *T, h *held) {
	h.cleanup = runtime.AddCleanup(holder, func(in *instance) { in.mod.Close(context.Background()) }, h.in)
}

// use runs f with the instance and the rep. After a failure of the instance (a trap) the
// resource is gone: later calls say so.
func (h *held) use(ctx context.Context, f func(in *instance, rep uint32) error) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.in == nil {
		return &SignError{Code: CodeInvalidOption, Message: "this " + h.what + " was closed"}
	}
	if h.s.closed.Load() {
		return errClosed
	}
	err := f(h.in, h.rep)
	if err != nil && errors.Is(err, errGuest) {
		h.cleanup.Stop()
		err = h.s.release(ctx, h.in, err)
		h.in = nil
	}
	return err
}

// close ends the resource (its destructor) and returns the instance to the pool. Closing
// twice is a no-op.
func (h *held) close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.in == nil {
		return nil
	}
	h.cleanup.Stop()
	in := h.in
	h.in = nil
	if h.s.closed.Load() {
		return nil // the runtime and every instance are gone already
	}
	ctx := context.Background()
	return h.s.release(ctx, in, in.drop(ctx, h.dtor, h.rep))
}
