"""`trftrain distill`: a trained pipeline (the teacher) labels raw text, and a smaller, faster pipeline (the
student: trftrain on a cut-down encoder, or spaCy's CNN components) learns from its outputs."""
from . import spacy_corpus  # noqa: F401  (registers the reader trftrain.TeacherCorpus.v1)
from .run import DistillOptions, distill

__all__ = ["DistillOptions", "distill"]
