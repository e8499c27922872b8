/** @module Interface realsig:sigv4/chunked **/
export function start(request: Request, credentials: Credentials, upload: Upload): [SignedRequest, ChunkSigner];
export type Request = import('./realsig-sigv4-signer.js').Request;
export type Credentials = import('./realsig-sigv4-signer.js').Credentials;
export type SignedRequest = import('./realsig-sigv4-signer.js').SignedRequest;
export type SignError = import('./realsig-sigv4-signer.js').SignError;
export type Header = import('./realsig-sigv4-signer.js').Header;
/**
 * # Variants
 * 
 * ## `"signed"`
 * 
 * ## `"signed-with-trailer"`
 * 
 * ## `"unsigned-with-trailer"`
 */
export type ChunkedMode = 'signed' | 'signed-with-trailer' | 'unsigned-with-trailer';
export interface Upload {
  mode: ChunkedMode,
  decodedContentLength: bigint,
  trailer?: string,
}

export class ChunkSigner {
  /**
   * This type does not have a public constructor.
   */
  private constructor();
  signChunk(chunkSha256Hex: string): string;
  signTrailer(trailer: Array<Header>): string;
}
