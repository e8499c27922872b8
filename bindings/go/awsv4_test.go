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
	if resp, err := http.DefaultClient.Get(endpoint + "/sdk/via-transport.txt"); err != nil || resp.StatusCode != 403 {
		t.Fatalf("an unsigned GET must be refused (the server checks): %v %v", resp, err)
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
