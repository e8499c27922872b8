// Types for realsig/credentials (maintained by hand; src/credentials.js is the source).
import type { Clock } from './index.js';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export type CredentialsProvider = (options?: { forceRefresh?: boolean }) => Promise<AwsCredentials>;

export interface CredentialsCache {
  /** The credentials to sign with now. */
  credentials(): Promise<AwsCredentials>;
  /** How many times the provider has been asked. */
  readonly fetches: number;
}

export class CredentialsExpiredError extends Error {
  expiration: Date;
  realNow: Date;
}

export function credentialsCache(
  provider: CredentialsProvider,
  options?: { clock?: Clock; forceRefresh?: boolean },
): CredentialsCache;

export function defaultCredentials(options?: { clock?: Clock; [init: string]: unknown }): Promise<CredentialsCache>;
