"""SIGTERM and SIGHUP handled like Ctrl-C during a batch (a cancelled CI job, `timeout`, `docker stop`, a
closed terminal): the signal becomes an `Interrupted` (a KeyboardInterrupt) on the main thread, so the batch
marks its in-flight entries `interrupted`, prints what reached the server and exits 143 / 129 (130 for
Ctrl-C). Python runs signal handlers on the main thread only; the workers are daemon threads and the main
thread waits for them in short steps, so the handler runs at once."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

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
    raise Interrupted(signum)


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
    finally:
        for signum, handler in previous.items():
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signum, handler)


def ignore_further() -> None:
    """After the first signal, a second SIGTERM/SIGHUP must not break the summary being printed."""
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signum, signal.SIG_IGN)
