package realsig

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// ChunkedMode is how an S3 aws-chunked upload is signed (the WIT enum chunked-mode).
type ChunkedMode uint8

const (
	// ChunkedSigned signs every chunk: STREAMING-AWS4-HMAC-SHA256-PAYLOAD.
	ChunkedSigned ChunkedMode = iota
	// ChunkedSignedWithTrailer signs every chunk and a trailing checksum header:
	// STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER.
	ChunkedSignedWithTrailer
	// ChunkedUnsignedWithTrailer sends the chunks unsigned and a trailing checksum header:
	// STREAMING-UNSIGNED-PAYLOAD-TRAILER.
	ChunkedUnsignedWithTrailer
)

func (m ChunkedMode) String() string {
	switch m {
	case ChunkedSigned:
		return "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	case ChunkedSignedWithTrailer:
		return "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	case ChunkedUnsignedWithTrailer:
		return "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	}
	return fmt.Sprintf("ChunkedMode(%d)", uint8(m))
}

// DefaultChunkSize is the data per chunk Body frames when Chunked.ChunkSize is 0.
const DefaultChunkSize = 64 << 10

// The largest Chunked.ChunkSize: Body holds one chunk in memory.
const maxChunkSize = 64 << 20

// Chunked describes an aws-chunked upload.
type Chunked struct {
	Mode ChunkedMode
	// DecodedContentLength is the length of the data before framing.
	DecodedContentLength int64
	// Trailer names the trailing checksum header in the trailer modes. Body computes
	// x-amz-checksum-crc32, -crc32c, -sha1 and -sha256; for another, frame the body yourself
	// with SignChunk and SignTrailer.
	Trailer string
	// ChunkSize is the data per chunk Body frames (default DefaultChunkSize). S3 wants every
	// chunk but the last to hold at least 8 KiB.
	ChunkSize int
}

// The checksums Body computes, by trailer name, and the length of their base64 values.
var trailerChecksums = map[string]struct {
	hash   func() hash.Hash
	length int
}{
	"x-amz-checksum-crc32":  {func() hash.Hash { return crc32.NewIEEE() }, 8},
	"x-amz-checksum-crc32c": {func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) }, 8},
	"x-amz-checksum-sha1":   {sha1.New, 28},
	"x-amz-checksum-sha256": {sha256.New, 44},
}

func (c Chunked) chunkSize() int {
	if c.ChunkSize == 0 {
		return DefaultChunkSize
	}
	return c.ChunkSize
}

func (c Chunked) check() error {
	if c.Mode > ChunkedUnsignedWithTrailer {
		return &SignError{Code: CodeInvalidOption, Message: fmt.Sprintf("unknown chunked mode %d", uint8(c.Mode))}
	}
	if c.DecodedContentLength < 0 {
		return &SignError{Code: CodeInvalidOption, Message: "the decoded content length is negative"}
	}
	if c.ChunkSize < 0 || c.ChunkSize > maxChunkSize {
		return &SignError{Code: CodeInvalidOption, Message: fmt.Sprintf("chunk size %d: give 1 byte to 64 MiB (0 for 64 KiB)", c.ChunkSize)}
	}
	return nil
}

// FramedLength is the Content-Length of the upload as Body frames it.
func (c Chunked) FramedLength() (int64, error) {
	if err := c.check(); err != nil {
		return 0, err
	}
	size := c.chunkSize()
	signed := c.Mode != ChunkedUnsignedWithTrailer
	chunk := func(n int64) int64 {
		l := int64(len(strconv.FormatInt(n, 16))) + 2 // size, CRLF
		if signed {
			l += int64(len(";chunk-signature=")) + 64
		}
		if n > 0 {
			l += n + 2 // data, CRLF
		}
		return l
	}
	full, rest := c.DecodedContentLength/int64(size), c.DecodedContentLength%int64(size)
	total := full*chunk(int64(size)) + chunk(0)
	if rest > 0 {
		total += chunk(rest)
	}
	if c.Trailer != "" {
		sum, ok := trailerChecksums[c.Trailer]
		if !ok {
			return 0, &SignError{Code: CodeInvalidOption, Message: fmt.Sprintf(
				"the framed length with trailer %q is unknown: give the content-length header yourself", c.Trailer)}
		}
		total += int64(len(c.Trailer)+1+sum.length) + 2
		if c.Mode == ChunkedSignedWithTrailer {
			total += int64(len("x-amz-trailer-signature:")) + 64 + 2
		}
	}
	return total + 2, nil // the closing CRLF
}

// ChunkedUpload is a started aws-chunked upload: the signed seed request and the signer of
// its chunks, which chains each chunk's signature to the one before. Close it when done.
type ChunkedUpload struct {
	// Signed is the seed request's instructions: Authorization (whose signature seeds the
	// chain), X-Amz-Date, X-Amz-Content-Sha256 with the mode's literal, Content-Encoding,
	// X-Amz-Decoded-Content-Length and, in the trailer modes, X-Amz-Trailer.
	Signed *Signed
	// ContentLength is the Content-Length to send: the request's content-length header if it
	// has one (signing it is optional), else the length Body frames to, or -1 when a trailer
	// Body cannot compute leaves that unknown.
	ContentLength int64

	chunked Chunked
	h       held
}

// StartChunked signs the request that opens an aws-chunked upload (Method defaults to PUT).
// The data goes through the upload, never through req: req.Body and req.PayloadHash must be
// empty.
func (s *Signer) StartChunked(ctx context.Context, req *Request, creds Credentials, c Chunked) (*ChunkedUpload, error) {
	if len(req.Body) > 0 || req.PayloadHash != "" {
		return nil, &SignError{Code: CodeInvalidOption, Message: "a chunked upload's data goes through the upload: leave Body and PayloadHash empty"}
	}
	if req.Options.SigV4a {
		return nil, &SignError{Code: CodeInvalidOption, Message: "chunked uploads are signed with SigV4 (AWS4-HMAC-SHA256) only, not SigV4a"}
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	u := &ChunkedUpload{chunked: c, ContentLength: -1}
	r := *req
	for _, h := range req.Headers {
		if strings.EqualFold(h.Name, "content-length") {
			n, err := strconv.ParseInt(strings.TrimSpace(h.Value), 10, 64)
			if err != nil || n < 0 {
				return nil, &SignError{Code: CodeInvalidHeaderValue, Message: fmt.Sprintf("content-length %q is not a length", h.Value)}
			}
			u.ContentLength = n
		}
	}
	if n, err := c.FramedLength(); u.ContentLength < 0 && err == nil {
		u.ContentLength = n
	}
	if r.Method == "" {
		r.Method = http.MethodPut
	}
	a, err := lowerRequest(&r)
	if err != nil {
		return nil, err
	}
	if err := checkSize(&a, &creds); err != nil {
		return nil, err
	}
	err = s.hold(ctx, &u.h, exportDtorChunk, "ChunkedUpload", func(in *instance) (uint32, error) {
		out, rep, err := in.callStart(ctx, &a, &creds, uint8(c.Mode), uint64(c.DecodedContentLength), c.Trailer)
		if err == nil {
			u.Signed = out.public()
		}
		return rep, err
	})
	if err != nil {
		return nil, err
	}
	watch(u, &u.h)
	return u, nil
}

// SignChunk returns the signature of the next chunk, given its SHA-256 (lowercase hex); the
// final chunk is the empty one. Not in ChunkedUnsignedWithTrailer mode.
func (u *ChunkedUpload) SignChunk(ctx context.Context, sha256Hex string) (string, error) {
	var sig string
	err := u.h.use(ctx, func(in *instance, rep uint32) (err error) {
		sig, err = in.callSignChunk(ctx, rep, sha256Hex)
		return err
	})
	return sig, err
}

// SignTrailer returns the trailer's signature (x-amz-trailer-signature) after the final
// chunk, given the trailing headers as sent. Only in ChunkedSignedWithTrailer mode.
func (u *ChunkedUpload) SignTrailer(ctx context.Context, trailer []Header) (string, error) {
	var sig string
	err := u.h.use(ctx, func(in *instance, rep uint32) (err error) {
		sig, err = in.callSignTrailer(ctx, rep, trailer)
		return err
	})
	return sig, err
}

// Close ends the chunk signer. Calls afterwards fail with CodeInvalidOption.
func (u *ChunkedUpload) Close() error { return u.h.close() }

// Body returns r framed as aws-chunked: chunks of Chunked.ChunkSize, each signed as it is
// read, the final empty chunk and, in the trailer modes, the checksum trailer computed over
// the data (and signed in ChunkedSignedWithTrailer mode). r is read one chunk at a time,
// never whole. Reading fails if r holds other than DecodedContentLength bytes. Once the end
// is framed the upload is closed: nothing can be signed after the final chunk.
func (u *ChunkedUpload) Body(ctx context.Context, r io.Reader) (io.Reader, error) {
	b := &chunkedBody{ctx: ctx, u: u, src: r, data: make([]byte, u.chunked.chunkSize())}
	if name := u.chunked.Trailer; name != "" {
		sum, ok := trailerChecksums[name]
		if !ok {
			return nil, &SignError{Code: CodeInvalidOption, Message: fmt.Sprintf(
				"Body computes x-amz-checksum-crc32, -crc32c, -sha1 or -sha256, not %q: frame the body with SignChunk and SignTrailer", name)}
		}
		b.sum = sum.hash()
	}
	return b, nil
}

type chunkedBody struct {
	ctx     context.Context
	u       *ChunkedUpload
	src     io.Reader
	sum     hash.Hash // the trailer's checksum, in the trailer modes
	data    []byte
	frame   []byte
	pending []byte // framed bytes not yet read
	read    int64  // data bytes read from src
	err     error  // io.EOF after the closing CRLF
}

func (b *chunkedBody) Read(p []byte) (int, error) {
	for len(b.pending) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		b.err = b.next()
	}
	n := copy(p, b.pending)
	b.pending = b.pending[n:]
	return n, nil
}

// next frames the next chunk of data, or the end, into pending.
func (b *chunkedBody) next() error {
	n, err := io.ReadFull(b.src, b.data)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return fmt.Errorf("realsig: reading the body: %w", err)
	}
	b.read += int64(n)
	if want := b.u.chunked.DecodedContentLength; b.read > want || (n < len(b.data) && b.read != want) {
		return &SignError{Code: CodeInvalidOption, Message: fmt.Sprintf(
			"the body holds %d bytes or more, but the upload was signed for %d (DecodedContentLength)", b.read, want)}
	}
	b.frame = b.frame[:0]
	if n > 0 {
		if err := b.header(b.data[:n]); err != nil {
			return err
		}
		b.frame = append(append(b.frame, b.data[:n]...), "\r\n"...)
		if b.sum != nil {
			b.sum.Write(b.data[:n])
		}
	}
	if n == len(b.data) {
		b.pending = b.frame
		return nil
	}
	if err := b.end(); err != nil {
		return err
	}
	b.pending = b.frame
	if err := b.u.Close(); err != nil {
		return err
	}
	return io.EOF
}

// header appends a chunk's size line, with its signature unless the mode is unsigned.
func (b *chunkedBody) header(data []byte) error {
	b.frame = strconv.AppendInt(b.frame, int64(len(data)), 16)
	if b.u.chunked.Mode != ChunkedUnsignedWithTrailer {
		sum := sha256.Sum256(data)
		sig, err := b.u.SignChunk(b.ctx, hex.EncodeToString(sum[:]))
		if err != nil {
			return err
		}
		b.frame = append(append(b.frame, ";chunk-signature="...), sig...)
	}
	b.frame = append(b.frame, "\r\n"...)
	return nil
}

// end appends the final empty chunk, the trailer and the closing CRLF.
func (b *chunkedBody) end() error {
	if err := b.header(nil); err != nil {
		return err
	}
	if b.sum != nil {
		trailer := []Header{{b.u.chunked.Trailer, base64.StdEncoding.EncodeToString(b.sum.Sum(nil))}}
		b.frame = append(append(append(append(b.frame, trailer[0].Name...), ':'), trailer[0].Value...), "\r\n"...)
		if b.u.chunked.Mode == ChunkedSignedWithTrailer {
			sig, err := b.u.SignTrailer(b.ctx, trailer)
			if err != nil {
				return err
			}
			b.frame = append(append(append(b.frame, "x-amz-trailer-signature:"...), sig...), "\r\n"...)
		}
	}
	b.frame = append(b.frame, "\r\n"...)
	return nil
}
