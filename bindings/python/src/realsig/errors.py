"""Errors: one SignError subclass per WIT `sign-error` case, and ClockError for time sources."""


class SignError(Exception):
    """A request could not be signed. `code` is the WIT `sign-error` case, e.g. "invalid-url".

    The message never contains a secret.
    """

    code = "sign-error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidUrl(SignError):
    code = "invalid-url"


class InvalidMethod(SignError):
    code = "invalid-method"


class InvalidHeaderName(SignError):
    code = "invalid-header-name"


class InvalidHeaderValue(SignError):
    code = "invalid-header-value"


class InvalidPayloadHash(SignError):
    code = "invalid-payload-hash"


class InvalidOption(SignError):
    code = "invalid-option"


class InvalidCredentials(SignError):
    code = "invalid-credentials"


class ClockUnavailable(SignError):
    """No trustworthy time: nothing was signed."""

    code = "clock-unavailable"


class ComponentFailure(SignError):
    """The component trapped or broke its contract; the instance was thrown away."""

    code = "component-failure"


class CredentialsError(SignError):
    """A call gave no credentials and the signer's provider found none (or its endpoint
    failed). Nothing was signed."""

    code = "credentials-unavailable"


BY_CODE = {
    cls.code: cls
    for cls in (
        InvalidUrl,
        InvalidMethod,
        InvalidHeaderName,
        InvalidHeaderValue,
        InvalidPayloadHash,
        InvalidOption,
        InvalidCredentials,
        ClockUnavailable,
    )
}


class ClockError(Exception):
    """A time source has no trustworthy reading. Signing then fails with ClockUnavailable."""
