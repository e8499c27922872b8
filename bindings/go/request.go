package realsig

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// UnsignedPayload as a PayloadHash signs the literal UNSIGNED-PAYLOAD (S3 over TLS, presigned
// URLs).
const UnsignedPayload = "UNSIGNED-PAYLOAD"

// Header is a request header as a name and a value, in request order.
type Header struct {
	Name, Value string
}

// Options say how to sign. The zero value leaves the rules where services differ to the
// component, which applies the request's Service's: for "s3" (and s3-object-lambda,
// s3-outposts, s3express) the path is the object key, sent and signed encoded once; no path
// normalisation; in header placement an x-amz-content-sha256 header; presigned URLs sign
// UNSIGNED-PAYLOAD. The fields below only depart from those rules.
type Options struct {
	DisableDoubleURIEncode   bool // the path is an S3 key: encoded once, never twice
	DisablePathNormalization bool // keep `.`/`..` segments and repeated slashes
	ContentSHA256Header      bool // add x-amz-content-sha256 carrying the payload hash
	OmitSessionToken         bool // add the session token after signing (IoT)
	Debug                    bool // return the canonical request and string to sign
	// SigV4a signs with AWS4-ECDSA-P256-SHA256 (multi-region access points); the region is
	// then the region set: "*" or regions joined by commas ("us-east-1,us-west-2").
	SigV4a bool
}

// Request is a request to sign as plain data.
type Request struct {
	Method  string // default GET
	URL     string // absolute http(s) URL, path and query exactly as sent
	Headers []Header
	// Body is hashed here with crypto/sha256, never copied into the component. Ignored when
	// PayloadHash is set.
	Body []byte
	// PayloadHash is the lowercase hex SHA-256 of the body, or UnsignedPayload.
	PayloadHash string
	Region      string
	Service     string
	// Expires > 0 presigns: the signature goes into the URL's query, valid this long
	// (1 s to 7 days, whole seconds).
	Expires time.Duration
	Options Options
}

// SignedHeader is a header to add to (or replace on) the request.
type SignedHeader struct {
	Name      string // lowercase
	Value     string
	Sensitive bool // the session token: do not log it
}

// Signed is the signing instructions.
type Signed struct {
	// Headers to add, replacing any of the same name. In presigning, empty unless the session
	// token is added after signing.
	Headers []SignedHeader
	// URL to send: the input URL in header placement, the presigned URL otherwise; for an S3
	// key, its path is the key encoded once, as signed (raw "a$b" is sent as "a%24b").
	URL         string
	Signature   string    // lowercase hex
	SigningTime time.Time // the RealNow reading (whole seconds are signed)
	// With Options.Debug: the canonical request and the string to sign. They contain no
	// secret but do contain a signed session token.
	CanonicalRequest, StringToSign string
}

// SignRequest signs req and returns what to add to it.
func (s *Signer) SignRequest(ctx context.Context, req *Request, creds Credentials) (*Signed, error) {
	a, err := lowerRequest(req)
	if err != nil {
		return nil, err
	}
	out, err := s.call(ctx, &a, &creds)
	if err != nil {
		return nil, err
	}
	return out.public(), nil
}

// lowerRequest is req as the WIT's request record: the payload hashed, defaults and the S3
// rules applied.
func lowerRequest(req *Request) (abiRequest, error) {
	a := abiRequest{
		method:  req.Method,
		url:     req.URL,
		headers: req.Headers,
		region:  req.Region,
		service: req.Service,
	}
	if a.method == "" {
		a.method = http.MethodGet
	}
	switch {
	case req.PayloadHash == UnsignedPayload:
		a.payloadTag = payloadUnsigned
	case req.PayloadHash != "":
		a.payloadTag, a.payload = payloadSHA256Hex, req.PayloadHash
	case len(req.Body) == 0:
		a.payloadTag = payloadEmpty
	default:
		sum := sha256.Sum256(req.Body)
		a.payloadTag, a.payload = payloadSHA256Hex, hex.EncodeToString(sum[:])
	}
	if req.Expires != 0 {
		secs := req.Expires / time.Second
		if req.Expires%time.Second != 0 || secs < 1 || secs > 7*24*3600 {
			return a, &SignError{Code: CodeInvalidOption, Message: fmt.Sprintf(
				"expires must be whole seconds from 1s to 168h (7 days), not %s", req.Expires)}
		}
		a.query, a.expires = true, uint32(secs)
	}
	// The component applies the service's rules; an option only departs from them.
	o := req.Options
	if o.DisableDoubleURIEncode {
		a.doubleEncode = ruleOff
	}
	if o.DisablePathNormalization {
		a.normalizePath = ruleOff
	}
	if o.ContentSHA256Header {
		a.contentSHA256 = ruleOn
	}
	a.omitToken = o.OmitSessionToken
	a.debug = o.Debug
	a.sigv4a = o.SigV4a
	return a, nil
}

func (out *abiSigned) public() *Signed {
	return &Signed{
		Headers:          out.headers,
		URL:              out.url,
		Signature:        out.signature,
		SigningTime:      out.signingTime,
		CanonicalRequest: out.canonicalRequest,
		StringToSign:     out.stringToSign,
	}
}

// Headers the Go HTTP stack or proxies set or rewrite after signing: left unsigned, as
// aws-sdk-go-v2's signer does.
var unsignedHeaders = map[string]bool{
	"Authorization":     true,
	"User-Agent":        true,
	"X-Amzn-Trace-Id":   true,
	"Expect":            true,
	"Transfer-Encoding": true,
}

// Headers the signature sets (http.Header spelling): any already on the request (from an
// earlier signature) are not passed in and are removed before the new ones are set.
var signatureHeaders = map[string]string{
	"authorization":        "Authorization",
	"x-amz-date":           "X-Amz-Date",
	"x-amz-security-token": "X-Amz-Security-Token",
	"x-amz-content-sha256": "X-Amz-Content-Sha256",
}

// setSigned removes what an earlier signature left on r and sets the new headers.
func setSigned(r *http.Request, headers []SignedHeader) {
	for _, name := range signatureHeaders {
		if name != "X-Amz-Content-Sha256" {
			delete(r.Header, name)
		}
	}
	for _, h := range headers {
		name, ok := signatureHeaders[h.Name]
		if !ok {
			name = http.CanonicalHeaderKey(h.Name)
		}
		r.Header[name] = []string{h.Value}
	}
}

// fromHTTP describes r as a Request. The payload hash is payloadHash when given (the AWS SDK
// computed it), else an X-Amz-Content-Sha256 header's, else the hash of the body read through
// r.GetBody (r.Body is left unread).
func fromHTTP(r *http.Request, region, service, payloadHash string, opts []func(*Options)) (*Request, error) {
	if r.URL == nil {
		return nil, &SignError{Code: CodeInvalidURL, Message: "the request has no URL"}
	}
	host := r.URL.Host
	if host == "" {
		host = r.Host
	}
	if host == "" {
		return nil, &SignError{Code: CodeInvalidURL, Message: "the request URL has no host (and r.Host is empty)"}
	}
	scheme := r.URL.Scheme
	if scheme == "" {
		scheme = "https"
	}
	req := &Request{
		Method:  r.Method,
		URL:     scheme + "://" + host + r.URL.RequestURI(),
		Region:  region,
		Service: service,
		Headers: make([]Header, 0, len(r.Header)+2),
	}
	for _, o := range opts {
		o(&req.Options)
	}
	if r.Host != "" && r.Host != host {
		req.Headers = append(req.Headers, Header{"host", r.Host})
	}
	if r.ContentLength > 0 {
		req.Headers = append(req.Headers, Header{"content-length", strconv.FormatInt(r.ContentLength, 10)})
	}
	for name, values := range r.Header {
		if unsignedHeaders[name] || name == "X-Amz-Date" || name == "X-Amz-Security-Token" || strings.EqualFold(name, "content-length") {
			continue
		}
		for _, v := range values {
			req.Headers = append(req.Headers, Header{name, v})
		}
	}
	if payloadHash != "" {
		req.PayloadHash = payloadHash
		return req, nil
	}
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" {
		req.PayloadHash = h
		return req, nil
	}
	if r.Body == nil || r.Body == http.NoBody {
		return req, nil
	}
	if r.GetBody == nil {
		return nil, &SignError{Code: CodeInvalidPayloadHash, Message: "the body cannot be re-read to hash it: " +
			"set r.GetBody (http.NewRequest does for bytes, strings and bytes.Buffer readers) or an X-Amz-Content-Sha256 header"}
	}
	body, err := r.GetBody()
	if err != nil {
		return nil, fmt.Errorf("realsig: r.GetBody: %w", err)
	}
	defer body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, body); err != nil {
		return nil, fmt.Errorf("realsig: hashing the body: %w", err)
	}
	req.PayloadHash = hex.EncodeToString(h.Sum(nil))
	return req, nil
}

// Sign signs r in place for service in region: it sets Authorization, X-Amz-Date (and
// X-Amz-Security-Token, and for S3 X-Amz-Content-Sha256). The body is hashed through
// r.GetBody unless r has an X-Amz-Content-Sha256 header (UnsignedPayload is allowed).
func (s *Signer) Sign(ctx context.Context, r *http.Request, creds Credentials, region, service string, opts ...func(*Options)) error {
	req, err := fromHTTP(r, region, service, "", opts)
	if err != nil {
		return err
	}
	signed, err := s.SignRequest(ctx, req, creds)
	if err != nil {
		return err
	}
	setSigned(r, signed.Headers)
	if signed.URL != req.URL {
		// An S3 key is sent in the form it was signed in (encoded once).
		sent, err := url.Parse(signed.URL)
		if err != nil {
			return &SignError{Code: CodeInvalidURL, Message: "the signed url does not parse: " + err.Error()}
		}
		r.URL.Path, r.URL.RawPath = sent.Path, sent.RawPath
	}
	return nil
}

// Presign returns r's URL presigned for service in region, valid for expires (1 s to 7
// days). S3 URLs sign UNSIGNED-PAYLOAD (unless r has an X-Amz-Content-Sha256 header: the
// component's rule); other services sign the body's hash as Sign does. Headers the URL needs (only with
// OmitSessionToken) are set on r.
func (s *Signer) Presign(ctx context.Context, r *http.Request, creds Credentials, region, service string, expires time.Duration, opts ...func(*Options)) (string, error) {
	req, err := fromHTTP(r, region, service, "", opts)
	if err != nil {
		return "", err
	}
	req.Expires = expires
	signed, err := s.SignRequest(ctx, req, creds)
	if err != nil {
		return "", err
	}
	setSigned(r, signed.Headers)
	return signed.URL, nil
}
