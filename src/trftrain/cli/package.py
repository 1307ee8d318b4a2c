"""`trftrain package MODEL OUTDIR --name NAME --version 1.0.0`"""
from pathlib import Path

import typer
from typing_extensions import Annotated

from ._util import app, user_errors


@app.command("package")
def package_cli(
    model: Annotated[Path, typer.Argument(help="Trained pipeline folder (e.g. training/model-best).")],
    outdir: Annotated[Path, typer.Argument(help="Where the wheel is written.")],
    name: Annotated[str, typer.Option("--name", "-n", help="Package name: lowercase letters, digits, underscores.")] = ...,
    version: Annotated[str, typer.Option("--version", "-v", help="PEP 440 version: 1.0.0, 1.0.0rc1, 2.0.post1.")] = "0.1.0",
    verbose: Annotated[bool, typer.Option("--verbose", "-V")] = False,
):
    """Build a pip wheel that `spacy.load(NAME)` loads offline once installed."""
    with user_errors(verbose):
        wheel = package(model, outdir, name=name, version=version)
        typer.echo(f"✔ Built {wheel}\n  pip install {wheel}\n  python -c \"import spacy; spacy.load('{name}')\"")


def package(model: Path, outdir: Path, *, name: str, version: str) -> Path:
    from ..packaging import build_wheel

    return build_wheel(model, outdir, name=name, version=version)
