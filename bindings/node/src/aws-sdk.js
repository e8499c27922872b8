// realsig/aws-sdk: the AWS SDK for JavaScript v3 signs with realsig's clock.
//
//   import { S3Client } from '@aws-sdk/client-s3';
//   import { awsSdkConfig, getSignedUrl } from 'realsig/aws-sdk';
//   const s3 = new S3Client({ ...awsSdkConfig(), region, endpoint });
//
// The SDK's own signer still signs: awsSdkConfig() sets the client's `signerConstructor` to a
// class that builds the signer the SDK would (SignatureV4MultiRegion, which S3 uses and which
// signs SigV4 for any service exactly as SignatureV4 does; or SignatureV4 where that package is
// absent) and hands it `signingDate` from the clock on every sign and presign. Body streaming,
// aws-chunked uploads, checksums, S3 Express and retries stay the SDK's.
//
// Presigned URLs: the SDK's getSignedUrl builds a signer of its own from client.config and
// dates it `new Date()` unless the call passes `signingDate` (s3-request-presigner), so no
// client option reaches it. This module's getSignedUrl is the same function with signingDate
// from the client's realsig clock.
import { defaultClock } from './clocks.js';
import { ClockError } from './errors.js';

// Optional peers: present wherever an @aws-sdk/client-* is installed (client-s3 brings the
// multi-region signer, every client brings @smithy/signature-v4 through @aws-sdk/core).
const multiRegion = await import('@aws-sdk/signature-v4-multi-region').catch(() => null);
const smithy = await import('@smithy/signature-v4').catch(() => null);

/** The reading of a realsig clock as the Date the SDK's signer takes. */
export function clockDate(clock) {
  let r;
  try {
    r = clock();
  } catch (e) {
    throw e instanceof ClockError ? e : new ClockError(e.message);
  }
  return new Date(Number(r.seconds) * 1000 + Math.floor(r.nanoseconds / 1_000_000));
}

/**
 * Client config to spread into any v3 client: `{ signerConstructor, realsigClock }`.
 * `clock`: a realsig clock (default: defaultClock(), never the process clock);
 * `signerConstructor`: the SDK signer class to wrap (default: SignatureV4MultiRegion, else
 * SignatureV4).
 */
export function awsSdkConfig({ clock = defaultClock(), signerConstructor } = {}) {
  const Inner = signerConstructor ?? multiRegion?.SignatureV4MultiRegion ?? smithy?.SignatureV4;
  if (typeof Inner !== 'function') {
    throw new Error(
      'realsig/aws-sdk: found neither @aws-sdk/signature-v4-multi-region nor @smithy/signature-v4; ' +
        'install an @aws-sdk/client-* package (they bring them) or pass { signerConstructor }',
    );
  }
  const dated = (options) => ({ ...options, signingDate: clockDate(clock) });

  /** The SDK's signer, dated by realsig's clock. */
  class RealsigSigner {
    constructor(params) {
      this.inner = new Inner(params);
    }

    // sign() also takes strings, event-stream events and messages; each takes signingDate.
    // A clock that can re-sync (ntpClock, after a suspend) is given the chance first.
    async sign(toSign, options = {}) {
      await clock.ready?.();
      return this.inner.sign(toSign, dated(options));
    }

    async presign(request, options = {}) {
      await clock.ready?.();
      return this.inner.presign(request, dated(options));
    }

    async signWithCredentials(request, credentials, options = {}) {
      await clock.ready?.();
      return this.inner.signWithCredentials(request, credentials, dated(options));
    }

    async presignWithCredentials(request, credentials, options = {}) {
      await clock.ready?.();
      return this.inner.presignWithCredentials(request, credentials, dated(options));
    }
  }
  return { signerConstructor: RealsigSigner, realsigClock: clock };
}

/**
 * @aws-sdk/s3-request-presigner's getSignedUrl, dated by the client's realsig clock (the one
 * awsSdkConfig put in its config, else defaultClock()). An explicit `signingDate` wins.
 */
export async function getSignedUrl(client, command, options = {}) {
  const presigner = await import('@aws-sdk/s3-request-presigner').catch(() => null);
  if (!presigner) throw new Error('realsig/aws-sdk: getSignedUrl needs @aws-sdk/s3-request-presigner installed');
  const clock = client?.config?.realsigClock ?? defaultClock();
  await clock.ready?.();
  return presigner.getSignedUrl(client, command, { ...options, signingDate: options.signingDate ?? clockDate(clock) });
}
