"""`trftrain convert INPUT OUTPUT --format conllu|conll-ner|tsv|csv|jsonl`"""
from enum import Enum
from pathlib import Path
from typing import Optional

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
    verbose: Annotated[bool, typer.Option("--verbose", "-V")] = False,
):
    """Convert a corpus into spaCy's binary format (DocBin)."""
    with user_errors(verbose):
        count = convert(input_path, output, file_format.value, n_sents=n_sents, text_column=text_column,
                        label_column=label_column, delimiter=delimiter, multilabel=multilabel, labels=labels,
                        skip_header=skip_header)
        typer.echo(f"✔ Wrote {count} docs to {output}")


def convert(input_path: Path, output: Path, file_format: str, *, n_sents: Optional[int] = None, text_column: int = 0,
            label_column: int = 1, delimiter: Optional[str] = None, multilabel: bool = False,
            labels: Optional[str] = None, skip_header: bool = False) -> int:
    from ..convert import write_docbin
    from ..convert.conll2003 import conll_ner_to_docs
    from ..convert.conllu import conllu_to_docs
    from ..convert.textcat import parse_label_names, textcat_to_docs

    if file_format == "conllu":
        docs = conllu_to_docs(input_path, n_sents=n_sents or 10)
    elif file_format == "conll-ner":
        docs = conll_ner_to_docs(input_path, n_sents=n_sents or 0)
    else:
        docs = textcat_to_docs(input_path, file_format=file_format, text_column=text_column, label_column=label_column,
                               delimiter=delimiter, multilabel=multilabel, label_names=parse_label_names(labels),
                               skip_header=skip_header)
    return write_docbin(docs, output)
