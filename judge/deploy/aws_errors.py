"""AWS failures as one line that says what went wrong and what to do.

``judge deploy`` and ``judge invoke --function`` meet these on a user's machine (no
credentials, a missing permission, a stack stuck in a state CloudFormation will not update
from); the user needs the fix, not botocore's traceback.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import botocore.exceptions

from judge.errors import JudgeError

# States from which CloudFormation accepts an update (anything else must be dealt with first).
UPDATABLE = frozenset(
    {
        "CREATE_COMPLETE",
        "UPDATE_COMPLETE",
        "UPDATE_ROLLBACK_COMPLETE",
        "UPDATE_FAILED",  # a failed update with rollback disabled can be updated again
        "IMPORT_COMPLETE",
        "IMPORT_ROLLBACK_COMPLETE",
    }
)
_SSO_ERRORS = (
    botocore.exceptions.TokenRetrievalError,
    botocore.exceptions.SSOTokenLoadError,
    botocore.exceptions.UnauthorizedSSOTokenError,
)
_CREDENTIALS_FIX = (
    "Fix: run `aws configure` (or `aws sso login` and export AWS_PROFILE), or export "
    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)


def stack_status_problem(stack: str, status: str) -> str | None:
    """Why ``judge deploy`` cannot create or update a stack in ``status``, with the fix.

    None when the stack can be updated (or, once deleted, created again).
    """
    if status in UPDATABLE or status == "DELETE_COMPLETE":
        return None
    delete = f"aws cloudformation delete-stack --stack-name {stack}"
    if status == "REVIEW_IN_PROGRESS":
        return (
            f"stack {stack} is REVIEW_IN_PROGRESS: a change set created it and was never "
            f"executed. Fix: execute or delete that change set (or `{delete}`), then deploy again"
        )
    if status.endswith("_IN_PROGRESS"):
        return (
            f"stack {stack} is {status}: another operation is still running on it. "
            f"Fix: wait until it ends (`aws cloudformation describe-stacks --stack-name "
            f"{stack}`), then deploy again"
        )
    if status == "UPDATE_ROLLBACK_FAILED":
        return (
            f"stack {stack} is UPDATE_ROLLBACK_FAILED: a failed update could not be rolled "
            f"back. Fix: `aws cloudformation continue-update-rollback --stack-name {stack}` "
            "(with --resources-to-skip for resources that cannot roll back), then deploy again"
        )
    if status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED"):
        return (
            f"stack {stack} is {status}: its first creation failed, and such a stack cannot "
            f"be updated. Fix: `{delete}`, then deploy again"
        )
    if status == "DELETE_FAILED":
        return (
            f"stack {stack} is DELETE_FAILED. Fix: `{delete}` again (with --retain-resources "
            "for those that failed to delete), then deploy again"
        )
    return (
        f"stack {stack} is {status}, which CloudFormation does not update. Fix: resolve it "
        "in the CloudFormation console (or delete the stack), then deploy again"
    )


def aws_error_message(exc: Exception, *, stack: str | None = None) -> str:
    """One line for a botocore/boto3 exception: what failed, AWS's code and message, the fix."""
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return f"no AWS credentials found. {_CREDENTIALS_FIX}"
    if isinstance(exc, botocore.exceptions.PartialCredentialsError):
        return f"{_line(str(exc))}. {_CREDENTIALS_FIX}"
    if isinstance(exc, botocore.exceptions.NoRegionError):
        return "no AWS region is configured. Fix: pass --region or export AWS_REGION"
    if isinstance(exc, _SSO_ERRORS):
        return f"{_line(str(exc))}. Fix: `aws sso login` (with your --profile), then retry"
    if isinstance(exc, botocore.exceptions.ClientError):
        return _client_error(exc, stack)
    if isinstance(exc, botocore.exceptions.ConnectionError):
        return (
            f"{_line(str(exc))}. Fix: check the network and the region "
            "(and AWS_ENDPOINT_URL*, if you set one)"
        )
    return f"AWS call failed: {type(exc).__name__}: {_line(str(exc))}"


def _client_error(exc: botocore.exceptions.ClientError, stack: str | None) -> str:
    error = exc.response.get("Error", {})
    code = str(error.get("Code") or "Unknown")
    message = _line(str(error.get("Message") or exc))
    head = f"{exc.operation_name} failed: {code}: {message}"
    if stack:
        state = re.search(r"is in (\w+) state", message)
        if state:
            problem = stack_status_problem(stack, state.group(1))
            if problem:
                return problem
    if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
        return (
            f"{head}. Fix: give your AWS identity that permission (or deploy with a role "
            "that has it)"
        )
    if code.startswith("ExpiredToken") or code in ("RequestExpired", "TokenRefreshRequired"):
        return f"{head}. Fix: refresh your credentials (`aws sso login`), then retry"
    if code in ("InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch"):
        return f"{head}. Fix: check the access key and secret (or AWS_PROFILE) you use"
    if code in ("Throttling", "ThrottlingException", "TooManyRequestsException"):
        return f"{head}. Fix: wait a minute and retry"
    if code in ("ResourceNotFoundException", "NoSuchBucket"):
        return f"{head}. Fix: check the name, the account and --region"
    return head


def _line(text: str) -> str:
    """AWS messages may span lines; an error here is one line."""
    return " ".join(text.split())


@contextlib.contextmanager
def aws_errors(*, stack: str | None = None) -> Iterator[None]:
    """Turn any botocore/boto3 failure inside into a ``JudgeError`` with one line."""
    try:
        yield
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise JudgeError(aws_error_message(exc, stack=stack)) from None
