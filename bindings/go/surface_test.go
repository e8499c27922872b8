package realsig

// Chunked uploads, POST policies and event streams: against AWS's documented examples, an
// s3s-fs server that verifies the chunk chain itself, HMACs computed here with crypto/hmac,
// and aws-sdk-go-v2's event-stream signer.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// AWS's example "Signature Calculations for the Authorization Header: Transferring Payload in
// Multiple Chunks" and its trailer variant: 64 KiB + 1 KiB of 'a'.
var (
	docCreds = Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	docData  = bytes.Repeat([]byte("a"), 65536+1024)
)

// docUpload starts the example's upload; the example without a trailer signs its
// content-length (66824), the one with a trailer does not.
func docUpload(t *testing.T, c Chunked, headers ...Header) *ChunkedUpload {
	t.Helper()
	s := testSigner(t, WithRealNow(FixedClock(time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC))))
	c.DecodedContentLength = int64(len(docData))
	u, err := s.StartChunked(context.Background(), &Request{
		URL:     "https://s3.amazonaws.com/examplebucket/chunkObject.txt",
		Headers: append([]Header{{"x-amz-storage-class", "REDUCED_REDUNDANCY"}}, headers...),
		Region:  "us-east-1", Service: "s3",
	}, docCreds, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close() })
	return u
}

func header(s *Signed, name string) string {
	for _, h := range s.Headers {
		if h.Name == name {
			return h.Value
		}
	}
	return ""
}

func readBody(t *testing.T, u *ChunkedUpload, data []byte) []byte {
	t.Helper()
	body, err := u.Body(context.Background(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestChunkedUploadFramesTheDocumentedExample(t *testing.T) {
	framed, err := Chunked{DecodedContentLength: int64(len(docData))}.FramedLength()
	if err != nil || framed != 66824 {
		t.Fatalf("FramedLength %d (%v), the example's content-length is 66824", framed, err)
	}
	u := docUpload(t, Chunked{}, Header{"content-length", "66824"})
	if u.Signed.Signature != "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9" {
		t.Fatalf("seed signature %s", u.Signed.Signature)
	}
	for name, want := range map[string]string{
		"x-amz-decoded-content-length": "66560", "content-encoding": "aws-chunked",
		"x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
	} {
		if got := header(u.Signed, name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	body := readBody(t, u, docData)
	want := "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n" +
		string(docData[:65536]) + "\r\n" +
		"400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n" +
		string(docData[65536:]) + "\r\n" +
		"0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n"
	if string(body) != want {
		t.Fatalf("the framed body differs from the example (%d bytes, want %d)", len(body), len(want))
	}
	if int64(len(body)) != u.ContentLength {
		t.Fatalf("body %d bytes, content length %d", len(body), u.ContentLength)
	}
}

func TestChunkedUploadWithATrailerFramesTheDocumentedExample(t *testing.T) {
	u := docUpload(t, Chunked{Mode: ChunkedSignedWithTrailer, Trailer: "x-amz-checksum-crc32c"})
	if u.Signed.Signature != "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e" {
		t.Fatalf("seed signature %s", u.Signed.Signature)
	}
	body := readBody(t, u, docData)
	// The CRC32C (sOO8/Q==) is computed by Body with hash/crc32; the example documents it.
	want := "10000;chunk-signature=b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2\r\n" +
		string(docData[:65536]) + "\r\n" +
		"400;chunk-signature=1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7\r\n" +
		string(docData[65536:]) + "\r\n" +
		"0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992\r\n" +
		"x-amz-checksum-crc32c:sOO8/Q==\r\n" +
		"x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n"
	if string(body) != want {
		t.Fatalf("the framed body differs from the example:\n%q", body[len(body)-250:])
	}
	if int64(len(body)) != u.ContentLength {
		t.Fatalf("body %d bytes, content length %d", len(body), u.ContentLength)
	}
	// Body closed the upload once it framed the end.
	if _, err := u.SignChunk(context.Background(), emptySHA256); !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("after Close: %v", err)
	}
}

func TestChunkedUploadByHandSignsTheDocumentedChunks(t *testing.T) {
	ctx := context.Background()
	u := docUpload(t, Chunked{}, Header{"content-length", "66824"})
	var sigs []string
	for _, chunk := range [][]byte{docData[:65536], docData[65536:], nil} {
		sum := sha256.Sum256(chunk)
		sig, err := u.SignChunk(ctx, hex.EncodeToString(sum[:]))
		if err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, sig[:8])
	}
	if got := strings.Join(sigs, " "); got != "ad80c730 0055627c b6c6ea8a" {
		t.Fatalf("chunk signatures %s", got)
	}
	if _, err := u.SignTrailer(ctx, []Header{{"x-amz-checksum-crc32", "AAAAAA=="}}); !errors.Is(err, ErrInvalidOption) {
		t.Fatalf("a trailer in signed mode: %v", err)
	}
}

func TestChunkedRefusalsAreTyped(t *testing.T) {
	s := testSigner(t, WithRealNow(FixedClock(time.Unix(1_700_000_000, 0))))
	ctx := context.Background()
	req := &Request{URL: "https://b.s3.amazonaws.com/k", Region: "us-east-1", Service: "s3"}
	for _, tc := range []struct {
		name string
		req  *Request
		c    Chunked
		want error
	}{
		{"a trailer in signed mode", req, Chunked{Trailer: "x-amz-checksum-crc32"}, ErrInvalidOption},
		{"a trailer mode without a trailer", req, Chunked{Mode: ChunkedSignedWithTrailer}, ErrInvalidOption},
		{"an unknown mode", req, Chunked{Mode: 7}, ErrInvalidOption},
		{"an uppercase trailer", req, Chunked{Mode: ChunkedSignedWithTrailer, Trailer: "X-Amz-Checksum-Crc32"}, ErrInvalidHeaderName},
		{"a body in the request", &Request{URL: req.URL, Region: "us-east-1", Service: "s3", Body: []byte("x")}, Chunked{}, ErrInvalidOption},
		{"a presigned upload", &Request{URL: req.URL, Region: "us-east-1", Service: "s3", Expires: time.Hour}, Chunked{}, ErrInvalidOption},
		{"SigV4a", &Request{URL: req.URL, Region: "*", Service: "s3", Options: Options{SigV4a: true}}, Chunked{}, ErrInvalidOption},
		{"a negative length", req, Chunked{DecodedContentLength: -1}, ErrInvalidOption},
		{"a negative chunk size", req, Chunked{ChunkSize: -1}, ErrInvalidOption},
		{"a 1 GiB chunk size", req, Chunked{ChunkSize: 1 << 30}, ErrInvalidOption},
		{"a bad content-length", &Request{URL: req.URL, Region: "us-east-1", Service: "s3", Headers: []Header{{"Content-Length", "ten"}}}, Chunked{}, ErrInvalidHeaderValue},
	} {
		if u, err := s.StartChunked(ctx, tc.req, testCreds, tc.c); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			if u != nil {
				u.Close()
			}
		} else if strings.Contains(err.Error(), testSecret) {
			t.Errorf("%s: the error shows the secret", tc.name)
		}
	}

	// A trailer Body cannot compute: the caller frames by hand, and gives the content-length.
	crc64 := Chunked{Mode: ChunkedUnsignedWithTrailer, Trailer: "x-amz-checksum-crc64nvme", DecodedContentLength: 5}
	u, err := s.StartChunked(ctx, req, testCreds, crc64)
	if err != nil {
		t.Fatal(err)
	}
	if u.ContentLength != -1 {
		t.Errorf("content length %d with an unknown trailer, want -1 (unknown)", u.ContentLength)
	}
	u.Close()
	if _, err := crc64.FramedLength(); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("FramedLength with crc64nvme: %v", err)
	}
	u, err = s.StartChunked(ctx, &Request{URL: req.URL, Region: "us-east-1", Service: "s3", Headers: []Header{{"content-length", "100"}}}, testCreds, crc64)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if u.ContentLength != 100 {
		t.Errorf("content length %d, the header said 100", u.ContentLength)
	}
	if _, err := u.Body(ctx, strings.NewReader("hello")); !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), "crc64nvme") {
		t.Errorf("Body with crc64nvme: %v", err)
	}
	if _, err := u.SignChunk(ctx, emptySHA256); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("a chunk signature in unsigned mode: %v", err)
	}

	// A body that does not hold the signed length fails to read, never frames short.
	for _, data := range []string{"four", "sixsix"} {
		u, err := s.StartChunked(ctx, req, testCreds, Chunked{DecodedContentLength: 5, ChunkSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		body, err := u.Body(ctx, strings.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(body); !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), "signed for 5") {
			t.Errorf("a %d-byte body for 5: %v", len(data), err)
		}
		u.Close()
	}
}

// FramedLength agrees with what Body writes, for every mode, checksum and a spread of sizes.
func TestFramedLengthIsWhatBodyWrites(t *testing.T) {
	s := testSigner(t, WithRealNow(FixedClock(time.Unix(1_700_000_000, 0))))
	ctx := context.Background()
	for _, c := range []Chunked{
		{Mode: ChunkedSigned},
		{Mode: ChunkedSignedWithTrailer, Trailer: "x-amz-checksum-crc32"},
		{Mode: ChunkedSignedWithTrailer, Trailer: "x-amz-checksum-sha1"},
		{Mode: ChunkedUnsignedWithTrailer, Trailer: "x-amz-checksum-sha256"},
		{Mode: ChunkedUnsignedWithTrailer, Trailer: "x-amz-checksum-crc32c"},
	} {
		for _, n := range []int{0, 1, 8191, 8192, 8193, 3*8192 + 17} {
			c.DecodedContentLength, c.ChunkSize = int64(n), 8192
			u, err := s.StartChunked(ctx, &Request{URL: "https://b.s3.amazonaws.com/k", Region: "us-east-1", Service: "s3"}, testCreds, c)
			if err != nil {
				t.Fatal(err)
			}
			body := readBody(t, u, bytes.Repeat([]byte{7}, n))
			u.Close()
			if int64(len(body)) != u.ContentLength {
				t.Errorf("%s %s, %d bytes: framed %d, FramedLength %d", c.Mode, c.Trailer, n, len(body), u.ContentLength)
			}
		}
	}
}

// A chunked upload sent with net/http to s3s-fs, which verifies the seed and every chunk's
// signature (and the trailer's) as it streams, then read back.
func TestChunkedUploadToS3sFs(t *testing.T) {
	endpoint := startS3sFs(t)
	s := testSigner(t, WithRealNow(RawClock()))
	ctx := context.Background()
	send := func(method, path string, body []byte) (int, []byte) {
		r, err := http.NewRequest(method, endpoint+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Sign(ctx, r, s3sFsCreds, "us-east-1", "s3"); err != nil {
			t.Fatal(err)
		}
		return do(t, r)
	}
	if code, msg := send("PUT", "/bucket", nil); code != 200 {
		t.Fatalf("creating the bucket: %d %s", code, msg)
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), 3<<16+7) // about 3 MiB, not a multiple of the chunk size
	for _, c := range []Chunked{
		{Mode: ChunkedSigned},
		{Mode: ChunkedSignedWithTrailer, Trailer: "x-amz-checksum-crc32"},
		{Mode: ChunkedSignedWithTrailer, Trailer: "x-amz-checksum-crc32c"},
		{Mode: ChunkedSignedWithTrailer, Trailer: "x-amz-checksum-sha256"},
		{Mode: ChunkedUnsignedWithTrailer, Trailer: "x-amz-checksum-crc32"},
	} {
		key := fmt.Sprintf("/bucket/%d-%s", c.Mode, c.Trailer)
		c.DecodedContentLength = int64(len(data))
		r, u := chunkedRequest(t, s, endpoint+key, data, c, nil)
		code, msg := do(t, r)
		u.Close()
		if code != 200 {
			t.Fatalf("%s %s: %d %s", c.Mode, c.Trailer, code, msg)
		}
		if code, got := send("GET", key, nil); code != 200 || !bytes.Equal(got, data) {
			t.Fatalf("%s %s: read back %d, %d bytes, equal %v", c.Mode, c.Trailer, code, len(got), bytes.Equal(got, data))
		}
	}

	// A chunk altered after it was signed is refused; the same upload unaltered is accepted.
	part := data[:200_000]
	r, u := chunkedRequest(t, s, endpoint+"/bucket/unaltered", part, Chunked{DecodedContentLength: int64(len(part))}, nil)
	if code, msg := do(t, r); code != 200 {
		t.Fatalf("the unaltered upload: %d %s", code, msg)
	}
	u.Close()
	alter := func(b []byte) []byte { b[70_000] ^= 1; return b }
	r, u = chunkedRequest(t, s, endpoint+"/bucket/altered", part, Chunked{DecodedContentLength: int64(len(part))}, alter)
	defer u.Close()
	t.Logf("the altered upload: %s", refusal(t, r))
	if code, got := send("GET", "/bucket/unaltered", nil); code != 200 || !bytes.Equal(got, part) {
		t.Fatalf("s3s-fs after the refusal: %d, %d bytes", code, len(got))
	}
}

// refusal sends r, which the server must refuse, and says how it did. s3s-fs 0.14.1 finds a
// bad chunk while streaming, answers 500 (not 403) and closes the connection without reading
// the rest of the body. A client still sending then gets the write cut off (EPIPE or
// ECONNRESET) and never sees the answer: CI saw "write: broken pipe". Either way the upload
// was refused; anything else fails the test.
func refusal(t *testing.T, r *http.Request) string {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) {
		return "connection closed while the body was sent: " + err.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		t.Fatalf("accepted: %s", resp.Status)
	}
	return "answered " + resp.Status
}

// chunkedRequest is a PUT of data to url as an aws-chunked upload, framed by Body as the
// request is sent (and changed by alter, when given, after framing).
func chunkedRequest(t *testing.T, s *Signer, url string, data []byte, c Chunked, alter func([]byte) []byte) (*http.Request, *ChunkedUpload) {
	t.Helper()
	ctx := context.Background()
	u, err := s.StartChunked(ctx, &Request{URL: url, Region: "us-east-1", Service: "s3"}, s3sFsCreds, c)
	if err != nil {
		t.Fatal(err)
	}
	body, err := u.Body(ctx, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if alter != nil {
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(alter(b))
	}
	r, err := http.NewRequest("PUT", url, io.NopCloser(body)) // streamed: no GetBody, no buffering
	if err != nil {
		t.Fatal(err)
	}
	r.ContentLength = u.ContentLength
	setSigned(r, u.Signed.Headers)
	return r, u
}

func do(t *testing.T, r *http.Request) (int, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func signingKey(secret, date, region, service string) []byte {
	key := []byte("AWS4" + secret)
	for _, part := range []string{date, region, service, "aws4_request"} {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(part))
		key = m.Sum(nil)
	}
	return key
}

func TestPostPolicyIsTheDocumentItSaysSignedWithTheSigV4Key(t *testing.T) {
	s := testSigner(t, WithRealNow(FixedClock(time.Date(2015, 12, 29, 0, 0, 0, 0, time.UTC))))
	creds := Credentials{AccessKeyID: docCreds.AccessKeyID, SecretAccessKey: docCreds.SecretAccessKey, SessionToken: "TOKEN-EXAMPLE"}
	form, err := s.SignPostPolicy(context.Background(), &PostPolicy{
		Conditions: []Condition{Equals("bucket", "sigv4examplebucket"), StartsWith("$key", "user/user1/"), ContentLengthRange(1, 1048576)},
		Region:     "us-east-1",
	}, creds)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	fields := map[string]string{}
	for _, f := range form.Fields {
		names = append(names, f.Name)
		fields[f.Name] = f.Value
		if f.Sensitive != (f.Name == "x-amz-security-token") {
			t.Errorf("field %s: sensitive %v", f.Name, f.Sensitive)
		}
	}
	if got := strings.Join(names, " "); got != "policy x-amz-algorithm x-amz-credential x-amz-date x-amz-security-token x-amz-signature" {
		t.Fatalf("fields %s", got)
	}
	decoded, err := base64.StdEncoding.DecodeString(fields["policy"])
	if err != nil || string(decoded) != form.PolicyDocument {
		t.Fatalf("the policy field is not the document in base64: %v", err)
	}
	var doc struct {
		Expiration string
		Conditions []any
	}
	if err := json.Unmarshal(decoded, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Expiration != "2015-12-29T01:00:00Z" {
		t.Errorf("expiration %s", doc.Expiration)
	}
	got, _ := json.Marshal(doc.Conditions)
	want := `[["eq","$bucket","sigv4examplebucket"],["starts-with","$key","user/user1/"],["content-length-range",1,1048576],` +
		`{"x-amz-algorithm":"AWS4-HMAC-SHA256"},{"x-amz-credential":"AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request"},` +
		`{"x-amz-date":"20151229T000000Z"},{"x-amz-security-token":"TOKEN-EXAMPLE"}]`
	if string(got) != want {
		t.Errorf("conditions %s\nwant %s", got, want)
	}
	m := hmac.New(sha256.New, signingKey(creds.SecretAccessKey, "20151229", "us-east-1", "s3"))
	m.Write([]byte(fields["policy"]))
	if sig := hex.EncodeToString(m.Sum(nil)); form.Signature != sig || fields["x-amz-signature"] != sig {
		t.Fatalf("signature %s, HMAC of the policy with the SigV4 key %s", form.Signature, sig)
	}
	if !form.SigningTime.Equal(time.Date(2015, 12, 29, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("signing time %s", form.SigningTime)
	}

	for _, bad := range []*PostPolicy{
		{Region: "us-east-1", Conditions: []Condition{ContentLengthRange(10, 1)}},
		{Region: "us-east-1", Conditions: []Condition{Equals("", "x")}},
		{Region: "us-east-1", Expires: 8 * 24 * time.Hour},
		{Region: "us-east-1", Expires: 1500 * time.Millisecond},
		{Region: ""},
	} {
		if _, err := s.SignPostPolicy(context.Background(), bad, creds); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("%+v: %v, want invalid-option", bad, err)
		}
	}
}

// The message signatures equal aws-sdk-go-v2's StreamSigner over the same `:date` header,
// chained, across midnight (where the key's date changes), with the closing empty frame.
func TestEventStreamMatchesAwsSdkGoV2(t *testing.T) {
	now := time.Date(2026, 11, 22, 23, 59, 58, 250_000_000, time.UTC)
	s := testSigner(t, WithRealNow(func() (time.Time, error) { return now, nil }))
	ctx := context.Background()
	seed := "e1d8e8c8815e60969f2a34765c9a15945ffc0badbaa4b7e3b163ea19131e949b"
	m, err := s.EventStream(ctx, seed, "us-west-2", "transcribe")
	if err != nil {
		t.Fatal(err)
	}
	seedBytes, _ := hex.DecodeString(seed)
	theirs := v4.NewStreamSigner(aws.Credentials{AccessKeyID: testCreds.AccessKeyID, SecretAccessKey: testCreds.SecretAccessKey},
		"transcribe", "us-west-2", seedBytes)
	for _, message := range [][]byte{[]byte("first audio frame"), make([]byte, 4096), []byte("last"), nil} {
		date, sig, err := m.SignMessage(ctx, message, testCreds)
		if err != nil {
			t.Fatal(err)
		}
		if !date.Equal(now.Truncate(time.Second)) {
			t.Fatalf(":date %s, want the signing time in whole seconds %s", date, now)
		}
		// The envelope's :date header, encoded as an event-stream timestamp (type 8,
		// big-endian milliseconds), is what both sign.
		dateHeader := append([]byte{5}, ":date"...)
		dateHeader = binary.BigEndian.AppendUint64(append(dateHeader, 8), uint64(date.UnixMilli()))
		want, err := theirs.GetSignature(ctx, dateHeader, message, date)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(sig, want) {
			t.Fatalf("message %q: signature %x, aws-sdk-go-v2 %x", message, sig, want)
		}
		now = now.Add(1500 * time.Millisecond)
	}
	m.Close()
	if _, _, err := m.SignMessage(ctx, nil, testCreds); !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("after Close: %v", err)
	}
	if _, err := s.EventStream(ctx, "not hex", "us-west-2", "transcribe"); !errors.Is(err, ErrInvalidOption) {
		t.Fatalf("a bad seed: %v", err)
	}
}

// Resources end with their destructor and give their instance back: a thousand uploads and
// streams opened and closed leave the instance's memory as it was, and the pool full.
func TestResourcesAreFreedAndInstancesReturned(t *testing.T) {
	s := testSigner(t, WithRealNow(FixedClock(time.Unix(1_700_000_000, 0))), WithPoolSize(1))
	ctx := context.Background()
	round := func() {
		u, err := s.StartChunked(ctx, &Request{URL: "https://b.s3.amazonaws.com/k", Region: "us-east-1", Service: "s3"},
			testCreds, Chunked{Mode: ChunkedSignedWithTrailer, Trailer: "x-amz-checksum-crc32", DecodedContentLength: 3})
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, u, []byte("abc"))
		if err := u.Close(); err != nil {
			t.Fatal(err)
		}
		m, err := s.EventStream(ctx, u.Signed.Signature, "us-east-1", "s3")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := m.SignMessage(ctx, []byte("x"), testCreds); err != nil {
			t.Fatal(err)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
	round()
	in := <-s.pool
	before := in.mem.Size()
	s.pool <- in
	for range 1000 {
		round()
	}
	in = <-s.pool
	defer func() { s.pool <- in }()
	if after := in.mem.Size(); after != before {
		t.Fatalf("guest memory grew from %d to %d bytes over 1,000 uploads and streams", before, after)
	}
	if n := len(in.handles.entries); n > 1 {
		t.Fatalf("the handle table holds %d slots", n)
	}
}
