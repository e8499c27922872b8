package realsig

// The core module as Go code: internal/core is realsig_core.wasm translated by wasm2go
// (derived, see the go:generate line in signer.go). This file gives the glue in abi.go what
// it needs of a wasm runtime: a module's memory, its exports by name with flat parameters on
// a stack of uint64, its imports, and traps as errors.
//
// Why wasm2go and not a runtime: in one run, realsig on wazero signed in 7.3–8.2 µs, the
// translated module alone in 4.3–5.0 µs (BENCHMARKS.md, issue 24, third part); the Go
// compiler compiles it with the package, so there is no compilation at start-up either. The
// translation keeps wasm's sandbox for memory: every load and store is bounds-checked against
// the module's own memory (a slice), so a guest bug is a Go panic, which a call turns into
// errGuest.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/realsig/realsig/bindings/go/internal/core"
)

// module is one instance of the core module. It is used by one goroutine at a time.
type module struct {
	m      *core.Module
	ctx    context.Context // the call in progress, for the imports
	closed bool
	now    RealNow
}

// imports is the host side of the module's imports.
type imports struct{ mod *module }

func newModule(now RealNow) (*module, error) {
	mod := &module{now: now, ctx: context.Background()}
	var err error
	func() {
		defer trapped(&err)
		mod.m = core.New(imports{mod}, imports{mod}, imports{mod})
	}()
	return mod, err
}

// trapped turns a panic of the guest (a trap: unreachable, an out-of-bounds access, an
// integer division by zero) or of an import into an error; the callers wrap it in errGuest.
func trapped(err *error) {
	if p := recover(); p != nil {
		if e, ok := p.(error); ok {
			*err = fmt.Errorf("wasm trap: %w", e)
		} else {
			*err = fmt.Errorf("wasm trap: %v", p)
		}
	}
}

// Close discards the instance: every later call fails. Its memory goes with the last
// reference to it.
func (mod *module) Close(context.Context) error {
	mod.closed = true
	return nil
}

// Memory is the module's linear memory.
func (mod *module) Memory() memory { return memory{mod} }

// export is one exported function, called with its flat parameters in stack; its result, if
// any, is left in stack[0].
type export struct {
	mod  *module
	name string
	call func(m *core.Module, stack []uint64)
}

// ExportedFunction returns the export name, or nil when the module has none.
func (mod *module) ExportedFunction(name string) *export {
	call, ok := exports[name]
	if !ok {
		return nil
	}
	return &export{mod, name, call}
}

// CallWithStack runs the export. A trap, or a panic of an import during the call, is an
// error (the caller wraps it in errGuest); the instance must then be discarded.
func (f *export) CallWithStack(ctx context.Context, stack []uint64) (err error) {
	mod := f.mod
	if mod.closed {
		return errors.New("the instance is closed")
	}
	outer := mod.ctx
	mod.ctx = ctx
	defer func() { mod.ctx = outer }()
	defer trapped(&err)
	f.call(mod.m, stack)
	return nil
}

func i32(v uint64) int32 { return int32(uint32(v)) }
func u64(v int32) uint64 { return uint64(uint32(v)) }

// exports are the module's functions abi.go calls, by their names in the wasm.
var exports = map[string]func(m *core.Module, s []uint64){
	exportRealloc: func(m *core.Module, s []uint64) {
		s[0] = u64(m.Xcabi_realloc(i32(s[0]), i32(s[1]), i32(s[2]), i32(s[3])))
	},
	exportSign:        func(m *core.Module, s []uint64) { s[0] = u64(m.Xrealsig_sigv4_signer_sign_ij14hh(i32(s[0]))) },
	exportPostSign:    func(m *core.Module, s []uint64) { m.Xcabi_post_realsig_sigv4_signer_sign_mgxzg3(i32(s[0])) },
	exportSignV4a:     func(m *core.Module, s []uint64) { s[0] = u64(m.Xrealsig_sigv4_signer_sign_sigv4a_p4kv7y(i32(s[0]))) },
	exportPostSignV4a: func(m *core.Module, s []uint64) { m.Xcabi_post_realsig_sigv4_signer_sign_sigv4a_mo0oal(i32(s[0])) },
	exportStart:       func(m *core.Module, s []uint64) { s[0] = u64(m.Xrealsig_sigv4_chunked_start_ellrok(i32(s[0]))) },
	exportPostStart:   func(m *core.Module, s []uint64) { m.Xcabi_post_realsig_sigv4_chunked_start_7glz4x(i32(s[0])) },
	exportSignChunk: func(m *core.Module, s []uint64) {
		s[0] = u64(m.Xrealsig_sigv4_chunked__method_chunk_signer_sign_chunk_dkt9km(i32(s[0]), i32(s[1]), i32(s[2])))
	},
	exportPostSignChunk: func(m *core.Module, s []uint64) {
		m.Xcabi_post_realsig_sigv4_chunked__method_chunk_signer_sign_chunk_vjmc5g(i32(s[0]))
	},
	exportSignTrailer: func(m *core.Module, s []uint64) {
		s[0] = u64(m.Xrealsig_sigv4_chunked__method_chunk_signer_sign_trailer_szsc55(i32(s[0]), i32(s[1]), i32(s[2])))
	},
	exportPostSignTrailer: func(m *core.Module, s []uint64) {
		m.Xcabi_post_realsig_sigv4_chunked__method_chunk_signer_sign_trailer_839fwl(i32(s[0]))
	},
	exportDtorChunk: func(m *core.Module, s []uint64) { m.Xrealsig_sigv4_chunked__dtor_chunk_signer_pzxlb8(i32(s[0])) },
	exportPolicy: func(m *core.Module, s []uint64) {
		s[0] = u64(m.Xrealsig_sigv4_post_policy_sign_post_policy_ssfgny(i32(s[0]), i32(s[1]), i32(s[2]), i32(s[3]),
			i32(s[4]), i32(s[5]), i32(s[6]), i32(s[7]), i32(s[8]), i32(s[9]), i32(s[10]), i32(s[11]), i32(s[12]), i32(s[13])))
	},
	exportPostPolicy: func(m *core.Module, s []uint64) {
		m.Xcabi_post_realsig_sigv4_post_policy_sign_post_policy_t7xej3(i32(s[0]))
	},
	exportOpen: func(m *core.Module, s []uint64) {
		s[0] = u64(m.Xrealsig_sigv4_event_stream_open_8w576p(i32(s[0]), i32(s[1]), i32(s[2]), i32(s[3]), i32(s[4]), i32(s[5])))
	},
	exportPostOpen: func(m *core.Module, s []uint64) { m.Xcabi_post_realsig_sigv4_event_stream_open_2f52uy(i32(s[0])) },
	exportSignMessage: func(m *core.Module, s []uint64) {
		s[0] = u64(m.Xrealsig_sigv4_event_stream__method_message_signer_sign_message_83izkt(i32(s[0]), i32(s[1]),
			i32(s[2]), i32(s[3]), i32(s[4]), i32(s[5]), i32(s[6]), i32(s[7]), i32(s[8]), i32(s[9])))
	},
	exportPostSignMessage: func(m *core.Module, s []uint64) {
		m.Xcabi_post_realsig_sigv4_event_stream__method_message_signer_sign_message_hl5y15(i32(s[0]))
	},
	exportDtorMessage: func(m *core.Module, s []uint64) {
		m.Xrealsig_sigv4_event_stream__dtor_message_signer_t41ebt(i32(s[0]))
	},
}

// The imports. Each runs inside a call of an export, so mod.ctx is that call's context.

func (h imports) Xreal_now_q82jd2(ret int32) {
	realNow(h.mod.ctx, h.mod, uint32(ret))
}

func (h imports) X_resource_new_chunk_signer_5n28ys(rep int32) int32 {
	return int32(resourceNew(h.mod.ctx, chunkSigner, uint32(rep)))
}

func (h imports) X_resource_drop_chunk_signer_8jqgvx(handle int32) {
	resourceDrop(h.mod.ctx, h.mod, chunkSigner, exportDtorChunk, uint32(handle))
}

func (h imports) X_resource_new_message_signer_9keei7(rep int32) int32 {
	return int32(resourceNew(h.mod.ctx, messageSigner, uint32(rep)))
}

func (h imports) X_resource_drop_message_signer_7mfcfy(handle int32) {
	resourceDrop(h.mod.ctx, h.mod, messageSigner, exportDtorMessage, uint32(handle))
}

// memory is a view of a module's linear memory; the slice is fetched per access because
// memory.grow may move it.
type memory struct{ mod *module }

func (m memory) bytes() []byte { return *m.mod.m.Xmemory().Slice() }

// Size is the memory's size in bytes.
func (m memory) Size() uint32 { return uint32(len(m.bytes())) }

// Read returns the n bytes at ptr, aliasing the memory (valid until the next call), or false
// when they are out of range.
func (m memory) Read(ptr, n uint32) ([]byte, bool) {
	b := m.bytes()
	end := uint64(ptr) + uint64(n)
	if end > uint64(len(b)) {
		return nil, false
	}
	return b[ptr:end:end], true
}

func (m memory) Write(ptr uint32, v []byte) bool {
	dst, ok := m.Read(ptr, uint32(len(v)))
	return ok && copy(dst, v) == len(v)
}

func (m memory) WriteString(ptr uint32, v string) bool {
	dst, ok := m.Read(ptr, uint32(len(v)))
	return ok && copy(dst, v) == len(v)
}

func (m memory) WriteUint8(ptr uint32, v byte) bool {
	dst, ok := m.Read(ptr, 1)
	if ok {
		dst[0] = v
	}
	return ok
}

func (m memory) WriteUint32Le(ptr, v uint32) bool {
	dst, ok := m.Read(ptr, 4)
	if ok {
		binary.LittleEndian.PutUint32(dst, v)
	}
	return ok
}

func (m memory) WriteUint64Le(ptr uint32, v uint64) bool {
	dst, ok := m.Read(ptr, 8)
	if ok {
		binary.LittleEndian.PutUint64(dst, v)
	}
	return ok
}
