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

/**
 * Overrides of the rules where services differ. Left unset, the component applies the
 * service's rules: for 's3' (and s3-object-lambda, s3-outposts, s3express) the path is the
 * object key, sent and signed encoded once; no path normalisation; an x-amz-content-sha256
 * header; presigned URLs sign UNSIGNED-PAYLOAD.
 */
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
  /** SigV4a only: the region set ('*', 'us-east-1,us-west-2' or a list); default `region`. */
  regionSet?: string | string[];
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

/** The flavour of an S3 aws-chunked upload. */
export type ChunkedMode = 'signed' | 'signed-with-trailer' | 'unsigned-with-trailer';

/** A policy condition as written in the policy JSON, or `{ field: value }` exact matches. */
export type PolicyCondition =
  | Record<string, string>
  | ['eq' | 'starts-with', string, string]
  | ['content-length-range', number, number];

export interface SignedForm {
  /** The form fields, in order, to put before the file field. */
  fields: Record<string, string>;
  /** The policy JSON (with temporary credentials it names the session token). */
  policyDocument: string;
  signature: string;
  signingTime: Date;
}

export class Signer {
  constructor(options?: { clock?: Clock });
  sign(request: SignRequest, credentials: Credentials, options?: { debug?: boolean; sigv4a?: boolean }): Signed;
  presign(
    request: SignRequest,
    credentials: Credentials,
    options?: { expiresIn?: number; debug?: false; sigv4a?: boolean },
  ): string;
  presign(
    request: SignRequest,
    credentials: Credentials,
    options: { expiresIn?: number; debug: true; sigv4a?: boolean },
  ): { url: string; canonicalRequest: string; stringToSign: string };
  startChunked(
    request: Omit<SignRequest, 'body' | 'bodySha256' | 'service'> & { service?: string },
    credentials: Credentials,
    upload: { decodedContentLength: number | bigint; mode?: ChunkedMode; trailer?: string },
  ): ChunkedUpload;
  signPostPolicy(
    policy: { conditions?: PolicyCondition[]; expiresIn?: number; region: string; service?: string },
    credentials: Credentials,
  ): SignedForm;
  eventStream(seedSignature: string, scope: { region: string; service: string }): MessageSigner;
}

/** Chunk data, or its SHA-256 (hex) when hashed elsewhere. */
export type ChunkData = Uint8Array | string | { sha256: string };

export class ChunkedUpload {
  private constructor();
  /** The headers to add to the request (lowercase names). */
  headers: Record<string, string>;
  url: string;
  /** The seed signature. */
  signature: string;
  signingTime: Date;
  signChunk(data: ChunkData): string;
  signTrailer(headers: Record<string, string> | [string, string][]): string;
  /** One non-empty chunk, framed. */
  frame(data: Uint8Array | string): Buffer;
  /** The final chunk, the trailer and the closing CRLF. */
  end(trailer?: Record<string, string>): Buffer;
  close(): void;
  [Symbol.dispose](): void;
}

export function framedLength(
  decodedLength: number,
  options?: { chunkSize?: number; mode?: ChunkedMode; trailer?: Record<string, string> },
): number;

export class MessageSigner {
  private constructor();
  /** Signs the next encoded message; an empty one is the closing frame. */
  signMessage(message: ChunkData, credentials: Credentials): { date: Date; signature: Uint8Array };
  close(): void;
  [Symbol.dispose](): void;
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
/** The kernel's CLOCK_REALTIME past libfaketime: a private file's modification time after a one-byte write. */
export function kernelClock(options?: { dir?: string }): Clock;
export function fixedClock(date: Date | number): Clock;
export function userClock(fn: () => Date | number | Reading, source?: string): Clock;
export function realtimeFile(path?: string, options?: { allowStatic?: boolean; timeoutMs?: number; reuseMs?: number }): Clock;
export function chain(...clocks: Clock[]): Clock;
export function defaultClock(): Clock;
export function parseRealtime(text: string): { nanos: bigint; hasFraction: boolean };
/**
 * An NTP clock. A read after a suspend (the wall clock moved against process.hrtime by more
 * than `suspendToleranceMs`) fails closed and starts a re-sync; `ready()` resolves once the
 * clock can be read again. `monoNow`/`wallNow` (nanoseconds) replace process.hrtime and
 * Date.now, for tests.
 */
export function ntpClock(
  servers: string | string[],
  options?: {
    timeoutMs?: number;
    pollMs?: number;
    maxAgeMs?: number;
    suspendToleranceMs?: number;
    monoNow?: () => bigint;
    wallNow?: () => bigint;
  },
): Promise<Clock & { ready(): Promise<void>; close(): void }>;
