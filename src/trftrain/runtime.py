"""Assembling what every command works on: a device, a pipeline built from a config, the corpora it names."""
from pathlib import Path
from typing import List

import torch
from spacy.tokens import DocBin
from spacy.training import Example
from spacy.util import load_model_from_config, resolve_dot_names

from .config_checks import check_corpus_paths
from .errors import Errors, TrftrainError


def select_device(gpu_id: int, local_rank: int = 0) -> torch.device:
    """gpu_id < 0: the CPU. In a distributed run every process takes the GPU of its local rank."""
    if gpu_id < 0:
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise TrftrainError(Errors.E301.format(gpu=gpu_id, torch=torch.__version__))
    return torch.device(f"cuda:{gpu_id + local_rank}")


def build_pipeline(config):
    try:
        return load_model_from_config(config, auto_fill=False, validate=True)
    except Exception as err:  # spaCy raises ValueError/ConfigValidationError/RegistryError with its own codes
        if isinstance(err, TrftrainError):
            raise
        raise TrftrainError(Errors.E302.format(problem=err)) from None


def corpus_paths(config, dot_name: str, what: str) -> List[str]:
    """The paths a corpus reader of the config will read, checked: set, not empty, existing."""
    check_corpus_paths(config)
    section = dot_name.split(".", 1)[1] if dot_name.startswith("corpora.") else dot_name
    block = config.get("corpora", {}).get(section, {})
    paths = block.get("paths") or [block.get("path")]
    for path in paths:
        if path is None:
            raise TrftrainError(Errors.E303.format(what=what, key=section))
        if not str(path).strip():
            raise TrftrainError(Errors.E007.format(key=section))
        if not Path(path).exists():
            raise TrftrainError(Errors.E304.format(what=what, path=path, section=section))
    return [str(p) for p in paths]


def read_corpus(config, dot_name: str, nlp, what: str) -> List[Example]:
    paths = corpus_paths(config, dot_name, what)
    (reader,) = resolve_dot_names(config, [dot_name])
    try:
        examples = list(reader(nlp))
    except ValueError:
        # spaCy's error (E1014) does not say which file, and a corpus can be a list of files or folders.
        _name_the_unreadable_file(paths, what)
        raise
    if not examples:
        raise TrftrainError(Errors.E305.format(what=what, path=", ".join(paths)))
    return examples


def _name_the_unreadable_file(paths: List[str], what: str) -> None:
    """Raise E317 for the first .spacy file under paths that DocBin cannot read; return if all read."""
    for path in paths:
        # As spaCy's corpus reader walks a folder: .spacy files, hidden ones left out.
        files = sorted(f for f in Path(path).rglob("*.spacy") if not any(part.startswith(".") for part in
                       f.relative_to(path).parts)) if Path(path).is_dir() else [Path(path)]
        for file in files:
            try:
                DocBin().from_disk(file)
            except ValueError as err:
                raise TrftrainError(Errors.E317.format(what=what, path=file, problem=str(err).split(".")[0])) from None
