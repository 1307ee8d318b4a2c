"""Run a trained pipeline over many texts: read files or folders of shards, write one record per text as JSON lines,
Parquet or DocBin shards, resumably, in this process, in worker processes or through Ray Data."""
from .runner import annotate

__all__ = ["annotate"]
