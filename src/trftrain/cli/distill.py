"""`trftrain distill TEACHER STUDENT_CONFIG --raw RAW --output DIR [--gold CORPUS] [--dev CORPUS] [--cache DIR]
[--temperature T] [--gold-fraction F] [--hard-labels] [--gpu N] [--remote URL] [--section.key value ...]`"""
from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from ._util import OVERRIDES, app, import_code, parse_overrides, user_errors


@app.command("distill", context_settings=OVERRIDES)
def distill_cli(
    ctx: typer.Context,
    teacher: Annotated[str, typer.Argument(help="Trained pipeline that teaches: folder or installed package.")],
    student_config: Annotated[Path, typer.Argument(help="Config of the student: a trftrain pipeline (e.g. a cut-down encoder) or spaCy's own components.")],
    raw: Annotated[Path, typer.Option("--raw", "-r", help="Unlabelled text: .txt (one text per line), .jsonl (a text field per line) or .spacy.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the student's model-best, model-last, log, and (unless --cache) the teacher's cache.")],
    gold: Annotated[Optional[Path], typer.Option("--gold", help="Gold corpus (.spacy) mixed into training.")] = None,
    gold_fraction: Annotated[Optional[float], typer.Option("--gold-fraction", help="Share of training batches drawn from --gold (default 0.25 with --gold).")] = None,
    dev: Annotated[Optional[Path], typer.Option("--dev", help="Development corpus (.spacy) the student is scored on; default: the config's paths.dev.")] = None,
    cache: Annotated[Optional[Path], typer.Option("--cache", help="Folder of the teacher's annotation; give the same one to several students to run the teacher once (default: OUTPUT/cache).")] = None,
    temperature: Annotated[float, typer.Option("--temperature", "-t", help="Softens teacher and student distributions alike (soft targets).")] = 2.0,
    hard_labels: Annotated[bool, typer.Option("--hard-labels", help="Learn the teacher's decoded labels even where soft targets are possible.")] = False,
    top_k: Annotated[int, typer.Option("--top-k", help="Labels (and parser heads) of the teacher kept per token in the cache.")] = 8,
    teacher_batch_size: Annotated[int, typer.Option("--teacher-batch-size", help="Texts per teacher call.")] = 64,
    max_chars: Annotated[int, typer.Option("--max-chars", help="Longer raw texts are skipped and reported.")] = 100_000,
    text_field: Annotated[str, typer.Option("--text-field", help="Field of a .jsonl line that holds the text.")] = "text",
    gpu: Annotated[int, typer.Option("--gpu", "-g", help="CUDA device id for the teacher and a trftrain student; -1 for CPU.")] = -1,
    remote: Annotated[Optional[List[str]], typer.Option("--remote", help="URL of a `trftrain serve` server that runs the teacher's encoder (repeat for several); its heads run here.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue a trftrain student's run in --output from its checkpoint.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the student run already in --output (the cache is kept).")] = False,
    code: Annotated[Optional[Path], typer.Option("--code", "-c", help="Python file that registers your own architectures.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-V", help="Show tracebacks.")] = False,
):
    """Train a small, fast pipeline on a trained pipeline's annotation of raw text. Extra `--section.key value`
    pairs override the student config."""
    from ..training.loop import TrainingStopped

    with user_errors(verbose):
        import_code(code)
        from ..distillation import DistillOptions

        options = DistillOptions(temperature=temperature, gold_fraction=gold_fraction, soft=not hard_labels,
                                 top_k=top_k, batch_size=teacher_batch_size, max_chars=max_chars,
                                 text_field=text_field)
        try:
            best = distill(teacher, student_config, raw, output, gold=gold, dev=dev, cache=cache, options=options,
                           overrides=parse_overrides(ctx.args), gpu_id=gpu, resume=resume, overwrite=overwrite,
                           teacher_remote=remote or ())
        except TrainingStopped as stopped:
            typer.echo(stopped.message, err=True)
            raise typer.Exit(stopped.exit_code)
        if best is not None:
            typer.echo(f"✔ Saved the student: {best}")


def distill(teacher: str, student_config: Path, raw: Path, output: Path, **kwargs) -> Optional[Path]:
    """Plain-Python entry point (see trftrain.distillation.distill for the options)."""
    from ..distillation import distill as run

    return run(teacher, student_config, raw, output, **kwargs)
