package realsig

// The aws-sdk-go-v2 adapter with the real SDK (service/s3 v1.114). Go's clock is not faked by
// libfaketime, so the case is a drifted machine: s3s-fs runs 2 days ahead (under libfaketime)
// and refuses anything 15 minutes off its clock; realsig's clock is NTP from chronyd, also 2
// days ahead, so it knows the server's time. The SDK alone, on this machine's clock, is refused.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

var staticCreds = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: s3sFsCreds.AccessKeyID, SecretAccessKey: s3sFsCreds.SecretAccessKey}, nil
})

func s3Client(endpoint string, signer *Signer) *s3.Client {
	return s3.New(s3.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(endpoint),
		UsePathStyle:     true,
		Credentials:      staticCreds,
		RetryMaxAttempts: 1,
	}, func(o *s3.Options) {
		if signer != nil {
			o.HTTPSignerV4 = signer.AWSV4()
		}
	})
}

func httpStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func fetch(t *testing.T, url string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, values := range header {
		if !strings.EqualFold(name, "host") {
			req.Header[name] = values
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestAWSSDKv2AgainstAServer2DaysAhead(t *testing.T) {
	endpoint := startS3sFsAt(t, "+2d")
	ntpAddr := startChrony(t, true, "+2d")
	signer := testSigner(t, WithRealNow(NTP(ntpAddr)))
	ctx := context.Background()

	plain := s3Client(endpoint, nil)
	_, err := plain.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("sdk-plain")})
	if err == nil || httpStatus(err) != 403 || !strings.Contains(err.Error(), "RequestTimeTooSkewed") {
		t.Fatalf("the plain SDK on a clock 2 days behind the server: want 403 RequestTimeTooSkewed, got %v", err)
	}

	client := s3Client(endpoint, signer)
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("sdk")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	body := bytes.Repeat([]byte("two days ahead "), 1000)
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("sdk"), Key: aws.String("dir/k ey+1.txt"),
		Body: bytes.NewReader(body)}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	got, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("sdk"), Key: aws.String("dir/k ey+1.txt")})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	read, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if !bytes.Equal(read, body) {
		t.Fatalf("GetObject returned %d bytes, want %d", len(read), len(body))
	}

	presigner := s3.NewPresignClient(client, func(o *s3.PresignOptions) { o.Presigner = signer.AWSV4() })
	url, err := presigner.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("sdk"), Key: aws.String("dir/k ey+1.txt")})
	if err != nil {
		t.Fatalf("PresignGetObject: %v", err)
	}
	if status, text := fetch(t, url.URL, url.SignedHeader); status != 200 || text != string(body) {
		t.Fatalf("the adapter's presigned URL: %d %.200s", status, text)
	}
	sdkURL, err := s3.NewPresignClient(client).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("sdk"), Key: aws.String("dir/k ey+1.txt")})
	if err != nil {
		t.Fatal(err)
	}
	if status, text := fetch(t, sdkURL.URL, sdkURL.SignedHeader); status != 403 {
		t.Fatalf("the SDK's own presigned URL, dated by this machine's clock: want 403, got %d %.200s", status, text)
	}

	// Plain net/http through the Transport.
	hc := &http.Client{Transport: NewTransport(signer, staticCreds, "us-east-1", "s3", nil)}
	resp, err := hc.Get(endpoint + "/sdk/dir/k%20ey%2B1.txt")
	if err != nil {
		t.Fatal(err)
	}
	read, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(read, body) {
		t.Fatalf("GET through the Transport: %d %.200s", resp.StatusCode, read)
	}
	put, _ := http.NewRequest(http.MethodPut, endpoint+"/sdk/via-transport.txt", strings.NewReader("plain net/http"))
	resp, err = hc.Do(put)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT through the Transport: %d", resp.StatusCode)
	}
	resp, err = http.DefaultClient.Get(endpoint + "/sdk/via-transport.txt")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("an unsigned GET must be refused (the server checks): %d", resp.StatusCode)
	}
}

func TestAWSV4HonoursTheSDKsSignerOptionsAndPayloadHash(t *testing.T) {
	signer := testSigner(t, WithRealNow(FixedClock(mustTime(t, "2015-08-30T12:36:00Z"))))
	ctx := context.Background()
	r, _ := http.NewRequest(http.MethodGet, "https://example.amazonaws.com/a%2Fb/c", nil)
	creds := aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	// Without DisableURIPathEscaping the path is escaped again (a%252Fb) and signs differently.
	escaped := r.Clone(ctx)
	if err := signer.AWSV4().SignHTTP(ctx, creds, escaped, "UNSIGNED-PAYLOAD", "service", "us-east-1", mustTime(t, "2001-01-01T00:00:00Z")); err != nil {
		t.Fatal(err)
	}
	asSent := r.Clone(ctx)
	if err := signer.AWSV4().SignHTTP(ctx, creds, asSent, "UNSIGNED-PAYLOAD", "service", "us-east-1", mustTime(t, "2001-01-01T00:00:00Z"),
		func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }); err != nil {
		t.Fatal(err)
	}
	if escaped.Header.Get("Authorization") == asSent.Header.Get("Authorization") {
		t.Fatal("DisableURIPathEscaping made no difference")
	}
	for _, signed := range []*http.Request{escaped, asSent} {
		if got := signed.Header.Get("X-Amz-Date"); got != "20150830T123600Z" {
			t.Fatalf("signed at %s: the SDK's signingTime must not be used", got)
		}
	}
	if err := signer.AWSV4().SignHTTP(ctx, creds, r.Clone(ctx), "", "service", "us-east-1", mustTime(t, "2001-01-01T00:00:00Z")); err == nil {
		t.Fatal("an empty payload hash must be refused")
	}
}

func mustTime(t *testing.T, text string) time.Time {
	t.Helper()
	when, err := time.Parse(time.RFC3339, text)
	if err != nil {
		t.Fatal(err)
	}
	return when
}

// The adapter is what the SDK's options take.
var (
	_ s3.HTTPSignerV4    = (*AWSV4)(nil)
	_ s3.HTTPPresignerV4 = (*AWSV4)(nil)
)

// fixedSDKSigner is, at a fixed time, the signer the S3 client builds for itself when it is
// given none (service/s3's newDefaultV4Signer: v4.NewSigner with DisableURIPathEscaping). The
// oracle for the adapter.
type fixedSDKSigner struct {
	at time.Time
	v4 *v4.Signer
}

func s3DefaultSigner(at time.Time) fixedSDKSigner {
	return fixedSDKSigner{at, v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })}
}

func (f fixedSDKSigner) PresignHTTP(ctx context.Context, c aws.Credentials, r *http.Request, payloadHash, service, region string,
	_ time.Time, opts ...func(*v4.SignerOptions),
) (string, http.Header, error) {
	return f.v4.PresignHTTP(ctx, c, r, payloadHash, service, region, f.at, opts...)
}

// recordingClient answers every request with an error after keeping it.
type recordingClient struct{ seen []*http.Request }

func (c *recordingClient) Do(r *http.Request) (*http.Response, error) {
	c.seen = append(c.seen, r.Clone(r.Context()))
	return nil, errors.New("recorded, not sent")
}

// Through the SDK's own pipeline (its checksum headers, its payload hash, its path escaping),
// the adapter signs and presigns byte for byte as the S3 client's own signer does at the same
// time. (For S3, realsig applies S3's single path encoding whatever the call's options say:
// the S3 client builds its own signer with DisableURIPathEscaping, and its presign calls do
// not pass it.)
func TestAWSV4SignsAsTheSDKsOwnSignerAtTheSameTime(t *testing.T) {
	at := mustTime(t, "2026-03-04T05:06:07Z")
	ours := testSigner(t, WithRealNow(FixedClock(at))).AWSV4()
	theirs := s3DefaultSigner(at)
	creds, _ := staticCreds.Retrieve(context.Background())
	ctx := context.Background()
	keys := []string{"plain.txt", "dir/k ey+1.txt", "ümlaut & $ = @ ; , ( ) ! * '.txt", "a//b/../c", "~tilde_-.txt"}
	for _, key := range keys {
		rec := &recordingClient{}
		client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:9"), UsePathStyle: true,
			Credentials: staticCreds, RetryMaxAttempts: 1, HTTPClient: rec, HTTPSignerV4: ours})
		_, _ = client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bucket"), Key: aws.String(key),
			Body: strings.NewReader("body of " + key), ContentType: aws.String("text/plain")})
		if len(rec.seen) != 1 {
			t.Fatalf("%q: %d requests recorded", key, len(rec.seen))
		}
		sent := rec.seen[0]
		again := sent.Clone(ctx)
		again.Header.Del("Authorization")
		if err := theirs.v4.SignHTTP(ctx, creds, again, sent.Header.Get("X-Amz-Content-Sha256"), "s3", "us-east-1", at); err != nil {
			t.Fatal(err)
		}
		if got, want := sent.Header.Get("Authorization"), again.Header.Get("Authorization"); got == "" || got != want {
			t.Errorf("PutObject %q:\n ours   %s\n theirs %s", key, got, want)
		}

		var urls [2]string
		for i, signer := range []s3.HTTPPresignerV4{ours, theirs} {
			u, err := s3.NewPresignClient(client, func(o *s3.PresignOptions) { o.Presigner = signer }).PresignGetObject(ctx,
				&s3.GetObjectInput{Bucket: aws.String("bucket"), Key: aws.String(key)}, s3.WithPresignExpires(5*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			parsed, _ := url.Parse(u.URL)
			q := parsed.Query()
			urls[i] = q.Get("X-Amz-Signature") + " " + parsed.EscapedPath() + " " + q.Get("X-Amz-Expires") + " " + q.Get("X-Amz-SignedHeaders")
		}
		if urls[0] != urls[1] {
			t.Errorf("PresignGetObject %q:\n ours   %s\n theirs %s", key, urls[0], urls[1])
		}
	}
}
