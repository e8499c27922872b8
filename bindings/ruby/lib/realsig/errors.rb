# frozen_string_literal: true

module Realsig
  # Everything realsig raises. Messages never contain a secret key or a session token.
  class Error < StandardError; end

  # The component refused to sign: one subclass per case of the WIT `sign-error` variant,
  # with the case name as #code (e.g. "invalid-url").
  class SignError < Error
    def self.code = self::CODE
    def code = self.class::CODE
  end

  class InvalidUrl < SignError; CODE = "invalid-url"; end
  class InvalidMethod < SignError; CODE = "invalid-method"; end
  class InvalidHeaderName < SignError; CODE = "invalid-header-name"; end
  class InvalidHeaderValue < SignError; CODE = "invalid-header-value"; end
  class InvalidPayloadHash < SignError; CODE = "invalid-payload-hash"; end
  class InvalidOption < SignError; CODE = "invalid-option"; end
  class InvalidCredentials < SignError; CODE = "invalid-credentials"; end
  # No trustworthy real time: nothing was signed (fail closed).
  class ClockUnavailable < SignError; CODE = "clock-unavailable"; end

  # The component itself failed (a trap, its deadline, or it could not be set up); the
  # instance was discarded and the next call gets a fresh one.
  class ComponentFailure < Error; end

  # Clock#now: the time source has no time it can vouch for.
  class ClockError < Error; end

  # A credentials provider had no credentials (not configured, throttled with nothing cached,
  # a bad response).
  class CredentialsError < Error; end

  # WIT case name => class.
  SIGN_ERRORS = SignError.subclasses.to_h { |c| [c.code, c] }.freeze
end
