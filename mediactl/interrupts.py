"""SIGTERM and SIGHUP handled like Ctrl-C during a batch (a cancelled CI job, `timeout`, `docker stop`, a
closed terminal): the signal becomes an `Interrupted` (a KeyboardInterrupt) on the main thread, so the batch
marks its in-flight entries `interrupted`, prints what reached the server and exits 143 / 129 (130 for
Ctrl-C). Python runs signal handlers on the main thread only; the workers are daemon threads and the main
thread waits for them in short steps, so the handler runs at once.

Ctrl-C itself, for the life of the process (`CtrlC`, installed by `run_as_process`, which both front
doors run their command in: mediactl/cli.py `main` and the launcher's fast upload path): the first raises
KeyboardInterrupt as Python's own handler does; a second, wherever it lands (while the first is being
handled, before a batch has said so), removes the run's spools and exits 130 at once; and a process that
saw a Ctrl-C ends with `os._exit(130)` once everything is said and written. That last step is not
cosmetic: CPython marks the process "killed by Ctrl-C" when a KeyboardInterrupt leaves code run by
exec() or eval() of a string — a dataclass or namedtuple being made by a lazy import, say — even when
the interrupt is then caught; `python -m mediactl` would then end by SIGINT (status -2) after printing
its summary and hint, however it asked to exit. A KeyboardInterrupt raised where Python can only print it
(a weakref callback, `__del__`: "Exception ignored in ...") is raised again a moment later instead of
being lost (`CtrlC.unraisable`); the run used to go on and exit 0.
"""

from __future__ import annotations

import _thread
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import NoReturn

from mediactl.errors import ExitCode

EXIT_CODES: dict[int, int] = {signal.SIGINT: int(ExitCode.INTERRUPTED),
                              signal.SIGTERM: int(ExitCode.TERMINATED), signal.SIGHUP: int(ExitCode.HANGUP)}
NAMES: dict[int, str] = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM", signal.SIGHUP: "SIGHUP"}


class Interrupted(KeyboardInterrupt):
    """A SIGTERM or SIGHUP, raised where Ctrl-C's KeyboardInterrupt would be."""

    def __init__(self, signum: int) -> None:
        super().__init__(NAMES.get(signum, f"signal {signum}"))
        self.signum = signum


# Set once a batch is interrupted: workers still running start no new create (one journalled `sending`
# that never leaves the dying process would count a possible orphan that is not there).
stopping = threading.Event()


def check_not_stopping() -> None:
    """Called by a worker before a create goes out: after an interrupt, stop there instead."""
    if stopping.is_set():
        raise KeyboardInterrupt("the batch was interrupted")


def why(exc: BaseException) -> str:
    return NAMES.get(getattr(exc, "signum", signal.SIGINT), "Ctrl-C")


def exit_code(exc: BaseException) -> int:
    return EXIT_CODES.get(getattr(exc, "signum", signal.SIGINT), int(ExitCode.INTERRUPTED))


def _raise(signum: int, frame) -> None:
    ignore_further()  # in the handler itself: a second SIGTERM/SIGHUP cannot land while the first is handled
    raise Interrupted(signum)


class CtrlC:
    """The process's SIGINT handler (see the module docstring): `seen` once a Ctrl-C came; `cleanups` (the
    run's spools, registered by the error boundary with `cleanup_on_exit`) run before an exit at once."""

    def __init__(self) -> None:
        self.seen = False
        self.over = False  # the command is over: a Ctrl-C now ends the process at once
        self.lost = False  # a Ctrl-C Python swallowed, not yet raised again
        self.cleanups: list[Callable[[], None]] = []
        self.previous_unraisable = sys.unraisablehook

    def __call__(self, signum: int, frame) -> None:
        if self.lost and not self.over:  # the swallowed one, raised again (`unraisable`)
            self.lost = False
            raise KeyboardInterrupt
        if self.seen or self.over:
            self.exit_now(int(ExitCode.INTERRUPTED))
        self.seen = True
        raise KeyboardInterrupt

    def unraisable(self, info) -> None:
        """`sys.unraisablehook`: a Ctrl-C whose KeyboardInterrupt was raised where Python can only print it
        (a weakref callback, `__del__`) is not lost: it is raised again at the main thread's next step."""
        if info.exc_type is not None and issubclass(info.exc_type, KeyboardInterrupt) and self.seen \
                and not self.over and not self.lost:
            self.lost = True  # until raised again; a run that ends first still ends as interrupted
            # this handler again, as a signal arriving would, once the main thread is out of that callback
            # (a bare thread: threading.Thread.start would wait for it, in here)
            _thread.start_new_thread(_interrupt_main_soon, ())
            return
        self.previous_unraisable(info)

    def exit_now(self, code: int) -> None:
        """Remove what the run made, flush what it printed, and end the process with `code`, skipping the
        interpreter's own exit (which could turn the code into death by SIGINT, module docstring)."""
        for cleanup in list(self.cleanups):
            with contextlib.suppress(Exception):
                cleanup()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


def _interrupt_main_soon() -> None:
    time.sleep(0.02)
    _thread.interrupt_main()


def install_ctrl_c() -> CtrlC | None:
    """Make Ctrl-C the process's `CtrlC` (the console entry point only). None when SIGINT is not Python's
    default handler: ignored when mediactl started (nohup, `cmd &` in a script) it stays so."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        return None
    handler = CtrlC()
    signal.signal(signal.SIGINT, handler)
    sys.unraisablehook = handler.unraisable
    return handler


def run_as_process(command: Callable[[], object]) -> NoReturn:
    """Run the console entry point's `command` under the process's `CtrlC` and end the process with the code
    it exits with; after a Ctrl-C not through the interpreter's own exit (see the module docstring)."""
    ctrl_c = install_ctrl_c()  # a second Ctrl-C exits at once
    code: int | str | None = 0
    try:
        command()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        code = int(ExitCode.INTERRUPTED)
    except SystemExit as done:
        code = done.code
    finally:
        if ctrl_c is not None:
            ctrl_c.over = True  # the command is over: a Ctrl-C from here on exits 130 at once
    if ctrl_c is not None and ctrl_c.lost:  # swallowed, and the command ended before it could be raised again
        print("interrupted", file=sys.stderr)
        code = int(ExitCode.INTERRUPTED)
    if ctrl_c is not None and ctrl_c.seen:
        if isinstance(code, str):
            print(code, file=sys.stderr)
        ctrl_c.exit_now(code if isinstance(code, int) else int(code is not None))
    sys.exit(code)


@contextlib.contextmanager
def cleanup_on_exit(cleanup: Callable[[], None]) -> Iterator[None]:
    """Within the block, an exit at once on a second Ctrl-C runs `cleanup` first (when `CtrlC` is installed)."""
    handler = signal.getsignal(signal.SIGINT)
    if not isinstance(handler, CtrlC):
        yield
        return
    handler.cleanups.append(cleanup)
    try:
        yield
    finally:
        handler.cleanups.remove(cleanup)


@contextlib.contextmanager
def as_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise `Interrupted` on the main thread (elsewhere: no change).
    The batch runner (mediactl/engine/batch.py `signals_handled`) turns it into the exit code."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError, OSError):
            previous[signum] = signal.signal(signum, _raise)
    try:
        yield
    except KeyboardInterrupt:  # the run is ending on a signal: a further SIGTERM/SIGHUP must not end it
        ignore_further()       # before it has said so (restoring the default handlers here would)
        raise
    except BaseException:
        _restore(previous)
        raise
    _restore(previous)


def _restore(previous: dict) -> None:
    for signum, handler in previous.items():
        with contextlib.suppress(ValueError, OSError):
            signal.signal(signum, handler)


def ignore_further() -> None:
    """After the first signal, a second SIGTERM/SIGHUP must not break the summary being printed."""
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signum, signal.SIG_IGN)
