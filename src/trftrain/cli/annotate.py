"""`trftrain annotate PIPELINE INPUT OUTPUT [--format] [--columns] [--n-process N] [--gpu 0] [--ray] [--remote URL]`"""
from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from ._util import app, user_errors


@app.command("annotate")
def annotate_cli(
    pipeline: Annotated[str, typer.Argument(metavar="PIPELINE", help="Pipeline folder or installed package name.")],
    input_path: Annotated[Path, typer.Argument(metavar="INPUT", help="A .txt (one text a line), .jsonl, .csv, .tsv or "
                                               ".parquet file, or a folder of them.")],
    output: Annotated[Path, typer.Argument(metavar="OUTPUT", help="Folder for the output shards; a .jsonl, .parquet or .spacy suffix "
                                           "picks the format.")],
    output_format: Annotated[Optional[str], typer.Option("--format", "-f", help="jsonl, parquet or docbin "
                                                         "(default: from OUTPUT's suffix, else jsonl).")] = None,
    columns: Annotated[Optional[str], typer.Option(
        "--columns", "-c", help="Comma-separated record columns to keep: id, text, meta, tokens, ents, sents, cats, "
                                "or tokens.ATTR for one token attribute (tag, pos, morph, lemma, head, dep). "
                                "Default: all.")] = None,
    text_field: Annotated[str, typer.Option("--text-field", "-t", help="JSON field or column with the text.")] = "text",
    id_field: Annotated[Optional[str], typer.Option("--id-field", help="Field or column with each record's id "
                                                    "(default: FILE:LINE, or FILE:ROW for Parquet).")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", "-b", help="Texts per nlp.pipe batch.")] = 64,
    shard_size: Annotated[int, typer.Option("--shard-size", help="Input records per output shard: the unit that "
                                            "a rerun resumes from.")] = 10_000,
    n_process: Annotated[Optional[int], typer.Option("--n-process", "-n", help="Worker processes, each loading the "
                                                     "pipeline once (with --ray: actors; default one per CPU, or "
                                                     "per GPU with --gpu).")] = None,
    gpu: Annotated[int, typer.Option("--gpu", "-g", help="CUDA device id; -1 for CPU. With --ray: any id >= 0 gives "
                                     "each actor one GPU.")] = -1,
    precision: Annotated[Optional[str], typer.Option(
        "--precision", help="Encoder arithmetic: auto, bf16, fp16 (CUDA) or off (fp32). Default: as saved.")] = None,
    int8: Annotated[bool, typer.Option("--int8", help="Quantize the encoder to int8 first (CPU).")] = False,
    max_chars: Annotated[int, typer.Option("--max-chars", help="Longer texts go to the errors file.")] = 1_000_000,
    ray: Annotated[bool, typer.Option("--ray", help="Run through Ray Data (pip install 'trftrain[ray]').")] = False,
    address: Annotated[Optional[str], typer.Option("--address", help="Ray cluster to join ('auto' for the one this "
                                                   "machine belongs to); default: start a local one.")] = None,
    remote: Annotated[Optional[List[str]], typer.Option(
        "--remote", help="URL of a `trftrain serve` server that runs the encoder (repeat for several); the heads run "
                         "here. Token: TRFTRAIN_SERVE_TOKEN.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Delete an earlier run in OUTPUT and start over "
                                            "(default: resume it).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress line.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-V")] = False,
):
    """Annotate many texts: one record per input text (tokens, entities, sentences, categories) in shards under
    OUTPUT, bad records in OUTPUT/_errors.jsonl. Rerun the same command after a crash or Ctrl-C to resume."""
    with user_errors(verbose):
        try:
            summary = annotate(pipeline, input_path, output, output_format=output_format,
                               columns=columns.split(",") if columns else None, text_field=text_field,
                               id_field=id_field, batch_size=batch_size, shard_size=shard_size, n_process=n_process,
                               gpu_id=gpu, precision=precision, int8=int8, max_chars=max_chars, ray=ray,
                               address=address, remote=remote or (), overwrite=overwrite, progress=not quiet)
        except KeyboardInterrupt:
            typer.echo(f"✘ Interrupted. Completed shards are kept in {output}; rerun the same command to resume.",
                       err=True)
            raise typer.Exit(130)
        typer.echo(render_summary(summary))


def annotate(pipeline: str, input_path: Path, output: Path, **options) -> dict:
    """Run `trftrain annotate` from Python; options as in trftrain.annotation.annotate. Returns the summary."""
    from ..annotation import annotate as run

    return run(pipeline, input_path, output, **options)


def render_summary(summary: dict) -> str:
    run = summary["this_run"]
    resumed = f", {summary['shards_resumed']} of them from an earlier run" if summary["shards_resumed"] else ""
    texts = "text" if summary["annotated"] == 1 else "texts"
    lines = [f"✔ {summary['annotated']:,} {texts} annotated into {summary['shards_done']} {summary['format']} "
             f"shard(s) in {summary['output']}{resumed}",
             f"  {summary['records']:,} input records, {summary['bad']:,} bad, {summary['words']:,} words"]
    if run["records"]:
        lines.append(f"  this run: {run['records']:,} records in {run['seconds']:,.1f} s, "
                     f"{run['words_per_second']:,.0f} words/s")
    else:
        lines.append("  nothing left to do: every shard was already complete")
    if summary["bad"]:
        kinds = ", ".join(f"{kind} {count:,}" for kind, count in summary["bad_kinds"].items())
        lines.append(f"  bad records ({kinds}): see {summary['errors_file']}")
    return "\n".join(lines)
