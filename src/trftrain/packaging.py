"""Turn a trained pipeline folder into a pip wheel that `spacy.load(name)` finds once installed.

The wheel is built by setuptools through `pip wheel` (no build isolation, so no network), and holds the
whole pipeline folder: safetensors weights, tokenizer files, config and meta.
"""
import importlib.metadata
import importlib.util
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path, PurePosixPath, PureWindowsPath

import srsly
from confection import Config
from packaging.version import InvalidVersion, Version

from .atomic_folders import recover
from .errors import Errors, TrftrainError
from .versions import library_versions

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# Libraries a pipeline package must never replace, installed here or not.
RESERVED = {"spacy", "thinc", "torch", "numpy", "scipy", "transformers", "tokenizers", "safetensors", "trftrain",
            "typer", "click", "srsly", "catalogue", "confection", "pydantic", "packaging", "setuptools", "pip", "wheel",
            "huggingface_hub", "matplotlib", "pandas", "sklearn", "requests", "test", "tests"}

INIT_PY = '''"""{name}: a trftrain pipeline. Load it with spacy.load("{name}")."""
from pathlib import Path

import spacy
import trftrain  # noqa: F401  (registers trftrain's components)

__version__ = "{version}"


def load(**overrides):
    return spacy.util.load_model_from_path(Path(__file__).parent / "pipeline", **overrides)
'''

PYPROJECT = '''[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "{version}"
description = "trftrain pipeline {name}"
requires-python = ">=3.10"
dependencies = ["trftrain>={trftrain}", "spacy>=3.8,<3.9"]

[project.entry-points.spacy_models]
{name} = "{name}"

[tool.setuptools]
packages = ["{name}"]
include-package-data = true

[tool.setuptools.package-data]
{name} = ["pipeline/*", "pipeline/**/*"]
'''


def build_wheel(model: Path, outdir: Path, *, name: str, version: str) -> Path:
    """Build the wheel of the pipeline folder model into outdir; returns the wheel's path.

    name (str): the package and import name; version (str): a PEP 440 version (1.0.0, 1.0.0rc1, 2.0.post1).
    """
    model, outdir = Path(model), Path(outdir)
    check_name(name)
    version = normalized_version(version)
    recover(model)  # a run killed between the two renames of a save left the last complete folder beside it
    if not (model / "config.cfg").exists() or not (model / "meta.json").exists():
        raise TrftrainError(Errors.E203.format(model=model))
    if outdir.exists() and not outdir.is_dir():
        raise TrftrainError(Errors.E204.format(outdir=outdir, suggestion=outdir.with_name(outdir.name + "-dist")))
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / name
        package_dir = source / name
        shutil.copytree(model, package_dir / "pipeline")
        without_machine_paths(package_dir / "pipeline" / "config.cfg")
        normal_modes(package_dir / "pipeline")
        meta = srsly.read_json(package_dir / "pipeline" / "meta.json")
        meta.update({"name": name.split("_", 1)[-1] if "_" in name else name, "version": version})
        srsly.write_json(package_dir / "pipeline" / "meta.json", meta)
        (package_dir / "__init__.py").write_text(INIT_PY.format(name=name, version=version))
        trftrain_version = library_versions()["trftrain"] or "0.1.0"
        (source / "pyproject.toml").write_text(PYPROJECT.format(name=name, version=version, trftrain=trftrain_version))
        result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                                 "--no-index", "-q", "-w", str(outdir), str(source)], capture_output=True, text=True)
        if result.returncode != 0:
            raise TrftrainError(Errors.E205.format(output=result.stderr.strip()[-2000:]))
    wheels = sorted(outdir.glob(f"{name}-{version}-*.whl"))
    if not wheels:
        raise TrftrainError(Errors.E206.format(name=name, version=version, outdir=outdir))
    return wheels[-1]


def check_name(name: str) -> None:
    """A name pip can install that shadows nothing: installing a package named spacy (or json) would replace that
    library for every program of the environment. A trftrain or spaCy pipeline of that name may be rebuilt."""
    if not NAME.match(name):
        raise TrftrainError(Errors.E200.format(name=name))
    pipelines = {entry.name for entry in importlib.metadata.entry_points(group="spacy_models")}
    taken = name in RESERVED or name in sys.stdlib_module_names or name in sys.builtin_module_names or (
        name not in pipelines and (importlib.util.find_spec(name) is not None or _is_distribution(name)))
    if taken:
        raise TrftrainError(Errors.E201.format(name=name, suggestion=f"en_{name}_pipeline"))


def _is_distribution(name: str) -> bool:
    try:
        importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def normalized_version(version: str) -> str:
    """The PEP 440 form of version (what pip writes in the wheel's name), or E202."""
    try:
        return str(Version(version))
    except InvalidVersion:
        raise TrftrainError(Errors.E202.format(version=version)) from None


def without_machine_paths(config_path: Path) -> None:
    """Rewrite a saved config.cfg with every absolute path (corpora, the encoder's source folder) cut to its last
    part. Loading reads the pipeline's own files, never these, and a wheel should not publish the folders of the
    machine that trained it."""
    config = Config().from_disk(config_path, interpolate=False)
    config_path.write_text(Config(_cut_paths(config)).to_str(interpolate=False), encoding="utf8")


def _cut_paths(value):
    if isinstance(value, dict):
        return {key: _cut_paths(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_cut_paths(item) for item in value]
    if isinstance(value, str) and is_machine_path(value):
        return PureWindowsPath(value).name if "\\" in value else PurePosixPath(value).name
    return value


def is_machine_path(value: str) -> bool:
    """An absolute path on this or another system (/home/..., C:\\..., ~/...)."""
    return PurePosixPath(value).is_absolute() or PureWindowsPath(value).is_absolute() or value.startswith("~/")


def normal_modes(folder: Path) -> None:
    """rw-r--r-- files and rwxr-xr-x folders: safetensors writes weights as rw------- and the wheel would keep it."""
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
