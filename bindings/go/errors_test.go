package realsig

// Bad input gets a typed error (errors.Is with the WIT case), the secret never shows, and the
// Signer keeps working afterwards.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

const testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYSECRETKEY"
const testToken = "FQoGZXIvYXdzEXAMPLESESSIONTOKEN"

var testCreds = Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: testSecret, SessionToken: testToken}

func goodRequest() *Request {
	return &Request{Method: "GET", URL: "https://example.amazonaws.com/", Region: "us-east-1", Service: "service"}
}

func TestBadInputGetsTypedErrors(t *testing.T) {
	s := testSigner(t, WithRealNow(FixedClock(time.Unix(1_700_000_000, 0))))
	ctx := context.Background()
	cases := []struct {
		name   string
		edit   func(*Request, *Credentials)
		want   error
		inText string
	}{
		{"relative URL", func(r *Request, _ *Credentials) { r.URL = "/no/host" }, ErrInvalidURL, ""},
		{"ftp URL", func(r *Request, _ *Credentials) { r.URL = "ftp://example.com/" }, ErrInvalidURL, ""},
		{"URL not UTF-8", func(r *Request, _ *Credentials) { r.URL = "https://example.com/\xff" }, ErrInvalidURL, "UTF-8"},
		{"method with space", func(r *Request, _ *Credentials) { r.Method = "GE T" }, ErrInvalidMethod, ""},
		{"header name with colon", func(r *Request, _ *Credentials) { r.Headers = []Header{{"x:y", "1"}} }, ErrInvalidHeaderName, ""},
		{"empty header name", func(r *Request, _ *Credentials) { r.Headers = []Header{{"", "1"}} }, ErrInvalidHeaderName, ""},
		{"header value with newline", func(r *Request, _ *Credentials) { r.Headers = []Header{{"x-a", "1\r\nx-b: 2"}} }, ErrInvalidHeaderValue, ""},
		{"header value not UTF-8", func(r *Request, _ *Credentials) { r.Headers = []Header{{"x-a", "\xc3"}} }, ErrInvalidHeaderValue, "UTF-8"},
		{"short payload hash", func(r *Request, _ *Credentials) { r.PayloadHash = "abc" }, ErrInvalidPayloadHash, ""},
		{"empty region", func(r *Request, _ *Credentials) { r.Region = "" }, ErrInvalidOption, ""},
		{"expires too long", func(r *Request, _ *Credentials) { r.Expires = 8 * 24 * time.Hour }, ErrInvalidOption, "7 days"},
		{"expires fractional", func(r *Request, _ *Credentials) { r.Expires = 1500 * time.Millisecond }, ErrInvalidOption, ""},
		{"huge header", func(r *Request, _ *Credentials) { r.Headers = []Header{{"x-big", strings.Repeat("a", 17<<20)}} }, ErrInvalidOption, "too large"},
		{"no access key", func(_ *Request, c *Credentials) { c.AccessKeyID = "" }, ErrInvalidCredentials, ""},
		{"no secret", func(_ *Request, c *Credentials) { c.SecretAccessKey = "" }, ErrInvalidCredentials, ""},
		{"secret not UTF-8", func(_ *Request, c *Credentials) { c.SecretAccessKey = testSecret + "\xff" }, ErrInvalidCredentials, "UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, creds := goodRequest(), testCreds
			c.edit(req, &creds)
			out, err := s.SignRequest(ctx, req, creds)
			if out != nil || !errors.Is(err, c.want) {
				t.Fatalf("got %v, %v; want %v", out, err, c.want)
			}
			var se *SignError
			if !errors.As(err, &se) || se.Message == "" || !strings.Contains(err.Error(), c.inText) {
				t.Fatalf("error %q: want a SignError with a message containing %q", err, c.inText)
			}
			if strings.Contains(err.Error(), testSecret) || strings.Contains(err.Error(), testToken) {
				t.Fatalf("the error shows a secret: %s", err)
			}
			// The same Signer (and pool) still signs.
			if _, err := s.SignRequest(ctx, goodRequest(), testCreds); err != nil {
				t.Fatalf("after %s: %v", c.name, err)
			}
		})
	}
}

func TestFailingClockFailsClosed(t *testing.T) {
	for name, clock := range map[string]RealNow{
		"error":  func() (time.Time, error) { return time.Time{}, errors.New("ntp:pool.example: timed out") },
		"panic":  func() (time.Time, error) { panic("boom") },
		"before": FixedClock(time.Date(1969, 7, 20, 20, 17, 0, 0, time.UTC)),
		"chain":  Chain(RealtimeFile("/nonexistent/realtime"), func() (time.Time, error) { return time.Time{}, errors.New("second: down") }),
	} {
		t.Run(name, func(t *testing.T) {
			s := testSigner(t, WithRealNow(clock))
			r, _ := http.NewRequest("GET", "https://example.amazonaws.com/", nil)
			err := s.Sign(context.Background(), r, testCreds, "us-east-1", "service")
			if !errors.Is(err, ErrClockUnavailable) {
				t.Fatalf("got %v, want clock-unavailable", err)
			}
			if r.Header.Get("Authorization") != "" || r.Header.Get("X-Amz-Date") != "" {
				t.Fatalf("a failed signature left headers: %v", r.Header)
			}
			t.Log(err)
			if name == "chain" && (!strings.Contains(err.Error(), "faketimefs:/nonexistent/realtime") || !strings.Contains(err.Error(), "second: down")) {
				t.Fatalf("the error does not name every source tried: %s", err)
			}
		})
	}
}

func TestCredentialsNeverPrint(t *testing.T) {
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(f, testCreds)
		if strings.Contains(out, testSecret) || strings.Contains(out, testToken) || !strings.Contains(out, "AKIDEXAMPLE") {
			t.Errorf("fmt %s: %s", f, out)
		}
	}
	out := fmt.Sprintf("%+v", struct{ C Credentials }{testCreds})
	if strings.Contains(out, testSecret) {
		t.Errorf("nested: %s", out)
	}
}

func TestHTTPRequestBodies(t *testing.T) {
	s := testSigner(t, WithRealNow(FixedClock(time.Unix(1_700_000_000, 0))))
	ctx := context.Background()
	// A body that cannot be re-read is refused before anything is read from it.
	r, _ := http.NewRequest("PUT", "https://example.amazonaws.com/k", strings.NewReader("data"))
	r.GetBody = nil
	if err := s.Sign(ctx, r, testCreds, "us-east-1", "service"); !errors.Is(err, ErrInvalidPayloadHash) || !strings.Contains(err.Error(), "GetBody") {
		t.Fatalf("got %v", err)
	}
	// With GetBody, the body is hashed and r.Body is left for the transport.
	r, _ = http.NewRequest("PUT", "https://bucket.s3.amazonaws.com/k", strings.NewReader("data"))
	if err := s.Sign(ctx, r, testCreds, "us-east-1", "s3"); err != nil {
		t.Fatal(err)
	}
	// sha256("data"), computed independently: printf data | sha256sum
	if got := r.Header.Get("X-Amz-Content-Sha256"); got != "3a6eb0790f39ac87c94f3856b2dd2c5d110e6811602261a9a923d3bb23adc8b7" {
		t.Fatalf("x-amz-content-sha256 %q", got)
	}
	left := make([]byte, 8)
	if n, _ := r.Body.Read(left); string(left[:n]) != "data" {
		t.Fatalf("the body was consumed: %q left", left[:n])
	}
	// Presigning S3 signs UNSIGNED-PAYLOAD and puts everything in the URL.
	r, _ = http.NewRequest("GET", "https://bucket.s3.amazonaws.com/k", nil)
	u, err := s.Presign(ctx, r, testCreds, "us-east-1", "s3", 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{"X-Amz-Expires=900", "X-Amz-Security-Token=", "X-Amz-Signature=", "X-Amz-Credential=AKIDEXAMPLE%2F20231114%2Fus-east-1%2Fs3%2Faws4_request"} {
		if !strings.Contains(u, part) {
			t.Errorf("presigned URL %s lacks %s", u, part)
		}
	}
	if r.Header.Get("Authorization") != "" {
		t.Errorf("presigning set Authorization")
	}
}

func TestClosedSigner(t *testing.T) {
	s, err := NewSigner(WithRealNow(RawClock()))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := s.SignRequest(context.Background(), goodRequest(), testCreds); !errors.Is(err, errClosed) {
		t.Fatalf("got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s, _ = NewSigner(WithRealNow(RawClock()))
	defer s.Close()
	if _, err := s.SignRequest(ctx, goodRequest(), testCreds); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}
