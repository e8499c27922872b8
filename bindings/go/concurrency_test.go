package realsig

// One Signer shared by many goroutines (run with -race in CI): every signature equals
// aws-sdk-go-v2's for the same request, uploads keep their own chains, and a failed instance
// is replaced, not reused.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsv4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

func TestConcurrentSigning(t *testing.T) {
	at := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	s := testSigner(t, WithRealNow(FixedClock(at)), WithPoolSize(2))
	peer := awsv4.NewSigner()
	const goroutines, each = 8, 200
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 42))
			ctx := context.Background()
			for range each {
				ours, body := randRequest(t, r)
				theirs := ours.Clone(ctx)
				creds := Credentials{AccessKeyID: "AKID" + randWord(r, "ABCDEFGHIJ", 8, 8), SecretAccessKey: randWord(r, unreserved, 40, 40)}
				if err := s.Sign(ctx, ours, creds, "us-west-2", "execute-api"); err != nil {
					errs <- err
					return
				}
				sum := sha256.Sum256(body)
				if err := peer.SignHTTP(ctx, aws.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey},
					theirs, hex.EncodeToString(sum[:]), "execute-api", "us-west-2", at); err != nil {
					errs <- err
					return
				}
				if a, b := ours.Header.Get("Authorization"), theirs.Header.Get("Authorization"); a != b {
					errs <- errors.New("goroutine mix-up: " + a + " != " + b)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestFailedInstanceIsReplaced(t *testing.T) {
	s := testSigner(t, WithRealNow(FixedClock(time.Unix(1_700_000_000, 0))), WithPoolSize(1))
	ctx := context.Background()
	broken := <-s.pool
	broken.mod.Close(ctx) // the next call on it fails, like one after a trap
	s.pool <- broken
	if _, err := s.SignRequest(ctx, goodRequest(), testCreds); !errors.Is(err, errGuest) {
		t.Fatalf("got %v, want a component failure", err)
	}
	out, err := s.SignRequest(ctx, goodRequest(), testCreds)
	if err != nil {
		t.Fatalf("the Signer did not recover: %v", err)
	}
	if in := <-s.pool; in == broken {
		t.Fatal("the failed instance went back into the pool")
	}
	if len(out.Signature) != 64 {
		t.Fatalf("signature %q", out.Signature)
	}
}

// Uploads and streams on one Signer from many goroutines, interleaved with plain signatures:
// each upload holds its own instance, so every chain still frames AWS's example exactly.
func TestConcurrentResources(t *testing.T) {
	s := testSigner(t, WithRealNow(FixedClock(time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC))), WithPoolSize(2))
	want := readBody(t, docUpload(t, Chunked{Mode: ChunkedSignedWithTrailer, Trailer: "x-amz-checksum-crc32c"}), docData)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for range 20 {
				u, err := s.StartChunked(ctx, &Request{
					URL:     "https://s3.amazonaws.com/examplebucket/chunkObject.txt",
					Headers: []Header{{"x-amz-storage-class", "REDUCED_REDUNDANCY"}},
					Region:  "us-east-1", Service: "s3",
				}, docCreds, Chunked{Mode: ChunkedSignedWithTrailer, Trailer: "x-amz-checksum-crc32c", DecodedContentLength: int64(len(docData)), ChunkSize: 65536})
				if err != nil {
					errs <- err
					return
				}
				if _, err := s.SignRequest(ctx, goodRequest(), testCreds); err != nil {
					errs <- err
					return
				}
				body, err := u.Body(ctx, bytes.NewReader(docData))
				if err == nil {
					var got []byte
					if got, err = io.ReadAll(body); err == nil && !bytes.Equal(got, want) {
						err = errors.New("an upload framed differently from AWS's example")
					}
				}
				u.Close()
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A resource whose instance fails is gone with it: later calls say it is closed, and the
// instance never goes back into the pool.
func TestFailedResourceInstanceIsDiscarded(t *testing.T) {
	s := testSigner(t, WithRealNow(FixedClock(time.Unix(1_700_000_000, 0))), WithPoolSize(1))
	ctx := context.Background()
	u, err := s.StartChunked(ctx, &Request{URL: "https://b.s3.amazonaws.com/k", Region: "us-east-1", Service: "s3"}, testCreds, Chunked{DecodedContentLength: 1})
	if err != nil {
		t.Fatal(err)
	}
	broken := u.h.in
	broken.mod.Close(ctx) // the next call on it fails, like one after a trap
	if _, err := u.SignChunk(ctx, emptySHA256); !errors.Is(err, errGuest) {
		t.Fatalf("got %v, want a component failure", err)
	}
	if _, err := u.SignChunk(ctx, emptySHA256); !errors.Is(err, ErrInvalidOption) {
		t.Fatalf("after the failure: %v, want invalid-option (closed)", err)
	}
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignRequest(ctx, goodRequest(), testCreds); err != nil {
		t.Fatal(err)
	}
	if in := <-s.pool; in == broken {
		t.Fatal("the failed instance went back into the pool")
	}
}
