package realsig

// The raw layer: canonical-ABI glue for world realsig:sigv4/realsig (wit/realsig.wit),
// hand-maintained. No generator handles our world on wazero (see README.md); this file is
// the only place that knows the component's memory layouts. abi_test.go fails when the WIT
// file, the embedded module's function types or these layouts stop agreeing.
//
// Layouts follow the Component Model's canonical ABI (CanonicalABI.md, "Flattening" and
// "store"): strings and lists are (ptr u32, len u32); a variant is a u8 tag, then its payload
// at the payload's alignment; bool is one byte. `sign` has more than 16 flat parameters, so
// the host stores (request, credentials) in memory it allocates with cabi_realloc and
// passes one pointer; its result is returned as a pointer to a return area the guest owns
// until cabi_post_… is called.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/tetratelabs/wazero/api"
)

// The names the core module imports and exports.
const (
	importModule   = "realsig:sigv4/real-time"
	importRealNow  = "real-now"
	exportSign     = "realsig:sigv4/signer#sign"
	exportPostSign = "cabi_post_realsig:sigv4/signer#sign"
	// sign-sigv4a has sign's types, so it shares sign's layouts.
	exportSignV4a     = "realsig:sigv4/signer#sign-sigv4a"
	exportPostSignV4a = "cabi_post_realsig:sigv4/signer#sign-sigv4a"
	exportRealloc     = "cabi_realloc"
	exportMemory      = "memory"
)

// The canonical resource built-ins the module imports for the WIT resources of the
// `chunked` and `event-stream` interfaces (module name, resource). This binding exposes
// `sign` and `sign-sigv4a`, which never create a resource; the built-ins are defined to fail
// loudly should anything reach them.
var resourceImports = [][2]string{
	{"[export]realsig:sigv4/chunked", "chunk-signer"},
	{"[export]realsig:sigv4/event-stream", "message-signer"},
}

// wit/realsig.wit as this file was last checked against, by SHA-256. abi_test.go compares it
// with the file: when the WIT changes, review every layout below, then update the hash.
const witSHA256 = "24c8431b908d4f23aa50067dfc421d6a55832755dabbafb848c6722bf6e66e3f"

// Offsets in the argument area of `sign`: record (request, credentials), align 4.
const (
	argMethod        = 0  // request.method: string
	argURL           = 8  // request.url: string
	argHeaders       = 16 // request.headers: list<header>
	argPayloadTag    = 24 // request.payload: variant payload, tag u8
	argPayloadVal    = 28 //   bytes(list<u8>) | sha256-hex(string): (ptr, len)
	argRegion        = 36 // request.region: string
	argService       = 44 // request.service: string
	argPlacementTag  = 52 // request.options.placement: variant placement, tag u8
	argPlacementVal  = 56 //   query(u32)
	argDoubleEncode  = 60 // request.options.double-uri-encode: bool
	argNormalizePath = 61 // request.options.normalize-path: bool
	argContentSHA256 = 62 // request.options.content-sha256-header: bool
	argOmitToken     = 63 // request.options.omit-session-token: bool
	argDebug         = 64 // request.options.debug: bool
	argAccessKeyID   = 68 // credentials.access-key-id: string
	argSecretKey     = 76 // credentials.secret-access-key: string
	argTokenTag      = 84 // credentials.session-token: option<string>, tag u8
	argTokenVal      = 88 //   some(string)
	argSize          = 96
	argAlign         = 4

	headerSize  = 16 // record header { name: string, value: string }
	headerAlign = 4
)

// Case numbers of the WIT variants, in declaration order.
const (
	payloadBytes     = 0
	payloadSHA256Hex = 1
	payloadUnsigned  = 2
	payloadEmpty     = 3

	placementHeaders = 0
	placementQuery   = 1
)

// Offsets in the return area of `sign`: result<signed-request, sign-error>, align 8.
const (
	retTag = 0 // 0 ok, 1 err
	// ok: record signed-request at 8
	retHeaders           = 8  // headers: list<added-header>
	retURL               = 16 // url: string
	retSignature         = 24 // signature: string
	retSeconds           = 32 // signing-time.seconds: u64
	retNanoseconds       = 40 // signing-time.nanoseconds: u32
	retCanonicalTag      = 48 // canonical-request: option<string>
	retCanonicalVal      = 52
	retStringToSignTag   = 60 // string-to-sign: option<string>
	retStringToSignVal   = 64
	retSize              = 72
	retErrTag            = 8  // err: variant sign-error, tag u8
	retErrMessage        = 12 //   every case carries a string
	addedHeaderSize      = 20 // record added-header { name: string, value: string, sensitive: bool }
	addedHeaderSensitive = 16
)

// sign-error case names, in declaration order.
var signErrorCodes = [...]ErrorCode{
	CodeInvalidURL,
	CodeInvalidMethod,
	CodeInvalidHeaderName,
	CodeInvalidHeaderValue,
	CodeInvalidPayloadHash,
	CodeInvalidOption,
	CodeInvalidCredentials,
	CodeClockUnavailable,
}

// Offsets in the return area real-now's caller passes: result<instant, clock-error>, align 8.
const (
	nowTag         = 0  // 0 ok, 1 err
	nowSeconds     = 8  // ok: instant.seconds u64
	nowNanoseconds = 16 //     instant.nanoseconds u32
	nowMessage     = 8  // err: clock-error.message string
)

// abiRequest is a request lowered as the WIT has it: what Signer hands the glue.
type abiRequest struct {
	method, url     string
	headers         []Header
	payloadTag      uint8
	payload         string // the hex hash (sha256-hex); bytes are never sent: Go hashes them
	region, service string
	query           bool
	expires         uint32
	doubleEncode    bool
	normalizePath   bool
	contentSHA256   bool
	omitToken       bool
	debug           bool
	sigv4a          bool // call sign-sigv4a; region is the region set
}

// The header names the component returns, so lifting them allocates nothing.
var signatureHeaderNames = [...]string{"authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"}

// abiSigned is the lifted ok case of `sign`.
type abiSigned struct {
	headers          []SignedHeader
	url, signature   string
	signingTime      time.Time
	canonicalRequest string
	stringToSign     string
}

// errGuest marks a failure of the glue or the guest itself (a trap, a bad pointer): a
// realsig bug, never bad input. The instance it happened in is discarded.
var errGuest = errors.New("realsig: the signing component failed")

// instance is one instantiated core module; used by one goroutine at a time.
type instance struct {
	mod                 api.Module
	mem                 api.Memory
	sign, post, realloc api.Function
	signV4a, postV4a    api.Function
	stack               [4]uint64
	args                [argSize]byte
	list                []byte
}

func newInstance(mod api.Module) (*instance, error) {
	in := &instance{
		mod:     mod,
		mem:     mod.Memory(),
		sign:    mod.ExportedFunction(exportSign),
		post:    mod.ExportedFunction(exportPostSign),
		realloc: mod.ExportedFunction(exportRealloc),
		signV4a: mod.ExportedFunction(exportSignV4a),
		postV4a: mod.ExportedFunction(exportPostSignV4a),
	}
	if in.mem == nil || in.sign == nil || in.post == nil || in.realloc == nil || in.signV4a == nil || in.postV4a == nil {
		return nil, fmt.Errorf("%w: the module lacks %s, %s, %s, %s, %s or %s", errGuest, exportMemory, exportSign,
			exportPostSign, exportSignV4a, exportPostSignV4a, exportRealloc)
	}
	return in, nil
}

// alloc calls cabi_realloc(0, 0, align, size).
func (in *instance) alloc(ctx context.Context, align, size uint32) (uint32, error) {
	in.stack = [4]uint64{0, 0, uint64(align), uint64(size)}
	if err := in.realloc.CallWithStack(ctx, in.stack[:]); err != nil {
		return 0, fmt.Errorf("%w: cabi_realloc: %w", errGuest, err)
	}
	return uint32(in.stack[0]), nil
}

// lowerString copies s into guest memory and returns (ptr, len). The guest owns the copy
// (wit-bindgen lifts it as an owned String), so each string is its own allocation. An empty
// string is not allocated: (1, 0) is a valid empty string for the guest, as jco also passes.
// A WIT string must be UTF-8 and the guest trusts that, so a Go string that is not is refused
// here with code and what it is.
func (in *instance) lowerString(ctx context.Context, s string, code ErrorCode, what string) (uint32, uint32, error) {
	if len(s) == 0 {
		return 1, 0, nil
	}
	if !utf8.ValidString(s) {
		return 0, 0, &SignError{Code: code, Message: what + " is not valid UTF-8"}
	}
	ptr, err := in.alloc(ctx, 1, uint32(len(s)))
	if err != nil {
		return 0, 0, err
	}
	if !in.mem.WriteString(ptr, s) {
		return 0, 0, fmt.Errorf("%w: cabi_realloc returned an out-of-range pointer", errGuest)
	}
	return ptr, uint32(len(s)), nil
}

func putStr(b []byte, off int, ptr, n uint32) {
	binary.LittleEndian.PutUint32(b[off:], ptr)
	binary.LittleEndian.PutUint32(b[off+4:], n)
}

func putBool(b []byte, off int, v bool) {
	if v {
		b[off] = 1
	} else {
		b[off] = 0
	}
}

// callSign lowers (req, creds), calls `sign`, lifts the result and releases the return area.
// A *SignError is the component's answer; an error wrapping errGuest means the instance is
// unusable.
func (in *instance) callSign(ctx context.Context, req *abiRequest, creds *Credentials) (*abiSigned, error) {
	a := in.args[:]
	clear(a)
	str := func(off int, s string, code ErrorCode, what string) error {
		p, n, err := in.lowerString(ctx, s, code, what)
		putStr(a, off, p, n)
		return err
	}
	if err := str(argMethod, req.method, CodeInvalidMethod, "the method"); err != nil {
		return nil, err
	}
	if err := str(argURL, req.url, CodeInvalidURL, "the URL"); err != nil {
		return nil, err
	}
	// list<header>: the records are written in one go after their strings are placed.
	listPtr := uint32(headerAlign) // a valid empty list, like the empty string above
	if n := len(req.headers); n > 0 {
		if n > 1<<20 {
			return nil, &SignError{Code: CodeInvalidOption, Message: "more than 1,048,576 headers"}
		}
		need := n * headerSize
		if cap(in.list) < need {
			in.list = make([]byte, need)
		}
		list := in.list[:need]
		for i, h := range req.headers {
			p, l, err := in.lowerString(ctx, h.Name, CodeInvalidHeaderName, "a header name")
			if err != nil {
				return nil, err
			}
			putStr(list, i*headerSize, p, l)
			if p, l, err = in.lowerString(ctx, h.Value, CodeInvalidHeaderValue, "a header value"); err != nil {
				return nil, err
			}
			putStr(list, i*headerSize+8, p, l)
		}
		var err error
		if listPtr, err = in.alloc(ctx, headerAlign, uint32(need)); err != nil {
			return nil, err
		}
		if !in.mem.Write(listPtr, list) {
			return nil, fmt.Errorf("%w: cabi_realloc returned an out-of-range pointer", errGuest)
		}
	}
	putStr(a, argHeaders, listPtr, uint32(len(req.headers)))
	a[argPayloadTag] = req.payloadTag
	if req.payloadTag == payloadSHA256Hex {
		if err := str(argPayloadVal, req.payload, CodeInvalidPayloadHash, "the payload hash"); err != nil {
			return nil, err
		}
	}
	if err := str(argRegion, req.region, CodeInvalidOption, "the region"); err != nil {
		return nil, err
	}
	if err := str(argService, req.service, CodeInvalidOption, "the service"); err != nil {
		return nil, err
	}
	if req.query {
		a[argPlacementTag] = placementQuery
		binary.LittleEndian.PutUint32(a[argPlacementVal:], req.expires)
	}
	putBool(a, argDoubleEncode, req.doubleEncode)
	putBool(a, argNormalizePath, req.normalizePath)
	putBool(a, argContentSHA256, req.contentSHA256)
	putBool(a, argOmitToken, req.omitToken)
	putBool(a, argDebug, req.debug)
	if err := str(argAccessKeyID, creds.AccessKeyID, CodeInvalidCredentials, "the access key id"); err != nil {
		return nil, err
	}
	if err := str(argSecretKey, creds.SecretAccessKey, CodeInvalidCredentials, "the secret access key"); err != nil {
		return nil, err
	}
	if creds.SessionToken != "" {
		a[argTokenTag] = 1
		if err := str(argTokenVal, creds.SessionToken, CodeInvalidCredentials, "the session token"); err != nil {
			return nil, err
		}
	}
	argPtr, err := in.alloc(ctx, argAlign, argSize)
	if err != nil {
		return nil, err
	}
	if !in.mem.Write(argPtr, a) {
		return nil, fmt.Errorf("%w: cabi_realloc returned an out-of-range pointer", errGuest)
	}

	sign, post, postName := in.sign, in.post, exportPostSign
	if req.sigv4a {
		sign, post, postName = in.signV4a, in.postV4a, exportPostSignV4a
	}
	in.stack[0] = uint64(argPtr)
	if err := sign.CallWithStack(ctx, in.stack[:]); err != nil {
		return nil, fmt.Errorf("%w: %w", errGuest, err)
	}
	ret := uint32(in.stack[0])
	out, liftErr := in.liftSigned(ret, req.url)
	in.stack[0] = uint64(ret)
	if err := post.CallWithStack(ctx, in.stack[:]); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errGuest, postName, err)
	}
	return out, liftErr
}

// liftSigned reads the result<signed-request, sign-error> at ret, copying every string out
// of guest memory.
func (in *instance) liftSigned(ret uint32, inputURL string) (*abiSigned, error) {
	r, ok := in.mem.Read(ret, retSize)
	if !ok {
		return nil, fmt.Errorf("%w: the return area is out of range", errGuest)
	}
	str := func(off int) (string, error) {
		ptr := binary.LittleEndian.Uint32(r[off:])
		n := binary.LittleEndian.Uint32(r[off+4:])
		b, ok := in.mem.Read(ptr, n)
		if !ok {
			return "", fmt.Errorf("%w: a returned string is out of range", errGuest)
		}
		return string(b), nil
	}
	switch r[retTag] {
	case 0:
	case 1:
		code := r[retErrTag]
		if int(code) >= len(signErrorCodes) {
			return nil, fmt.Errorf("%w: unknown sign-error case %d", errGuest, code)
		}
		msg, err := str(retErrMessage)
		if err != nil {
			return nil, err
		}
		return nil, &SignError{Code: signErrorCodes[code], Message: msg}
	default:
		return nil, fmt.Errorf("%w: bad result tag %d", errGuest, r[retTag])
	}

	out := &abiSigned{}
	var err error
	// In header placement the URL comes back unchanged: keep the caller's string.
	if b, ok := in.mem.Read(binary.LittleEndian.Uint32(r[retURL:]), binary.LittleEndian.Uint32(r[retURL+4:])); ok && string(b) == inputURL {
		out.url = inputURL
	} else if out.url, err = str(retURL); err != nil {
		return nil, err
	}
	if out.signature, err = str(retSignature); err != nil {
		return nil, err
	}
	secs := binary.LittleEndian.Uint64(r[retSeconds:])
	nanos := binary.LittleEndian.Uint32(r[retNanoseconds:])
	if secs > 1<<62 || nanos >= 1e9 {
		return nil, fmt.Errorf("%w: signing time out of range", errGuest)
	}
	out.signingTime = time.Unix(int64(secs), int64(nanos)).UTC()
	for _, opt := range [...]struct {
		tag, val int
		dst      *string
	}{{retCanonicalTag, retCanonicalVal, &out.canonicalRequest}, {retStringToSignTag, retStringToSignVal, &out.stringToSign}} {
		if r[opt.tag] == 1 {
			if *opt.dst, err = str(opt.val); err != nil {
				return nil, err
			}
		}
	}

	listPtr := binary.LittleEndian.Uint32(r[retHeaders:])
	n := binary.LittleEndian.Uint32(r[retHeaders+4:])
	if n > 1<<16 {
		return nil, fmt.Errorf("%w: %d headers returned", errGuest, n)
	}
	list, ok := in.mem.Read(listPtr, n*addedHeaderSize)
	if !ok {
		return nil, fmt.Errorf("%w: the returned header list is out of range", errGuest)
	}
	out.headers = make([]SignedHeader, n)
	for i := range out.headers {
		h := list[i*addedHeaderSize:]
		read := func(off int) (string, error) {
			b, ok := in.mem.Read(binary.LittleEndian.Uint32(h[off:]), binary.LittleEndian.Uint32(h[off+4:]))
			if !ok {
				return "", fmt.Errorf("%w: a returned header is out of range", errGuest)
			}
			if off == 0 {
				for _, known := range signatureHeaderNames {
					if string(b) == known { // compared without a copy
						return known, nil
					}
				}
			}
			return string(b), nil
		}
		if out.headers[i].Name, err = read(0); err != nil {
			return nil, err
		}
		if out.headers[i].Value, err = read(8); err != nil {
			return nil, err
		}
		out.headers[i].Sensitive = h[addedHeaderSensitive] != 0
	}
	return out, nil
}

// realNowFunc is the host side of real-time.real-now: it calls now and stores
// result<instant, clock-error> at the return pointer the guest passes. A clock error
// becomes the WIT error (the guest then fails closed with clock-unavailable), never a trap.
func realNowFunc(now RealNow) api.GoModuleFunc {
	return func(ctx context.Context, mod api.Module, stack []uint64) {
		ret := uint32(stack[0])
		mem := mod.Memory()
		t, err := readClock(now)
		if err == nil && t.Unix() < 0 {
			err = fmt.Errorf("the clock read %s, before 1970", t.UTC().Format(time.RFC3339))
		}
		if err == nil {
			mem.WriteByte(ret+nowTag, 0)
			mem.WriteUint64Le(ret+nowSeconds, uint64(t.Unix()))
			mem.WriteUint32Le(ret+nowNanoseconds, uint32(t.Nanosecond()))
			return
		}
		msg := err.Error()
		call := []uint64{0, 0, 1, uint64(len(msg))}
		if callErr := mod.ExportedFunction(exportRealloc).CallWithStack(ctx, call); callErr != nil {
			panic(fmt.Errorf("%w: cabi_realloc in real-now: %w", errGuest, callErr))
		}
		ptr := uint32(call[0])
		if !mem.WriteString(ptr, msg) {
			panic(fmt.Errorf("%w: cabi_realloc returned an out-of-range pointer", errGuest))
		}
		mem.WriteByte(ret+nowTag, 1)
		mem.WriteUint32Le(ret+nowMessage, ptr)
		mem.WriteUint32Le(ret+nowMessage+4, uint32(len(msg)))
	}
}

// readClock calls a user-supplied clock, turning a panic into an error.
func readClock(now RealNow) (t time.Time, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the clock panicked: %v", p)
		}
	}()
	return now()
}
