package realsig

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// A trap in the translated module is an error wrapping errGuest, not a crash: here an
// allocation past the module's 256 MiB memory cap (scripts/go-core.sh), which the guest's
// allocator answers by aborting. The instance is discarded and the next call gets a new one.
func TestATrapIsAnErrorAndTheInstanceIsReplaced(t *testing.T) {
	s := testSigner(t, WithRealNow(FixedClock(time.Unix(1_700_000_000, 0))), WithPoolSize(1))
	ctx := context.Background()
	var trapped *instance
	err := s.with(ctx, func(in *instance) error {
		trapped = in
		_, err := in.alloc(ctx, 1, 300<<20)
		return err
	})
	if !errors.Is(err, errGuest) {
		t.Fatalf("allocating 300 MiB in the guest: got %v, want an error wrapping errGuest", err)
	}
	if !strings.Contains(err.Error(), "cabi_realloc: wasm trap: unreachable") {
		t.Fatalf("the trap's error says %q", err)
	}
	if !trapped.mod.closed {
		t.Fatal("the instance that trapped was not closed")
	}
	err = s.with(ctx, func(in *instance) error {
		if in == trapped {
			t.Fatal("the instance that trapped was reused")
		}
		_, err := in.alloc(ctx, 1, 16)
		return err
	})
	if err != nil {
		t.Fatalf("the next call: %v", err)
	}
	if _, err := s.SignRequest(ctx, &Request{Method: "GET", URL: "https://example.amazonaws.com/", Region: "us-east-1", Service: "service"}, testCreds); err != nil {
		t.Fatalf("signing after the trap: %v", err)
	}
}
