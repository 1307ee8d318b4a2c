"""Dynamic batching: requests from all clients wait in one queue per served encoder and leave together, oldest
first, in encoder calls under a padded-piece budget, after at most a maximum queue delay (Triton's dynamic
batcher, with TEI's token budget). The encoder runs in a worker thread; the event loop keeps taking requests."""
import asyncio
import math
from collections import deque
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Callable, Deque, List, Optional


class QueueFull(Exception):
    """The queue holds its maximum of requests: the caller answers 503 with Retry-After."""


@dataclass(eq=False)
class Job:
    """One request in the queue. windows (List[List[int]]): piece ids without specials; dtype (Optional[str]): the
    wire dtype asked for; arrived (float): loop time of arrival. future: set to the response bytes."""

    windows: List[List[int]]
    dtype: Optional[str]
    arrived: float
    future: asyncio.Future
    longest: int = field(init=False)
    pieces: int = field(init=False)

    def __post_init__(self):
        self.longest = max(len(w) for w in self.windows)
        self.pieces = sum(len(w) for w in self.windows)

    @property
    def cancelled(self) -> bool:
        """The client went away (its handler cancelled the future): the job is skipped."""
        return self.future.done()


def padded_cost(n_windows: int, longest: int, n_special: int) -> int:
    """Pieces of one padded encoder call: every window padded to the longest, specials included."""
    return n_windows * (longest + n_special)


def take_batch(queue: Deque[Job], budget: int, n_special: int) -> List[Job]:
    """Pop the oldest jobs while their windows, padded to the longest, stay within `budget`; the first job always
    goes, so one larger than the budget runs alone (the backbone splits it into several calls). Jobs whose client
    went away are dropped on the way."""
    batch: List[Job] = []
    windows = longest = 0
    while queue:
        job = queue[0]
        if job.cancelled:
            queue.popleft()
            continue
        grown_windows, grown_longest = windows + len(job.windows), max(longest, job.longest)
        if batch and padded_cost(grown_windows, grown_longest, n_special) > budget:
            break
        batch.append(queue.popleft())
        windows, longest = grown_windows, grown_longest
    return batch


def seconds_until_ready(queue: Deque[Job], budget: int, n_special: int, now: float, max_delay: float) -> float:
    """0 when a batch should leave now (the waiting jobs fill the budget, or the oldest has waited `max_delay`),
    else how long to wait at most for more jobs; inf when nothing waits."""
    live = [job for job in queue if not job.cancelled]
    if not live:
        return math.inf
    cost = padded_cost(sum(len(job.windows) for job in live), max(job.longest for job in live), n_special)
    if cost >= budget:
        return 0.0
    return max(0.0, live[0].arrived + max_delay - now)


class DynamicBatcher:
    """Queue and batch loop of one served encoder.

    run (Callable[[List[Job]], List[bytes]]): encodes a batch, one response per job; runs on `executor`.
    budget (int): padded pieces per batch; n_special (int): special tokens the backbone adds to each window.
    max_delay (float): seconds the oldest job may wait for others before its batch leaves.
    max_queued (int): requests that may wait; one more raises QueueFull.
    on_batch (Callable[[List[Job]], None]): told of every batch as it leaves (metrics).
    """

    def __init__(self, run: Callable[[List[Job]], List[bytes]], *, budget: int, n_special: int, max_delay: float,
                 max_queued: int, executor: Executor, on_batch: Callable[[List[Job]], None] = lambda batch: None):
        self.run, self.budget, self.n_special = run, budget, n_special
        self.max_delay, self.max_queued = max_delay, max_queued
        self.executor, self.on_batch = executor, on_batch
        self.queue: Deque[Job] = deque()
        self._wakeup: Optional[asyncio.Event] = None
        self._task: Optional[asyncio.Task] = None
        self._stopping = False

    @property
    def depth(self) -> int:
        return sum(1 for job in self.queue if not job.cancelled)

    def start(self) -> None:
        self._wakeup = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._loop())

    def submit(self, job: Job) -> None:
        if self._stopping or self.depth >= self.max_queued:
            raise QueueFull()
        self.queue.append(job)
        self._wakeup.set()

    async def stop(self) -> None:
        """Answer every job still queued, then end the loop."""
        self._stopping = True
        if self._task is not None:
            self._wakeup.set()
            await self._task

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._wakeup.clear()
            wait = seconds_until_ready(self.queue, self.budget, self.n_special, loop.time(), self.max_delay)
            if wait == math.inf:
                self.queue.clear()  # only jobs whose clients went away are left
                if self._stopping:
                    return
                await self._wakeup.wait()
                continue
            if wait > 0 and not self._stopping:
                try:
                    await asyncio.wait_for(self._wakeup.wait(), wait)
                except asyncio.TimeoutError:
                    pass
                continue
            batch = take_batch(self.queue, self.budget, self.n_special)
            if not batch:
                continue
            self.on_batch(batch)
            try:
                responses = await loop.run_in_executor(self.executor, self.run, batch)
            except Exception as err:  # one failed call fails its batch only; the loop serves the next
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(err)
                continue
            for job, response in zip(batch, responses):
                if not job.future.done():
                    job.future.set_result(response)
