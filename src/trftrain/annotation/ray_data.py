"""Annotate a Ray Dataset inside a user's own Ray program: `annotate(dataset, pipeline)` adds the record's annotation
columns (tokens, ents, sents, cats) to every row, through an actor pool that loads the pipeline once per actor."""
from typing import Optional, Sequence

from .inputs import ReadSettings, check_text
from .optional import require_pyarrow, require_ray
from .pipeline_source import PipelineSpec, load_pipeline
from .records import ANNOTATIONS, Columns, arrow_fields, choose_columns, describe, make_record

ERROR_COLUMN = "annotate_error"


class Annotator:
    """A callable class for `Dataset.map_batches(..., batch_format="pyarrow")`: a batch with a text column in, the
    same batch with annotation columns out, plus `annotate_error` (null, or why a row's text was not annotated).

    pipeline (str): a pipeline folder or installed package. text_column (str): the column with the texts.
    columns (Optional[Sequence[str]]): annotation columns to add ("ents", "tokens.pos", ...); None: all.
    gpu_id (int): CUDA device as the actor sees it (Ray gives a GPU actor its device as 0); -1 for the CPU.
    max_chars (int): longer texts are not annotated. precision (Optional[str]), threads (Optional[int]): see
    PipelineSpec.
    """

    def __init__(self, pipeline: str, *, text_column: str = "text", columns: Optional[Sequence[str]] = None,
                 gpu_id: int = -1, max_chars: int = 1_000_000, precision: Optional[str] = None,
                 threads: Optional[int] = None):
        self.pa = require_pyarrow("trftrain.ray.Annotator")
        self.nlp = load_pipeline(PipelineSpec(pipeline, gpu_id, precision, threads=threads))
        chosen = choose_columns(columns, describe(self.nlp), False, pipeline)
        annotations = tuple(c for c in chosen.top if c in ANNOTATIONS)  # the dataset's own columns stay as they are
        self.columns = Columns(annotations, chosen.token_attrs, chosen.cat_labels)
        self.fields = arrow_fields(self.columns, self.pa)
        self.settings = ReadSettings(text_column, None, max_chars)

    def __call__(self, table):
        texts = table.column(self.settings.text_field).to_pylist()
        problems = [check_text(text, self.settings) for text in texts]
        good = [text for text, problem in zip(texts, problems) if problem is None]
        docs = iter(self.nlp.pipe(good, batch_size=max(1, len(good))))
        records = [None if problem else make_record(next(docs), None, None, self.columns) for problem in problems]
        for field in self.fields:
            values = [None if record is None else record[field.name] for record in records]
            table = _set_column(table, field, self.pa.array(values, type=field.type))
        errors = self.pa.array([problem[1] if problem else None for problem in problems], type=self.pa.string())
        return _set_column(table, self.pa.field(ERROR_COLUMN, self.pa.string()), errors)


def _set_column(table, field, values):
    if field.name in table.column_names:
        return table.set_column(table.column_names.index(field.name), field, values)
    return table.append_column(field, values)


def annotate(dataset, pipeline: str, *, text_column: str = "text", columns: Optional[Sequence[str]] = None,
             batch_size: int = 64, concurrency: Optional[int] = None, num_gpus: float = 0,
             max_chars: int = 1_000_000, precision: Optional[str] = None):
    """A Ray Dataset with the annotation columns of `pipeline` added to every row of `dataset` (lazy, like every
    Ray Data transformation).

    dataset (ray.data.Dataset): rows with a text column. pipeline (str): a pipeline folder or installed package that
    every node can load. batch_size (int): texts per nlp.pipe call. concurrency (Optional[int]): actors; default
    one per GPU with num_gpus, else one per CPU. num_gpus (float): GPUs per actor (1 to annotate on GPUs).
    """
    ray = require_ray("trftrain.ray.annotate")
    if not ray.is_initialized():
        ray.init()
    if concurrency is None:
        resources = ray.cluster_resources()
        concurrency = max(1, int(resources.get("GPU", 0) / num_gpus if num_gpus else resources.get("CPU", 1)))
    kwargs = {"text_column": text_column, "columns": columns, "gpu_id": 0 if num_gpus else -1,
              "max_chars": max_chars, "precision": precision, "threads": None if num_gpus else 1}
    return dataset.map_batches(Annotator, fn_constructor_args=(pipeline,), fn_constructor_kwargs=kwargs, batch_size=batch_size,
                               batch_format="pyarrow", compute=ray.data.ActorPoolStrategy(size=concurrency),
                               num_cpus=1, num_gpus=num_gpus)
