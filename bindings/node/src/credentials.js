// realsig/credentials: AWS credentials cached by the real time.
//
//   import { defaultCredentials } from 'realsig/credentials';
//   const creds = await defaultCredentials();          // the SDK's chain, realsig's clock
//   signer.sign(request, await creds.credentials());
//
// credentialsCache(provider) keeps any credentials provider's result (an async function
// returning { accessKeyId, secretAccessKey, sessionToken?, expiration?: Date }, as every
// @aws-sdk/credential-provider-* gives) until shortly before it expires, judged by a realsig
// clock, not by Date.now(): under libfaketime, or on a machine days behind, the SDK's own
// cache keeps expired keys. The rules are the reference host's CredentialsCache
// (host/src/credentials/mod.rs): refresh 5 minutes early, single-flight, at most every 15 s
// while the credentials work; after a failed refresh keep the cached ones and back off (1 s
// doubling to 60 s); refuse credentials expired by the real time.
//
// defaultCredentials() is the SDK's own default chain (@aws-sdk/credential-provider-node,
// an optional peer: environment, SSO, shared files with assume-role and credential_process,
// web identity, the ECS/EKS container endpoint, IMDS) behind that cache; each refresh asks it
// with { forceRefresh: true }, past its Date.now()-judged memo. Its STS and SSO calls are
// still the SDK's own, dated by the process clock.
import { defaultClock } from './clocks.js';
import { ClockError } from './errors.js';

const REFRESH_BEFORE_MS = 5 * 60_000;
const MIN_REFRESH_INTERVAL_MS = 15_000;
const MIN_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 60_000;

/** Credentials the provider gave that had expired by the real time. */
export class CredentialsExpiredError extends Error {
  constructor(expiration, realNow) {
    super(`the credentials the provider gave expired at ${expiration.toISOString()} (the real time is ${realNow.toISOString()})`);
    this.name = 'CredentialsExpiredError';
    this.expiration = expiration;
    this.realNow = realNow;
  }
}

function realNowMs(clock) {
  let r;
  try {
    r = clock();
  } catch (e) {
    throw e instanceof ClockError ? e : new ClockError(e.message);
  }
  return Number(r.seconds) * 1000 + Math.floor(r.nanoseconds / 1_000_000);
}

/**
 * Caches `provider` (an async function giving credentials) by the real time `clock` gives
 * (default: defaultClock()). `forceRefresh`: pass { forceRefresh: true } to the provider on
 * every refresh (a memoizing SDK chain). Returns { credentials(), fetches }.
 */
export function credentialsCache(provider, { clock = defaultClock(), forceRefresh = false } = {}) {
  let current = null;
  let retryAfter = 0;
  let backoff = 0;
  let inFlight = null;
  let fetches = 0;
  const works = (now) => current && !(current.expiration && current.expiration.getTime() <= now);
  const refresh = async () => {
    fetches += 1;
    let fetched;
    try {
      fetched = await provider(forceRefresh ? { forceRefresh: true } : undefined);
    } catch (e) {
      const now = realNowMs(clock);
      if (works(now)) {
        backoff = Math.min(Math.max(backoff * 2, MIN_BACKOFF_MS), MAX_BACKOFF_MS);
        retryAfter = now + backoff;
        return current;
      }
      throw e;
    }
    const now = realNowMs(clock);
    if (fetched.expiration && fetched.expiration.getTime() <= now) {
      throw new CredentialsExpiredError(fetched.expiration, new Date(now));
    }
    current = fetched;
    retryAfter = now + MIN_REFRESH_INTERVAL_MS;
    backoff = 0;
    return current;
  };
  return {
    /** The credentials to sign with now. */
    async credentials() {
      const now = realNowMs(clock);
      if (current && !(current.expiration && current.expiration.getTime() <= now + REFRESH_BEFORE_MS)) return current;
      if (works(now) && now < retryAfter) return current;
      inFlight ??= refresh().finally(() => {
        inFlight = null;
      });
      return inFlight;
    },
    /** How many times the provider has been asked. */
    get fetches() {
      return fetches;
    },
  };
}

/**
 * The AWS SDK's default credentials chain (@aws-sdk/credential-provider-node's
 * defaultProvider(init)) cached by the real time `clock` gives (default: defaultClock()).
 */
export async function defaultCredentials({ clock = defaultClock(), ...init } = {}) {
  const node = await import('@aws-sdk/credential-provider-node').catch(() => null);
  if (!node) throw new Error('realsig/credentials: defaultCredentials needs @aws-sdk/credential-provider-node installed');
  return credentialsCache(node.defaultProvider(init), { clock, forceRefresh: true });
}
