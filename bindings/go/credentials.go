package realsig

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
)

// The cache's rules, the same as the reference host's CredentialsCache (host/src/credentials):
// refresh this long before expiry, at most this often while the credentials still work, and
// back off this way after a failed refresh.
const (
	refreshBefore      = 5 * time.Minute
	minRefreshInterval = 15 * time.Second
	minBackoff         = time.Second
	maxBackoff         = time.Minute
)

// CredentialsCache keeps a provider's credentials until shortly before they expire, judged
// by a RealNow clock (the signer's), not the machine's clock: a clock days behind would
// otherwise keep expired keys, or one ahead refresh on every call. Refreshes are
// single-flight; while the cached credentials still work, a failed refresh (a throttled ECS
// endpoint) backs off and the cached ones are used. Credentials that have expired by the real
// time are refused (*ExpiredError), never signed with. Safe for concurrent use.
type CredentialsCache struct {
	provider aws.CredentialsProvider
	now      RealNow

	mu         sync.Mutex // held for a whole refresh: concurrent callers wait for one fetch
	current    *aws.Credentials
	retryAfter time.Time
	backoff    time.Duration
	fetches    int
}

// NewCredentialsCache caches provider (any aws.CredentialsProvider: the SDK's default chain,
// a static provider, the ECS endpoint's) by the real time now gives.
func NewCredentialsCache(provider aws.CredentialsProvider, now RealNow) *CredentialsCache {
	return &CredentialsCache{provider: provider, now: now}
}

// DefaultCredentials is aws-sdk-go-v2's default credentials chain (config.LoadDefaultConfig:
// the environment, the shared files with static keys, credential_process, assume-role,
// web identity and SSO profiles, the ECS/EKS container endpoint, IMDS), cached by the real
// time now gives. optFns are config.LoadDefaultConfig's (config.WithSharedConfigProfile, ...).
//
// The SDK's STS and SSO calls inside the chain are signed and judged by the SDK, with the
// machine's clock; this cache decides only when to ask it again.
func DefaultCredentials(ctx context.Context, now RealNow, optFns ...func(*awsconfig.LoadOptions) error) (*CredentialsCache, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, optFns...)
	if err != nil {
		return nil, fmt.Errorf("realsig: loading the AWS configuration: %w", err)
	}
	if cfg.Credentials == nil {
		return nil, fmt.Errorf("realsig: the AWS configuration has no credentials provider")
	}
	return NewCredentialsCache(cfg.Credentials, now), nil
}

// ExpiredError is returned when the provider handed out credentials that have expired by the
// real time.
type ExpiredError struct {
	Source           string
	Expired, RealNow time.Time
}

func (e *ExpiredError) Error() string {
	return fmt.Sprintf("realsig: %s: the credentials it gave expired at %s (the real time is %s)",
		e.Source, e.Expired.UTC().Format(time.RFC3339), e.RealNow.UTC().Format(time.RFC3339))
}

// Fetches is how many times the provider has been asked.
func (c *CredentialsCache) Fetches() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fetches
}

// works says whether the cached credentials still work at now (perhaps due for a refresh).
func (c *CredentialsCache) works(now time.Time) bool {
	return c.current != nil && (!c.current.CanExpire || c.current.Expires.After(now))
}

// Credentials are the credentials to sign with now.
func (c *CredentialsCache) Credentials(ctx context.Context) (Credentials, error) {
	a, err := c.Retrieve(ctx)
	if err != nil {
		return Credentials{}, err
	}
	return Credentials{AccessKeyID: a.AccessKeyID, SecretAccessKey: a.SecretAccessKey, SessionToken: a.SessionToken}, nil
}

// Retrieve makes the cache an aws.CredentialsProvider too, so an SDK client can share it.
func (c *CredentialsCache) Retrieve(ctx context.Context) (aws.Credentials, error) {
	now, err := c.now()
	if err != nil {
		return aws.Credentials{}, &SignError{Code: CodeClockUnavailable, Message: "cannot judge credential expiry: " + err.Error()}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur := c.current; cur != nil && (!cur.CanExpire || cur.Expires.After(now.Add(refreshBefore))) {
		return *cur, nil
	}
	if c.works(now) && now.Before(c.retryAfter) {
		return *c.current, nil // backing off, or refreshed moments ago; they still work
	}
	c.fetches++
	if sdkCache, ok := c.provider.(*aws.CredentialsCache); ok {
		// The SDK's own cache judges expiry by the machine's clock: make it fetch.
		sdkCache.Invalidate()
	}
	fetched, err := c.provider.Retrieve(ctx)
	if after, clockErr := c.now(); clockErr == nil {
		now = after // the SDK's providers retry on their own: a fetch can take seconds
	}
	if err != nil {
		if c.works(now) {
			c.backoff = min(max(c.backoff*2, minBackoff), maxBackoff)
			c.retryAfter = now.Add(c.backoff)
			return *c.current, nil
		}
		return aws.Credentials{}, fmt.Errorf("realsig: no credentials: %w", err)
	}
	if fetched.CanExpire && !fetched.Expires.After(now) {
		return aws.Credentials{}, &ExpiredError{Source: fetched.Source, Expired: fetched.Expires, RealNow: now}
	}
	c.current = &fetched
	c.retryAfter = now.Add(minRefreshInterval)
	c.backoff = 0
	return fetched, nil
}
