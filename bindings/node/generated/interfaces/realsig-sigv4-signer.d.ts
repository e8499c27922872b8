/** @module Interface realsig:sigv4/signer **/
export function sign(request: Request, credentials: Credentials): SignedRequest;
export function signSigv4a(request: Request, credentials: Credentials): SignedRequest;
export type Instant = import('./realsig-sigv4-real-time.js').Instant;
export interface Header {
  name: string,
  value: string,
}
export type Payload = PayloadBytes | PayloadSha256Hex | PayloadUnsigned | PayloadEmpty;
export interface PayloadBytes {
  tag: 'bytes',
  val: Uint8Array,
}
export interface PayloadSha256Hex {
  tag: 'sha256-hex',
  val: string,
}
export interface PayloadUnsigned {
  tag: 'unsigned',
}
export interface PayloadEmpty {
  tag: 'empty',
}
export type Placement = PlacementHeaders | PlacementQuery;
export interface PlacementHeaders {
  tag: 'headers',
}
export interface PlacementQuery {
  tag: 'query',
  val: number,
}
export interface Options {
  placement: Placement,
  doubleUriEncode?: boolean,
  normalizePath?: boolean,
  contentSha256Header?: boolean,
  omitSessionToken: boolean,
  debug: boolean,
}
export interface Request {
  method: string,
  url: string,
  headers: Array<Header>,
  payload: Payload,
  region: string,
  service: string,
  options: Options,
}
export interface Credentials {
  accessKeyId: string,
  secretAccessKey: string,
  sessionToken?: string,
}
export interface AddedHeader {
  name: string,
  value: string,
  sensitive: boolean,
}
export interface SignedRequest {
  headers: Array<AddedHeader>,
  url: string,
  signature: string,
  signingTime: Instant,
  canonicalRequest?: string,
  stringToSign?: string,
}
export type SignError = SignErrorInvalidUrl | SignErrorInvalidMethod | SignErrorInvalidHeaderName | SignErrorInvalidHeaderValue | SignErrorInvalidPayloadHash | SignErrorInvalidOption | SignErrorInvalidCredentials | SignErrorClockUnavailable;
export interface SignErrorInvalidUrl {
  tag: 'invalid-url',
  val: string,
}
export interface SignErrorInvalidMethod {
  tag: 'invalid-method',
  val: string,
}
export interface SignErrorInvalidHeaderName {
  tag: 'invalid-header-name',
  val: string,
}
export interface SignErrorInvalidHeaderValue {
  tag: 'invalid-header-value',
  val: string,
}
export interface SignErrorInvalidPayloadHash {
  tag: 'invalid-payload-hash',
  val: string,
}
export interface SignErrorInvalidOption {
  tag: 'invalid-option',
  val: string,
}
export interface SignErrorInvalidCredentials {
  tag: 'invalid-credentials',
  val: string,
}
export interface SignErrorClockUnavailable {
  tag: 'clock-unavailable',
  val: string,
}
