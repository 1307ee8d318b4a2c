"""`trftrain debug-data CONFIG [--code FILE] [--section.key value ...]`"""
from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from ._util import OVERRIDES, app, import_code, parse_overrides, user_errors


@app.command("debug-data", context_settings=OVERRIDES)
def debug_data_cli(
    ctx: typer.Context,
    config_path: Annotated[Path, typer.Argument(help="Training config (.cfg).")],
    code: Annotated[Optional[Path], typer.Option("--code", "-c")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-V")] = False,
):
    """Report on the training and development data; exit 1 when something would break training."""
    with user_errors(verbose):
        import_code(code)
        report = debug_data(config_path, overrides=parse_overrides(ctx.args))
        for line in report["info"]:
            typer.echo(f"ℹ {line}")
        for line in report["warnings"]:
            typer.echo(f"⚠ {line}")
        for line in report["errors"]:
            typer.echo(f"✘ {line}")
        typer.echo(f"\n{len(report['errors'])} errors, {len(report['warnings'])} warnings")
    if report["errors"]:
        raise typer.Exit(1)


def debug_data(config_path: Path, overrides=None):
    from ..debug_data import debug_data as run

    return run(config_path, overrides)
