import type { Clock } from './index.js';

/** Client config for any AWS SDK for JavaScript v3 client: `new S3Client({ ...awsSdkConfig(), region })`. */
export function awsSdkConfig(options?: {
  /** A realsig clock; default defaultClock() (never the process clock). */
  clock?: Clock;
  /** The SDK signer class to wrap; default SignatureV4MultiRegion, else SignatureV4. */
  signerConstructor?: new (params: any) => any;
}): { signerConstructor: new (params: any) => any; realsigClock: Clock };

/** @aws-sdk/s3-request-presigner's getSignedUrl, dated by the client's realsig clock. */
export function getSignedUrl(client: any, command: any, options?: Record<string, unknown>): Promise<string>;

/** A realsig clock's reading as a Date (throws ClockError when it has none). */
export function clockDate(clock: Clock): Date;
