package realsig

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// AWSV4 is the Signer as aws-sdk-go-v2's SigV4 signer: it implements the SDK's HTTPSignerV4
// and HTTPPresignerV4, so it drops into s3.Options.HTTPSignerV4, s3.PresignOptions.Presigner
// and the HTTPSignerV4 option of every other service client:
//
//	rs, _ := realsig.NewSigner(realsig.WithRealNow(realsig.NTP("169.254.169.123")))
//	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.HTTPSignerV4 = rs.AWSV4() })
//	presign := s3.NewPresignClient(client, func(o *s3.PresignOptions) { o.Presigner = rs.AWSV4() })
//
// It signs at the Signer's clock, not at the signingTime the SDK passes (the SDK's clock,
// corrected only after a refused request), with the payload hash the SDK computed, and it
// honours the SDK's SignerOptions: DisableURIPathEscaping signs the path as sent (for service
// "s3" it always is: S3's rule, as the S3 client's own signer, built with that option, does even
// when a presign call passes none), and the path is never normalised, as the SDK's own signer
// does not. TestAWSV4SignsAsTheSDKsOwnSignerAtTheSameTime checks the result byte for byte
// against the S3 client's own signer.
// DisableHeaderHoisting is moot: realsig never hoists headers into a presigned URL's query,
// it signs them as headers, and PresignHTTP returns them for the caller to send.
type AWSV4 struct{ s *Signer }

// AWSV4 returns the Signer as aws-sdk-go-v2's HTTPSignerV4 and HTTPPresignerV4.
func (s *Signer) AWSV4() *AWSV4 { return &AWSV4{s} }

func fromAWS(c aws.Credentials) Credentials {
	return Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}
}

func (a *AWSV4) request(r *http.Request, payloadHash, service, region string, optFns []func(*v4.SignerOptions)) (*Request, error) {
	var so v4.SignerOptions
	for _, f := range optFns {
		f(&so)
	}
	if payloadHash == "" {
		return nil, &SignError{Code: CodeInvalidPayloadHash, Message: "the SDK passed no payload hash"}
	}
	return fromHTTP(r, region, service, payloadHash, []func(*Options){func(o *Options) {
		o.DisableDoubleURIEncode = so.DisableURIPathEscaping
		o.DisablePathNormalization = true
	}})
}

// SignHTTP signs r in place (HTTPSignerV4). signingTime is ignored: the time is the Signer's.
func (a *AWSV4) SignHTTP(ctx context.Context, credentials aws.Credentials, r *http.Request, payloadHash, service, region string,
	signingTime time.Time, optFns ...func(*v4.SignerOptions),
) error {
	req, err := a.request(r, payloadHash, service, region, optFns)
	if err != nil {
		return err
	}
	signed, err := a.s.SignRequest(ctx, req, fromAWS(credentials))
	if err != nil {
		return err
	}
	setSigned(r, signed.Headers)
	return nil
}

// PresignHTTP returns r presigned (HTTPPresignerV4): the URL, and the headers it signed, which
// the caller must send with it. The expiry is the X-Amz-Expires the SDK put in r's query
// (the presign clients' Expires option; default 15 minutes). signingTime is ignored.
func (a *AWSV4) PresignHTTP(ctx context.Context, credentials aws.Credentials, r *http.Request, payloadHash, service, region string,
	signingTime time.Time, optFns ...func(*v4.SignerOptions),
) (string, http.Header, error) {
	expires := 15 * time.Minute
	if e := r.URL.Query().Get("X-Amz-Expires"); e != "" {
		secs, err := strconv.ParseInt(e, 10, 64)
		if err != nil || secs <= 0 {
			return "", nil, &SignError{Code: CodeInvalidOption, Message: fmt.Sprintf("X-Amz-Expires %q is not a positive number of seconds", e)}
		}
		expires = time.Duration(secs) * time.Second
		// realsig adds X-Amz-Expires itself, with the other X-Amz-* parameters. The rest of the
		// query keeps its bytes (re-encoding it would change what the SDK meant to send).
		kept := make([]string, 0, 4)
		for _, item := range strings.Split(r.URL.RawQuery, "&") {
			if key, _, _ := strings.Cut(item, "="); key != "X-Amz-Expires" {
				kept = append(kept, item)
			}
		}
		u := *r.URL
		u.RawQuery = strings.Join(kept, "&")
		clone := r.Clone(ctx)
		clone.URL = &u
		r = clone
	}
	req, err := a.request(r, payloadHash, service, region, optFns)
	if err != nil {
		return "", nil, err
	}
	req.Expires = expires
	signed, err := a.s.SignRequest(ctx, req, fromAWS(credentials))
	if err != nil {
		return "", nil, err
	}
	header, err := presignedHeaders(r, signed)
	if err != nil {
		return "", nil, err
	}
	return signed.URL, header, nil
}

// presignedHeaders are the headers a presigned URL's X-Amz-SignedHeaders names, with the
// values they were signed with: what the caller must send (host included, as the SDK does).
func presignedHeaders(r *http.Request, signed *Signed) (http.Header, error) {
	u, err := url.Parse(signed.URL)
	if err != nil {
		return nil, fmt.Errorf("realsig: the presigned URL does not parse: %w", err)
	}
	names := u.Query().Get("X-Amz-SignedHeaders")
	if names == "" {
		return nil, errors.New("realsig: the presigned URL has no X-Amz-SignedHeaders")
	}
	out := http.Header{}
	for _, name := range strings.Split(names, ";") {
		switch {
		case name == "host":
			host := r.Host
			if host == "" {
				host = r.URL.Host
			}
			out.Set("Host", host)
		default:
			for _, v := range r.Header.Values(name) {
				out.Add(name, v)
			}
		}
	}
	for _, h := range signed.Headers {
		out.Set(h.Name, h.Value)
	}
	return out, nil
}

// Transport signs every request with a Signer, then sends it through Base: an
// http.RoundTripper for plain net/http clients of AWS APIs. The request is cloned, never
// changed; its body is hashed through GetBody (http.NewRequest sets it for bytes, strings and
// bytes.Buffer bodies) unless it carries an X-Amz-Content-Sha256 header.
type Transport struct {
	Signer      *Signer
	Credentials aws.CredentialsProvider // e.g. aws.NewCredentialsCache(...) of the SDK's chain
	Region      string
	Service     string
	Base        http.RoundTripper // default http.DefaultTransport
	Options     []func(*Options)
}

// NewTransport returns a Transport for service in region, taking credentials from creds and
// sending through base (nil: http.DefaultTransport).
func NewTransport(s *Signer, creds aws.CredentialsProvider, region, service string, base http.RoundTripper) *Transport {
	return &Transport{Signer: s, Credentials: creds, Region: region, Service: service, Base: base}
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	closeBody := func() {
		if r.Body != nil {
			r.Body.Close() // a RoundTripper closes the body, even on errors
		}
	}
	if t.Signer == nil || t.Credentials == nil {
		closeBody()
		return nil, errors.New("realsig: Transport needs a Signer and Credentials")
	}
	creds, err := t.Credentials.Retrieve(r.Context())
	if err != nil {
		closeBody()
		return nil, fmt.Errorf("realsig: retrieving credentials: %w", err)
	}
	clone := r.Clone(r.Context())
	if err := t.Signer.Sign(r.Context(), clone, fromAWS(creds), t.Region, t.Service, t.Options...); err != nil {
		closeBody()
		return nil, err
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(clone)
}
