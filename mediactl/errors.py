"""Exit codes and the failures that map to them.

Every failure mediactl reports is a `MediactlError` carrying its exit code; `cli.MediactlGroup` is the one
boundary that turns them (and anything unexpected) into a one-line message.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    INTERNAL = 1
    USAGE = 2
    LOCAL = 3
    AUTH = 4
    NOT_FOUND = 5
    REJECTED = 6
    TRANSIENT = 7
    PARTIAL = 8
    DIFFERS = 9  # `verify` found differences: nothing failed, the provider holds something else
    INTERRUPTED = 130
    HANGUP = 129  # SIGHUP, handled like Ctrl-C
    TERMINATED = 143  # SIGTERM, handled like Ctrl-C


class MediactlError(Exception):
    """A failure with a user-facing one-line message and a documented exit code."""

    code: ExitCode = ExitCode.INTERNAL
    # Set by the HTTP layer: the request may have been processed although its answer was lost (a 5xx, a
    # timeout or a dropped connection after the body was sent) — reconcile before sending it again.
    ambiguous: bool = False
    attempts: int | None = None  # requests actually sent for this failure
    host_down: bool = False  # the host refused several connections in a row: start nothing new there
    timed_out: bool = False  # the HTTP layer: no answer within the read timeout
    repeatable: bool = True  # False: not sent again by the batch's second pass (a create that cannot be asked)

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        status: int | None = None,
        provider: str | None = None,
        code: ExitCode | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.status = status
        self.provider = provider
        if code is not None:
            self.code = code

    def to_json(self) -> dict:
        return {
            "error": {
                "code": int(self.code),
                "message": self.message,
                "status": self.status,
                "provider": self.provider,
            }
        }


class StdoutClosed(Exception):
    """The reader of stdout went away (EPIPE, e.g. `| head -n1`): not a failure. A listing stops there
    and exits 0; a batch keeps working and its exit code says how its items went (see output.py)."""


class UsageError(MediactlError):
    code = ExitCode.USAGE


class LocalError(MediactlError):
    """Missing setting or credential, unreadable file, bad config file, invalid input file."""

    code = ExitCode.LOCAL


class AuthError(MediactlError):
    code = ExitCode.AUTH


class NotFoundError(MediactlError):
    code = ExitCode.NOT_FOUND


class RejectedError(MediactlError):
    code = ExitCode.REJECTED


class TransientError(MediactlError):
    code = ExitCode.TRANSIENT


class PartialError(MediactlError):
    code = ExitCode.PARTIAL


_STATUS_ERRORS: dict[int, type[MediactlError]] = {
    401: AuthError,
    403: AuthError,
    404: NotFoundError,
    429: TransientError,
}


def error_for_status(
    status: int, message: str, *, provider: str | None = None, hint: str | None = None
) -> MediactlError:
    """The error (and so exit code) for an HTTP status that is not a success."""
    if status in _STATUS_ERRORS:
        cls = _STATUS_ERRORS[status]
    elif status >= 500:
        cls = TransientError
    elif 400 <= status < 500:
        cls = RejectedError
    else:
        cls = RejectedError
    if cls is AuthError and hint is None and provider:
        hint = f"check the credentials, e.g. run `mediactl auth login {provider}`"
    return cls(message, status=status, provider=provider, hint=hint)
