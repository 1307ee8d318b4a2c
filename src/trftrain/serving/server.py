"""Run the encoder service on uvicorn: load the pipelines, bind (127.0.0.1 unless told otherwise), serve until
SIGINT/SIGTERM, then stop taking connections, answer what is in flight and queued, and exit."""
import importlib.util
import sys
from typing import List, Optional

import torch

from ..errors import Errors, TrftrainError
from .app import EncoderService, encoder_thread
from .hosted import HostedEncoder, load_hosted
from .settings import ServeSettings

SERVE_PACKAGES = ("starlette", "uvicorn", "httpx")


def require_serve_packages(names=SERVE_PACKAGES) -> None:
    """Raise E400 naming the first package of the `serve` extra that is missing."""
    for name in names:
        if importlib.util.find_spec(name) is None:
            raise TrftrainError(Errors.E400.format(missing=name))


def run_server(specs: List[str], *, host: str = "127.0.0.1", port: int = 8080, device: torch.device,
               settings: ServeSettings, precision_setting: Optional[str] = None,
               max_batch_pieces: Optional[int] = None, drain_seconds: float = 30.0, log_level: str = "info") -> None:
    """Serve the shared transformers of `specs` (see hosted.load_hosted) until interrupted."""
    require_serve_packages(("starlette", "uvicorn"))
    import uvicorn

    settings.check()
    if max_batch_pieces is not None and max_batch_pieces < 1:
        raise TrftrainError(Errors.E404.format(key="--max-batch-pieces", value=max_batch_pieces, problem="must be >= 1"))
    executor = encoder_thread()
    hosted = executor.submit(load_hosted, specs, device=device, precision_setting=precision_setting,
                             max_batch_pieces=max_batch_pieces).result()
    service = EncoderService(hosted, settings, executor)
    announce(hosted, host, port, settings)
    config = uvicorn.Config(service.app(), host=host, port=port, log_level=log_level, access_log=False,
                            timeout_graceful_shutdown=drain_seconds, lifespan="on")
    uvicorn.Server(config).run()


def announce(hosted: List[HostedEncoder], host: str, port: int, settings: ServeSettings) -> None:
    for encoder in hosted:
        info = encoder.describe()
        print(f"Serving '{info['name']}' (fingerprint {info['fingerprint']}, {info['precision']} on {info['device']}, "
              f"{info['max_batch_pieces']} padded pieces per call) from {info['source']}", file=sys.stderr)
    token = "required" if settings.token else "not required"
    print(f"At http://{host}:{port} (bearer token {token}; max queue delay "
          f"{settings.max_queue_delay * 1000:g} ms, {settings.max_queued} requests queued at most)", file=sys.stderr,
          flush=True)
