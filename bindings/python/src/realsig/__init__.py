"""realsig: AWS SigV4 signing with the real time, by the realsig WebAssembly component.

    import realsig
    signed = realsig.sign(method="GET", url="https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
                          credentials=creds, region="us-east-1", service="sts")
    headers.update(signed.headers)

The native extension (realsig._native: the reference host, wasmtime and the component) loads
on first use of a clock or of a name from realsig.signer, so importing `realsig`,
`realsig.clocks`, `realsig.botocore` or `realsig.awscli` does not load it.
"""

from . import clocks
from .clocks import chain, clock_of, default_clock, fixed, ntp, raw_clock, realtime_file, system_clock
from .errors import (
    ClockError,
    ClockUnavailable,
    ComponentFailure,
    CredentialsError,
    InvalidCredentials,
    InvalidHeaderName,
    InvalidHeaderValue,
    InvalidMethod,
    InvalidOption,
    InvalidPayloadHash,
    InvalidUrl,
    SignError,
)

_SIGNER_NAMES = (
    "ChunkedUpload", "Credentials", "CredentialsProvider", "MessageSigner", "Signed", "SignedForm", "Signer",
    "default_signer", "framed_length", "presign", "sign",
)
_CREDENTIALS_NAMES = ("default_credentials",)

__all__ = [
    "ChunkedUpload", "ClockError", "ClockUnavailable", "ComponentFailure", "Credentials", "CredentialsError",
    "CredentialsProvider", "InvalidCredentials",
    "InvalidHeaderName", "InvalidHeaderValue", "InvalidMethod", "InvalidOption",
    "InvalidPayloadHash", "InvalidUrl", "MessageSigner", "SignError", "Signed", "SignedForm", "Signer",
    "chain", "clock_of", "clocks", "default_clock", "default_credentials", "default_signer", "fixed", "framed_length", "ntp", "presign", "raw_clock", "realtime_file",
    "sign", "system_clock",
]


def __getattr__(name):  # PEP 562: realsig.Signer etc. import realsig.signer (and the extension) on first use
    if name in _SIGNER_NAMES:
        from . import signer

        value = getattr(signer, name)
        globals()[name] = value
        return value
    if name in _CREDENTIALS_NAMES:  # botocore only when asked for
        from . import credentials

        value = getattr(credentials, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'realsig' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SIGNER_NAMES) | set(_CREDENTIALS_NAMES))
