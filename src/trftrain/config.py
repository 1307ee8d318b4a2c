"""Load a training config: parse, fill from defaults, apply `--section.key value` overrides, validate."""
import re
from pathlib import Path
from typing import Any, Dict, Optional

from confection import Config, ConfigValidationError
from spacy.util import registry

from .errors import TrftrainError, config_error

DEFAULT_CONFIG_PATH = Path(__file__).parent / "default_config.cfg"


def default_config() -> Config:
    return Config().from_disk(DEFAULT_CONFIG_PATH, interpolate=False)


def load_config(path: Path, overrides: Optional[Dict[str, Any]] = None, *, interpolate: bool = True) -> Config:
    """The user's config filled with trftrain's defaults, overrides applied last."""
    path = Path(path)
    if not path.is_file():
        raise TrftrainError(f"Config file not found: '{path}'. Create one with `trftrain init-config`.")
    try:
        user = Config().from_str(with_parent_sections(path.read_text(encoding="utf8")), interpolate=False)
    except ConfigValidationError as err:
        raise TrftrainError(f"Could not parse config '{path}':\n{err}") from None
    except Exception as err:  # configparser and confection raise several types for malformed INI
        raise TrftrainError(f"Could not parse config '{path}': {err}") from None
    filled = default_config().merge(user)
    overrides = overrides or {}
    _check_override_keys(filled, overrides)
    try:
        config = Config().from_str(filled.to_str(), overrides=overrides, interpolate=False)
        if interpolate:
            config = config.interpolate()
    except ConfigValidationError as err:
        raise TrftrainError(f"Config '{path}': {err}") from None
    _check_training_keys(config)
    return config


def with_parent_sections(text: str) -> str:
    """Declare parents that the text leaves out ([components] for [components.ner]), as confection needs."""
    headers = re.findall(r"^\[([^\]\n]+)\]", text, flags=re.MULTILINE)
    present = set(headers)
    missing = []
    for header in headers:
        parts = header.split(".")
        for depth in range(1, len(parts)):
            parent = ".".join(parts[:depth])
            if parent not in present:
                present.add(parent)
                missing.append(parent)
    return "".join(f"[{name}]\n\n" for name in missing) + text


def _check_override_keys(config: Config, overrides: Dict[str, Any]) -> None:
    """Every section on an override's path must exist; the last key is checked by whatever reads it."""
    for key in overrides:
        *sections, _ = key.split(".")
        node: Any = config
        for depth, part in enumerate(sections):
            if not isinstance(node.get(part), dict):
                raise TrftrainError(f"Override `--{key}`: the config has no section "
                                    f"[{'.'.join(sections[: depth + 1])}].")
            node = node[part]


def _check_training_keys(config: Config) -> None:
    known = set(default_config()["training"])
    for key in config.get("training", {}):
        if key not in known:
            raise config_error(f"training.{key}", f"unknown setting. Known settings: {', '.join(sorted(known))}.")


def resolve_training(config: Config) -> Dict[str, Any]:
    """Build the functions in [training] (optimizer, schedule, batcher, logger) and check the numbers."""
    try:
        T = registry.resolve(config["training"], validate=True)
    except ConfigValidationError as err:
        raise TrftrainError(f"Config section [training]:\n{err}") from None
    for key in ("max_steps", "eval_frequency", "accumulate_gradient"):
        if not isinstance(T[key], int) or T[key] < 1:
            raise config_error(f"training.{key}", f"{T[key]!r} must be a whole number >= 1.")
    if not isinstance(T["checkpoint_frequency"], int) or T["checkpoint_frequency"] < 0:
        raise config_error("training.checkpoint_frequency", f"{T['checkpoint_frequency']!r} must be a whole number "
                           ">= 0 (0: a checkpoint only when the run ends).")
    if T["mixed_precision"] not in ("auto", "bf16", "fp16", "off"):
        raise config_error("training.mixed_precision", f"'{T['mixed_precision']}' is not one of auto, bf16, fp16, off.")
    return T
