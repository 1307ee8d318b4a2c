"""The progress line of a run: texts done of the total, words per second and time left; redrawn in place on a
terminal, one plain line now and then in a log file."""
import sys
import time
from typing import Optional, TextIO

BAR_WIDTH = 24


def _clock(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


class Progress:
    """Counts records and words as shards complete or batches come back.

    total (int): records of the whole run. already (int): records done by an earlier run (resumed), counted as done
    but not as speed. stream: where to draw (stderr). enabled (bool): False draws nothing.
    """

    def __init__(self, total: int, already: int = 0, stream: Optional[TextIO] = None, enabled: bool = True):
        self.total, self.done, self.words = total, already, 0
        self.already = already
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.started = time.perf_counter()
        self.last_drawn = 0.0
        self.drawn_at = None  # the count last drawn, so that close() does not repeat a log line
        # A log file gets a line every half minute, a terminal a redraw a few times a second.
        self.interval = 0.25 if self.tty else 30.0

    def restart(self) -> None:
        self.started = time.perf_counter()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def update(self, records: int, words: int) -> None:
        self.done += records
        self.words += words
        now = time.perf_counter()
        if self.enabled and now - self.last_drawn >= self.interval:
            self.last_drawn = now
            self._draw()

    def line(self) -> str:
        elapsed = max(self.elapsed, 1e-9)
        new = self.done - self.already
        fraction = self.done / self.total if self.total else 1.0
        filled = int(BAR_WIDTH * min(fraction, 1.0))
        rate = new / elapsed
        left = _clock((self.total - self.done) / rate) if rate > 0 else "--:--"
        return (f"{self.done:,}/{self.total:,} texts {100 * fraction:5.1f}% |{'█' * filled}{' ' * (BAR_WIDTH - filled)}| "
                f"{self.words / elapsed:,.0f} words/s  {_clock(elapsed)} elapsed, {left} left")

    def _draw(self) -> None:
        self.drawn_at = self.done
        if self.tty:
            self.stream.write("\r" + self.line() + "\033[K")
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and (self.tty or self.drawn_at != self.done):
            self._draw()
            if self.tty:
                self.stream.write("\n")
                self.stream.flush()
