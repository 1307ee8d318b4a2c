"""Ray Data adapters: `trftrain.ray.annotate(dataset, "en_trf_ner")` returns the dataset with annotation columns;
`trftrain.ray.Annotator` is the callable class behind it, for a map_batches of your own. Ray itself is imported only
when they run (`pip install 'trftrain[ray]'`)."""
from .annotation.ray_data import Annotator, annotate

__all__ = ["Annotator", "annotate"]
