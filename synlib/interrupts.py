"""SIGINT and SIGTERM as one clean stop, raised where the code that owns the clean-up can catch it.

A signal may arrive at any moment of a command: while modules import, while a
notebook executes, while a table is published, while a Dask cluster starts or
shuts down. :func:`handled` turns the first SIGINT or SIGTERM into
:class:`Interrupted` (a :class:`KeyboardInterrupt` that knows its signal) and
records, without raising, every later one, so that the clean-up the first one
starts is not itself cut short. Inside :func:`deferred` a signal is only
recorded and raised when the block ends: for steps that must not be left half
done (starting or stopping a cluster, whose parts run in other threads).

>>> with handled():
...     received() is None
True
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator

__all__ = ["Interrupted", "message", "exit_at_once", "handled", "deferred", "quiet", "received",
           "raise_if_received"]

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal; ``signum`` says which (the command exits 128 + signum)."""

    def __init__(self, signum: int):
        super().__init__(f"signal {signum}")
        self.signum = signum


def message(signum: int) -> str:
    """The one line a command prints when a signal stops it."""
    return (f"synlib: interrupted by {signal.Signals(signum).name}; finished runs are kept "
            "and the same command resumes from them")


def exit_at_once() -> None:
    """Until :func:`handled` takes over, SIGINT and SIGTERM print :func:`message` and end the process.

    For the first moments of a command, while its modules import: nothing has
    started that needs cleaning up, and an interrupt raised there would end in a
    traceback from the import machinery.
    """
    def stop(signum, frame):
        os.write(sys.stderr.fileno(), (message(signum) + "\n").encode())
        os._exit(128 + signum)

    for signum in SIGNALS:
        signal.signal(signum, stop)


class _State:
    def __init__(self):
        self.received: list[int] = []
        self.raised = False      # the first signal has been raised; later ones are only recorded
        self.deferring = 0       # depth of deferred() blocks
        self.installed = 0       # depth of handled() blocks


_state = _State()


def _handler(signum, frame):
    _state.received.append(signum)
    if _state.raised or _state.deferring:
        return
    _state.raised = True
    raise Interrupted(signum)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def handled(*, restore: bool = True) -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`Interrupted` once inside the block.

    Nested uses share the outer one. With ``restore=False`` SIGINT and SIGTERM
    are ignored after the block instead of getting their previous handlers
    back: a command line calls it so that a signal after its last step, while
    the interpreter exits, prints nothing (Python resets its own handlers at
    exit, but leaves an ignored signal ignored). Outside the main thread (where
    Python cannot set handlers) the block changes nothing.
    """
    if _state.installed or not _main_thread():
        _state.installed += 1
        try:
            yield
        finally:
            _state.installed -= 1
        return
    previous = {signum: signal.signal(signum, _handler) for signum in SIGNALS}
    _state.__init__()
    _state.installed = 1
    try:
        yield
    finally:
        _state.installed = 0
        _state.raised = True
        for signum, handler in previous.items():
            signal.signal(signum, handler if restore else signal.SIG_IGN)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Signals that arrive in the block are recorded and raised when it ends, not during it.

    Nothing is raised at the end if the block itself ends with an exception (the
    clean-up that exception starts goes on) or if an earlier signal was raised.
    """
    _state.deferring += 1
    try:
        yield
    finally:
        _state.deferring -= 1
    if not _state.deferring and _state.received and not _state.raised:
        _state.raised = True
        raise Interrupted(_state.received[0])


def quiet() -> None:
    """From now on signals are recorded, not raised: the work they would stop is done."""
    _state.raised = True


def received() -> int | None:
    """The first signal received since :func:`handled` began, or ``None``."""
    return _state.received[0] if _state.received else None


def raise_if_received() -> None:
    """Raise :class:`Interrupted` if a signal arrived, even one that was raised and then swallowed.

    A notebook client may catch the interrupt raised inside its loop and report
    a failed cell instead; the runner calls this after each notebook.
    """
    if _state.received:
        _state.raised = True
        raise Interrupted(_state.received[0])
