package realsig

// The raw layer: canonical-ABI glue for world realsig:sigv4/realsig (wit/realsig.wit),
// hand-maintained. No generator handles our world in Go (see README.md); this file is
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

	// The chunked, post-policy and event-stream interfaces. A method takes its resource as
	// the rep (a borrow lowered into the component that defines the resource); a [dtor]
	// ends an owned resource the host dropped.
	exportStart           = "realsig:sigv4/chunked#start"
	exportPostStart       = "cabi_post_realsig:sigv4/chunked#start"
	exportSignChunk       = "realsig:sigv4/chunked#[method]chunk-signer.sign-chunk"
	exportPostSignChunk   = "cabi_post_realsig:sigv4/chunked#[method]chunk-signer.sign-chunk"
	exportSignTrailer     = "realsig:sigv4/chunked#[method]chunk-signer.sign-trailer"
	exportPostSignTrailer = "cabi_post_realsig:sigv4/chunked#[method]chunk-signer.sign-trailer"
	exportDtorChunk       = "realsig:sigv4/chunked#[dtor]chunk-signer"
	exportPolicy          = "realsig:sigv4/post-policy#sign-post-policy"
	exportPostPolicy      = "cabi_post_realsig:sigv4/post-policy#sign-post-policy"
	exportOpen            = "realsig:sigv4/event-stream#open"
	exportPostOpen        = "cabi_post_realsig:sigv4/event-stream#open"
	exportSignMessage     = "realsig:sigv4/event-stream#[method]message-signer.sign-message"
	exportPostSignMessage = "cabi_post_realsig:sigv4/event-stream#[method]message-signer.sign-message"
	exportDtorMessage     = "realsig:sigv4/event-stream#[dtor]message-signer"
)

// The resources the component exports: the module imports [resource-new] and
// [resource-drop] for each from the module named, and exports its destructor.
type resourceKind uint8

const (
	chunkSigner resourceKind = iota + 1
	messageSigner
)

var resourceImports = [...]struct {
	module, name, dtor string
	kind               resourceKind
}{
	{"[export]realsig:sigv4/chunked", "chunk-signer", exportDtorChunk, chunkSigner},
	{"[export]realsig:sigv4/event-stream", "message-signer", exportDtorMessage, messageSigner},
}

// wit/realsig.wit as this file was last checked against, by SHA-256. abi_test.go compares it
// with the file: when the WIT changes, review every layout below, then update the hash.
const witSHA256 = "e5b62db1f69a8bf7293014b0a5d893b8a637c63257ab6056c63074b71703645f"

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
	argDoubleEncode  = 60 // request.options.double-uri-encode: option<bool>, tag u8 then bool
	argNormalizePath = 62 // request.options.normalize-path: option<bool>
	argContentSHA256 = 64 // request.options.content-sha256-header: option<bool>
	argOmitToken     = 66 // request.options.omit-session-token: bool
	argDebug         = 67 // request.options.debug: bool
	argAccessKeyID   = 68 // credentials.access-key-id: string
	argSecretKey     = 76 // credentials.secret-access-key: string
	argTokenTag      = 84 // credentials.session-token: option<string>, tag u8
	argTokenVal      = 88 //   some(string)
	argSize          = 96
	argAlign         = 4

	// `start` takes (request, credentials, upload): the two records as in `sign`, then
	// record upload, align 8.
	startArgMode          = 96  // upload.mode: enum chunked-mode, u8
	startArgDecodedLength = 104 // upload.decoded-content-length: u64
	startArgTrailerTag    = 112 // upload.trailer: option<string>, tag u8
	startArgTrailerVal    = 116 //   some(string)
	startArgSize          = 128
	startArgAlign         = 8

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
	retTag = 0 // 0 ok, 1 err (every result's tag is at 0)
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
	retErrTag            = 8  // err: variant sign-error, tag u8; every case carries a string, at 12
	addedHeaderSize      = 20 // record added-header { name: string, value: string, sensitive: bool }
	addedHeaderSensitive = 16

	// `start` returns result<tuple<signed-request, own<chunk-signer>>, sign-error>: the
	// record at 8 as in `sign`, then the handle.
	startRetHandle = 72
	startRetSize   = 80
)

// Offsets in return areas of results whose payloads align to 4: result<string, sign-error>
// (sign-chunk, sign-trailer) and result<own<message-signer>, sign-error> (open).
const (
	ret4Tag     = 0
	ret4Value   = 4 // ok: string (ptr, len), or the own handle (i32)
	ret4ErrTag  = 4 // err: variant sign-error, tag u8, then its string at 8
	ret4Size    = 16
	messageDate = 8  // sign-message: result<message-signature, sign-error>, align 8; date.seconds u64
	messageNano = 16 //   date.nanoseconds u32
	messageSig  = 24 //   signature: list<u8>
	messageSize = 32
	messageErr  = 8 // err: sign-error tag
)

// sign-post-policy: its flat parameters are (expires-in, conditions, region, service,
// credentials): 14 values, so they go as arguments, not through memory.
const (
	conditionSize    = 24 // variant condition, align 8: tag u8, payload at 8
	conditionPayload = 8  //   field-match { field: string, value: string } | length-range { min: u64, max: u64 }
	conditionAlign   = 8

	conditionEquals     = 0
	conditionStartsWith = 1
	conditionLength     = 2

	formFields    = 8  // ok: record signed-form at 8; fields: list<form-field>
	formDocument  = 16 // policy-document: string
	formSignature = 24 // signature: string
	formSeconds   = 32 // signing-time.seconds u64
	formNanos     = 40 // signing-time.nanoseconds u32
	formSize      = 48
	formErr       = 8  // err: sign-error tag
	formFieldSize = 20 // record form-field { name: string, value: string, sensitive: bool }
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
	doubleEncode    ruleFlag // the three service rules: unset leaves them to the component
	normalizePath   ruleFlag
	contentSHA256   ruleFlag
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
	mod                 *module
	mem                 memory
	sign, post, realloc *export
	signV4a, postV4a    *export
	fn                  map[string]*export // every other export the glue calls, by name
	handles             handleTable
	stack               [14]uint64
	args                [startArgSize]byte
	list                []byte
}

// The exports newInstance looks up into instance.fn.
var resourceExports = [...]string{
	exportStart, exportPostStart, exportSignChunk, exportPostSignChunk, exportSignTrailer,
	exportPostSignTrailer, exportDtorChunk, exportPolicy, exportPostPolicy, exportOpen, exportPostOpen,
	exportSignMessage, exportPostSignMessage, exportDtorMessage,
}

func newInstance(mod *module) (*instance, error) {
	in := &instance{
		mod:     mod,
		mem:     mod.Memory(),
		sign:    mod.ExportedFunction(exportSign),
		post:    mod.ExportedFunction(exportPostSign),
		realloc: mod.ExportedFunction(exportRealloc),
		signV4a: mod.ExportedFunction(exportSignV4a),
		postV4a: mod.ExportedFunction(exportPostSignV4a),
		fn:      make(map[string]*export, len(resourceExports)),
	}
	if in.sign == nil || in.post == nil || in.realloc == nil || in.signV4a == nil || in.postV4a == nil {
		return nil, fmt.Errorf("%w: the module lacks %s, %s, %s, %s or %s", errGuest, exportSign,
			exportPostSign, exportSignV4a, exportPostSignV4a, exportRealloc)
	}
	for _, name := range resourceExports {
		if in.fn[name] = mod.ExportedFunction(name); in.fn[name] == nil {
			return nil, fmt.Errorf("%w: the module lacks %s", errGuest, name)
		}
	}
	return in, nil
}

// handleTable is the instance's table of own handles to the resources it exports: the
// guest's [resource-new] puts a rep in and gets a handle (never 0); lifting an own handle
// out of a result takes it out again. Only calls that may create a resource (start, open)
// can reach it: they put the instance in the context for the built-ins.
type handleTable struct {
	entries []handleEntry
}

type handleEntry struct {
	rep  uint32
	kind resourceKind // 0: a free slot
}

func (t *handleTable) add(kind resourceKind, rep uint32) uint32 {
	for i := range t.entries {
		if t.entries[i].kind == 0 {
			t.entries[i] = handleEntry{rep, kind}
			return uint32(i + 1)
		}
	}
	t.entries = append(t.entries, handleEntry{rep, kind})
	return uint32(len(t.entries))
}

// take removes handle, which must be an own handle of kind, and returns its rep.
func (t *handleTable) take(kind resourceKind, handle uint32) (uint32, error) {
	if handle == 0 || int(handle) > len(t.entries) || t.entries[handle-1].kind != kind {
		return 0, fmt.Errorf("%w: handle %d is not an own handle of that resource", errGuest, handle)
	}
	e := t.entries[handle-1]
	t.entries[handle-1] = handleEntry{}
	return e.rep, nil
}

type instanceKey struct{}

// resourceNew and resourceDrop are the host side of [resource-new] and [resource-drop] for
// one resource. Dropping an own handle runs the resource's destructor, as the canonical ABI's
// resource.drop does for a resource its caller defines. A panic here is a trap of the call.
func resourceNew(ctx context.Context, kind resourceKind, rep uint32) uint32 {
	return callerTable(ctx, "[resource-new]").handles.add(kind, rep)
}

func resourceDrop(ctx context.Context, mod *module, kind resourceKind, dtor string, handle uint32) {
	rep, err := callerTable(ctx, "[resource-drop]").handles.take(kind, handle)
	if err != nil {
		panic(err)
	}
	if err := mod.ExportedFunction(dtor).CallWithStack(ctx, []uint64{uint64(rep)}); err != nil {
		panic(err)
	}
}

// callerTable is the instance of a call that may create resources (start, open).
func callerTable(ctx context.Context, what string) *instance {
	in, ok := ctx.Value(instanceKey{}).(*instance)
	if !ok {
		panic(fmt.Errorf("%w: %s outside a call that creates resources", errGuest, what))
	}
	return in
}

// alloc calls cabi_realloc(0, 0, align, size).
func (in *instance) alloc(ctx context.Context, align, size uint32) (uint32, error) {
	in.stack[0], in.stack[1], in.stack[2], in.stack[3] = 0, 0, uint64(align), uint64(size)
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

// ruleFlag is an option<bool>: a service rule the caller leaves to the component or sets.
type ruleFlag uint8

const (
	ruleUnset ruleFlag = iota
	ruleOff
	ruleOn
)

// putFlag writes an option<bool>: its tag byte, then the bool.
func putFlag(b []byte, off int, f ruleFlag) {
	putBool(b, off, f != ruleUnset)
	putBool(b, off+1, f == ruleOn)
}

func putBool(b []byte, off int, v bool) {
	if v {
		b[off] = 1
	} else {
		b[off] = 0
	}
}

// place copies b into memory the guest allocates, and returns where.
func (in *instance) place(ctx context.Context, align uint32, b []byte) (uint32, error) {
	ptr, err := in.alloc(ctx, align, uint32(len(b)))
	if err != nil {
		return 0, err
	}
	if !in.mem.Write(ptr, b) {
		return 0, fmt.Errorf("%w: cabi_realloc returned an out-of-range pointer", errGuest)
	}
	return ptr, nil
}

// lowerHeaders places a list<header>: the records are written in one go after their
// strings are placed.
func (in *instance) lowerHeaders(ctx context.Context, headers []Header) (uint32, uint32, error) {
	n := len(headers)
	if n == 0 {
		return headerAlign, 0, nil // a valid empty list, like the empty string above
	}
	if n > 1<<20 {
		return 0, 0, &SignError{Code: CodeInvalidOption, Message: "more than 1,048,576 headers"}
	}
	need := n * headerSize
	if cap(in.list) < need {
		in.list = make([]byte, need)
	}
	list := in.list[:need]
	for i, h := range headers {
		p, l, err := in.lowerString(ctx, h.Name, CodeInvalidHeaderName, "a header name")
		if err != nil {
			return 0, 0, err
		}
		putStr(list, i*headerSize, p, l)
		if p, l, err = in.lowerString(ctx, h.Value, CodeInvalidHeaderValue, "a header value"); err != nil {
			return 0, 0, err
		}
		putStr(list, i*headerSize+8, p, l)
	}
	ptr, err := in.place(ctx, headerAlign, list)
	return ptr, uint32(n), err
}

// lowerCredentials places the credentials and returns their 7 flat values: access key id
// (ptr, len), secret (ptr, len), session token (option tag, ptr, len).
func (in *instance) lowerCredentials(ctx context.Context, creds *Credentials) (flat [7]uint64, err error) {
	id, idLen, err := in.lowerString(ctx, creds.AccessKeyID, CodeInvalidCredentials, "the access key id")
	if err != nil {
		return flat, err
	}
	secret, secretLen, err := in.lowerString(ctx, creds.SecretAccessKey, CodeInvalidCredentials, "the secret access key")
	if err != nil {
		return flat, err
	}
	flat = [7]uint64{uint64(id), uint64(idLen), uint64(secret), uint64(secretLen)}
	if creds.SessionToken != "" {
		token, tokenLen, err := in.lowerString(ctx, creds.SessionToken, CodeInvalidCredentials, "the session token")
		if err != nil {
			return flat, err
		}
		flat[4], flat[5], flat[6] = 1, uint64(token), uint64(tokenLen)
	}
	return flat, nil
}

// lowerSignArgs writes (request, credentials) into a, the argument area of sign or start.
func (in *instance) lowerSignArgs(ctx context.Context, a []byte, req *abiRequest, creds *Credentials) error {
	str := func(off int, s string, code ErrorCode, what string) error {
		p, n, err := in.lowerString(ctx, s, code, what)
		putStr(a, off, p, n)
		return err
	}
	if err := str(argMethod, req.method, CodeInvalidMethod, "the method"); err != nil {
		return err
	}
	if err := str(argURL, req.url, CodeInvalidURL, "the URL"); err != nil {
		return err
	}
	listPtr, n, err := in.lowerHeaders(ctx, req.headers)
	if err != nil {
		return err
	}
	putStr(a, argHeaders, listPtr, n)
	a[argPayloadTag] = req.payloadTag
	if req.payloadTag == payloadSHA256Hex {
		if err := str(argPayloadVal, req.payload, CodeInvalidPayloadHash, "the payload hash"); err != nil {
			return err
		}
	}
	if err := str(argRegion, req.region, CodeInvalidOption, "the region"); err != nil {
		return err
	}
	if err := str(argService, req.service, CodeInvalidOption, "the service"); err != nil {
		return err
	}
	if req.query {
		a[argPlacementTag] = placementQuery
		binary.LittleEndian.PutUint32(a[argPlacementVal:], req.expires)
	}
	putFlag(a, argDoubleEncode, req.doubleEncode)
	putFlag(a, argNormalizePath, req.normalizePath)
	putFlag(a, argContentSHA256, req.contentSHA256)
	putBool(a, argOmitToken, req.omitToken)
	putBool(a, argDebug, req.debug)
	c, err := in.lowerCredentials(ctx, creds)
	if err != nil {
		return err
	}
	putStr(a, argAccessKeyID, uint32(c[0]), uint32(c[1]))
	putStr(a, argSecretKey, uint32(c[2]), uint32(c[3]))
	a[argTokenTag] = uint8(c[4])
	putStr(a, argTokenVal, uint32(c[5]), uint32(c[6]))
	return nil
}

// callSign lowers (req, creds), calls `sign`, lifts the result and releases the return area.
// A *SignError is the component's answer; an error wrapping errGuest means the instance is
// unusable.
func (in *instance) callSign(ctx context.Context, req *abiRequest, creds *Credentials) (*abiSigned, error) {
	a := in.args[:argSize]
	clear(a)
	if err := in.lowerSignArgs(ctx, a, req, creds); err != nil {
		return nil, err
	}
	argPtr, err := in.place(ctx, argAlign, a)
	if err != nil {
		return nil, err
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
	return out, in.release(ctx, post, postName, ret, liftErr)
}

// release calls a cabi_post_… function on ret, the return area the lifting is done with.
func (in *instance) release(ctx context.Context, post *export, name string, ret uint32, liftErr error) error {
	in.stack[0] = uint64(ret)
	if err := post.CallWithStack(ctx, in.stack[:]); err != nil {
		return fmt.Errorf("%w: %s: %w", errGuest, name, err)
	}
	return liftErr
}

// call runs the export name with flat parameters and returns its one result.
func (in *instance) call(ctx context.Context, name string, params ...uint64) (uint32, error) {
	copy(in.stack[:], params)
	if err := in.fn[name].CallWithStack(ctx, in.stack[:]); err != nil {
		return 0, fmt.Errorf("%w: %s: %w", errGuest, name, err)
	}
	return uint32(in.stack[0]), nil
}

// readString copies out the string whose (ptr, len) is at r[off:].
func (in *instance) readString(r []byte, off int) (string, error) {
	b, ok := in.mem.Read(binary.LittleEndian.Uint32(r[off:]), binary.LittleEndian.Uint32(r[off+4:]))
	if !ok {
		return "", fmt.Errorf("%w: a returned string is out of range", errGuest)
	}
	return string(b), nil
}

// liftResult reads a result's tag at r[0]: nil for ok; for err the sign-error whose tag is at
// r[errTag] (its string follows at errTag+4, every case's payload aligning to 4).
func (in *instance) liftResult(r []byte, errTag int) error {
	switch r[retTag] {
	case 0:
		return nil
	case 1:
		code := r[errTag]
		if int(code) >= len(signErrorCodes) {
			return fmt.Errorf("%w: unknown sign-error case %d", errGuest, code)
		}
		msg, err := in.readString(r, errTag+4)
		if err != nil {
			return err
		}
		return &SignError{Code: signErrorCodes[code], Message: msg}
	default:
		return fmt.Errorf("%w: bad result tag %d", errGuest, r[retTag])
	}
}

// readReturn is the return area at ret, size bytes.
func (in *instance) readReturn(ret, size uint32) ([]byte, error) {
	r, ok := in.mem.Read(ret, size)
	if !ok {
		return nil, fmt.Errorf("%w: the return area is out of range", errGuest)
	}
	return r, nil
}

// callStart signs the seed request of a chunked upload: `start`. It returns the
// instructions and the rep of the chunk signer, now owned by the caller.
func (in *instance) callStart(ctx context.Context, req *abiRequest, creds *Credentials, mode uint8, decodedLength uint64, trailer string) (*abiSigned, uint32, error) {
	a := in.args[:startArgSize]
	clear(a)
	if err := in.lowerSignArgs(ctx, a, req, creds); err != nil {
		return nil, 0, err
	}
	a[startArgMode] = mode
	binary.LittleEndian.PutUint64(a[startArgDecodedLength:], decodedLength)
	if trailer != "" {
		p, n, err := in.lowerString(ctx, trailer, CodeInvalidHeaderName, "the trailer name")
		if err != nil {
			return nil, 0, err
		}
		a[startArgTrailerTag] = 1
		putStr(a, startArgTrailerVal, p, n)
	}
	argPtr, err := in.place(ctx, startArgAlign, a)
	if err != nil {
		return nil, 0, err
	}
	ret, err := in.call(context.WithValue(ctx, instanceKey{}, in), exportStart, uint64(argPtr))
	if err != nil {
		return nil, 0, err
	}
	out, liftErr := in.liftSigned(ret, req.url)
	var rep uint32
	if liftErr == nil {
		var r []byte
		if r, liftErr = in.readReturn(ret, startRetSize); liftErr == nil {
			rep, liftErr = in.handles.take(chunkSigner, binary.LittleEndian.Uint32(r[startRetHandle:]))
		}
	}
	return out, rep, in.release(ctx, in.fn[exportPostStart], exportPostStart, ret, liftErr)
}

// callString calls a method returning result<string, sign-error> (sign-chunk, sign-trailer).
func (in *instance) callString(ctx context.Context, name, post string, params ...uint64) (string, error) {
	ret, err := in.call(ctx, name, params...)
	if err != nil {
		return "", err
	}
	var out string
	r, liftErr := in.readReturn(ret, ret4Size)
	if liftErr == nil {
		if liftErr = in.liftResult(r, ret4ErrTag); liftErr == nil {
			out, liftErr = in.readString(r, ret4Value)
		}
	}
	return out, in.release(ctx, in.fn[post], post, ret, liftErr)
}

func (in *instance) callSignChunk(ctx context.Context, rep uint32, sha256Hex string) (string, error) {
	p, n, err := in.lowerString(ctx, sha256Hex, CodeInvalidPayloadHash, "the chunk's hash")
	if err != nil {
		return "", err
	}
	return in.callString(ctx, exportSignChunk, exportPostSignChunk, uint64(rep), uint64(p), uint64(n))
}

func (in *instance) callSignTrailer(ctx context.Context, rep uint32, trailer []Header) (string, error) {
	p, n, err := in.lowerHeaders(ctx, trailer)
	if err != nil {
		return "", err
	}
	return in.callString(ctx, exportSignTrailer, exportPostSignTrailer, uint64(rep), uint64(p), uint64(n))
}

// callOpen starts an event stream's message signer: `open`. It returns the signer's rep.
func (in *instance) callOpen(ctx context.Context, seed, region, service string) (uint32, error) {
	var flat [6]uint64
	for i, s := range [...]struct{ v, what string }{{seed, "the seed signature"}, {region, "the region"}, {service, "the service"}} {
		p, n, err := in.lowerString(ctx, s.v, CodeInvalidOption, s.what)
		if err != nil {
			return 0, err
		}
		flat[2*i], flat[2*i+1] = uint64(p), uint64(n)
	}
	ret, err := in.call(context.WithValue(ctx, instanceKey{}, in), exportOpen, flat[:]...)
	if err != nil {
		return 0, err
	}
	var rep uint32
	r, liftErr := in.readReturn(ret, ret4Size)
	if liftErr == nil {
		if liftErr = in.liftResult(r, ret4ErrTag); liftErr == nil {
			rep, liftErr = in.handles.take(messageSigner, binary.LittleEndian.Uint32(r[ret4Value:]))
		}
	}
	return rep, in.release(ctx, in.fn[exportPostOpen], exportPostOpen, ret, liftErr)
}

// callSignMessage signs the next message of the stream rep: `sign-message`.
func (in *instance) callSignMessage(ctx context.Context, rep uint32, sha256Hex string, creds *Credentials) (time.Time, []byte, error) {
	p, n, err := in.lowerString(ctx, sha256Hex, CodeInvalidPayloadHash, "the message's hash")
	if err != nil {
		return time.Time{}, nil, err
	}
	c, err := in.lowerCredentials(ctx, creds)
	if err != nil {
		return time.Time{}, nil, err
	}
	ret, err := in.call(ctx, exportSignMessage, append([]uint64{uint64(rep), uint64(p), uint64(n)}, c[:]...)...)
	if err != nil {
		return time.Time{}, nil, err
	}
	var date time.Time
	var sig []byte
	r, liftErr := in.readReturn(ret, messageSize)
	if liftErr == nil {
		if liftErr = in.liftResult(r, messageErr); liftErr == nil {
			if date, liftErr = liftInstant(r, messageDate, messageNano); liftErr == nil {
				var s string
				s, liftErr = in.readString(r, messageSig)
				sig = []byte(s)
			}
		}
	}
	return date, sig, in.release(ctx, in.fn[exportPostSignMessage], exportPostSignMessage, ret, liftErr)
}

// liftInstant reads an instant (seconds u64, nanoseconds u32).
func liftInstant(r []byte, secsOff, nanosOff int) (time.Time, error) {
	secs := binary.LittleEndian.Uint64(r[secsOff:])
	nanos := binary.LittleEndian.Uint32(r[nanosOff:])
	if secs > 1<<62 || nanos >= 1e9 {
		return time.Time{}, fmt.Errorf("%w: a returned time is out of range", errGuest)
	}
	return time.Unix(int64(secs), int64(nanos)).UTC(), nil
}

// drop ends an owned resource: its destructor.
func (in *instance) drop(ctx context.Context, dtor string, rep uint32) error {
	_, err := in.call(ctx, dtor, uint64(rep))
	return err
}

// abiCondition is a lowered policy condition: a case of the WIT variant `condition`.
type abiCondition struct {
	tag          uint8
	field, value string
	min, max     uint64
}

// abiForm is the lifted ok case of `sign-post-policy`.
type abiForm struct {
	fields              []FormField
	document, signature string
	signingTime         time.Time
}

// callSignPostPolicy lowers the policy's 14 flat values and calls `sign-post-policy`.
func (in *instance) callSignPostPolicy(ctx context.Context, expires uint32, conds []abiCondition, region, service string, creds *Credentials) (*abiForm, error) {
	list := make([]byte, len(conds)*conditionSize)
	for i, c := range conds {
		e := list[i*conditionSize:]
		e[0] = c.tag
		if c.tag == conditionLength {
			binary.LittleEndian.PutUint64(e[conditionPayload:], c.min)
			binary.LittleEndian.PutUint64(e[conditionPayload+8:], c.max)
			continue
		}
		p, n, err := in.lowerString(ctx, c.field, CodeInvalidOption, "a condition's field")
		if err != nil {
			return nil, err
		}
		putStr(e, conditionPayload, p, n)
		if p, n, err = in.lowerString(ctx, c.value, CodeInvalidOption, "a condition's value"); err != nil {
			return nil, err
		}
		putStr(e, conditionPayload+8, p, n)
	}
	listPtr := uint32(conditionAlign)
	if len(list) > 0 {
		var err error
		if listPtr, err = in.place(ctx, conditionAlign, list); err != nil {
			return nil, err
		}
	}
	flat := []uint64{uint64(expires), uint64(listPtr), uint64(len(conds))}
	for _, s := range [...]string{region, service} {
		p, n, err := in.lowerString(ctx, s, CodeInvalidOption, "the region or service")
		if err != nil {
			return nil, err
		}
		flat = append(flat, uint64(p), uint64(n))
	}
	c, err := in.lowerCredentials(ctx, creds)
	if err != nil {
		return nil, err
	}
	ret, err := in.call(ctx, exportPolicy, append(flat, c[:]...)...)
	if err != nil {
		return nil, err
	}
	out, liftErr := in.liftForm(ret)
	return out, in.release(ctx, in.fn[exportPostPolicy], exportPostPolicy, ret, liftErr)
}

func (in *instance) liftForm(ret uint32) (*abiForm, error) {
	r, err := in.readReturn(ret, formSize)
	if err != nil {
		return nil, err
	}
	if err := in.liftResult(r, formErr); err != nil {
		return nil, err
	}
	out := &abiForm{}
	if out.document, err = in.readString(r, formDocument); err != nil {
		return nil, err
	}
	if out.signature, err = in.readString(r, formSignature); err != nil {
		return nil, err
	}
	if out.signingTime, err = liftInstant(r, formSeconds, formNanos); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint32(r[formFields+4:])
	if n > 64 {
		return nil, fmt.Errorf("%w: %d form fields returned", errGuest, n)
	}
	list, ok := in.mem.Read(binary.LittleEndian.Uint32(r[formFields:]), n*formFieldSize)
	if !ok {
		return nil, fmt.Errorf("%w: the returned field list is out of range", errGuest)
	}
	out.fields = make([]FormField, n)
	for i := range out.fields {
		f := list[i*formFieldSize:]
		if out.fields[i].Name, err = in.readString(f, 0); err != nil {
			return nil, err
		}
		if out.fields[i].Value, err = in.readString(f, 8); err != nil {
			return nil, err
		}
		out.fields[i].Sensitive = f[16] != 0
	}
	return out, nil
}

// liftSigned reads the result<signed-request, sign-error> at ret, copying every string out
// of guest memory.
func (in *instance) liftSigned(ret uint32, inputURL string) (*abiSigned, error) {
	r, err := in.readReturn(ret, retSize)
	if err != nil {
		return nil, err
	}
	if err := in.liftResult(r, retErrTag); err != nil {
		return nil, err
	}
	str := func(off int) (string, error) { return in.readString(r, off) }
	out := &abiSigned{}
	// In header placement the URL comes back unchanged: keep the caller's string.
	if b, ok := in.mem.Read(binary.LittleEndian.Uint32(r[retURL:]), binary.LittleEndian.Uint32(r[retURL+4:])); ok && string(b) == inputURL {
		out.url = inputURL
	} else if out.url, err = str(retURL); err != nil {
		return nil, err
	}
	if out.signature, err = str(retSignature); err != nil {
		return nil, err
	}
	if out.signingTime, err = liftInstant(r, retSeconds, retNanoseconds); err != nil {
		return nil, err
	}
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

// realNow is the host side of real-time.real-now: it reads the module's clock and stores
// result<instant, clock-error> at ret, the return pointer the guest passes. A clock error
// becomes the WIT error (the guest then fails closed with clock-unavailable), never a trap.
func realNow(ctx context.Context, mod *module, ret uint32) {
	mem := mod.Memory()
	t, err := readClock(mod.now)
	if err == nil && t.Unix() < 0 {
		err = fmt.Errorf("the clock read %s, before 1970", t.UTC().Format(time.RFC3339))
	}
	if err == nil {
		mem.WriteUint8(ret+nowTag, 0)
		mem.WriteUint64Le(ret+nowSeconds, uint64(t.Unix()))
		mem.WriteUint32Le(ret+nowNanoseconds, uint32(t.Nanosecond()))
		return
	}
	msg := err.Error()
	call := []uint64{0, 0, 1, uint64(len(msg))}
	if callErr := mod.ExportedFunction(exportRealloc).CallWithStack(ctx, call); callErr != nil {
		panic(fmt.Errorf("cabi_realloc in real-now: %w", callErr))
	}
	ptr := uint32(call[0])
	if !mem.WriteString(ptr, msg) {
		panic(fmt.Errorf("%w: cabi_realloc returned an out-of-range pointer", errGuest))
	}
	mem.WriteUint8(ret+nowTag, 1)
	mem.WriteUint32Le(ret+nowMessage, ptr)
	mem.WriteUint32Le(ret+nowMessage+4, uint32(len(msg)))
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
