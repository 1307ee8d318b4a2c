"""`trftrain annotate --ray`: the same shards and batches as a local run, read in parallel by Ray tasks and annotated
by a pool of Ray actors that each load the pipeline once; results stream back in order and are written by the same
code as a local run, so the records are the same and a killed run resumes the same way."""
import logging
import pickle
from dataclasses import replace
from typing import List, Optional, Tuple

from ..errors import Errors, TrftrainError
from .annotator import BatchAnnotator
from .inputs import ReadSettings, ShardPlan
from .optional import require_pyarrow, require_ray
from .pipeline_source import PipelineSpec, load_pipeline
from .planning import batches_of, read_shard
from .records import Columns, choose_columns, describe


def read_work(table, settings: ReadSettings, batch_size: int):
    """Ray task: shard plans in, one row per batch of input records out (pickled, so that any field type travels)."""
    pa = require_pyarrow("--ray")
    blobs = []
    for plan_blob in table.column("plan").to_pylist():
        plan = pickle.loads(plan_blob)
        blobs.extend(pickle.dumps((plan, records)) for records in batches_of(read_shard(plan, settings), batch_size))
    return pa.table({"work": pa.array(blobs, pa.large_binary())})


class ActorAnnotator:
    """Ray actor: loads the pipeline once, then turns rows of batches into rows of pickled BatchResults."""

    def __init__(self, spec: PipelineSpec, columns: Columns, output_format: str):
        self.annotator = BatchAnnotator(load_pipeline(spec), columns, output_format)

    def __call__(self, table):
        pa = require_pyarrow("--ray")
        results = [pickle.dumps(self.annotator(*pickle.loads(blob))) for blob in table.column("work").to_pylist()]
        return pa.table({"result": pa.array(results, pa.large_binary())})


def annotate_on_ray(spec: PipelineSpec, pending: List[ShardPlan], settings: ReadSettings, request: Tuple,
                    output_format: str, batch_size: int, n_actors: Optional[int], address: Optional[str]):
    """(columns, ordered batch results, cleanup) on a Ray cluster: the one at `address`, the one this process is
    already connected to, or a new local one (shut down by cleanup)."""
    ray = require_ray("--ray")
    require_pyarrow("--ray")
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, include_dashboard=False, logging_level=logging.WARNING)
    try:
        # The driver learns what the pipeline annotates (for --columns and Parquet's schema); the actors do the work.
        chosen = choose_columns(request[0], describe(load_pipeline(replace(spec, gpu_id=-1, int8=False))),
                                request[1], request[2])
        results = _results(ray, spec, pending, settings, chosen, output_format, batch_size, n_actors)
    except BaseException:
        if started_here:
            ray.shutdown()
        raise
    return chosen, results, (ray.shutdown if started_here else lambda: None)


def _results(ray, spec: PipelineSpec, pending: List[ShardPlan], settings: ReadSettings, columns: Columns,
             output_format: str, batch_size: int, n_actors: Optional[int]):
    resources = ray.cluster_resources()
    on_gpu = spec.gpu_id >= 0
    if on_gpu and not resources.get("GPU"):
        raise TrftrainError(Errors.E620.format(resources=resources))
    if n_actors is None:
        n_actors = max(1, int(resources.get("GPU" if on_gpu else "CPU", 1)))
    # Ray gives each GPU actor its own device as cuda:0; CPU actors hold one core each, so one torch thread.
    actor_spec = replace(spec, gpu_id=0 if on_gpu else -1, threads=None if on_gpu else 1)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # its progress notices would interleave with ours
    plans = ray.data.from_items([{"plan": pickle.dumps(plan)} for plan in pending], override_num_blocks=len(pending))
    # Reading takes no CPU slot: with every slot held by an actor, a reader that needs one would never start. A reader
    # keeps ahead of about four actors (a shard reads in far less time than it takes to annotate), and few readers
    # mean few processes importing torch at the start.
    readers = -(-n_actors // 4)
    work = plans.map_batches(read_work, fn_kwargs={"settings": settings, "batch_size": batch_size}, batch_size=1,
                             batch_format="pyarrow", num_cpus=0, **_task_pool(ray, readers))
    annotated = work.map_batches(
        ActorAnnotator, fn_constructor_kwargs={"spec": actor_spec, "columns": columns, "output_format": output_format},
        batch_size=1, batch_format="pyarrow", compute=ray.data.ActorPoolStrategy(size=n_actors),
        num_cpus=1, num_gpus=1 if on_gpu else 0)
    for table in annotated.iter_batches(batch_size=None, batch_format="pyarrow"):
        for blob in table.column("result").to_pylist():
            yield pickle.loads(blob)


def _task_pool(ray, size: int) -> dict:
    """At most `size` tasks at once, in the spelling of the installed Ray (`compute=` since 2.51, `concurrency=` before)."""
    strategy = getattr(ray.data, "TaskPoolStrategy", None)
    try:
        return {"compute": strategy(size=size)}
    except TypeError:  # older TaskPoolStrategy without a size
        return {"concurrency": size}
