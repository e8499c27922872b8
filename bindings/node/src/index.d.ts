// Types for the realsig Node package (maintained by hand; src/index.js is the source).

/** A time reading: what a provider returns for `real-now`. */
export interface Reading {
  seconds: bigint;
  nanoseconds: number;
  source?: string;
  trusted?: boolean;
  uncertainty?: bigint;
}

/** A time provider: returns a reading or throws ClockError (then signing fails closed). */
export type Clock = () => Reading;

export interface SigningOptions {
  doubleUriEncode?: boolean;
  normalizePath?: boolean;
  contentSha256Header?: boolean;
  omitSessionToken?: boolean;
}

export interface SignRequest {
  method?: string;
  /** The full URL as sent; or give hostname (+ protocol, port, path, query). */
  url?: string;
  protocol?: string;
  hostname?: string;
  host?: string;
  port?: number | string;
  path?: string;
  query?: Record<string, string | string[]>;
  headers?: Record<string, string | string[]> | Map<string, string> | [string, string][];
  /** Hashed with node:crypto; never copied into the component. */
  body?: string | Uint8Array;
  /** A precomputed SHA-256 (hex) of the body, or 'UNSIGNED-PAYLOAD'. */
  bodySha256?: string;
  region: string;
  service: string;
  signingOptions?: SigningOptions;
}

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface Signed {
  /** The headers to add, lowercase names. */
  headers: Record<string, string>;
  url: string;
  signature: string;
  signingTime: Date;
  canonicalRequest?: string;
  stringToSign?: string;
}

export class Signer {
  constructor(options?: { clock?: Clock });
  sign(request: SignRequest, credentials: Credentials, options?: { debug?: boolean }): Signed;
  presign(request: SignRequest, credentials: Credentials, options?: { expiresIn?: number; debug?: false }): string;
  presign(
    request: SignRequest,
    credentials: Credentials,
    options: { expiresIn?: number; debug: true },
  ): { url: string; canonicalRequest: string; stringToSign: string };
}

export function sign(request: SignRequest, credentials: Credentials, options?: { debug?: boolean }): Signed;
export function presign(request: SignRequest, credentials: Credentials, options?: { expiresIn?: number }): string;

/** The WIT sign-error case, e.g. 'invalid-url'. */
export class SignError extends Error {
  code: string;
}
/** No trustworthy time; code 'clock-unavailable'. */
export class ClockError extends Error {
  code: 'clock-unavailable';
}

export function systemClock(): Clock;
export function fixedClock(date: Date | number): Clock;
export function userClock(fn: () => Date | number | Reading, source?: string): Clock;
export function realtimeFile(path?: string, options?: { allowStatic?: boolean }): Clock;
export function chain(...clocks: Clock[]): Clock;
export function defaultClock(): Clock;
export function parseRealtime(text: string): { nanos: bigint; hasFraction: boolean };
export function ntpClock(
  servers: string | string[],
  options?: { timeoutMs?: number; pollMs?: number; maxAgeMs?: number },
): Promise<Clock & { close(): void }>;
