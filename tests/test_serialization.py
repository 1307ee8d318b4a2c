"""Pipelines to bytes and back: same predictions; a blob naming files outside its folder is refused."""
import os
import tempfile

import numpy as np
import pytest
import srsly
from pipelines import overfit, write_config
from spacy.util import load_model_from_config

from trftrain.errors import TrftrainError

TEXTS = ["Anna lives in Paris.", "The startup buys a fox in Berlin !", ""]


def predictions(nlp):
    docs = list(nlp.pipe(TEXTS))
    return ([[(t.tag_, t.head.i, t.dep_, t.ent_iob_ + t.ent_type_) for t in doc] for doc in docs],
            [doc.cats for doc in docs], [doc._.trf_vectors for doc in docs])


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_encoder):
    config = write_config(tmp_path_factory.mktemp("bytes"), tiny_encoder, ["tagger", "parser", "ner", "textcat"])
    nlp, _ = overfit(config, steps=6)
    return nlp


def test_to_bytes_from_bytes_gives_identical_predictions(trained):
    data = trained.to_bytes()
    fresh = load_model_from_config(trained.config, auto_fill=False)
    fresh.from_bytes(data)
    (annotations, cats, vectors), (annotations2, cats2, vectors2) = predictions(trained), predictions(fresh)
    assert annotations == annotations2 and cats == cats2
    assert any(a != ("", 0, "", "O") for doc in annotations for a in doc)  # something was predicted
    for a, b in zip(vectors, vectors2):
        assert a.shape == b.shape and np.array_equal(a, b)


@pytest.mark.parametrize("umask,expected", [(0o022, 0o644), (0o002, 0o664)])
def test_saved_weights_are_readable_like_every_other_file(trained, tmp_path, umask, expected):
    """safetensors writes 0600; a pipeline folder copied to a team share or a container image should not have
    its weights alone unreadable to others (probe 8.4). They follow the umask in force, as the other files do."""
    old = os.umask(umask)
    try:
        trained.to_disk(tmp_path / "model")
    finally:
        os.umask(old)
    modes = {p.relative_to(tmp_path).as_posix(): p.stat().st_mode & 0o777
             for p in (tmp_path / "model").rglob("*") if p.is_file()}
    weights = [name for name in modes if name.endswith(".safetensors")]
    assert weights and all(modes[name] == expected for name in weights), modes


@pytest.mark.parametrize("name", ["../../../escaped.txt", "encoder/../../escaped.txt", "/tmp/trftrain_escaped.txt",
                                  "..", "", "encoder\\..\\..\\escaped.txt"])
def test_from_bytes_refuses_names_outside_its_folder(trained, tmp_path, monkeypatch, name):
    # The component's temporary folder sits deep inside tmp_path, so that even a broken check writes nowhere else.
    sandbox = tmp_path / "a" / "b" / "c"
    sandbox.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(sandbox))
    monkeypatch.chdir(tmp_path)
    tagger = trained.get_pipe("tagger")
    files = srsly.msgpack_loads(tagger.to_bytes())
    files[name.replace("/tmp/", f"{tmp_path}/")] = b"pwned"
    before = {p for p in tmp_path.rglob("*")}
    with pytest.raises(TrftrainError, match=r"\[E700\].*'tagger'"):
        tagger.from_bytes(srsly.msgpack_dumps(files))
    assert {p for p in tmp_path.rglob("*")} == before
    assert not list(tmp_path.rglob("*escaped.txt"))


def test_from_bytes_refuses_links_out_of_the_folder(trained, tmp_path):
    """A name that is fine as text but goes through a link is refused as well (a link can't come from a blob
    today, but the check must not rely on that)."""
    from trftrain.components.torch_pipe import inside_folder

    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "link").symlink_to(tmp_path)
    with pytest.raises(TrftrainError, match="E700"):
        inside_folder((tmp_path / "root").resolve(), "link/escaped.txt", "tagger")
    assert inside_folder((tmp_path / "root").resolve(), "encoder/cfg.json", "tagger") == \
        (tmp_path / "root").resolve() / "encoder" / "cfg.json"


def test_from_bytes_refuses_what_is_not_a_file_map(trained):
    with pytest.raises(TrftrainError, match="E701"):
        trained.get_pipe("tagger").from_bytes(srsly.msgpack_dumps(["not", "a", "map"]))
