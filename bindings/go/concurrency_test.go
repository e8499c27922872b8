package realsig

// One Signer shared by many goroutines (run with -race in CI): every signature equals
// aws-sdk-go-v2's for the same request, and a failed instance is replaced, not reused.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
	broken.mod.Close(ctx) // the next call on it fails inside wazero, like a trap would
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
