"""Which student component learns from which teacher component. They pair by task (what they annotate), so a
spaCy tagger learns from a trftrain tagger; a pair of trftrain heads can use soft targets, any other pair learns
the teacher's decoded labels. A student that shares no task with the teacher is refused."""
from dataclasses import dataclass
from typing import Dict, List, Mapping

from ..errors import Errors, TrftrainError

# Factory -> task, for trftrain's heads and spaCy's own components.
TASKS = {
    "trftrain_tagger": "tagger", "tagger": "tagger",
    "trftrain_morphologizer": "morphologizer", "morphologizer": "morphologizer",
    "trftrain_senter": "senter", "senter": "senter",
    "trftrain_parser": "parser", "parser": "parser", "beam_parser": "parser",
    "trftrain_ner": "ner", "ner": "ner", "beam_ner": "ner",
    "trftrain_textcat": "textcat", "textcat": "textcat",
    "trftrain_textcat_multilabel": "textcat_multilabel", "textcat_multilabel": "textcat_multilabel",
}
# What each task leaves on a Doc, for messages and for the agreement scores.
TASK_KEYS = {
    "tagger": ["tag_acc", "pos_acc"], "morphologizer": ["pos_acc", "morph_acc"], "senter": ["sents_f"],
    "parser": ["dep_uas", "dep_las", "sents_f"], "ner": ["ents_p", "ents_r", "ents_f"],
    "textcat": ["cats_agreement"], "textcat_multilabel": ["cats_agreement"],
}


@dataclass(frozen=True)
class Pair:
    """student, teacher (str): component names; task (str); soft (bool): both are trftrain heads, so the student
    learns the teacher's distributions rather than its decoded labels."""

    student: str
    teacher: str
    task: str
    soft: bool


def is_trftrain_head(factory: str) -> bool:
    return factory.startswith("trftrain_") and factory != "trftrain_transformer"


def pipeline_factories(config: Mapping) -> Dict[str, str]:
    """{component name: factory} for the components a config's pipeline runs, in pipeline order."""
    components = config.get("components", {})
    return {name: str(components.get(name, {}).get("factory", "?")) for name in config["nlp"]["pipeline"]}


def pair_components(student: Dict[str, str], teacher: Dict[str, str], *, student_label: str,
                    teacher_label: str) -> List[Pair]:
    """student, teacher: {name: factory}. A student component pairs with the teacher component of the same task,
    preferring the same name when the teacher has several."""
    pairs = []
    for name, factory in student.items():
        task = TASKS.get(factory)
        candidates = [t for t, f in teacher.items() if TASKS.get(f) == task] if task else []
        if not candidates:
            continue
        chosen = name if name in candidates else candidates[0]
        pairs.append(Pair(name, chosen, task, is_trftrain_head(factory) and is_trftrain_head(teacher[chosen])))
    if not pairs:
        raise TrftrainError(Errors.E501.format(
            student=student_label, teacher=teacher_label, student_components=_described(student),
            teacher_components=_described(teacher),
            tasks=", ".join(sorted({TASKS[f] for f in teacher.values() if f in TASKS})) or "none"))
    return pairs


def unpaired(student: Dict[str, str], pairs: List[Pair]) -> List[str]:
    """Student components with a task the teacher cannot teach (they learn from gold examples alone)."""
    paired = {p.student for p in pairs}
    return [name for name, factory in student.items() if factory in TASKS and name not in paired]


def _described(components: Dict[str, str]) -> str:
    if not components:
        return "none"
    return ", ".join(f"{name} ({TASKS.get(factory, factory)})" for name, factory in components.items())
