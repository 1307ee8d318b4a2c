"""`trftrain serve PIPELINE [PIPELINE ...] [--host 127.0.0.1] [--port 8080] [--gpu 0] [--token T]`"""
from typing import List, Optional

import typer
from typing_extensions import Annotated

from ..serving.settings import ServeSettings
from ._util import app, user_errors

DEFAULTS = ServeSettings()


@app.command("serve")
def serve_cli(
    pipelines: Annotated[List[str], typer.Argument(
        help="Pipeline folders or installed packages whose transformer to serve; NAME=PATH chooses the name.")],
    host: Annotated[str, typer.Option("--host", help="Address to bind; 0.0.0.0 exposes it to the network.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p")] = 8080,
    gpu: Annotated[int, typer.Option("--gpu", "-g", help="CUDA device id; -1 for CPU.")] = -1,
    max_batch_pieces: Annotated[Optional[int], typer.Option(
        "--max-batch-pieces", help="Padded pieces per encoder call, requests merged. Default: each pipeline's "
                                   "max_padded_pieces.")] = None,
    max_queue_delay_ms: Annotated[float, typer.Option(
        "--max-queue-delay-ms",
        help="How long the oldest request waits for others to batch with.")] = DEFAULTS.max_queue_delay * 1000,
    max_queue: Annotated[int, typer.Option(
        "--max-queue", help="Requests that may wait per encoder; more get 503.")] = DEFAULTS.max_queued,
    max_request_pieces: Annotated[int, typer.Option(
        "--max-request-pieces", help="Pieces one request may carry; more get 413.")] = DEFAULTS.max_request_pieces,
    precision: Annotated[Optional[str], typer.Option(
        "--precision", help="Encoder arithmetic: auto (bf16 where the hardware has it), bf16, fp16 (CUDA) or off "
                            "(fp32). Default: each pipeline's inference_precision.")] = None,
    token: Annotated[Optional[str], typer.Option(
        "--token", envvar="TRFTRAIN_SERVE_TOKEN", show_envvar=True,
        help="Require `Authorization: Bearer TOKEN` (the variable keeps it out of the process list).")] = None,
    drain_seconds: Annotated[float, typer.Option(
        "--drain-seconds", help="On SIGTERM/Ctrl-C, how long to finish requests in flight.")] = 30.0,
    verbose: Annotated[bool, typer.Option("--verbose", "-V")] = False,
):
    """Host the transformer of trained pipelines for CPU processes that run the heads (trftrain.load_remote)."""
    with user_errors(verbose):
        serve(pipelines, host=host, port=port, gpu_id=gpu, max_batch_pieces=max_batch_pieces,
              max_queue_delay_ms=max_queue_delay_ms, max_queue=max_queue, max_request_pieces=max_request_pieces,
              precision=precision, token=token, drain_seconds=drain_seconds)


def serve(pipelines: List[str], *, host: str = "127.0.0.1", port: int = 8080, gpu_id: int = -1,
          max_batch_pieces: Optional[int] = None, max_queue_delay_ms: float = DEFAULTS.max_queue_delay * 1000,
          max_queue: int = DEFAULTS.max_queued, max_request_pieces: int = DEFAULTS.max_request_pieces,
          precision: Optional[str] = None, token: Optional[str] = None, drain_seconds: float = 30.0) -> None:
    """Serve until interrupted; see `trftrain serve --help` for the settings."""
    from ..errors import Errors, TrftrainError
    from ..precision import SETTINGS
    from ..runtime import select_device
    from ..serving.server import run_server

    if precision is not None and precision not in SETTINGS:
        raise TrftrainError(Errors.E404.format(key="--precision", value=precision,
                                               problem=f"not one of {', '.join(SETTINGS)}"))
    settings = ServeSettings(max_queue_delay=max_queue_delay_ms / 1000, max_queued=max_queue,
                             max_request_pieces=max_request_pieces, token=token or None)
    run_server(pipelines, host=host, port=port, device=select_device(gpu_id), settings=settings,
               precision_setting=precision, max_batch_pieces=max_batch_pieces, drain_seconds=drain_seconds)
