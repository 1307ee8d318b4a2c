"""`trftrain serve` in a subprocess on a free loopback port, serving a pipeline trained here on the tiny encoder:
remote predictions equal local ones for every head, concurrent clients, bad requests refused without harm to
others, the fingerprint check, a client that goes away, graceful shutdown."""
import shutil
import signal
import socket
import threading
import time

import httpx
import numpy as np
import pytest
import spacy
import torch
from pipelines import overfit, write_config
from servers import ServerProcess, metric
from test_heads import annotations

import trftrain
from trftrain.errors import TrftrainError
from trftrain.serving import wire

# Training a pipeline and starting two servers takes 15-40 s on 2 cores (still part of `make test`).
pytestmark = pytest.mark.slow

TOKEN = "test-token-0123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SMALL, FULL = [[5, 6, 7]], [[5] * 30, [6] * 30]  # 5 padded pieces wait for the delay; 64 fill --max-batch-pieces
HEADS = ["tagger", "morphologizer", "senter", "parser", "ner", "textcat", "textcat_multilabel"]
TEXTS = ["Anna lives in Berlin. She likes it.", "Apple buys a small startup in Paris!", "The fox jumps.", "",
         "Berlin and Paris . " * 12, "She didn't think that Berlin's museums would open on Sunday!"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_encoder):
    """A pipeline with every trftrain head, and a copy whose encoder weights differ a little (fine-tuned further)."""
    root = tmp_path_factory.mktemp("served")
    # Enough steps that every head predicts something (entities, arcs) to compare; they need not fit the examples.
    nlp, _ = overfit(write_config(root, tiny_encoder, HEADS), steps=30)
    nlp.to_disk(root / "model")
    other = spacy.load(root / "model")
    with torch.no_grad():
        other.get_pipe("transformer").encoder.backbone.model.embeddings.word_embeddings.weight[5, 0] += 0.01
    other.to_disk(root / "other")
    return root


@pytest.fixture(scope="module")
def servers(trained):
    """Both of the module's servers, started side by side: a plain one, and a guarded one (token, a queue of two,
    requests that wait 3 s for company unless they fill a batch of 64 padded pieces)."""
    plain = ServerProcess([str(trained / "model")], ["--max-request-pieces", "512"], trained / "server.log")
    guarded = ServerProcess([str(trained / "model")], ["--max-queue", "2", "--max-queue-delay-ms", "3000",
                                                       "--max-batch-pieces", "64"], trained / "guarded.log",
                            token=TOKEN)
    try:
        yield plain.wait_until_up(), guarded.wait_until_up()
    finally:
        plain.stop()
        guarded.stop()


@pytest.fixture(scope="module")
def server(servers):
    return servers[0]


@pytest.fixture(scope="module")
def guarded(servers):
    return servers[1]


def test_remote_predictions_equal_local_for_every_head(trained, server):
    local = spacy.load(trained / "model")
    remote = trftrain.load_remote(trained / "model", url=server.url)
    assert remote.pipe_names == local.pipe_names == ["transformer"] + HEADS
    for piped in (False, True):
        ours = list(remote.pipe(TEXTS, batch_size=2)) if piped else [remote(t) for t in TEXTS]
        theirs = list(local.pipe(TEXTS, batch_size=2))
        for a, b in zip(ours, theirs):
            assert annotations(a) == annotations(b)
            assert np.allclose(a._.trf_vectors, b._.trf_vectors, atol=1e-5)
    # Equal but empty annotations would prove little.
    assert any(a["deps"] for a in map(annotations, ours)) and any(d.ents for d in ours)


def test_a_config_edit_loads_the_pipeline_remote_without_the_encoder_weights(trained, server, tmp_path):
    copy = tmp_path / "remote"
    shutil.copytree(trained / "model", copy)
    (copy / "transformer" / "encoder" / "model.safetensors").unlink()
    config = (copy / "config.cfg").read_text()
    edited = config.replace('@architectures = "trftrain.Transformer.v1"',
                            f'@architectures = "trftrain.RemoteTransformer.v1"\nurl = "{server.url}"')
    assert edited != config
    (copy / "config.cfg").write_text(edited)
    remote = spacy.load(copy)
    local = spacy.load(trained / "model")
    assert [annotations(d) for d in remote.pipe(TEXTS)] == [annotations(d) for d in local.pipe(TEXTS)]
    # Saved again, it stays remote and still holds no weights.
    remote.to_disk(tmp_path / "again")
    assert not (tmp_path / "again" / "transformer" / "encoder" / "model.safetensors").exists()
    assert annotations(spacy.load(tmp_path / "again")(TEXTS[0])) == annotations(local(TEXTS[0]))


def test_concurrent_clients_each_get_their_own_vectors(trained, server):
    local = spacy.load(trained / "model")
    remote = trftrain.load_remote(trained / "model", url=server.url)
    texts = [f"{t} {i}" for i in range(4) for t in TEXTS if t]
    expected = {t: annotations(d) for t, d in zip(texts, local.pipe(texts))}
    got, errors = {}, []

    def client(offset):
        try:
            for text in texts[offset::6]:
                got[text] = annotations(remote(text))
        except Exception as err:  # reported below: an assertion in a thread would be lost
            errors.append(err)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors and got == expected


def test_a_pipeline_with_other_encoder_weights_is_refused_naming_both(trained, server):
    served = (trained / "model" / "transformer" / "encoder" / "fingerprint.txt").read_text().strip()
    ours = (trained / "other" / "transformer" / "encoder" / "fingerprint.txt").read_text().strip()
    assert ours != served
    with pytest.raises(TrftrainError, match=rf"\[E414\].*HTTP 409.*\[E410\].*{ours}.*en_pipeline \({served}\)"):
        trftrain.load_remote(trained / "other", url=server.url)
    with pytest.raises(TrftrainError, match=rf"\[E409\].*expects encoder fingerprint {ours}.*'en_pipeline' is served "
                                            rf"with fingerprint {served}"):
        trftrain.load_remote(trained / "other", url=server.url, pipeline="en_pipeline")
    with pytest.raises(TrftrainError, match=r"\[E408\].*'nope'"):
        trftrain.load_remote(trained / "model", url=server.url, pipeline="nope")


def _encode(server, windows, **kwargs):
    fingerprint = (kwargs.pop("root") / "model" / "transformer" / "encoder" / "fingerprint.txt").read_text().strip()
    return httpx.post(server.url + wire.ENCODE_PATH, timeout=30,
                      content=wire.encode_request(windows, fingerprint=fingerprint, **kwargs))


def test_bad_requests_get_400_or_413_and_the_server_serves_on(trained, server):
    assert httpx.post(server.url + wire.ENCODE_PATH, content=b"\xc1garbage").status_code == 400
    out_of_vocabulary = _encode(server, [[5, 6], [10**6]], root=trained)
    assert out_of_vocabulary.status_code == 400 and "1000000" in out_of_vocabulary.json()["error"]
    too_long = _encode(server, [[5] * 39], root=trained)  # the tiny encoder takes 40 positions, 2 of them specials
    assert too_long.status_code == 400 and "[E407]" in too_long.json()["error"]
    assert _encode(server, [[5] * 30] * 18, root=trained).status_code == 413  # 540 pieces, over --max-request-pieces
    # A body announced far over the limit is refused before it is read.
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(f"POST {wire.ENCODE_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n".encode())
        assert b" 413 " in sock.recv(200).split(b"\r\n")[0] + b" "
    ok = _encode(server, [[5, 6, 7], [8]], root=trained)
    assert ok.status_code == 200
    assert wire.decode_response(ok.content, RuntimeError)["vectors"].shape == (4, 32)
    assert metric(server.url, "trftrain_serve_requests_refused_total") >= 5


def test_health_names_the_served_encoders(trained, server):
    health = httpx.get(server.url + "/health").json()
    served = (trained / "model" / "transformer" / "encoder" / "fingerprint.txt").read_text().strip()
    assert health["status"] == "ok"
    assert [(p["name"], p["fingerprint"], p["precision"]) for p in health["pipelines"]] == [
        ("en_pipeline", served, "fp32")]


# -- the guarded server ------------------------------------------------------------------------------------------


def _post(server, windows, root, headers=AUTH, timeout=30):
    fingerprint = (root / "model" / "transformer" / "encoder" / "fingerprint.txt").read_text().strip()
    return httpx.post(server.url + wire.ENCODE_PATH, headers=headers, timeout=timeout,
                      content=wire.encode_request(windows, fingerprint=fingerprint))


def _in_background(function, *args):
    outcome = {}

    def target():
        try:
            outcome["value"] = function(*args)
        except Exception as err:  # handed to the test, which asserts on it
            outcome["error"] = err

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, outcome


def _wait_for(condition, seconds=30.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def test_the_token_is_required_when_set(trained, guarded):
    assert _post(guarded, FULL, trained, headers={}).status_code == 401
    refused = _post(guarded, FULL, trained, headers={"Authorization": "Bearer test-token-0124"})
    assert refused.status_code == 401 and "[E412]" in refused.json()["error"]
    assert httpx.get(guarded.url + "/metrics").status_code == 401
    assert httpx.get(guarded.url + "/health").json() == {"status": "ok"}
    assert httpx.get(guarded.url + "/health", headers=AUTH).json()["pipelines"][0]["name"] == "en_pipeline"
    with pytest.raises(TrftrainError, match=r"\[E414\].*HTTP 401"):
        trftrain.load_remote(trained / "model", url=guarded.url)
    assert _post(guarded, FULL, trained).status_code == 200
    remote = trftrain.load_remote(trained / "model", url=guarded.url, token=TOKEN)
    assert TOKEN not in remote.config.to_str()


def test_a_full_queue_answers_503_and_the_clients_retry_gets_through(trained, guarded):
    waiting = [_in_background(_post, guarded, SMALL, trained) for _ in range(2)]
    _wait_for(lambda: metric(guarded.url, "trftrain_serve_queue_depth", AUTH) == 2)
    full = _post(guarded, SMALL, trained)
    assert full.status_code == 503 and full.headers["retry-after"] == "1" and "[E411]" in full.json()["error"]
    remote = trftrain.load_remote(trained / "model", url=guarded.url, token=TOKEN, retries=8)
    backbone = remote.get_pipe("transformer").encoder.backbone
    backbone.client.backoff = 0.2
    vectors = backbone(FULL)  # refused while the two wait, accepted once their batch has left
    assert vectors.shape == (60, 32)
    for thread, outcome in waiting:
        thread.join(timeout=60)
        assert outcome["value"].status_code == 200
    assert metric(guarded.url, "trftrain_serve_requests_refused_total", AUTH) >= 2


def test_a_client_that_goes_away_does_not_stall_the_batcher(trained, guarded):
    cancelled = metric(guarded.url, "trftrain_serve_requests_cancelled_total", AUTH)
    fingerprint = (trained / "model" / "transformer" / "encoder" / "fingerprint.txt").read_text().strip()
    body = wire.encode_request(SMALL, fingerprint=fingerprint)
    with socket.create_connection(("127.0.0.1", guarded.port), timeout=30) as sock:
        sock.sendall(f"POST {wire.ENCODE_PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
                     f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        _wait_for(lambda: metric(guarded.url, "trftrain_serve_queue_depth", AUTH) == 1)
    _wait_for(lambda: metric(guarded.url, "trftrain_serve_requests_cancelled_total", AUTH) == cancelled + 1)
    assert metric(guarded.url, "trftrain_serve_queue_depth", AUTH) == 0
    assert _post(guarded, FULL, trained).status_code == 200


def test_graceful_shutdown_answers_what_is_queued(trained, guarded):
    thread, outcome = _in_background(_post, guarded, SMALL, trained)
    _wait_for(lambda: metric(guarded.url, "trftrain_serve_queue_depth", AUTH) == 1)
    guarded.signal(signal.SIGTERM)
    thread.join(timeout=60)
    assert outcome["value"].status_code == 200
    assert wire.decode_response(outcome["value"].content, RuntimeError)["vectors"].shape == (3, 32)
    # uvicorn ends by re-raising the signal it caught once it has shut down cleanly.
    assert guarded.process.wait(timeout=60) in (0, -signal.SIGTERM)
    assert "Finished server process" in guarded.log.read_text()


def test_annotate_remote_runs_the_encoder_on_the_server_with_the_same_records(trained, server, tmp_path):
    """`trftrain annotate --remote URL`: worker processes run the heads, the server the encoder."""
    from trftrain.annotation import annotate

    texts = [t for t in TEXTS if t] * 5
    (tmp_path / "in.txt").write_text("\n".join(texts) + "\n")
    local = annotate(str(trained / "model"), tmp_path / "in.txt", tmp_path / "local", progress=False)
    served_before = metric(server.url, "trftrain_serve_requests_total")
    remote = annotate(str(trained / "model"), tmp_path / "in.txt", tmp_path / "remote", n_process=2,
                      remote=[server.url], progress=False)
    assert remote["annotated"] == local["annotated"] == len(texts)
    assert metric(server.url, "trftrain_serve_requests_total") > served_before

    def records(folder):
        return [line for shard in sorted(folder.glob("*.jsonl")) if not shard.name.startswith("_")
                for line in shard.read_text().splitlines()]
    assert records(tmp_path / "remote") == records(tmp_path / "local") and records(tmp_path / "local")
    with pytest.raises(TrftrainError, match=r"\[E621\] --gpu does not apply with --remote"):
        annotate(str(trained / "model"), tmp_path / "in.txt", tmp_path / "again", gpu_id=0, remote=[server.url],
                 progress=False)


def test_a_server_killed_mid_run_gives_the_client_a_clear_error(trained, server):
    """Last: it kills the module's server."""
    remote = trftrain.load_remote(trained / "model", url=server.url, retries=2, timeout=20)
    remote.get_pipe("transformer").encoder.backbone.client.backoff = 0.1

    def keep_annotating():
        while True:
            list(remote.pipe(TEXTS * 4, batch_size=2))

    thread, outcome = _in_background(keep_annotating)
    _wait_for(lambda: metric(server.url, "trftrain_serve_requests_total") > 10)
    server.signal(signal.SIGKILL)
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert isinstance(outcome["error"], TrftrainError)
    assert str(outcome["error"]).startswith("[E413]") and server.url in str(outcome["error"])
