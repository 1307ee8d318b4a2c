"""`trftrain convert INPUT OUTPUT --format conllu|conll-ner|tsv|csv|jsonl`"""
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer
from typing_extensions import Annotated

from ._util import app, user_errors


class Format(str, Enum):
    conllu = "conllu"
    conll_ner = "conll-ner"
    tsv = "tsv"
    csv = "csv"
    jsonl = "jsonl"


@app.command("convert")
def convert_cli(
    input_path: Annotated[Path, typer.Argument(help="Input file.")],
    output: Annotated[Path, typer.Argument(help="Output .spacy file.")],
    file_format: Annotated[Format, typer.Option("--format", "-f", help="Input format.")] = ...,
    n_sents: Annotated[Optional[int], typer.Option("--n-sents", "-n", help="Sentences per doc (conllu: default 10; conll-ner: default one doc per -DOCSTART- article).")] = None,
    text_column: Annotated[int, typer.Option(help="Text column, from 0 (tsv/csv).")] = 0,
    label_column: Annotated[int, typer.Option(help="Label column, from 0 (tsv/csv).")] = 1,
    delimiter: Annotated[Optional[str], typer.Option(help="Column separator for tsv (default tab; ' ' splits once).")] = None,
    multilabel: Annotated[bool, typer.Option("--multilabel", help="Several comma-separated labels per text.")] = False,
    labels: Annotated[Optional[str], typer.Option(help="Names for numeric labels: 'NEG,POS' or '@names.txt'.")] = None,
    skip_header: Annotated[bool, typer.Option("--skip-header", help="Ignore the first record.")] = False,
    paragraphs: Annotated[bool, typer.Option("--paragraphs", help="conllu: a blank line between sentences where the treebank opens a paragraph (# newpar, # newdoc), as in its raw text.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-V")] = False,
):
    """Convert a corpus into spaCy's binary format (DocBin)."""
    with user_errors(verbose):
        notes: List[str] = []
        count = convert(input_path, output, file_format.value, n_sents=n_sents, text_column=text_column,
                        label_column=label_column, delimiter=delimiter, multilabel=multilabel, labels=labels,
                        skip_header=skip_header, paragraphs=paragraphs, notes=notes)
        for note in notes:
            typer.echo(f"ℹ {note}")
        typer.echo(f"✔ Wrote {count} docs to {output}")


def convert(input_path: Path, output: Path, file_format: str, *, n_sents: Optional[int] = None, text_column: int = 0,
            label_column: int = 1, delimiter: Optional[str] = None, multilabel: bool = False,
            labels: Optional[str] = None, skip_header: bool = False, paragraphs: bool = False,
            notes: Optional[List[str]] = None) -> int:
    """Convert input_path into the DocBin file output; returns the number of docs written.

    file_format (str): conllu, conll-ner, tsv, csv or jsonl.
    n_sents (int): sentences per doc (conllu: default 10; conll-ner: default one doc per -DOCSTART- article, 10
        per doc in files without them).
    paragraphs (bool): conllu only: a blank-line token between sentences where the treebank opens a paragraph.
    notes (List[str]): receives what the user should know (grouping chosen, labels found).
    """
    from ..convert import label_summary, write_docbin
    from ..convert.conll2003 import conll_ner_to_docs
    from ..convert.conllu import conllu_to_docs
    from ..convert.textcat import parse_label_names, textcat_to_docs
    from ..errors import Errors, TrftrainError

    check_options(input_path, output, n_sents=n_sents, text_column=text_column, label_column=label_column,
                  delimiter=delimiter)
    if paragraphs and file_format != "conllu":
        raise TrftrainError(Errors.E104.format(option="paragraphs", value=f"with --format {file_format}", problem=(
            "only CoNLL-U marks paragraphs (# newpar); leave the option out.")))
    notes = notes if notes is not None else []
    if file_format == "conllu":
        docs = conllu_to_docs(input_path, n_sents=n_sents or 10, paragraphs=paragraphs)
    elif file_format == "conll-ner":
        docs = conll_ner_to_docs(input_path, n_sents=n_sents, notes=notes)
    else:
        docs = textcat_to_docs(input_path, file_format=file_format, text_column=text_column, label_column=label_column,
                               delimiter=delimiter, multilabel=multilabel, label_names=parse_label_names(labels),
                               skip_header=skip_header, notes=notes)
    docs = list(docs)
    if not docs:
        raise TrftrainError(Errors.E127.format(path=input_path))
    notes.extend(label_summary(docs))
    return write_docbin(docs, output)


def check_options(input_path: Path, output: Path, *, n_sents: Optional[int], text_column: int, label_column: int,
                  delimiter: Optional[str]) -> None:
    """Refuse what would write over the input, or what the converters would read in a surprising way."""
    from ..errors import Errors, TrftrainError

    input_path, output = Path(input_path), Path(output)
    if output.resolve() == input_path.resolve() or output.exists() and input_path.exists() and \
            output.samefile(input_path):
        raise TrftrainError(Errors.E103.format(output=output, suggestion=input_path.with_suffix(".spacy")
                                               if input_path.suffix != ".spacy" else input_path.with_name(
                                                   input_path.stem + "-converted.spacy")))
    if output.is_dir():
        raise TrftrainError(Errors.E122.format(output=output, suggestion=output / f"{input_path.stem}.spacy"))
    if n_sents is not None and n_sents < 1:
        raise TrftrainError(Errors.E104.format(option="n-sents", value=n_sents,
                                               problem="give the number of sentences per doc, 1 or more."))
    for option, value in (("text-column", text_column), ("label-column", label_column)):
        if value < 0:
            raise TrftrainError(Errors.E104.format(option=option, value=value, problem="columns count from 0."))
    if delimiter == "":
        raise TrftrainError(Errors.E104.format(option="delimiter", value="''", problem=(
            "give the column separator, e.g. ',' (leave it out for a tab).")))
