"""`annotate()`: plan the shards, resume what an earlier run completed, annotate the rest in this process, in worker
processes or on Ray, and summarize the run."""
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, TextIO, Tuple

from ..errors import Errors, TrftrainError
from .annotator import BatchAnnotator
from .collect import write_results
from .inputs import InputRecord, ReadSettings, ShardPlan, find_sources
from .optional import require_pyarrow
from .output_folder import ERRORS, OutputFolder
from .pipeline_source import PipelineSpec, check_pipeline_exists, load_pipeline
from .planning import batches_of, plan_shards, read_shard
from .progress import Progress
from .records import choose_columns, describe
from .shards import choose_format


def annotate(pipeline: str, input_path: Path, output: Path, *, output_format: Optional[str] = None,
             columns: Optional[Sequence[str]] = None, text_field: str = "text", id_field: Optional[str] = None,
             batch_size: int = 64, shard_size: int = 10_000, n_process: Optional[int] = None, gpu_id: int = -1,
             precision: Optional[str] = None, int8: bool = False, max_chars: int = 1_000_000, ray: bool = False,
             address: Optional[str] = None, remote: Sequence[str] = (), overwrite: bool = False,
             progress: bool = True, stderr: Optional[TextIO] = None) -> Dict:
    """Annotate every text of INPUT with a pipeline and write one record per text into shards under OUTPUT.

    pipeline (str): a pipeline folder or installed package. input_path (Path): a .txt/.jsonl/.csv/.tsv/.parquet file
    or a folder of them. output (Path): the folder for shards, _manifest.jsonl, _errors.jsonl and _summary.json.
    output_format (Optional[str]): jsonl, parquet or docbin; None: from OUTPUT's suffix, else jsonl.
    columns (Optional[Sequence[str]]): record columns to keep ("id", "ents", "tokens.pos", ...); None: all.
    text_field, id_field (str): where the text and the id are. batch_size (int): texts per nlp.pipe call.
    shard_size (int): input records per output shard (the unit of resuming). n_process (Optional[int]): worker
    processes (default 1) or, with ray, actors (default: one per CPU, or per GPU with gpu_id >= 0).
    gpu_id (int): CUDA device; -1 for the CPU. max_chars (int): longer texts are bad records.
    ray (bool): run through Ray Data; address (Optional[str]): the cluster ("auto"); None starts a local one.
    remote (Sequence[str]): `trftrain serve` URLs that run the encoder for every worker; empty runs it locally.
    overwrite (bool): delete an earlier run in OUTPUT and start over. Returns the summary (also in _summary.json).
    """
    for option, value, least in (("--batch-size", batch_size, 1), ("--n-process", n_process or 1, 1),
                                 ("--max-chars", max_chars, 1)):
        if value < least:
            raise TrftrainError(Errors.E615.format(option=option, rule=f"at least {least}", value=value))
    if address is not None and not ray:
        raise TrftrainError(Errors.E616.format(value=address))
    output_format = choose_format(output, output_format)
    if output_format == "parquet":
        require_pyarrow("Parquet output")
    check_pipeline_exists(pipeline)
    settings = ReadSettings(text_field, id_field, max_chars)
    sources = find_sources(input_path)
    plans = plan_shards(sources, shard_size, settings)
    run_settings = {
        "pipeline": str(Path(pipeline).resolve()) if Path(pipeline).exists() else pipeline,
        "format": output_format, "columns": list(columns) if columns else None, "shard_size": shard_size,
        "text_field": text_field, "id_field": id_field, "max_chars": max_chars,
        "inputs": [[s.label, s.path.stat().st_size] for s in sources],
    }
    spec = PipelineSpec(pipeline, gpu_id, precision, int8, remote=tuple(remote))
    started = time.perf_counter()
    with OutputFolder(output, run_settings) as folder:
        done = folder.start(overwrite=overwrite)
        pending = [plan for plan in plans if plan.name not in done]
        meter = Progress(sum(p.count for p in plans), already=sum(e["records"] for e in done.values()),
                         stream=stderr or sys.stderr, enabled=progress)
        if pending:
            carries_fields = any(s.kind != "txt" for s in sources)
            request = (columns, carries_fields, pipeline)
            try:
                if ray:
                    from .ray_job import annotate_on_ray

                    chosen, results, finish = annotate_on_ray(spec, pending, settings, request, output_format,
                                                              batch_size, n_process, address)
                else:
                    chosen, results, finish = _annotate_here(spec, pending, settings, request, output_format,
                                                             batch_size, n_process or 1)
                meter.restart()  # words/s and time left count from here, not from loading the pipeline
                try:
                    write_results(results, pending, folder, output_format, chosen, meter)
                finally:
                    finish()
            finally:
                meter.close()
        summary = _summary(folder, pipeline, input_path, output_format, plans, done, meter,
                           time.perf_counter() - started)
        folder.write_summary(summary)
    return summary


def _annotate_here(spec: PipelineSpec, pending: List[ShardPlan], settings: ReadSettings, request: Tuple,
                   output_format: str, batch_size: int, n_process: int):
    """(columns, ordered batch results, cleanup) for this machine: in this process, or in worker processes."""
    work = _work(pending, settings, batch_size)
    if n_process == 1:
        nlp = load_pipeline(spec)
        chosen = choose_columns(request[0], describe(nlp), request[1], request[2])
        annotator = BatchAnnotator(nlp, chosen, output_format)
        return chosen, (annotator(plan, records) for plan, records in work), lambda: None
    from .workers import WorkerPool

    pool = WorkerPool(spec, n_process)
    try:
        chosen = choose_columns(request[0], pool.describe(), request[1], request[2])
    except BaseException:
        pool.close(cancel=True)
        raise
    return chosen, pool.annotate(work, chosen, output_format), lambda: pool.close(cancel=True)


def _work(pending: List[ShardPlan], settings: ReadSettings, batch_size: int) -> Iterator[Tuple[ShardPlan, List[InputRecord]]]:
    for plan in pending:
        for records in batches_of(read_shard(plan, settings), batch_size):
            yield plan, records


def _summary(folder: OutputFolder, pipeline: str, input_path: Path, output_format: str, plans: List[ShardPlan],
             resumed: Dict, meter: Progress, seconds: float) -> Dict:
    entries = [folder.done[p.name] for p in plans if p.name in folder.done]
    kinds = Counter()
    for entry in entries:
        kinds.update(entry.get("bad_kinds", {}))
    bad = sum(e["bad"] for e in entries)
    return {
        "pipeline": pipeline, "input": str(input_path), "output": str(folder.path), "format": output_format,
        "complete": len(entries) == len(plans),
        "shards": len(plans), "shards_done": len(entries), "shards_resumed": len(resumed),
        "records": sum(e["records"] for e in entries), "annotated": sum(e["annotated"] for e in entries),
        "bad": bad, "bad_kinds": dict(sorted(kinds.items())), "words": sum(e["words"] for e in entries),
        "errors_file": str(folder.path / ERRORS) if bad else None,
        "this_run": {"records": meter.done - meter.already, "words": meter.words, "seconds": round(seconds, 3),
                     "words_per_second": round(meter.words / meter.elapsed, 1) if meter.words else 0.0},
    }
