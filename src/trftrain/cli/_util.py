"""What every command shares: the Typer app, `--section.key value` overrides, and turning errors into
a one-line message and exit code 1 (a traceback only with --verbose)."""
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, List, Optional

import typer

# Plain help (rich_markup_mode=None): Rich's tables cut long option names ("--label-colu…") in narrow terminals.
app = typer.Typer(name="trftrain", add_completion=False, rich_markup_mode=None, no_args_is_help=True,
                  pretty_exceptions_show_locals=False, help="Train, evaluate and package spaCy pipelines with one shared transformer.")
OVERRIDES = {"allow_extra_args": True, "ignore_unknown_options": True}


def parse_overrides(args: List[str]) -> Dict[str, object]:
    """`--training.max_steps 10 --paths.train x.spacy` -> {"training.max_steps": 10, ...} (values as JSON if they parse)."""
    from spacy.cli._util import parse_config_overrides

    try:
        return parse_config_overrides(args)
    except SystemExit:
        raise typer.Exit(1)


def import_code(path: Optional[Path]) -> None:
    """Run a user's Python file so that the architectures it registers exist."""
    if path is None:
        return
    from spacy.util import import_file

    from ..errors import Errors, TrftrainError

    if not Path(path).is_file():
        raise TrftrainError(Errors.E009.format(option="code", value=path, problem="no such file."))
    import_file("trftrain_user_code", path)


@contextmanager
def user_errors(verbose: bool):
    """Expected problems (bad config, missing file, unknown name) -> message on stderr and exit 1."""
    from catalogue import RegistryError
    from confection import ConfigValidationError

    from ..errors import TrftrainError

    try:
        yield
    except (TrftrainError, ConfigValidationError, RegistryError, FileNotFoundError, ValueError, OSError) as err:
        if verbose:
            traceback.print_exc()
        message = str(err).strip() or type(err).__name__
        print(f"✘ {message}", file=sys.stderr)
        # A coded error already says what to fix; the hint is for the unexpected ones.
        if not verbose and not isinstance(err, TrftrainError):
            print("  (run with --verbose for the full traceback)", file=sys.stderr)
        raise typer.Exit(1)
