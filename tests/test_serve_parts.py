"""The parts of `trftrain serve` that need no server: wire format, batch forming, the batcher loop, metrics text,
the client's retries and spreading, and nlp.pipe keeping batches in flight."""
import asyncio
import math
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
import torch
from srsly import msgpack

from trftrain.errors import TrftrainError
from trftrain.serving import wire
from trftrain.serving.batching import DynamicBatcher, Job, QueueFull, seconds_until_ready, take_batch
from trftrain.serving.client import EncoderClient
from trftrain.serving.metrics import ServerMetrics

# -- wire ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["fp32", "fp16", "bf16"])
def test_vectors_travel_as_raw_little_endian_bytes_of_their_dtype(dtype):
    vectors = torch.randn(5, 3)
    body = wire.encode_response(pipeline="p", fingerprint="f", precision="fp32", dtype=dtype, rows=5, width=3,
                                data=wire.vector_bytes(vectors, dtype))
    raw = msgpack.unpackb(body, raw=False, object_pairs_hook=dict)["data"]
    assert len(raw) == 5 * 3 * {"fp32": 4, "fp16": 2, "bf16": 2}[dtype]
    back = wire.decode_response(body, RuntimeError)["vectors"]
    assert back.dtype == torch.float32 and back.shape == (5, 3)
    # The exact value of the vectors rounded to the wire dtype, read back as float32.
    assert torch.equal(back, vectors.to(wire.DTYPES[dtype]).float())


def test_request_round_trip_and_windows():
    windows = [[5, 6, 7], [8], [9, 10]]
    decoded = wire.decode_request(wire.encode_request(windows, fingerprint="abc", pipeline="p", dtype="fp16"), 100)
    assert decoded.windows() == windows
    assert (decoded.fingerprint, decoded.pipeline, decoded.dtype) == ("abc", "p", "fp16")


def _body(**changes):
    message = msgpack.unpackb(wire.encode_request([[1, 2], [3]], fingerprint="abc"), raw=False,
                              object_pairs_hook=dict)
    message.update(changes)
    return msgpack.packb({k: v for k, v in message.items() if v is not ...}, use_bin_type=True)


@pytest.mark.parametrize("body, status", [
    (b"\xc1 not msgpack", 400),
    (msgpack.packb([1, 2, 3]), 400),
    (_body(v=2), 400),
    (_body(extra=1), 400),
    (_body(fingerprint=...), 400),
    (_body(dtype="fp64"), 400),
    (_body(ids=b"\x01\x02\x03"), 400),
    (_body(lengths=np.array([2, 2], "<i4").tobytes()), 400),
    (_body(lengths=np.array([3, 0], "<i4").tobytes()), 400),
    (_body(ids=np.arange(101, dtype="<i4").tobytes(), lengths=np.array([101], "<i4").tobytes()), 413),
])
def test_malformed_and_oversized_requests_are_refused_with_their_status(body, status):
    with pytest.raises(wire.WireError) as refused:
        wire.decode_request(body, max_pieces=100)
    assert refused.value.status == status
    assert refused.value.message.startswith(("[E405]", "[E406]"))


def test_numpy_extension_maps_are_not_decoded():
    """srsly's msgpack would turn {"nd": True, ...} maps into numpy arrays; the wire reads plain maps only."""
    sneaky = msgpack.packb({"v": 1, "fingerprint": {"nd": True, "type": "<i4", "shape": [1], "data": b"\0" * 4},
                            "pipeline": None, "ids": b"", "lengths": b"", "dtype": None}, use_bin_type=True)
    with pytest.raises(wire.WireError):
        wire.decode_request(sneaky, 10)


# -- batch forming -------------------------------------------------------------------------------------------------


class _Done:
    def __init__(self, done=False):
        self._done = done

    def done(self):
        return self._done


def job(lengths, arrived=0.0, cancelled=False):
    return Job([[1] * n for n in lengths], None, arrived, _Done(cancelled))


def test_take_batch_keeps_fifo_order_under_the_padded_budget():
    queue = deque([job([10]), job([10, 10]), job([30]), job([5])])
    # Specials 2: 3 windows of 12 = 36 fit in 40; adding a 32-piece window would pad 4 windows to 32.
    batch = take_batch(queue, budget=40, n_special=2)
    assert [len(j.windows) for j in batch] == [1, 2]
    assert [j.longest for j in queue] == [30, 5]


def test_a_request_larger_than_the_budget_runs_alone_and_cancelled_ones_are_dropped():
    queue = deque([job([5], cancelled=True), job([50, 50]), job([1])])
    assert [j.longest for j in take_batch(queue, budget=40, n_special=2)] == [50]
    assert len(queue) == 1


def test_a_lone_request_waits_at_most_the_delay_and_a_full_batch_not_at_all():
    lone = deque([job([4], arrived=10.0)])
    assert seconds_until_ready(lone, budget=1000, n_special=2, now=10.001, max_delay=0.005) == pytest.approx(0.004)
    assert seconds_until_ready(lone, budget=1000, n_special=2, now=10.006, max_delay=0.005) == 0
    full = deque([job([498], arrived=10.0), job([498], arrived=10.0)])
    assert seconds_until_ready(full, budget=1000, n_special=2, now=10.0, max_delay=5) == 0
    assert seconds_until_ready(deque([job([3], cancelled=True)]), 1000, 2, 10.0, 5) == math.inf


def _run_batcher(scenario, **settings):
    """Run `scenario(batcher, loop)` against a batcher whose encoder records the batches it gets."""
    calls = []

    def run(batch):
        calls.append([j.windows for j in batch])
        if any(w == [[666]] for w in calls[-1]):
            raise RuntimeError("encoder failed")
        return [f"answer {j.windows}".encode() for j in batch]

    async def main():
        with ThreadPoolExecutor(1) as executor:
            batcher = DynamicBatcher(run, n_special=2, executor=executor, **settings)
            batcher.start()
            result = await asyncio.wait_for(scenario(batcher, asyncio.get_running_loop()), timeout=10)
            await batcher.stop()
            return result

    return asyncio.run(main()), calls


def _submit(batcher, loop, windows):
    item = Job(windows, None, loop.time(), loop.create_future())
    batcher.submit(item)
    return item


def test_batcher_answers_a_lone_request_after_the_delay_without_a_full_budget():
    async def scenario(batcher, loop):
        return await _submit(batcher, loop, [[1, 2, 3]]).future

    answer, calls = _run_batcher(scenario, budget=10_000, max_delay=0.05, max_queued=4)
    assert answer == b"answer [[1, 2, 3]]" and calls == [[[[1, 2, 3]]]]


def test_batcher_merges_waiting_requests_and_leaves_at_once_when_the_budget_is_full():
    async def scenario(batcher, loop):
        # A delay far longer than the test's timeout: only a full budget lets these leave.
        jobs = [_submit(batcher, loop, [[i] * 8]) for i in range(4)]
        return await asyncio.gather(*(j.future for j in jobs))

    answers, calls = _run_batcher(scenario, budget=40, max_delay=1000, max_queued=8)
    assert len(answers) == 4 and [len(c) for c in calls] == [4]


def test_batcher_refuses_past_its_queue_skips_cancelled_jobs_and_survives_a_failed_call():
    async def scenario(batcher, loop):
        first = _submit(batcher, loop, [[1]])
        gone = _submit(batcher, loop, [[2]])
        with pytest.raises(QueueFull):
            _submit(batcher, loop, [[3]])
        gone.future.cancel()  # its client went away: the slot is free again and the job is never encoded
        assert await first.future == b"answer [[1]]"
        failing = _submit(batcher, loop, [[666]])
        with pytest.raises(RuntimeError, match="encoder failed"):
            await failing.future
        return await _submit(batcher, loop, [[4]]).future

    answer, calls = _run_batcher(scenario, budget=10_000, max_delay=0.05, max_queued=2)
    assert answer == b"answer [[4]]"
    assert [[2]] not in [w for call in calls for w in call]


# -- metrics -------------------------------------------------------------------------------------------------------


def test_metrics_render_prometheus_text():
    metrics = ServerMetrics(lambda: {"en_ner": 3})
    metrics.latency.observe(0.004, pipeline="en_ner")
    metrics.latency.observe(7, pipeline="en_ner")
    metrics.refused.inc(reason="queue_full")
    text = metrics.render()
    assert 'trftrain_serve_queue_depth{pipeline="en_ner"} 3' in text
    assert 'trftrain_serve_request_seconds_bucket{pipeline="en_ner",le="0.005"} 1' in text
    assert 'trftrain_serve_request_seconds_bucket{pipeline="en_ner",le="+Inf"} 2' in text
    assert 'trftrain_serve_request_seconds_count{pipeline="en_ner"} 2' in text
    assert 'trftrain_serve_requests_refused_total{reason="queue_full"} 1' in text
    assert "# TYPE trftrain_serve_batch_fill histogram" in text


# -- client --------------------------------------------------------------------------------------------------------


def fake_servers(answers):
    """A transport that answers per host from `answers[host]`: a list of statuses or exceptions, used in turn."""
    seen = []

    def handle(request):
        seen.append(request.url.host)
        outcome = answers[request.url.host].pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        headers = {"Retry-After": "0"} if outcome == 503 else {}
        return httpx.Response(outcome, content=b"ok" if outcome == 200 else b'{"error": "no"}', headers=headers)

    return httpx.MockTransport(handle), seen


def test_client_spreads_requests_over_its_servers():
    transport, seen = fake_servers({"a": [200] * 3, "b": [200] * 3})
    client = EncoderClient(["a:1", "http://b:1/"], transport=transport, retries=0)
    assert [client.post(b"x") for _ in range(4)] == [b"ok"] * 4
    assert seen == ["a", "b", "a", "b"]


def test_client_retries_full_queues_and_dead_servers_on_the_next_one():
    refused = httpx.ConnectError("connection refused")
    transport, seen = fake_servers({"a": [503, refused], "b": [200]})
    client = EncoderClient(["a:1", "b:1", "a:1"], transport=transport, retries=3, backoff=0.001)
    assert client.post(b"x") == b"ok"
    assert seen == ["a", "b"]


def test_client_fails_naming_the_servers_after_its_retries():
    refused = httpx.ConnectError("connection refused")
    transport, seen = fake_servers({"a": [refused] * 3})
    client = EncoderClient(["a:9"], transport=transport, retries=2, backoff=0.001)
    with pytest.raises(TrftrainError, match=r"\[E413\].*http://a:9 after 3 attempts.*ConnectError"):
        client.post(b"x")
    assert len(seen) == 3


def test_client_does_not_retry_a_refusal():
    transport, seen = fake_servers({"a": [400, 200]})
    with pytest.raises(TrftrainError, match=r"\[E414\].*HTTP 400"):
        EncoderClient(["a:1"], transport=transport, retries=3, backoff=0.001).post(b"x")
    assert seen == ["a"]


# -- nlp.pipe keeps batches in flight ------------------------------------------------------------------------------


def test_predict_batches_sends_the_next_batches_before_taking_the_first_answer(tiny_encoder, tmp_path):
    import spacy

    from trftrain.encoder.token_encoder import TokenEncoder
    from trftrain.serving.remote_encoder import RemoteTokenEncoder

    # fp32 on both sides: "auto" would predict in bf16 on CPUs that have it, while the stand-in server is fp32.
    local = TokenEncoder(tiny_encoder, window=16, stride=12, inference_precision="off")
    local.load_pretrained()
    local.save(tmp_path / "encoder")
    remote = RemoteTokenEncoder(tiny_encoder, urls=["127.0.0.1:1"], window=16, stride=12, in_flight=3, verify=False,
                                inference_precision="off")
    remote.load_saved(tmp_path / "encoder")
    events = []

    class Pending:
        def __init__(self, windows, number):
            self.windows, self.number = windows, number

        def result(self):
            events.append(f"answer {self.number}")
            with torch.inference_mode():
                return local.backbone(self.windows)

    def submit(windows):
        events.append(f"send {len(events)}")
        return Pending(windows, sum(e.startswith("send") for e in events) - 1)

    remote.backbone.submit = submit
    nlp = spacy.blank("en")
    batches = [[nlp(f"Batch {i} has words."), nlp("More words here.")] for i in range(5)]
    out = list(remote.predict_batches(batches))
    assert [e.split()[0] for e in events[:4]] == ["send", "send", "send", "answer"]
    assert [docs for docs, _ in out] == batches
    for docs, vectors in out:
        assert torch.allclose(vectors.data, local.predict(docs).data, atol=1e-6)
    assert remote.backbone.fingerprint == local.backbone.fingerprint


def test_the_server_loads_its_encoders_on_the_thread_that_runs_them(monkeypatch):
    """Each thread that runs torch's parallel operations gets its own OpenMP team; two teams in one process made
    every encoder call slower, so loading and encoder calls share one thread."""
    import threading

    import torch
    import uvicorn

    from trftrain.serving import server

    loaded_on, served = [], {}

    def fake_load(specs, **settings):
        loaded_on.append(threading.current_thread())
        return []

    class FakeService:
        def __init__(self, hosted, settings, executor):
            served["executor"] = executor

        def app(self):
            return None

    monkeypatch.setattr(server, "load_hosted", fake_load)
    monkeypatch.setattr(server, "EncoderService", FakeService)
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: None)
    server.run_server(["model"], device=torch.device("cpu"), settings=server.ServeSettings())
    assert loaded_on[0] is not threading.main_thread()
    assert served["executor"].submit(threading.current_thread).result() is loaded_on[0]
