"""The `trftrain` console script: one module per command, each also callable as a Python function."""
from . import convert, debug_data, distill, evaluate, init_config, package, train  # noqa: F401  (registers the commands)
from ._util import app


def main() -> None:
    app()
