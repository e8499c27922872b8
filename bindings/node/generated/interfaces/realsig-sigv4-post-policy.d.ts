/** @module Interface realsig:sigv4/post-policy **/
export function signPostPolicy(policy: Policy, credentials: Credentials): SignedForm;
export type Instant = import('./realsig-sigv4-real-time.js').Instant;
export type Credentials = import('./realsig-sigv4-signer.js').Credentials;
export type SignError = import('./realsig-sigv4-signer.js').SignError;
export interface FieldMatch {
  field: string,
  value: string,
}
export interface LengthRange {
  min: bigint,
  max: bigint,
}
export type Condition = ConditionEquals | ConditionStartsWith | ConditionContentLengthRange;
export interface ConditionEquals {
  tag: 'equals',
  val: FieldMatch,
}
export interface ConditionStartsWith {
  tag: 'starts-with',
  val: FieldMatch,
}
export interface ConditionContentLengthRange {
  tag: 'content-length-range',
  val: LengthRange,
}
export interface Policy {
  expiresIn: number,
  conditions: Array<Condition>,
  region: string,
  service: string,
}
export interface FormField {
  name: string,
  value: string,
  sensitive: boolean,
}
export interface SignedForm {
  fields: Array<FormField>,
  policyDocument: string,
  signature: string,
  signingTime: Instant,
}
