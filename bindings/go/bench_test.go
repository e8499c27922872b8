package realsig

// go test -bench . -benchmem: realsig (wazero) against aws-sdk-go-v2's v4 signer on the same
// get-vanilla-like GET in one run, and start-up with and without the compilation cache.
// BENCHMARKS.md records the ratios.

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsv4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

var benchCreds = Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}

func benchRequest(b *testing.B) *http.Request {
	r, err := http.NewRequest("GET", "https://example.amazonaws.com/", nil)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// The signing time for both: the raw clock, read per signature (what a service does).
func BenchmarkSign(b *testing.B) {
	ctx := context.Background()
	b.Run("realsig", func(b *testing.B) {
		s, err := NewSigner(WithRealNow(RawClock()))
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		r := benchRequest(b)
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Sign(ctx, r, benchCreds, "us-east-1", "service"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("aws-sdk-go-v2", func(b *testing.B) {
		s := awsv4.NewSigner()
		creds := aws.Credentials{AccessKeyID: benchCreds.AccessKeyID, SecretAccessKey: benchCreds.SecretAccessKey}
		r := benchRequest(b)
		b.ReportAllocs()
		for b.Loop() {
			if err := s.SignHTTP(ctx, creds, r, emptySHA256, "service", "us-east-1", time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Both in parallel on all cores: the instance pool against a stateless signer.
	b.Run("realsig-parallel", func(b *testing.B) {
		s, err := NewSigner(WithRealNow(RawClock()))
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		b.RunParallel(func(pb *testing.PB) {
			r := benchRequest(b)
			for pb.Next() {
				if err := s.Sign(ctx, r, benchCreds, "us-east-1", "service"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("aws-sdk-go-v2-parallel", func(b *testing.B) {
		s := awsv4.NewSigner()
		creds := aws.Credentials{AccessKeyID: benchCreds.AccessKeyID, SecretAccessKey: benchCreds.SecretAccessKey}
		b.RunParallel(func(pb *testing.PB) {
			r := benchRequest(b)
			for pb.Next() {
				if err := s.SignHTTP(ctx, creds, r, emptySHA256, "service", "us-east-1", time.Now()); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// Start-up: NewSigner, which makes one instance (the module is Go code: nothing compiles).
func BenchmarkStartup(b *testing.B) {
	for b.Loop() {
		s, err := NewSigner(WithRealNow(RawClock()), WithPoolSize(1))
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

// BenchmarkRealtimeFile: one reading of a snapshot file, read on a goroutine with a deadline
// (RealtimeFile), against the same read done inline (readNow), in one run.
func BenchmarkRealtimeFile(b *testing.B) {
	path := filepath.Join(b.TempDir(), "realtime")
	if err := os.WriteFile(path, []byte("1795341747.123456789"), 0o600); err != nil {
		b.Fatal(err)
	}
	f := &realtimeFile{path: path, allowStatic: true, timeout: time.Second}
	b.Run("deadline", func(b *testing.B) {
		for b.Loop() {
			if _, err := f.read(path); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("inline", func(b *testing.B) {
		for b.Loop() {
			if _, err := f.readNow(path); err != nil {
				b.Fatal(err)
			}
		}
	})
}
