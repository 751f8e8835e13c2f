"""The boto3 Bedrock Runtime client and the classification of its errors.

botocore's own retries are switched off (one attempt per call); ``judge.retry`` owns every
retry so attempts never multiply and every wait is bounded by the Lambda deadline.
"""

from __future__ import annotations

import ipaddress
import os
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

import boto3
import botocore.config
import botocore.exceptions

from judge.config import JudgeSettings
from judge.errors import LOCAL_JUDGE_CRASHED
from judge.region import resolve_region

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient

DEFAULT_REGION = "us-east-1"
USER_AGENT = "rlaif-judge/0.1"

ErrorClass = Literal["throttle", "transient", "model_error", "fatal"]

# Error codes Bedrock returns (see the Converse reference); anything else 5xx is transient.
_THROTTLE = {"ThrottlingException", "ModelNotReadyException", "TooManyRequestsException"}
_TRANSIENT = {"ModelTimeoutException", "InternalServerException", "ServiceUnavailableException"}
_MODEL_ERROR = {"ModelErrorException"}


def dummy_key(endpoint: str, session: boto3.session.Session) -> str | None:
    """Dummy credentials for a loopback endpoint on a machine with no AWS configuration.

    A local server checks no signature; without these, local mode fails every call with
    NoCredentialsError. Real credentials, when configured, are always used.
    """
    if is_loopback(endpoint) and session.get_credentials() is None:
        return "local"
    return None


def make_client(settings: JudgeSettings, max_connections: int) -> BedrockRuntimeClient:
    """A client honouring standard AWS configuration and ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``."""
    session = boto3.session.Session(profile_name=settings.profile)
    region = resolve_region(settings.region, profile=settings.profile, default=DEFAULT_REGION)
    config = botocore.config.Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=settings.connect_timeout_s,
        read_timeout=settings.read_timeout_s,
        max_pool_connections=max_connections,
        user_agent_extra=USER_AGENT,
    )
    key = dummy_key(_endpoint_override(), session)
    return session.client(
        "bedrock-runtime",
        region_name=region,
        config=config,
        aws_access_key_id=key,
        aws_secret_access_key=key,
    )


def _endpoint_override() -> str:
    return os.environ.get("AWS_ENDPOINT_URL_BEDROCK_RUNTIME") or os.environ.get(
        "AWS_ENDPOINT_URL", ""
    )


def is_loopback(url: str) -> bool:
    """Whether ``url`` points at this machine (127.0.0.0/8, ::1 or localhost)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def classify(exc: BaseException) -> ErrorClass:
    """How a failed Converse call should be treated by the retry policy.

    A local judge's crash answer is fatal whatever its code: the server has already
    restarted its model or given up on it, and the same prompt may crash it again.
    """
    if _crash_message(exc) is not None:
        return "fatal"
    if isinstance(exc, botocore.exceptions.ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in _THROTTLE or status == 429:
            return "throttle"
        if code in _MODEL_ERROR or status == 424:
            return "model_error"
        if code in _TRANSIENT or status in (408, 500, 502, 503, 504):
            return "transient"
        return "fatal"  # validation, access denied, not found: asking again cannot help
    if isinstance(
        exc,
        botocore.exceptions.ConnectionError
        | botocore.exceptions.ReadTimeoutError
        | botocore.exceptions.ConnectTimeoutError,
    ):
        return "transient"
    return "fatal"


def error_code(exc: BaseException) -> str:
    """A short name for logs and unscored details."""
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__


def _crash_message(exc: BaseException) -> str | None:
    """The local judge server's crash answer (``judge.server.worker``), if ``exc`` is one."""
    if isinstance(exc, botocore.exceptions.ClientError):
        message = str(exc.response.get("Error", {}).get("Message", ""))
        if message.startswith(LOCAL_JUDGE_CRASHED):
            return message
    return None


def loopback_refused(exc: BaseException) -> str | None:
    """The server's base URL when ``exc`` is a refused connection to this machine.

    Nothing listens on a loopback port that refuses: the local judge server is not running
    (or has died). Retrying for a minute cannot bring it back (``judge.retry``).
    """
    if not isinstance(exc, botocore.exceptions.EndpointConnectionError):
        return None
    url = str(exc.kwargs.get("endpoint_url", ""))
    if not is_loopback(url):
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def backend_down(exc: BaseException) -> str | None:
    """One line saying that the judge server is down, when ``exc`` says so; else None.

    The local server's crash answer, or a refused connection to a loopback endpoint (once
    its few retries are spent). A CLI run stops on it (``judge.errors.BackendDown``); the
    Lambda handler unscores the judgement with it.
    """
    if (crash := _crash_message(exc)) is not None:
        return f"{crash.rstrip('.')}; see the `judge serve` output"
    if (url := loopback_refused(exc)) is not None:
        return f"no judge server answers at {url}; is `judge serve` running?"
    return None
