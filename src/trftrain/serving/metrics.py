"""What `/metrics` shows, in Prometheus' text format: queue depth, batch fill, request latency, requests refused.
Updated from the server's event loop only, so the counters need no locks."""
import bisect
import math
from typing import Callable, Dict, List, Sequence, Tuple

Labels = Tuple[Tuple[str, str], ...]


def _labels_text(labels: Labels, extra: str = "") -> str:
    parts = [f'{key}="{_escape(value)}"' for key, value in labels] + ([extra] if extra else [])
    return "{" + ",".join(parts) + "}" if parts else ""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return "+Inf" if value == math.inf else repr(float(value)) if not float(value).is_integer() else str(int(value))


class Counter:
    def __init__(self, name: str, help_text: str):
        self.name, self.help_text = name, help_text
        self.values: Dict[Labels, float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        self.values[key] = self.values.get(key, 0.0) + amount

    def get(self, **labels: str) -> float:
        return self.values.get(tuple(sorted(labels.items())), 0.0)

    def render(self) -> List[str]:
        lines = [f"# HELP {self.name} {self.help_text}", f"# TYPE {self.name} counter"]
        return lines + [f"{self.name}{_labels_text(k)} {_number(v)}" for k, v in sorted(self.values.items())]


class Gauge:
    """Read when rendered, from a function that returns {labels: value}."""

    def __init__(self, name: str, help_text: str, read: Callable[[], Dict[Labels, float]]):
        self.name, self.help_text, self.read = name, help_text, read

    def render(self) -> List[str]:
        lines = [f"# HELP {self.name} {self.help_text}", f"# TYPE {self.name} gauge"]
        return lines + [f"{self.name}{_labels_text(k)} {_number(v)}" for k, v in sorted(self.read().items())]


class Histogram:
    def __init__(self, name: str, help_text: str, buckets: Sequence[float]):
        self.name, self.help_text = name, help_text
        self.bounds = sorted(buckets) + [math.inf]
        self.series: Dict[Labels, list] = {}  # labels -> [counts per bucket, sum, count]

    def observe(self, value: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        series = self.series.setdefault(key, [[0] * len(self.bounds), 0.0, 0])
        series[0][bisect.bisect_left(self.bounds, value)] += 1
        series[1] += value
        series[2] += 1

    def render(self) -> List[str]:
        lines = [f"# HELP {self.name} {self.help_text}", f"# TYPE {self.name} histogram"]
        for key, (counts, total, count) in sorted(self.series.items()):
            cumulative = 0
            for bound, n in zip(self.bounds, counts):
                cumulative += n
                bucket = 'le="' + _number(bound) + '"'
                lines.append(f"{self.name}_bucket{_labels_text(key, bucket)} {cumulative}")
            lines.append(f"{self.name}_sum{_labels_text(key)} {_number(total)}")
            lines.append(f"{self.name}_count{_labels_text(key)} {count}")
        return lines


class ServerMetrics:
    """The server's metrics. queue_depths (Callable): {pipeline name: requests waiting}, read at each scrape."""

    def __init__(self, queue_depths: Callable[[], Dict[str, int]]):
        self.queue_depth = Gauge("trftrain_serve_queue_depth", "Requests waiting for an encoder call.",
                                 lambda: {(("pipeline", name),): n for name, n in queue_depths().items()})
        self.batch_fill = Histogram("trftrain_serve_batch_fill",
                                    "Pieces of a batch (specials included) over its padded-piece budget.",
                                    [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
        self.batch_requests = Histogram("trftrain_serve_batch_requests", "Requests merged into one batch.",
                                        [1, 2, 4, 8, 16, 32, 64, 128])
        self.latency = Histogram("trftrain_serve_request_seconds",
                                 "Time from a request's arrival to its answer, queueing and encoder call included.",
                                 [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])
        self.requests = Counter("trftrain_serve_requests_total", "Requests answered with vectors.")
        self.pieces = Counter("trftrain_serve_pieces_total", "Pieces encoded.")
        self.refused = Counter("trftrain_serve_requests_refused_total",
                               "Requests refused, by reason (queue_full, too_large, malformed, unauthorized, "
                               "unknown_pipeline, fingerprint).")
        self.cancelled = Counter("trftrain_serve_requests_cancelled_total",
                                 "Requests whose client went away before the answer.")
        self.failed = Counter("trftrain_serve_batches_failed_total", "Encoder calls that raised.")

    def render(self) -> str:
        families = [self.queue_depth, self.batch_fill, self.batch_requests, self.latency, self.requests, self.pieces,
                    self.refused, self.cancelled, self.failed]
        return "\n".join(line for family in families for line in family.render()) + "\n"
