"""SIGTERM and SIGINT while the bot starts: a request to stop, not a kill.

Until `bot.runner.serve` hands the two signals to the event loop, Python's default for SIGTERM ends
the process at once with 143 (which a supervisor reads as a crash) and SIGINT raises
KeyboardInterrupt wherever the main thread is. Inside `stop_requests()` both raise `StopRequested`,
which `bot.run` turns into a clean exit 0. Like Ctrl-C, it unwinds whatever was running, so the
cleanups on the way (an index build's staging folder, a model export's temporary file) still run.

Importing this module is cheap: it must be in place before discord.py and the index are imported.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequested(BaseException):
    """SIGTERM or SIGINT arrived before the event loop took the signals over.

    A BaseException, like KeyboardInterrupt: an `except Exception` on the way must not swallow it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise StopRequested(signum)


@contextlib.contextmanager
def stop_requests() -> Iterator[None]:
    """Within the block, SIGTERM and SIGINT raise `StopRequested`; the previous handlers come
    back afterwards. Outside the main thread (where signals can't be handled) it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _raise_stop) for signum in SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
