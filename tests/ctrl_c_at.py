"""`python -m mediactl` with a Ctrl-C delivered at one exact stage, for tests/test_hostile_local.py (instead
of a race against a timer). CTRL_C_AT says where:

- `spooled`: just after stdin is copied to its spool, from code run by exec() (as when the Ctrl-C lands
  while a lazy import makes a dataclass): CPython then marks the process as killed by Ctrl-C, caught or not;
- `spooled-twice`: the same, and a second Ctrl-C while the first is being handled;
- `cleanup`: as the error boundary removes the spools, at the end of a run that went well;
- `weakref`: just after the spool is made, inside a weakref callback (where Python can only print an
  exception: "Exception ignored in ...").
"""

import os
import runpy
import signal
import weakref

import mediactl.spool as spool

STAGE = os.environ["CTRL_C_AT"]


def ctrl_c_in_exec() -> None:
    """A Ctrl-C whose KeyboardInterrupt is raised inside code run by exec()."""
    exec("os.kill(os.getpid(), signal.SIGINT)\nfor _ in range(10 ** 8):\n    pass", {"os": os, "signal": signal})


def ctrl_c() -> None:
    os.kill(os.getpid(), signal.SIGINT)
    for _ in range(10 ** 8):  # until Python raises it
        pass


make_spool, remove_all = spool.spool, spool.remove_all


def spooled(*args, **kwargs):
    path = make_spool(*args, **kwargs)
    if STAGE == "spooled":
        ctrl_c_in_exec()
    if STAGE == "weakref":
        class Thing:
            pass

        thing = Thing()
        ref = weakref.ref(thing, lambda _: ctrl_c())
        del thing  # the callback runs here, and the KeyboardInterrupt raised in it cannot leave it
        assert ref() is None
        return path
    try:
        ctrl_c_in_exec()
    finally:
        os.kill(os.getpid(), signal.SIGINT)  # the second, while the first is on its way up
    return path  # not reached: both raise


fired: list[bool] = []


def removing(rt) -> None:
    if rt.spools and not fired:  # once
        fired.append(True)
        ctrl_c()
    remove_all(rt)


if STAGE.startswith("spooled") or STAGE == "weakref":
    spool.spool = spooled
else:
    spool.remove_all = removing
runpy.run_module("mediactl", run_name="__main__", alter_sys=True)
