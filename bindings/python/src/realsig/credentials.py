"""The AWS CLI's credentials for realsig's signer, refreshed by the real time.

    creds = realsig.default_credentials()          # botocore's chain
    signed = realsig.sign(..., credentials=creds)  # each signature takes a consistent copy

`default_credentials` is botocore's own default chain (what the AWS CLI and boto3 resolve:
environment, assume-role profiles, web identity, SSO, the shared files, credential_process,
the container endpoint, IMDS), and its cache is botocore's refreshable credentials, whose
expiry clock (`botocore.credentials._local_now`) realsig.botocore.patch points at realsig's
clock. So temporary credentials are refreshed when the REAL time nears their expiry (15
minutes before, botocore's advisory window; 10, its mandatory one), never judged by a faked
or drifted process clock. The patch is process-wide: boto3 clients in the same process then
sign with realsig's clock too. botocore is needed (an optional dependency: pip install
botocore, or boto3).
"""

from typing import Optional

from .errors import InvalidCredentials


def default_credentials(profile: Optional[str] = None, clock=None):
    """botocore's credentials for `profile` (default: $AWS_PROFILE, else the default chain),
    with botocore patched to judge their expiry by `clock` (default: clocks.default_clock(), or
    the clock an earlier patch set). Raises InvalidCredentials when the chain finds none."""
    try:
        import botocore.session
    except ImportError:
        raise ImportError("realsig.default_credentials needs botocore (pip install botocore)") from None
    from . import botocore as patched

    if clock is not None or not patched.is_patched():
        patched.patch(clock)
    credentials = botocore.session.Session(profile=profile).get_credentials()
    if credentials is None:
        raise InvalidCredentials("no credentials found by botocore's chain (environment, profiles, container, IMDS)")
    return credentials
