"""The student's config as a distillation run trains it. Two kinds: a trftrain pipeline (its heads paired with the
teacher's take the teacher's labels, so soft targets line up; `${paths.teacher_encoder}` names the teacher's
encoder folder, e.g. to cut it to its first layers) or a spaCy pipeline (its training corpus becomes the teacher's
cache, streamed)."""
from pathlib import Path
from typing import Dict, List, Optional

from confection import Config

from ..errors import Errors, TrftrainError
from .pairing import Pair, is_trftrain_head, pipeline_factories

TRFTRAIN, SPACY = "trftrain", "spacy"


def read_student_config(path: Path, overrides: Optional[dict] = None):
    """(kind, config as written with overrides applied, uninterpolated)."""
    from ..config import load_config, with_parent_sections

    path = Path(path)
    if not path.is_file():
        raise TrftrainError(Errors.E001.format(path=path))
    try:
        parsed = Config().from_str(with_parent_sections(path.read_text(encoding="utf8")), interpolate=False)
    except Exception as err:  # configparser and confection raise several types for malformed INI
        raise TrftrainError(Errors.E002.format(path=path, where="", problem=err)) from None
    factories = pipeline_factories(parsed) if "nlp" in parsed and "pipeline" in parsed["nlp"] else {}
    kind = TRFTRAIN if any(f.startswith("trftrain_") for f in factories.values()) else SPACY
    if kind == TRFTRAIN:
        return kind, load_config(path, overrides, interpolate=False)
    try:
        return kind, Config().from_str(with_parent_sections(path.read_text(encoding="utf8")),
                                       overrides=overrides or {}, interpolate=False)
    except Exception as err:  # an override naming a key the config lacks
        raise TrftrainError(Errors.E002.format(path=path, where=" with the overrides", problem=err)) from None


def dev_path(config: Config, dev: Optional[Path], config_path: Path) -> str:
    """The development corpus: --dev, else the config's paths.dev; refused when neither is set."""
    value = str(dev) if dev is not None else config.get("paths", {}).get("dev")
    if not value or value == "None":
        raise TrftrainError(Errors.E506.format(config=config_path))
    if not Path(value).exists():
        raise TrftrainError(Errors.E507.format(option="dev", value=value, problem="no such file or folder."))
    return value


def teacher_encoder_folder(teacher_dir: Path, components: Dict[str, dict], factories: Dict[str, str]) -> str:
    """The folder of the teacher's (first) transformer's saved encoder: what `${paths.teacher_encoder}` names."""
    for name, factory in factories.items():
        if factory == "trftrain_transformer":
            return str(Path(teacher_dir) / name / "encoder")
    for name in components:  # a head with a private encoder keeps it in its own folder
        if (Path(teacher_dir) / name / "encoder").is_dir():
            return str(Path(teacher_dir) / name / "encoder")
    return ""


def teacher_corpus(cache: Path, gold: Optional[Path], gold_fraction: float, config: Config) -> dict:
    """The [corpora.train] block that reads the teacher's cache (trftrain.TeacherCorpus.v1)."""
    seed = config.get("system", {}).get("seed", 0)
    return {"@readers": "trftrain.TeacherCorpus.v1", "cache": str(cache),
            "gold": str(gold) if gold is not None else None, "gold_fraction": gold_fraction,
            "seed": seed if isinstance(seed, int) else 0}


def prepare_trftrain(config: Config, pairs: List[Pair], components: Dict[str, dict], *, cache: Path,
                     gold: Optional[Path], gold_fraction: float, dev: str, teacher_encoder: str) -> Config:
    """The student config to train: the teacher's labels for its soft-paired heads, paths filled in. The loop
    takes its batches from a DistillationSource; [corpora.train] names the same data for the record (and must
    resolve, since the dev corpus is resolved with its section)."""
    config["paths"]["dev"] = dev
    config["paths"]["teacher_encoder"] = teacher_encoder
    config["corpora"]["train"] = teacher_corpus(cache, gold, gold_fraction, config)
    student_factories = pipeline_factories(config)
    initialize = config.setdefault("initialize", {}).setdefault("components", {})
    for pair in pairs:
        if pair.soft and components[pair.teacher]["kind"] and is_trftrain_head(student_factories[pair.student]):
            initialize.setdefault(pair.student, {})["labels"] = list(components[pair.teacher]["labels"])
    return config


def prepare_spacy(config: Config, *, cache: Path, gold: Optional[Path], gold_fraction: float, dev: str,
                  teacher_encoder: str) -> Config:
    """The spaCy student config: its training corpus is the teacher's cache, streamed (max_epochs -1: spaCy's loop
    then reads the corpus anew each epoch instead of holding it in memory; max_steps ends the run). Settings the
    config leaves out take spaCy's defaults, as `spacy init fill-config` gives them."""
    from spacy.util import load_model_from_config

    try:
        config = load_model_from_config(config, auto_fill=True, validate=False).config
    except Exception as err:  # spaCy raises several types for configs it cannot build
        raise TrftrainError(Errors.E302.format(problem=err)) from None
    config["paths"]["dev"] = dev
    config["paths"]["teacher_encoder"] = teacher_encoder
    config["corpora"]["train"] = teacher_corpus(cache, gold, gold_fraction, config)
    config["training"]["max_epochs"] = -1
    return config
