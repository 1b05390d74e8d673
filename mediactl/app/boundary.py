"""The one error boundary, without Typer: how each way a run can end becomes its exit code and its message
(README "Exit codes"), and what every run does last (stdin spools removed, the CI report published).

The root command (mediactl/cli.py, `MediactlGroup.invoke`) runs every command inside it, adding the usage
errors only Typer can raise; the launcher's fast upload path (mediactl/fast_upload.py) runs its verb inside
`run_guarded`, so both doors end a run the same way.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from mediactl.errors import ExitCode, MediactlError, StdoutClosed

if TYPE_CHECKING:
    from mediactl.app.context import AppContext


def exit_code_for(rt: AppContext, exc: BaseException, provider: str | None) -> int:
    """Report `exc` (raised by a command of `provider`, None for the built-ins) and return the run's exit code."""
    batch = sys.modules.get("mediactl.engine.batch")  # only a batch raises BatchExit: no import for the others
    if batch is not None and isinstance(exc, batch.BatchExit):  # every item has been reported: only the code is left
        return int(exc.code)
    if isinstance(exc, MediactlError):
        report_error(rt, exc, provider)
        return int(exc.code)
    if isinstance(exc, KeyboardInterrupt):
        if not getattr(exc, "reported", False):  # a batch has said so already (and what to do next)
            rt.stderr_line("interrupted")
        from mediactl.interrupts import exit_code

        return exit_code(exc)  # 130 for Ctrl-C; 143 / 129 for a SIGTERM / SIGHUP outside a batch
    if isinstance(exc, (StdoutClosed, BrokenPipeError)):
        # The reader of stdout went away (`| head -n1`): like the end of a listing, not a failure, so
        # `x=$(mediactl ... list | head -n1)` works under `set -o pipefail`. Batches never get here
        # (run_batch carries on and exits with its items' code).
        from mediactl.output import stdout_gone

        stdout_gone(rt)
        return int(ExitCode.OK)
    # a bug: say so, briefly, and only show the traceback with -vv
    from mediactl.localfs import local_error

    local = local_error(exc, rt)  # a full disk, a read-only dir, a damaged journal: exit 3, not a bug
    if local is not None:
        report_error(rt, local, provider)
        return int(local.code)
    if rt.verbose >= 2:
        import traceback

        traceback.print_exception(exc, file=rt.stderr)
    err = MediactlError(
        f"internal error: {type(exc).__name__}: {exc}",
        hint="this is a bug in mediactl; please report it with the output of -vv",
    )
    report_error(rt, err, provider)
    return int(ExitCode.INTERNAL)


def report_error(rt: AppContext, exc: MediactlError, provider: str | None) -> None:
    from mediactl.output import render_error

    message = exc.message
    redactor = getattr(rt, "redactor", None)
    if redactor is not None:
        message = redactor.text(message)
    rt.error(message, exc.hint)
    body = exc.to_json()
    body["error"]["message"] = message
    if body["error"].get("provider") is None:  # the verb's provider is known even when the error did not say it
        body["error"]["provider"] = provider
    item = getattr(exc, "item", None)  # one item of a batch refused, which stops the batch (README "Output")
    if item is not None:
        body["error"]["item"] = item
    with contextlib.suppress(StdoutClosed):  # stderr has it; nobody reads stdout any more
        render_error(rt, [body] if item is not None and rt.output == "json" else body)


def finish_run(rt: AppContext, code: int) -> int:
    """What every way out of a run does (Ctrl-C included): remove its copies of stdin, publish a batch verb's
    CI report (mediactl/reports.py). Returns the run's exit code: `code`, or the one a failed report write
    asks for, or 130 when a Ctrl-C lands just then (the removal and the report still happen)."""
    from mediactl.spool import remove_all

    interrupted = False
    try:
        remove_all(rt)
    except KeyboardInterrupt:
        interrupted = True
        remove_all(rt)
    if interrupted:
        code = int(ExitCode.INTERRUPTED)
    if rt.recorder is not None:
        from mediactl.reports import publish_run

        failed = publish_run(rt, code)
        if failed is not None and code == 0:
            code = failed
    if interrupted:
        rt.stderr_line("interrupted")
    return code


def run_guarded(rt: AppContext, provider: str | None, action: Callable[[], object]) -> int:
    """Run `action` inside the boundary; the run's exit code."""
    from mediactl.interrupts import cleanup_on_exit
    from mediactl.spool import remove_all

    code = int(ExitCode.OK)
    with cleanup_on_exit(lambda: remove_all(rt)):  # a second Ctrl-C, which exits at once, removes them too
        try:
            try:
                action()
            except (Exception, KeyboardInterrupt) as exc:
                code = exit_code_for(rt, exc, provider)
        finally:
            code = finish_run(rt, code)
    return code
