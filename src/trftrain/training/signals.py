"""Stopping a run on Ctrl-C or SIGTERM (what `timeout`, `docker stop` and job schedulers send) without losing it.

The first signal asks the loop to stop after the current step, which then saves a consistent checkpoint and
model-last; a second one stops at once (only model-last is saved then: the step may have been cut short).
"""
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Optional

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


class StopRequest:
    """signal (Optional[signal.Signals]): the first stop signal received, None while none came."""

    def __init__(self):
        self.signal: Optional[signal.Signals] = None

    @property
    def requested(self) -> bool:
        return self.signal is not None

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.signal, 1)

    @property
    def name(self) -> str:
        return "Ctrl-C" if self.signal == signal.SIGINT else self.signal.name if self.signal else ""


@contextmanager
def graceful_stop(stderr=None):
    """Within the block, SIGINT and SIGTERM set the returned StopRequest; a second one raises KeyboardInterrupt."""
    request = StopRequest()
    stderr = stderr or sys.stderr
    if threading.current_thread() is not threading.main_thread():
        yield request  # signals reach the main thread only; a run in a worker thread keeps Python's behaviour
        return

    def handle(signum, frame):
        if request.requested:
            raise KeyboardInterrupt
        request.signal = signal.Signals(signum)
        stderr.write(f"\n{request.name}: stopping after this step and saving (send it again to stop at once).\n")

    previous = {sig: signal.signal(sig, handle) for sig in EXIT_CODES}
    try:
        yield request
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
