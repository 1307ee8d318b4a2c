"""`--n-process N`: N worker processes of our own, started with spawn (never fork: a forked torch hangs or crashes,
which is why spaCy's n_process is not used), each loading the pipeline once. Batches go out in order and come back in
order, with a bounded number in flight so that memory does not grow with the input."""
import multiprocessing
import os
import signal
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import replace
from typing import Iterator, List, Tuple

from ..errors import Errors, TrftrainError
from .annotator import BatchAnnotator, BatchResult
from .inputs import InputRecord, ShardPlan
from .pipeline_source import PipelineSpec, load_pipeline
from .records import Columns, PipelineInfo, describe

_WORKER = {}


def _start_worker(spec: PipelineSpec) -> None:
    # Ctrl-C is the parent's to handle: it stops handing out batches and closes the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _WORKER["nlp"] = load_pipeline(spec)
    except BaseException as err:  # raised again on the first task, so that the parent sees the message
        _WORKER["error"] = err


def _pipeline():
    if "error" in _WORKER:
        raise _WORKER["error"]
    return _WORKER["nlp"]


def _describe() -> PipelineInfo:
    return describe(_pipeline())


def _annotate(plan: ShardPlan, records: List[InputRecord], columns: Columns, output_format: str) -> BatchResult:
    key = (columns, output_format)
    if _WORKER.get("key") != key:
        _WORKER["annotator"], _WORKER["key"] = BatchAnnotator(_pipeline(), columns, output_format), key
    return _WORKER["annotator"](plan, records)


class WorkerPool:
    """Worker processes that each hold the pipeline.

    spec (PipelineSpec): what each worker loads. n_process (int): how many workers; the CPU's cores are split
    between them (torch threads) unless the spec sets threads.
    """

    def __init__(self, spec: PipelineSpec, n_process: int):
        if spec.threads is None:
            spec = replace(spec, threads=max(1, (os.cpu_count() or 1) // n_process))
        self.n_process = n_process
        self.executor = ProcessPoolExecutor(n_process, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_start_worker, initargs=(spec,))

    def describe(self) -> PipelineInfo:
        with _worker_failures(""):
            return self.executor.submit(_describe).result()

    def annotate(self, work: Iterator[Tuple[ShardPlan, List[InputRecord]]], columns: Columns,
                 output_format: str) -> Iterator[BatchResult]:
        """Results of every batch of `work`, in the order of `work`."""
        in_flight = deque()
        for plan, records in work:
            in_flight.append((plan, self.executor.submit(_annotate, plan, records, columns, output_format)))
            # Two batches per worker keeps every worker busy while the next one is read and sent.
            if len(in_flight) >= 2 * self.n_process:
                yield self._result(*in_flight.popleft())
        while in_flight:
            yield self._result(*in_flight.popleft())

    def _result(self, plan: ShardPlan, future) -> BatchResult:
        with _worker_failures(f" shard {plan.name}"):
            return future.result()

    def close(self, cancel: bool = False) -> None:
        self.executor.shutdown(wait=True, cancel_futures=cancel)


@contextmanager
def _worker_failures(where: str):
    """A worker killed by the system (memory) or crashed turns into a coded error naming where it happened."""
    try:
        yield
    except BrokenProcessPool as error:
        raise TrftrainError(Errors.E614.format(where=where, reason=error or "it exited")) from error
