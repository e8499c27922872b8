// Errors with a `code`: the WIT `sign-error` case for SignError, `clock-unavailable` for
// ClockError. Messages never contain secrets.

/** The component refused the request; `code` is the WIT case, e.g. `invalid-url`. */
export class SignError extends Error {
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.name = 'SignError';
    this.code = code;
  }
}

/** No trustworthy time: signing fails closed. */
export class ClockError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ClockError';
    this.code = 'clock-unavailable';
  }
}
