"""`trftrain train CONFIG --output DIR [--resume | --overwrite] [--gpu N] [--code FILE] [--section.key value ...]`"""
from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from ._util import OVERRIDES, app, import_code, parse_overrides, user_errors


@app.command("train", context_settings=OVERRIDES)
def train_cli(
    ctx: typer.Context,
    config_path: Annotated[Path, typer.Argument(help="Training config (.cfg).")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Folder for model-best, model-last, checkpoint-last and the log.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --output from its checkpoint-last.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Delete the run already in --output and start again.")] = False,
    allow_change: Annotated[Optional[List[str]], typer.Option("--allow-change", help="With --resume: accept a changed config key (e.g. training.max_steps); repeatable.")] = None,
    gpu: Annotated[int, typer.Option("--gpu", "-g", help="CUDA device id; -1 for CPU. Under torchrun, each process takes its local rank's GPU.")] = -1,
    code: Annotated[Optional[Path], typer.Option("--code", "-c", help="Python file that registers your own architectures.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-V", help="Show tracebacks.")] = False,
):
    """Train the pipeline a config describes. Extra `--section.key value` pairs override the config."""
    from ..training.loop import TrainingStopped

    with user_errors(verbose):
        import_code(code)
        try:
            best = train(config_path, output, overrides=parse_overrides(ctx.args), gpu_id=gpu, resume=resume,
                         overwrite=overwrite, allow_changes=allow_change or ())
        except TrainingStopped as stopped:
            typer.echo(stopped.message, err=True)
            raise typer.Exit(stopped.exit_code)
        if best is not None:
            typer.echo(f"✔ Saved {best}")


def train(config_path: Path, output: Optional[Path] = None, *, overrides=None, gpu_id: int = -1, resume: bool = False,
          overwrite: bool = False, allow_changes=()):
    """Plain-Python entry point: returns the path of the best model (None without output)."""
    from ..training.loop import train as run

    return run(config_path, output, overrides=overrides, gpu_id=gpu_id, resume=resume, overwrite=overwrite,
               allow_changes=allow_changes)
