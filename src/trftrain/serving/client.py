"""HTTP client of `trftrain serve`: spreads requests over one or several servers, keeps several in flight,
retries connection failures and full queues with backoff, then fails with an error naming the servers."""
import itertools
import os
import random
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import List, Optional, Sequence

from ..errors import Errors, TrftrainError
from .wire import CONTENT_TYPE, ENCODE_PATH

TOKEN_VARIABLE = "TRFTRAIN_SERVE_TOKEN"
# Answers that say "later": a full queue, a proxy in front of a server that is restarting.
_RETRY_STATUSES = (502, 503, 504)


def normalize_url(url: str) -> str:
    url = url.strip().rstrip("/")
    return url if "://" in url else f"http://{url}"


class EncoderClient:
    """urls (Sequence[str]): servers, spread over round-robin and tried in turn when one fails.
    token (Optional[str]): bearer token; None reads TRFTRAIN_SERVE_TOKEN.
    timeout (float): seconds to wait for an answer (connecting: at most 10).
    retries (int): further attempts after a failed one; backoff (float): seconds before the first retry, doubling.
    max_in_flight (int): requests sent at once by `submit`.
    transport (Optional[httpx.BaseTransport]): how requests travel (httpx's default: TCP); tests give a fake one.
    """

    def __init__(self, urls: Sequence[str], *, token: Optional[str] = None, timeout: float = 60.0, retries: int = 3,
                 backoff: float = 0.25, max_in_flight: int = 4, transport=None):
        self.urls: List[str] = [normalize_url(u) for u in urls]
        self.token = token if token is not None else os.environ.get(TOKEN_VARIABLE) or None
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self.max_in_flight = max(1, max_in_flight)
        self.transport = transport
        # Bodies of answered requests, both ways (HTTP headers not included): what a deployment's network carries.
        self.bytes_sent = self.bytes_received = 0
        self._turn = itertools.count()
        self._lock = threading.Lock()
        self._http = None
        self._pool: Optional[ThreadPoolExecutor] = None
        self._pid = os.getpid()

    # Connections and threads belong to one process: a forked or unpickled copy opens its own.
    def __getstate__(self):
        state = dict(self.__dict__)
        state.update(_http=None, _pool=None, _lock=None, _turn=None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock, self._turn = threading.Lock(), itertools.count()

    def _session(self):
        with self._lock:
            if self._http is None or self._pid != os.getpid():
                import httpx

                headers = {"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE}
                if self.token:
                    headers["Authorization"] = f"Bearer {self.token}"
                limits = httpx.Limits(max_connections=4 * self.max_in_flight * len(self.urls),
                                      max_keepalive_connections=self.max_in_flight * len(self.urls))
                self._http = httpx.Client(headers=headers, limits=limits, transport=self.transport,
                                          timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0)))
                self._pool, self._pid = None, os.getpid()
            return self._http

    def post(self, body: bytes, path: str = ENCODE_PATH) -> bytes:
        """POST `body` to the next server; on a connection failure, a timeout or a full queue, wait and try the
        next one, `retries` times. Raises TrftrainError E413 when every attempt failed, E414 when refused."""
        import httpx

        http = self._session()
        first = next(self._turn)
        problem = ""
        for attempt in range(self.retries + 1):
            url = self.urls[(first + attempt) % len(self.urls)]
            wait = self.backoff * 2 ** attempt * random.uniform(0.5, 1.0)
            try:
                response = http.post(url + path, content=body)
            except httpx.TransportError as err:  # refused, reset, timed out
                problem = f"{url}: {type(err).__name__}: {err}".rstrip(": ")
            else:
                if response.status_code == 200:
                    with self._lock:
                        self.bytes_sent += len(body)
                        self.bytes_received += len(response.content)
                    return response.content
                message = _error_message(response)
                if response.status_code not in _RETRY_STATUSES:
                    raise TrftrainError(Errors.E414.format(url=url, status=response.status_code, message=message))
                problem = f"{url}: HTTP {response.status_code}: {message}"
                wait = max(wait, _retry_after(response))
            if attempt < self.retries:
                time.sleep(wait)
        raise TrftrainError(Errors.E413.format(urls=", ".join(self.urls), attempts=self.retries + 1, problem=problem))

    def submit(self, body: bytes, path: str = ENCODE_PATH) -> Future:
        """`post` in a worker thread: several requests in flight while the caller goes on."""
        self._session()
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.max_in_flight * len(self.urls),
                                                thread_name_prefix="trftrain-remote")
            pool = self._pool
        return pool.submit(self.post, body, path)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
        if self._http is not None:
            self._http.close()
        self._http = self._pool = None


def _error_message(response) -> str:
    try:
        return str(response.json().get("error", response.text))
    except ValueError:
        return response.text[:500] or response.reason_phrase


def _retry_after(response, cap: float = 10.0) -> float:
    value = response.headers.get("retry-after", "")
    try:
        return min(float(value), cap)
    except ValueError:
        return 0.0
