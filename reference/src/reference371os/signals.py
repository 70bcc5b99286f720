"""How the reference's commands stop: SIGTERM takes Ctrl-C's path; children can be tied to their parent's life.

SIGINT and SIGTERM both raise KeyboardInterrupt in the main thread, so every `finally` and `except BaseException`
that stops what a command started runs, whichever signal came (a CI runner's cancel sends SIGTERM to the harness
alone). Only the first signal interrupts: later ones are ignored, so that they cannot cut short the orderly stop
the first one began (Ctrl-C to a process group reaches a command and its children, and the command then forwards
SIGTERM to them too). Every stop path is bounded by its own timeouts.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class _Stopper:
    """The handler of one `stop_on_signals()`: which signal came, and whether it must wait (`deferred()`)."""

    def __init__(self) -> None:
        self.received: signal.Signals | None = None
        self.deferring = 0
        self.pending = False

    def handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.received is not None:
            return  # a stop is under way: let it finish
        self.received = signal.Signals(signum)
        if self.deferring:
            self.pending = True
            return
        raise KeyboardInterrupt


_active: list[_Stopper] = []


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise KeyboardInterrupt (the first one only) while the block runs; the handlers in
    place before are restored after it. Off the main thread, where Python cannot set handlers, a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    restore = install()
    try:
        yield
    finally:
        restore()


def install() -> Callable[[], None]:
    """Installs the handlers (main thread only); returns what puts the previous ones back."""
    stopper = _Stopper()
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    for sig in STOP_SIGNALS:
        signal.signal(sig, stopper.handle)
    _active.append(stopper)

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        with contextlib.suppress(ValueError):
            _active.remove(stopper)

    return restore


def received() -> signal.Signals | None:
    """The signal that started the stop under way, if any."""
    return _active[-1].received if _active else None


def exit_code() -> int:
    """128 + the signal's number, the shell's convention: 130 after Ctrl-C, 143 after SIGTERM."""
    return 128 + int(received() or signal.SIGINT)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """A stop signal waits until the block is over: between starting a process and writing its PID file, say,
    where an interruption would leave a process that no PID file names."""
    stopper = _active[-1] if _active else None
    if stopper is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    stopper.deferring += 1
    try:
        yield
    finally:
        stopper.deferring -= 1
        if not stopper.deferring and stopper.pending:
            stopper.pending = False
            raise KeyboardInterrupt


def die_with_parent(sig: signal.Signals = signal.SIGTERM) -> Callable[[], None] | None:
    """A `preexec_fn` that makes the child receive `sig` when this process dies, even by SIGKILL (Linux's
    PR_SET_PDEATHSIG). The kernel sends it when the *thread* that forked exits, so this is only offered on the
    main thread (elsewhere it returns None: no tie). Use it for children that are pointless without us."""
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the forked child only calls it
    parent = os.getpid()

    def tie() -> None:
        prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:  # we died before prctl took effect: the kernel will send nothing
            os._exit(1)

    return tie
