/** @module Interface realsig:sigv4/real-time **/
export function realNow(): Instant;
export interface Instant {
  seconds: bigint,
  nanoseconds: number,
}
export interface ClockError {
  message: string,
}
