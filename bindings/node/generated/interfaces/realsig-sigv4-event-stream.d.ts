/** @module Interface realsig:sigv4/event-stream **/
export function open(seedSignature: string, region: string, service: string): MessageSigner;
export type Instant = import('./realsig-sigv4-real-time.js').Instant;
export type Credentials = import('./realsig-sigv4-signer.js').Credentials;
export type SignError = import('./realsig-sigv4-signer.js').SignError;
export interface MessageSignature {
  date: Instant,
  signature: Uint8Array,
}

export class MessageSigner {
  /**
   * This type does not have a public constructor.
   */
  private constructor();
  signMessage(messageSha256Hex: string, credentials: Credentials): MessageSignature;
}
