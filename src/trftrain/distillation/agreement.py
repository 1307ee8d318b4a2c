"""How often a student says what its teacher says: the teacher's decoded annotation of the evaluation texts taken
as gold and scored with spaCy's scorers (tags, heads and labels, entities), plus the share of class decisions
they agree on. Only tasks the two share are reported."""
from typing import Dict, List, Sequence

from spacy.scorer import Scorer
from spacy.tokens import Doc, DocBin
from spacy.training import Example

from .pairing import TASK_KEYS, Pair, pair_components, pipeline_factories
from .teacher import Teacher


def teacher_agreement(student, teacher, texts: Sequence[Doc], *, batch_size: int = 64,
                      student_label: str = "student", teacher_label: str = "teacher") -> Dict[str, float]:
    """student, teacher: loaded pipelines; texts: Docs whose tokens both annotate (e.g. a gold corpus's)."""
    pairs = pair_components(pipeline_factories(student.config), pipeline_factories(teacher.config),
                            student_label=student_label, teacher_label=teacher_label)
    labelled = Teacher(teacher)
    references = labelled.label([_tokens(teacher.vocab, doc) for doc in texts], batch_size=batch_size)
    # Through a DocBin into the student's vocab, as the cache does.
    references = list(DocBin(docs=references, store_user_data=False).get_docs(student.vocab))
    predicted = list(student.pipe([_tokens(student.vocab, doc) for doc in references], batch_size=batch_size))
    examples = [Example(p, r) for p, r in zip(predicted, references)]
    scores = Scorer(student).score(examples)
    agreement: Dict[str, float] = {}
    for pair in pairs:
        for key in TASK_KEYS[pair.task]:
            if key == "cats_agreement":
                info = labelled.components[pair.teacher]
                agreement[f"cats_agreement_{pair.student}"] = cats_agreement(
                    predicted, references, info["labels"], info["multi_label"], _threshold(student, pair, info))
            elif isinstance(scores.get(key), (int, float)):
                agreement[key] = float(scores[key])
    return agreement


def cats_agreement(predicted: List[Doc], references: List[Doc], labels: List[str], multi_label: bool,
                   threshold: float) -> float:
    """Exclusive classes: share of docs whose likeliest class is the teacher's. Multi-label: share of (doc,
    label) yes/no decisions that agree."""
    agree = total = 0
    for p, r in zip(predicted, references):
        shared = [label for label in labels if label in p.cats and label in r.cats]
        if not shared:
            continue
        if multi_label:
            agree += sum((p.cats[label] >= threshold) == (r.cats[label] >= 0.5) for label in shared)
            total += len(shared)
        else:
            agree += max(shared, key=p.cats.get) == max(shared, key=r.cats.get)
            total += 1
    return agree / total if total else 0.0


def _threshold(student, pair: Pair, info: dict) -> float:
    component = student.get_pipe(pair.student)
    value = getattr(component, "threshold", None)
    if value is None:
        value = getattr(component, "cfg", {}).get("threshold", info.get("threshold", 0.5))
    return float(value)


def _tokens(vocab, doc: Doc) -> Doc:
    return Doc(vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc])


def render_agreement(agreement: Dict[str, float], teacher: str) -> str:
    lines = [f"\nAgreement with the teacher ({teacher})"]
    lines.extend(f"  {key:<24} {100 * value:>8.2f}" for key, value in agreement.items())
    return "\n".join(lines)
