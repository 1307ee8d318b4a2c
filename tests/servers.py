"""Start `trftrain serve` in a subprocess on a free loopback port, wait until it answers, stop it by its pid."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """pipelines (List[str]): what `trftrain serve` gets; options (List[str]): its further flags. Starts at once;
    `wait_until_up` returns once it answers (several servers can start side by side)."""

    def __init__(self, pipelines: List[str], options: List[str], log: Path, token: Optional[str] = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", OMP_NUM_THREADS="1")
        env.pop("TRFTRAIN_SERVE_TOKEN", None)
        if token:
            env["TRFTRAIN_SERVE_TOKEN"] = token
        command = [sys.executable, "-m", "trftrain", "serve", *pipelines, "--port", str(self.port), *options]
        self._log_file = open(log, "w")
        self.process = subprocess.Popen(command, stdout=self._log_file, stderr=subprocess.STDOUT, env=env)

    def wait_until_up(self, seconds: float = 120) -> "ServerProcess":
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"trftrain serve exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"trftrain serve did not answer within {seconds} s:\n{self.log.read_text()}")

    def signal(self, number: int) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, number)

    def stop(self) -> None:
        self.signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self._log_file.close()


def metric(url: str, name: str, headers: Optional[dict] = None) -> float:
    """Sum of a Prometheus sample's values over its labels, from /metrics."""
    text = httpx.get(url + "/metrics", headers=headers or {}, timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name + "{") or line.startswith(name + " "))
