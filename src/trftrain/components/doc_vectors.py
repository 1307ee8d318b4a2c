"""doc/span/token `.vector` and `.similarity` from the transformer's token vectors (via spaCy's user hooks)."""
import numpy as np
from spacy.tokens import Doc


def _doc_vector(doc):
    vectors = doc._.trf_vectors
    return vectors.mean(axis=0) if vectors is not None and len(vectors) else np.zeros(_width(doc), np.float32)


def _span_vector(span):
    vectors = span.doc._.trf_vectors
    if vectors is None or span.end == span.start:
        return np.zeros(_width(span.doc), np.float32)
    return vectors[span.start : span.end].mean(axis=0)


def _token_vector(token):
    return token.doc._.trf_vectors[token.i]


def _has_vector(_obj) -> bool:
    return True


def _cosine(a, b) -> float:
    denominator = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.dot(a, b) / denominator) if denominator else 0.0


def _similarity(obj, other) -> float:
    return _cosine(obj.vector, other.vector)


def _width(doc: Doc) -> int:
    vectors = doc._.trf_vectors
    return vectors.shape[1] if vectors is not None else 0


def set_vector_hooks(doc: Doc) -> None:
    """Module-level functions, not lambdas, so Docs stay picklable."""
    doc.user_hooks.update({"vector": _doc_vector, "has_vector": _has_vector, "similarity": _similarity})
    doc.user_span_hooks.update({"vector": _span_vector, "has_vector": _has_vector, "similarity": _similarity})
    doc.user_token_hooks.update({"vector": _token_vector, "has_vector": _has_vector, "similarity": _similarity})
