"""The ASGI app of `trftrain serve` (Starlette): POST /v1/encode takes windows of piece ids and answers piece
vectors in msgpack; GET /health and GET /metrics answer JSON and Prometheus text. Requests are checked and
refused before they reach a queue, so that a bad one never fails a batch that others share."""
import asyncio
import contextlib
import hmac
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional

from ..errors import Errors
from .batching import DynamicBatcher, Job, QueueFull
from .hosted import HostedEncoder
from .metrics import ServerMetrics
from .settings import ServeSettings
from .wire import CONTENT_TYPE, ENCODE_PATH, WireError, decode_request, encode_response

# Bytes a request may carry per piece id (4 for the id, 4 for a window length at worst) and for its other fields.
_BYTES_PER_PIECE, _HEADER_BYTES = 8, 64 * 1024


def encoder_thread() -> ThreadPoolExecutor:
    """The one thread that runs every torch call of a server, the loading of its encoders included.

    One thread, so that encoder calls never compete for the device and the event loop stays free to take
    requests. The same thread for loading, because each thread that runs torch's parallel operations gets a team
    of OpenMP threads of its own, and once two threads of a process had run torch, a MiniLM call on a 10-sentence
    doc took 31 ms instead of 18 ms on 2 cores, from either thread (measured; likely libgomp making its waiting
    threads sleep once they outnumber the cores).
    """
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="trftrain-encoder")


class EncoderService:
    """Batchers, metrics and request handlers of the served encoders. executor: the thread that runs the encoder
    calls, best the one that loaded them (see encoder_thread); None starts one."""

    def __init__(self, hosted: List[HostedEncoder], settings: ServeSettings,
                 executor: Optional[ThreadPoolExecutor] = None):
        settings.check()
        self.hosted = {encoder.name: encoder for encoder in hosted}
        self.settings = settings
        self.executor = executor or encoder_thread()
        self.metrics = ServerMetrics(lambda: {name: b.depth for name, b in self.batchers.items()})
        self.batchers: Dict[str, DynamicBatcher] = {
            name: DynamicBatcher(encoder.run, budget=encoder.backbone.max_padded_pieces, n_special=encoder.n_special,
                                 max_delay=settings.max_queue_delay, max_queued=settings.max_queued,
                                 executor=self.executor, on_batch=self._batch_metrics(encoder))
            for name, encoder in self.hosted.items()}

    def app(self):
        from starlette.applications import Starlette
        from starlette.routing import Route

        routes = [Route(ENCODE_PATH, self.encode, methods=["POST"]), Route("/health", self.health, methods=["GET"]),
                  Route("/metrics", self.metrics_text, methods=["GET"])]
        return Starlette(routes=routes, lifespan=self.lifespan)

    @contextlib.asynccontextmanager
    async def lifespan(self, app):
        for batcher in self.batchers.values():
            batcher.start()
        try:
            yield
        finally:
            # The server has stopped taking connections and answered those in flight; finish anything queued.
            await asyncio.gather(*(batcher.stop() for batcher in self.batchers.values()))
            self.executor.shutdown(wait=True)

    # -- handlers ------------------------------------------------------------------------------------------------
    async def encode(self, request):
        from starlette.responses import Response

        if not self._authorized(request):
            return self._refuse("unauthorized", 401, Errors.E412, {"WWW-Authenticate": "Bearer"})
        arrived = time.perf_counter()
        try:
            body = await self._read_body(request)
            decoded = decode_request(body, self.settings.max_request_pieces)
            encoder = self._find(decoded.pipeline, decoded.fingerprint)
            encoder.check(decoded)
        except WireError as err:
            reason = {413: "too_large", 404: "unknown_pipeline", 409: "fingerprint"}.get(err.status, "malformed")
            return self._refuse(reason, err.status, err.message)
        if not decoded.lengths.size:  # a handshake: the client checks that its encoder is served here
            return Response(encode_response(pipeline=encoder.name, fingerprint=encoder.fingerprint,
                                            precision=encoder.precision, dtype=decoded.dtype or "fp32", rows=0,
                                            width=encoder.backbone.width, data=b"",
                                            max_request_pieces=self.settings.max_request_pieces),
                            media_type=CONTENT_TYPE)
        loop = asyncio.get_running_loop()
        job = Job(decoded.windows(), decoded.dtype, loop.time(), loop.create_future())
        try:
            self.batchers[encoder.name].submit(job)
        except QueueFull:
            return self._refuse("queue_full", 503, Errors.E411.format(
                name=encoder.name, limit=self.settings.max_queued, seconds=self.settings.retry_after),
                {"Retry-After": str(self.settings.retry_after)})
        gone = asyncio.ensure_future(_client_gone(request.receive))
        try:
            await asyncio.wait({job.future, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
        if not job.future.done():
            # The client went away: cancelling marks the job, so the batcher skips it or drops its answer.
            job.future.cancel()
            self.metrics.cancelled.inc(pipeline=encoder.name)
            return Response(status_code=499)
        try:
            payload = job.future.result()
        except Exception as err:  # the batch's encoder call failed; the server keeps serving
            self.metrics.failed.inc(pipeline=encoder.name)
            return _json_error(500, f"The encoder call failed: {type(err).__name__}: {err}")
        self.metrics.requests.inc(pipeline=encoder.name)
        self.metrics.pieces.inc(len(decoded.ids), pipeline=encoder.name)
        self.metrics.latency.observe(time.perf_counter() - arrived, pipeline=encoder.name)
        return Response(payload, media_type=CONTENT_TYPE)

    async def health(self, request):
        from starlette.responses import JSONResponse

        if not self._authorized(request):
            return JSONResponse({"status": "ok"})  # enough for a load balancer; details need the token
        return JSONResponse({"status": "ok", "pipelines": [encoder.describe() for encoder in self.hosted.values()],
                             "max_queue_delay_ms": self.settings.max_queue_delay * 1000,
                             "max_queue": self.settings.max_queued,
                             "max_request_pieces": self.settings.max_request_pieces})

    async def metrics_text(self, request):
        from starlette.responses import PlainTextResponse

        if not self._authorized(request):
            return self._refuse("unauthorized", 401, Errors.E412, {"WWW-Authenticate": "Bearer"})
        return PlainTextResponse(self.metrics.render(), media_type="text/plain; version=0.0.4")

    # -- helpers -------------------------------------------------------------------------------------------------
    def _authorized(self, request) -> bool:
        if self.settings.token is None:
            return True
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        # Constant time: how much of a guess matched must not show in the answer's timing.
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self.settings.token.encode())

    async def _read_body(self, request) -> bytes:
        limit = self.settings.max_request_pieces * _BYTES_PER_PIECE + _HEADER_BYTES
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise WireError(413, Errors.E406.format(size=int(declared), unit="bytes", limit=limit,
                                                    option="--max-request-pieces"))
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise WireError(413, Errors.E406.format(size=f"over {limit}", unit="bytes", limit=limit,
                                                        option="--max-request-pieces"))
            chunks.append(chunk)
        return b"".join(chunks)

    def _find(self, name: Optional[str], fingerprint: str) -> HostedEncoder:
        served = ", ".join(f"{e.name} ({e.fingerprint})" for e in self.hosted.values())
        if name is not None:
            encoder = self.hosted.get(name)
            if encoder is None:
                raise WireError(404, Errors.E408.format(name=name, served=served))
            if encoder.fingerprint != fingerprint:
                raise WireError(409, Errors.E409.format(expected=fingerprint, name=name, served=encoder.fingerprint,
                                                        source=encoder.source))
            return encoder
        for encoder in self.hosted.values():
            if encoder.fingerprint == fingerprint:
                return encoder
        raise WireError(409, Errors.E410.format(expected=fingerprint, served=served))

    def _refuse(self, reason: str, status: int, message: str, headers: Optional[dict] = None):
        self.metrics.refused.inc(reason=reason)
        return _json_error(status, message, headers)

    def _batch_metrics(self, encoder: HostedEncoder):
        def observe(batch: List[Job]) -> None:
            pieces = sum(job.pieces + len(job.windows) * encoder.n_special for job in batch)
            self.metrics.batch_fill.observe(pieces / encoder.backbone.max_padded_pieces, pipeline=encoder.name)
            self.metrics.batch_requests.observe(len(batch), pipeline=encoder.name)
        return observe


async def _client_gone(receive) -> None:
    """Returns when the client disconnects (the body has been read, so nothing else arrives before that)."""
    while (await receive())["type"] != "http.disconnect":
        pass


def _json_error(status: int, message: str, headers: Optional[dict] = None):
    from starlette.responses import JSONResponse

    return JSONResponse({"error": message, "status": status}, status_code=status, headers=headers)
