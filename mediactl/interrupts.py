"""SIGTERM and SIGHUP handled like Ctrl-C during a batch (a cancelled CI job, `timeout`, `docker stop`, a
closed terminal): the signal becomes an `Interrupted` (a KeyboardInterrupt) on the main thread, so the batch
marks its in-flight entries `interrupted`, prints what reached the server and exits 143 / 129 (130 for
Ctrl-C). Python runs signal handlers on the main thread only; the workers are daemon threads and the main
thread waits for them in short steps, so the handler runs at once.

Ctrl-C itself, for the life of the process (`CtrlC`, installed by `run_as_process`, which the launcher
runs everything in but its instant answers, imports included; SIGTERM and SIGHUP outside a batch too,
`CtrlC.terminate`: the run's spools removed, 143 / 129): the first raises
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
    """The process's SIGINT handler (see the module docstring), and its SIGTERM/SIGHUP one (`terminate`):
    `seen` once a signal came; `cleanups` (the run's spools, registered by the error boundary with
    `cleanup_on_exit`) run before an exit at once."""

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

    def terminate(self, signum: int, frame) -> None:
        """SIGTERM/SIGHUP for the whole command, not only within a batch (`as_interrupts` uses it there too):
        raised as `Interrupted` (exit 143 / 129, the run's spools removed), or, once the command is over, an
        exit at once with that code."""
        if self.over:
            self.exit_now(EXIT_CODES.get(signum, int(ExitCode.INTERRUPTED)))
        self.seen = True  # the process ends through exit_now, like after a Ctrl-C
        _raise(signum, frame)

    def install(self) -> None:
        """Take SIGINT, SIGTERM and SIGHUP where they are Python's defaults; one ignored when mediactl started
        (nohup, `cmd &` in a script) stays so."""
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, self)
            sys.unraisablehook = self.unraisable
        for signum in (signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(ValueError, OSError):
                if signal.getsignal(signum) == signal.SIG_DFL:
                    signal.signal(signum, self.terminate)

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


_process: CtrlC | None = None  # the process's handler, once run_as_process has installed it


def run_as_process(command: Callable[[], object]) -> NoReturn:
    """Run the console entry point's `command` under the process's `CtrlC` and end the process with the code
    it exits with; after a signal not through the interpreter's own exit (see the module docstring). The
    launcher runs everything after its instant answers in it, imports included; a nested call (the CLI's
    `main` inside the launcher's) just runs `command`."""
    global _process
    if _process is not None:
        command()
        sys.exit(0)
    process = _process = CtrlC()
    process.install()
    code: int | str | None = 0
    try:
        command()
    except KeyboardInterrupt as exc:  # before a boundary could take it (an import, the command line's parse)
        print("interrupted", file=sys.stderr)
        code = exit_code(exc)
    except SystemExit as done:
        code = done.code
    finally:
        process.over = True  # the command is over: a signal from here on exits at once
    if process.lost:  # swallowed, and the command ended before it could be raised again
        print("interrupted", file=sys.stderr)
        code = int(ExitCode.INTERRUPTED)
    if process.seen:
        if isinstance(code, str):
            print(code, file=sys.stderr)
        process.exit_now(code if isinstance(code, int) else int(code is not None))
    sys.exit(code)


@contextlib.contextmanager
def cleanup_on_exit(cleanup: Callable[[], None]) -> Iterator[None]:
    """Within the block, an exit at once on a second Ctrl-C runs `cleanup` first (when `CtrlC` is installed)."""
    handler = _process
    if handler is None:
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
    raising = _process.terminate if _process is not None else _raise
    for signum in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError, OSError):
            previous[signum] = signal.signal(signum, raising)
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
