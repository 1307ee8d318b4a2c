"""Score a pipeline on gold data with spaCy's scorers and render the scores as tables per task."""
from pathlib import Path
from typing import List, Optional

import srsly

from .atomic_folders import recover
from .errors import Errors, TrftrainError
from .precision import SETTINGS

SECTIONS = [
    ("Tags / morphology", ["tag_acc", "pos_acc", "morph_acc", "lemma_acc"]),
    ("Dependencies", ["dep_uas", "dep_las"]),
    ("Sentences", ["sents_p", "sents_r", "sents_f"]),
    ("Entities", ["ents_p", "ents_r", "ents_f"]),
    ("Spans", ["spans_sc_p", "spans_sc_r", "spans_sc_f"]),
    ("Text classification", ["cats_score", "cats_macro_f", "cats_micro_f", "cats_macro_auc"]),
]
PER_TYPE = {"dep_las_per_type": "LAS per relation", "ents_per_type": "Entities per type",
            "cats_f_per_type": "Text classification per label"}


def load_for_evaluation(model: str, *, gpu_id: int = -1, int8: bool = False, precision: Optional[str] = None):
    """The pipeline to score, on its device, in the precision asked for."""
    import spacy

    from . import set_inference_precision, to_device
    from .runtime import select_device

    if precision is not None and precision not in SETTINGS:
        raise TrftrainError(Errors.E009.format(option="precision", value=f"'{precision}'",
                                               problem=f"use one of {', '.join(SETTINGS)}."))
    # A run killed between the two renames of a save leaves the last complete folder beside the target.
    recover(Path(model))
    if Path(model).exists() and not (Path(model) / "config.cfg").exists():
        raise TrftrainError(Errors.E011.format(model=model))
    device = select_device(gpu_id)
    nlp = spacy.load(model)
    to_device(nlp, device)
    if precision is not None:
        set_inference_precision(nlp, precision)
    if int8:
        from .quantization import quantize_int8

        quantize_int8(nlp)
    return nlp


def evaluate_pipeline(model: str, data: Path, *, gpu_id: int = -1, batch_size: int = 64,
                      output: Optional[Path] = None, int8: bool = False, precision: Optional[str] = None,
                      nlp=None) -> dict:
    """nlp: the pipeline already loaded (by load_for_evaluation); None loads `model`."""
    from spacy.training import Corpus

    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        # 0 scored nothing and printed a table of zeros; a negative size failed inside itertools.
        raise TrftrainError(Errors.E009.format(option="batch-size", value=batch_size,
                                               problem="give the number of docs per batch, 1 or more."))
    if not Path(data).exists():
        raise TrftrainError(Errors.E010.format(path=data))
    if nlp is None:
        nlp = load_for_evaluation(model, gpu_id=gpu_id, int8=int8, precision=precision)
    examples = list(Corpus(data)(nlp))
    if not examples:
        raise TrftrainError(Errors.E012.format(path=data))
    scores = nlp.evaluate(examples, batch_size=batch_size)
    scores["words_per_second"] = scores.pop("speed", None)
    scores["not_scored"] = unannotated_heads(nlp, examples)
    if output is not None:
        srsly.write_json(output, scores)
    return scores


def unannotated_heads(nlp, examples) -> List[str]:
    """Names of the heads that no gold doc carries annotation for: their scores are unknown, not zero."""
    from .components.head import Head
    from .components.textcat import TextClassifier

    missing = []
    for name, proc in nlp.pipeline:
        if isinstance(proc, TextClassifier):
            annotated = any(set(proc.label_list).intersection(eg.reference.cats) for eg in examples)
        elif isinstance(proc, Head):
            annotated = any(any(proc.gold_labels(eg)) for eg in examples)
        else:
            continue
        if not annotated:
            missing.append(name)
    return missing


def _percent(value) -> str:
    return f"{100 * value:.2f}" if isinstance(value, (int, float)) else "-"


def render_scores(scores: dict) -> str:
    lines = []
    for title, keys in SECTIONS:
        rows = [(key, scores[key]) for key in keys if scores.get(key) is not None]
        if rows:
            lines.append(f"\n{title}")
            lines.extend(f"  {key:<16} {_percent(value):>8}" for key, value in rows)
    for key, title in PER_TYPE.items():
        table = scores.get(key)
        if table:
            lines.append(f"\n{title}")
            for label, values in sorted(table.items()):
                if isinstance(values, dict):
                    cells = "  ".join(f"{k.upper()} {_percent(v):>6}" for k, v in values.items())
                    lines.append(f"  {label:<16} {cells}")
    if scores.get("not_scored"):
        lines.append(f"\nNot scored (the data has no annotation for them): {', '.join(scores['not_scored'])}")
    if scores.get("words_per_second"):
        lines.append(f"\nSpeed: {scores['words_per_second']:,.0f} words/s")
    return "\n".join(lines)
