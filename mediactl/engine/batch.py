"""Running a batch: workers on threads, Ctrl-C, a host that is down, one more pass for what failed
transiently, the upload pipeline that puts items, plan and provider together, and the batch's exit code.

No Typer here: the exit code of a batch leaves as `BatchExit`, which the error boundary (mediactl/cli.py)
turns into the process's exit status.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mediactl.errors import ExitCode, MediactlError, StdoutClosed, TransientError, UsageError

if TYPE_CHECKING:
    from mediactl.app.context import AppContext
    from mediactl.config import Settings
    from mediactl.engine.items import Item
    from mediactl.engine.plan import Precheck
    from mediactl.journal import Journal
    from mediactl.runtime import Runtime


class BatchExit(Exception):  # noqa: N818 - an exit, not an error: the items have been reported
    """The exit code of a batch whose items were each reported (8 partial, or the failures' own code)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class Outcome:
    item: Any
    result: dict | None = None
    error: MediactlError | None = None


def second_pass_worthy(error: MediactlError) -> bool:
    """A failure that one more pass at the end of the batch may fix: transient, and the host still up."""
    return error.code == ExitCode.TRANSIENT and not error.host_down and error.repeatable


def run_batch(rt: Runtime, items: Sequence[Any], worker: Callable[[Any], dict], *, concurrency: int,
              on_result: Callable[[dict], None], describe: Callable[[Any], str] = str,
              journal=None, defer: Callable[[MediactlError], bool] | None = None,
              batch: str | None = None, keep: Callable[[dict], dict] | None = None,
              on_interrupt: Callable[[], None] | None = None) -> list[Outcome]:
    """Run `worker` on each item (in parallel up to `concurrency`), reporting results as they finish.

    A failed item is reported (stderr, and stdout in json/jsonl) and does not stop the batch, unless its
    host is down: then no new item starts and the rest are reported as not started. A failure `defer`
    accepts is kept in the outcomes unreported, for the caller's second pass. Ctrl-C stops starting new
    items, marks the in-flight ones interrupted in the journal, prints a summary and exits 130 (through
    the error boundary), its `hint:` last (naming `batch`, the upload run, when given): an item still in
    flight that finishes after the summary prints nothing (its journal entry says how it ended), and
    `on_interrupt` (the caller's progress display going quiet) is called first; a second Ctrl-C
    exits at once. A bug in one worker stops the batch once the
    others have finished their items. `keep` picks what the outcomes hold of each result once it has been
    handed on (the summary's fields), so a long batch does not hold every result.
    """
    from mediactl.runtime import reports_wanted

    outcomes: list[Outcome] = []
    lock = threading.Lock()
    command = _command_path(rt) if reports_wanted(rt.options.report, rt.env) else ""
    if command:  # reports.py only for a run that reports (start-up of an upload, bench/startup.py)
        from mediactl import reports
    stopping = threading.Event()  # set on Ctrl-C, a bug or a host that is down: workers take no new item
    down: list[MediactlError] = []
    begun: set[int] = set()  # the items a worker has taken (for the report of an interrupted batch)
    closed: list[bool] = []  # once an interrupt has summarized the batch: a late finish reports nothing

    def emit(result: dict) -> None:
        _emit(on_result, result)

    def finish(item: Any, result: dict | None, error: MediactlError | None, started: float) -> None:
        with lock:
            if closed:
                return
            outcomes.append(Outcome(item, result if keep is None or result is None else keep(result), error))
            if command:  # --report / GitHub Actions: every item's outcome (reports.py)
                path = getattr(item, "path", None)
                reports.record(rt, id(item), describe(item), result, error, command=command,
                               file=os.fsdecode(path) if isinstance(path, Path) else None,
                               seconds=time.monotonic() - started)
            if result is not None:
                emit(result)
            if error is not None and error.host_down:
                down.append(error)
                stopping.set()
            if error is not None and not (defer and defer(error)):
                report_failure(rt, describe(item), error, emit, hint=len(items) == 1)

    bugs: list[BaseException] = []

    def call(item: Any) -> None:
        started = time.monotonic()
        if command:
            begun.add(id(item))  # a set's add is atomic; only membership is read, under the lock
        try:
            finish(item, worker(item), None, started)
        except MediactlError as exc:
            finish(item, None, exc, started)

    try:
        if concurrency <= 1 or len(items) <= 1:
            for item in items:
                if stopping.is_set():
                    break
                call(item)
        else:
            _run_threads(items, call, concurrency, stopping, bugs)
        if bugs:
            raise bugs[0]
    except KeyboardInterrupt as exc:
        stopping.set()
        with lock:  # what the summary counts is what was printed: no result comes out after it
            closed.append(True)
            if on_interrupt is not None:
                on_interrupt()
            if command:
                _record_interrupted(rt, items, {id(o.item) for o in outcomes}, begun, describe, exc, journal,
                                    batch)
            _interrupted(rt, outcomes, len(items), journal, exc, batch)
        exc.reported = True  # type: ignore[attr-defined]  # said above, with the hint: no bare `interrupted`
        raise
    if down:
        started = {id(o.item) for o in outcomes}
        skipped = [item for item in items if id(item) not in started]
        for item in skipped:
            error = TransientError("not started: the host is down", provider=down[0].provider)
            error.host_down = True
            outcomes.append(Outcome(item, None, error))
            if command:
                reports.record(rt, id(item), describe(item), None, error, command=command)
            if rt.machine_output:  # every item has its line in the JSON, not started ones too
                emit(_error_line(describe(item), error))
        if skipped:
            rt.error(f"{len(skipped)} not started: {down[0].message}")
    return outcomes


def _command_path(rt: Runtime) -> str:
    """The command the report names: the one its recorder was started for (verbs.run_verb, either front
    door), else the running Typer command's."""
    if rt.recorder is not None:
        return rt.recorder.report.command
    from mediactl.typer_compat import current_context

    try:
        return current_context().command_path
    except RuntimeError:  # called outside a command (a test driving the runner directly)
        return "mediactl batch"


def _record_interrupted(rt: Runtime, items: Sequence[Any], finished: set[int], begun: set[int],
                        describe: Callable[[Any], str], exc: BaseException, journal, batch: str | None) -> None:
    """The report of an interrupted batch lists every item: the ones in flight as errors (with how to resume
    them), the ones no worker took as skipped, so a CI reader does not see the finished few as all green."""
    from mediactl import reports
    from mediactl.interrupts import exit_code, why

    resume = f"; resume with `{_resume_command(rt, batch)}`" if journal is not None else ""
    for item in items:
        if id(item) in finished:
            continue
        path = getattr(item, "path", None)
        file = os.fsdecode(path) if isinstance(path, Path) else None
        if id(item) in begun:
            reports.record_interrupted(rt, id(item), describe(item), f"interrupted: {why(exc)}{resume}",
                                       exit_code(exc), file=file)
        else:
            reports.record_skipped(rt, id(item), describe(item), "not started: interrupted", file=file)


def _run_threads(items: Sequence[Any], call: Callable[[Any], None], concurrency: int, stopping: threading.Event,
                 bugs: list[BaseException]) -> None:
    """Workers on daemon threads (on Ctrl-C the process may exit without waiting for in-flight transfers);
    the main thread waits in short steps so Ctrl-C reaches it at once."""
    todo: queue.Queue = queue.Queue()
    for item in items:
        todo.put(item)

    def work() -> None:
        while not stopping.is_set():
            try:
                item = todo.get_nowait()
            except queue.Empty:
                return
            try:
                call(item)
            except BaseException as exc:  # a bug: stop the batch; surface it in the main thread
                bugs.append(exc)
                stopping.set()
                return

    threads = [threading.Thread(target=work, name=f"upload-{n}", daemon=True)
               for n in range(min(concurrency, len(items)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.2)


def _emit(on_result: Callable[[dict], None], result: dict) -> None:
    """Hand one result to the output. A reader of stdout that went away (`| head -n1`) stops nothing: the
    items' work goes on, each is journalled, and the exit code says how they went."""
    with contextlib.suppress(StdoutClosed):
        on_result(result)


def _error_line(what: str, error: MediactlError) -> dict:
    """An item's failure as it appears among the results in json/jsonl (the contract's error object)."""
    body = error.to_json()
    body["error"]["item"] = what
    return body


def report_failure(rt: Runtime, what: str, error: MediactlError, on_result: Callable[[dict], None], *,
                   hint: bool = False) -> None:
    """One item's failure: on stderr, and (the contract) also on stdout in json/jsonl."""
    if rt.machine_output:
        _emit(on_result, _error_line(what, error))
    message = error.message if error.message.startswith(f"{what}:") else f"{what}: {error.message}"
    rt.error(message, error.hint if hint else None)


def _interrupted(rt: Runtime, outcomes: list[Outcome], total: int, journal, exc: BaseException,
                 batch: str | None = None) -> None:
    """First Ctrl-C (or SIGTERM, SIGHUP: mediactl/interrupts.py): record in-flight uploads as interrupted,
    summarize, the `hint:` to resume last (nothing is printed after it); a second Ctrl-C exits at once
    (unless SIGINT was ignored when mediactl started: a background job of a script, nohup; it stays so)."""
    import signal

    from mediactl.interrupts import ignore_further, stopping, why
    from mediactl.spool import remove_all

    stopping.set()  # workers still running start no new create

    def exit_at_once(*_: object) -> None:
        remove_all(rt)
        os._exit(int(ExitCode.INTERRUPTED))

    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, exit_at_once)
    ignore_further()
    marked, doubtful = journal.interrupt_in_flight(why(exc)) if journal is not None else (0, 0)
    done = sum(1 for o in outcomes if o.error is None)
    failed = len(outcomes) - done
    asked = (f" ({doubtful} with a create sent and unanswered: `resume` asks the provider whether it landed)"
             if doubtful else "")
    rt.stderr_line(f"interrupted: {why(exc)}; {done} of {total} finished, {failed} failed, {marked} in flight"
                   f"{asked}, {max(0, total - len(outcomes) - marked)} not started")
    if journal is not None:
        rt.stderr_line(f"hint: `{_resume_command(rt, batch)}` checks with the provider what landed and finishes the "
                       "rest")


def _resume_command(rt: Runtime, batch: str | None) -> str:
    """The command that finishes an interrupted batch: the interrupt's hint and its report's errors name it."""
    from mediactl.providers.summary import profile_flag

    only = f" --batch {batch}" if batch else ""
    return f"mediactl {profile_flag(rt.profile)}resume{only}"


def batch_code(outcomes: Iterable[Outcome]) -> int:
    """0 when all succeeded, 8 when some failed, the failure's own code when all failed."""
    outcomes = list(outcomes)
    failed = [o.error for o in outcomes if o.error is not None]
    if not failed:
        return int(ExitCode.OK)
    if len(failed) < len(outcomes):
        return int(ExitCode.PARTIAL)
    codes = {int(error.code) for error in failed}
    return codes.pop() if len(codes) == 1 else int(failed[0].code)


def batch_exit(outcomes: Iterable[Outcome]) -> None:
    """Leave with the batch's exit code (`batch_code`) unless every item succeeded."""
    code = batch_code(outcomes)
    if code != ExitCode.OK:
        raise BatchExit(code)


def _second_pass(rt: AppContext, provider: str, journal, entries: dict[int, str], outcomes: list[Outcome], *,
                 concurrency: int, on_result: Callable[[dict], None], describe: Callable[[Any], str],
                 batch: str | None = None, keep: Callable[[dict], dict] | None = None) -> list[Outcome]:
    """One more pass, at the end of the batch, for the items that failed transiently (like rclone's
    high-level retries): each goes through its provider's resume hook, which asks the provider what
    landed before sending anything again."""
    from mediactl.registry import PROVIDERS
    from mediactl.spec import load

    again = [o for o in outcomes if o.error is not None and second_pass_worthy(o.error)]
    if not again or any(o.error is not None and o.error.host_down for o in outcomes):
        if again:  # the host is down: no second pass; report what the first one deferred
            for o in again:
                if o.error is not None:
                    report_failure(rt, describe(o.item), o.error, on_result)
        return outcomes
    rt.info(f"{len(again)} failed transiently; one more pass, checking first what reached the server")
    finish, service = load(PROVIDERS[provider].resume), rt.service(provider)
    second = run_batch(rt, [o.item for o in again],
                       lambda item: finish(service, journal.entry(entries[id(item)])),
                       concurrency=concurrency, on_result=on_result, describe=describe, journal=journal,
                       batch=batch, keep=keep)
    retried = {id(o.item) for o in again}
    return [o for o in outcomes if id(o.item) not in retried] + second


def confirm_delete(rt: Runtime, what: str) -> None:
    """Ask before deleting; without a TTY (or in JSON mode) and without --yes, refuse with exit 2."""
    if rt.yes:
        return
    if not rt.stdin_isatty or rt.machine_output:
        raise UsageError(f"refusing to delete {what} without confirmation", hint="pass --yes (-y)")
    rt.stderr.write(f"Delete {what}? [y/N]: ")
    rt.stderr.flush()
    answer = rt.stdin.readline()
    if answer.strip().lower() not in ("y", "yes"):
        raise UsageError("not deleted")


def existence_check(rt: AppContext, provider: str) -> Callable[[Mapping[str, Any], Any], bool | None] | None:
    """The provider's `exists` hook bound to its service (built here, on the command's thread), or None
    when its capabilities have none."""
    from mediactl.registry import PROVIDERS
    from mediactl.spec import load

    spec = PROVIDERS[provider]
    if not spec.capabilities.exists:
        return None
    hook = load(spec.exists)
    service = rt.service(provider)
    return lambda entry, digests: hook(service, entry, digests)


@contextlib.contextmanager
def signals_handled(rt: Runtime) -> Iterator[None]:
    """SIGTERM and SIGHUP handled like Ctrl-C within the block (mediactl/interrupts.py): what run_batch
    journals and summarizes for Ctrl-C, then exit 143 / 129 (Ctrl-C keeps its own way out, 130)."""
    from mediactl.interrupts import Interrupted, as_interrupts, exit_code, ignore_further, stopping, why

    stopping.clear()  # a new batch (in-process tests run several)
    try:
        with as_interrupts():
            yield
    except Interrupted as exc:
        ignore_further()
        if not getattr(exc, "reported", False):  # run_batch has said so, its hint last: nothing after it
            rt.stderr_line(f"interrupted ({why(exc)})")
            _resume_hint(rt)  # e.g. just after registering: the hint still comes last
        raise BatchExit(exit_code(exc)) from None


def _resume_hint(rt: Runtime) -> None:
    """After an interrupt outside run_batch: the `hint:` to resume, when the profile has uploads left."""
    journal = getattr(rt, "journal", None)
    if journal is None:
        return
    left = len(journal.list(incomplete=True, profile=rt.profile))
    if left:
        from mediactl.providers.summary import profile_flag

        rt.stderr_line(f"hint: {left} upload{'s' if left != 1 else ''} can be finished with "
                       f"`mediactl {profile_flag(rt.profile)}resume`")


def upload_batch(rt: AppContext, settings: Settings, provider: str, items: Sequence[Item], *, journal: Journal,
                 dry_run: bool = False, **kwargs: Any) -> None:
    """`_upload_batch` under a lease in the journal (mediactl/leases.py), with SIGTERM and SIGHUP handled
    like Ctrl-C (mediactl/interrupts.py)."""
    if dry_run:
        return _upload_batch(rt, settings, provider, items, journal=journal, dry_run=True, **kwargs)
    from mediactl.leases import holding

    with signals_handled(rt), holding(journal, f"{provider} upload"):
        _upload_batch(rt, settings, provider, items, journal=journal, **kwargs)


def _upload_batch(rt: AppContext, settings: Settings, provider: str, items: Sequence[Item], *, target: str,
                  journal: Journal, upload: Callable[..., dict], columns: list[tuple[str, str]], concurrency: int,
                  skip_existing: bool = False, precheck: Precheck | None = None,
                  primary: str = "url", validate: Callable[[Item], None] | None = None,
                  dry_run: bool = False) -> None:
    """The shared shape of every provider's `upload`: the plan (size checks, name/document checks,
    --skip-existing against the journal and the provider), progress, results streamed to the output as they
    finish, one more pass for what failed transiently, a summary, and the batch exit code.

    `upload(item, size=..., sha256=..., progress=..., entry=...)` does one file; with --skip-existing,
    `precheck(item, size, digests)` may answer for a file without uploading it (e.g. a provider-side
    dedupe check). `validate(item)` is the provider's own check of a name or document. `dry_run` prints the
    plan instead of carrying it out (mediactl/engine/plan.py).
    """
    from mediactl.engine.plan import UploadPlan
    from mediactl.engine.summary import summarize_batch
    from mediactl.leases import claim_or_wait
    from mediactl.output import Progress, ResultWriter
    from mediactl.providers.summary import summary_fields

    plan = UploadPlan(rt, settings, provider, target=target, journal=journal, skip_existing=skip_existing,
                      precheck=precheck, validate=validate,
                      exists=existence_check(rt, provider) if skip_existing else None)
    if dry_run:
        plan.show(items)
        return
    refused = plan.check(items)
    for item in items:
        exc = refused.get(id(item))
        if exc is None:
            continue
        if len(items) > 1:  # say which file, and what fits a batch
            exc.message = f"{item.given or item.path}: {exc.message} (nothing was sent)"
            exc.hint = "leave it out with --exclude, or rename it"
        raise exc
    started = time.monotonic()
    unconfirmed: list[Item] = []
    # Register every file first, in one transaction: an interrupted batch then leaves a record of what never
    # started too, and an interrupted registration leaves nothing half-known.
    batch = uuid.uuid4().hex[:12]  # `mediactl resume --batch ID` finishes this run's uploads alone
    ids = journal.register_all([dict(provider=provider, profile=rt.profile, target=target, path=item.path,
                                     name=item.name, batch=batch) for item in items])
    entries = {id(item): entry for item, entry in zip(items, ids, strict=True)}
    sizes = {id(item): _stat_size(item.path) for item in items}
    total_bytes = sum(size or 0 for size in sizes.values())
    with ResultWriter(rt, columns, primary=primary) as out, Progress(rt, len(items), total_bytes) as progress:
        def one(item: Item) -> dict:
            file_progress = progress.task(item.name, sizes[id(item)])
            try:
                return upload_one(item, file_progress)
            except MediactlError:
                file_progress.failed()
                raise

        def upload_one(item: Item, file_progress: Any) -> dict:
            entry = entries[id(item)]
            decision = plan.decide(item)
            plan.record(decision)
            # Another live run uploading the same file: wait for its outcome, then decide again (skip it);
            # bounded, so a journal that keeps contradicting the plan cannot hold the worker forever
            for _ in range(100):
                if not (skip_existing and decision.action == "upload" and claim_or_wait(
                        journal, entry, provider=provider, target=target, name=item.name, path=item.path,
                        sha256=decision.sha256)):
                    break
                decision = plan.decide(item)
                plan.record(decision)
            if decision.unconfirmed:
                unconfirmed.append(item)
            if decision.error is not None:
                # refused before anything was sent: nothing for a later resume to send (mediactl/journal.py)
                journal.update(entry, phase="abandoned", outcome="refused", error=decision.error.message)
                raise decision.error
            if decision.answer is not None:
                journal.delete(entry)
                file_progress.done("skipped")
                return decision.answer
            result = upload(item, size=decision.size, sha256=decision.sha256, progress=file_progress, entry=entry)
            file_progress.done()
            return result

        def describe(item: Item) -> str:
            return item.given or str(item.path)

        outcomes = run_batch(rt, items, one, concurrency=concurrency, on_result=out.add, describe=describe,
                             journal=journal, defer=second_pass_worthy, batch=batch, keep=summary_fields,
                             on_interrupt=progress.silence)
        outcomes = _second_pass(rt, provider, journal, entries, outcomes, concurrency=concurrency,
                                on_result=out.add, describe=describe, batch=batch, keep=summary_fields)
    if unconfirmed:
        from mediactl.registry import PROVIDERS

        rt.info(f"note: {len(unconfirmed)} file(s) skipped on the journal's word alone: "
                f"{PROVIDERS[provider].title} cannot be asked whether an upload is still there")
    summarize_batch(rt, provider, journal, entries, outcomes, time.monotonic() - started)
    batch_exit(outcomes)  # spooled stdin is removed by the error boundary, on every way out


def _stat_size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None
