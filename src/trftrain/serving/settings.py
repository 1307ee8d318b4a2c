"""The settings of `trftrain serve`, and the one place for their defaults (the command line takes them from here)."""
from dataclasses import dataclass
from typing import Optional

from ..errors import Errors, TrftrainError


@dataclass
class ServeSettings:
    """max_queue_delay (float): seconds the oldest request may wait for others before its batch leaves.
    max_queued (int): requests that may wait per encoder; more are refused with 503.
    max_request_pieces (int): pieces one request may carry; more is refused with 413.
    token (Optional[str]): bearer token every request but a bare /health must carry.
    retry_after (int): seconds a refused client is told to wait (Retry-After).
    """

    max_queue_delay: float = 0.002
    max_queued: int = 256
    max_request_pieces: int = 65536
    token: Optional[str] = None
    retry_after: int = 1

    def check(self) -> None:
        for key, value, ok, problem in (
                ("--max-queue-delay-ms", self.max_queue_delay * 1000, self.max_queue_delay >= 0, "must be >= 0"),
                ("--max-queue", self.max_queued, self.max_queued >= 1, "must be >= 1"),
                ("--max-request-pieces", self.max_request_pieces, self.max_request_pieces >= 1, "must be >= 1"),
                ("--token", "(hidden)", self.token is None or len(self.token) >= 8, "use at least 8 characters")):
            if not ok:
                raise TrftrainError(Errors.E404.format(key=key, value=value, problem=problem))
