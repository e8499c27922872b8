package realsig

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// DefaultCredentials is the SDK's chain (here: its container provider, pointed at a loopback
// ECS-style endpoint) cached by the realsig clock: one fetch for many uploads to s3s-fs, a
// refresh when the REAL time nears expiry even though the machine's clock does not, the cached
// credentials kept while the endpoint throttles, and credentials expired by the real time
// refused.
func TestDefaultCredentialsAreCachedByTheRealTime(t *testing.T) {
	var hits, throttle atomic.Int32
	ecs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if throttle.Load() != 0 {
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		fmt.Fprintf(w, `{"AccessKeyId":%q,"SecretAccessKey":%q,"Token":"ecs-token","Expiration":%q}`,
			s3sFsCreds.AccessKeyID, s3sFsCreds.SecretAccessKey, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	}))
	defer ecs.Close()
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_CONTAINER_CREDENTIALS_FULL_URI": ecs.URL, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": empty, "AWS_SHARED_CREDENTIALS_FILE": empty,
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_ROLE_ARN": "", "AWS_REGION": "us-east-1",
	} {
		t.Setenv(k, v)
	}
	var ahead atomic.Int64 // how far the real time is ahead of this machine's clock
	clock := func() (time.Time, error) { return time.Now().Add(time.Duration(ahead.Load())), nil }
	ctx := context.Background()
	cache, err := DefaultCredentials(ctx, clock)
	if err != nil {
		t.Fatal(err)
	}
	endpoint := startS3sFs(t)
	client := &http.Client{Transport: NewTransport(testSigner(t, WithRealNow(RawClock())), cache, "us-east-1", "s3", nil)}
	put := func(path, body string) {
		t.Helper()
		r, _ := http.NewRequest("PUT", endpoint+path, strings.NewReader(body))
		resp, err := client.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("PUT %s: %d", path, resp.StatusCode)
		}
	}
	put("/bucket", "")
	for i := range 50 {
		put(fmt.Sprintf("/bucket/k%d", i), "data")
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("51 uploads fetched credentials %d times, want 1", n)
	}

	// 51 minutes later by the real time (the machine's clock has not moved): inside the
	// refresh window (5 minutes before an Expires the SDK's cache already moved 5 minutes
	// early), so the cache asks again, and the SDK's own cache, which judges by the
	// machine's clock, is made to fetch.
	ahead.Store(int64(51 * time.Minute))
	if _, err := cache.Credentials(ctx); err != nil {
		t.Fatal(err)
	}
	if n := hits.Load(); n != 2 {
		t.Fatalf("after the real time neared expiry: %d fetches, want 2", n)
	}

	// The endpoint throttles while the cached credentials still work: they are used, and
	// the next call backs off instead of asking again.
	ahead.Store(int64(52 * time.Minute))
	throttle.Store(1)
	for range 3 {
		if _, err := cache.Credentials(ctx); err != nil {
			t.Fatalf("throttled with valid credentials cached: %v", err)
		}
	}
	// (The SDK's container provider retries a 429 itself: count the cache's fetches.)
	if n := cache.Fetches(); n != 3 {
		t.Fatalf("while throttled: %d fetches, want 3 (one, then backing off)", n)
	}

	// Two hours on, every credential the endpoint gives has expired by the real time.
	throttle.Store(0)
	ahead.Store(int64(2 * time.Hour))
	_, err = cache.Credentials(ctx)
	var expired *ExpiredError
	if !errors.As(err, &expired) || !strings.Contains(err.Error(), "expired at") {
		t.Fatalf("credentials expired by the real time: got %v", err)
	}
}
