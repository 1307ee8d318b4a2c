"""Turn a trained pipeline folder into a pip wheel that `spacy.load(name)` finds once installed.

The wheel is built by setuptools through `pip wheel` (no build isolation, so no network), and holds the
whole pipeline folder: safetensors weights, tokenizer files, config and meta.
"""
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import srsly

from .errors import TrftrainError
from .versions import library_versions

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
VERSION = re.compile(r"^\d+\.\d+\.\d+$")

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
    model, outdir = Path(model), Path(outdir)
    if not NAME.match(name):
        raise TrftrainError(f"Invalid package name '{name}': use lowercase letters, digits and underscores, "
                            "starting with a letter (e.g. en_trf_tagger).")
    if not VERSION.match(version):
        raise TrftrainError(f"Invalid version '{version}': use X.Y.Z, e.g. 1.0.0.")
    if not (model / "config.cfg").exists() or not (model / "meta.json").exists():
        raise TrftrainError(f"'{model}' is not a saved pipeline (config.cfg and meta.json missing).")
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / name
        package_dir = source / name
        shutil.copytree(model, package_dir / "pipeline")
        meta = srsly.read_json(package_dir / "pipeline" / "meta.json")
        meta.update({"name": name.split("_", 1)[-1] if "_" in name else name, "version": version})
        srsly.write_json(package_dir / "pipeline" / "meta.json", meta)
        (package_dir / "__init__.py").write_text(INIT_PY.format(name=name, version=version))
        trftrain_version = library_versions()["trftrain"] or "0.1.0"
        (source / "pyproject.toml").write_text(PYPROJECT.format(name=name, version=version, trftrain=trftrain_version))
        result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                                 "--no-index", "-q", "-w", str(outdir), str(source)], capture_output=True, text=True)
        if result.returncode != 0:
            raise TrftrainError(f"Building the wheel failed:\n{result.stderr.strip()[-2000:]}")
    wheels = sorted(outdir.glob(f"{name}-{version}-*.whl"))
    if not wheels:
        raise TrftrainError(f"pip reported success but no wheel for {name} {version} is in '{outdir}'.")
    return wheels[-1]
