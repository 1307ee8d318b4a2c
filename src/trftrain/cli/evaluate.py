"""`trftrain evaluate MODEL DATA [--gpu N] [--output scores.json]`"""
from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from ._util import app, user_errors


@app.command("evaluate")
def evaluate_cli(
    model: Annotated[str, typer.Argument(help="Pipeline folder or installed package name.")],
    data: Annotated[Path, typer.Argument(help="Gold data: a .spacy file or a folder of them.")],
    gpu: Annotated[int, typer.Option("--gpu", "-g", help="CUDA device id; -1 for CPU.")] = -1,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the scores here as JSON.")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", "-b", help="Docs per batch, 1 or more.")] = 64,
    int8: Annotated[bool, typer.Option("--int8", help="Quantize the encoder to int8 first (CPU).")] = False,
    precision: Annotated[Optional[str], typer.Option(
        "--precision", help="Encoder arithmetic: auto (bf16 where the hardware has it), bf16, fp16 (CUDA) or off "
                            "(fp32). Default: what the pipeline was saved with.")] = None,
    teacher: Annotated[Optional[str], typer.Option(
        "--teacher", help="A pipeline this one was distilled from: also report how often they agree, per task.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-V")] = False,
):
    """Score a pipeline on gold data: tables per task, words per second."""
    with user_errors(verbose):
        from ..evaluation import render_scores

        scores = evaluate(model, data, gpu_id=gpu, batch_size=batch_size, output=output, int8=int8,
                          precision=precision, teacher=teacher)
        typer.echo(render_scores(scores))
        if teacher is not None:
            from ..distillation.agreement import render_agreement

            typer.echo(render_agreement(scores["teacher_agreement"], teacher))


def evaluate(model: str, data: Path, *, gpu_id: int = -1, batch_size: int = 64, output: Optional[Path] = None,
             int8: bool = False, precision: Optional[str] = None, teacher: Optional[str] = None) -> dict:
    """Scores on gold data; with a teacher, also `scores["teacher_agreement"]`: the share of tags, heads and
    labels, entities (F) and class decisions on which this pipeline agrees with the teacher."""
    import srsly

    from ..evaluation import evaluate_pipeline, load_for_evaluation

    nlp = load_for_evaluation(model, gpu_id=gpu_id, int8=int8, precision=precision)
    scores = evaluate_pipeline(model, data, batch_size=batch_size, nlp=nlp)
    if teacher is not None:
        from spacy.training import Corpus

        from ..distillation.agreement import teacher_agreement
        from ..distillation.teacher import load_teacher_pipeline
        from ..runtime import select_device

        teacher_nlp = load_teacher_pipeline(teacher, select_device(gpu_id))
        texts = [eg.reference for eg in Corpus(data)(nlp)]
        scores["teacher_agreement"] = teacher_agreement(nlp, teacher_nlp, texts, batch_size=batch_size,
                                                        student_label=model, teacher_label=teacher)
    if output is not None:
        srsly.write_json(output, scores)
    return scores
