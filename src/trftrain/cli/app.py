"""The `trftrain` console script: one module per command, each also callable as a Python function."""
from . import annotate, convert, debug_data, distill, evaluate, init_config, package, serve, train  # noqa: F401,E501  (registers the commands)
from ._util import app


def main() -> None:
    app()
