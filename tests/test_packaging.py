"""`trftrain package`: the wheel holds no path of the training machine and loads without them; names that
would replace a library, bad versions and outdirs are refused; weights are world-readable."""
import importlib.metadata
import importlib.util
import io
import shutil
import stat
import zipfile

import pytest
from pipelines import gold_docs, write_config
from spacy.tokens import DocBin
from spacy.util import load_model_from_path

from trftrain.errors import TrftrainError
from trftrain.packaging import build_wheel, check_name, normalized_version
from trftrain.training.loop import train

TEXTS = ["Anna lives in Berlin.", "Apple buys a startup in Paris !"]


def predictions(nlp):
    return [[(t.tag_, t.ent_iob_ + t.ent_type_) for t in doc] for doc in nlp.pipe(TEXTS)]


@pytest.fixture(scope="module")
def saved(tmp_path_factory, tiny_encoder):
    """A pipeline trained from an encoder folder and corpora given by absolute paths, as users do."""
    root = tmp_path_factory.mktemp("machine_paths")
    encoder = shutil.copytree(tiny_encoder, root / "my_encoder")
    DocBin(docs=gold_docs()).to_disk(root / "train.spacy")
    config = write_config(root, str(encoder), ["tagger", "ner"])
    train(config, root / "out", overrides={"paths.train": str(root / "train.spacy"),
                                           "paths.dev": str(root / "train.spacy"), "training.max_steps": 2},
          stdout=io.StringIO())
    model = root / "out" / "model-best"
    assert str(root) in (model / "config.cfg").read_text()  # what the wheel must not carry
    return root, model


@pytest.mark.slow
def test_wheel_has_no_machine_paths_normal_modes_and_loads_without_them(saved, tmp_path):
    root, model = saved
    expected = predictions(load_model_from_path(model))
    wheel = build_wheel(model, tmp_path / "dist", name="en_paths_test", version="1.0.0rc1")
    assert wheel.name == "en_paths_test-1.0.0rc1-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            assert str(root).encode() not in archive.read(info), info.filename
            if info.filename.startswith("en_paths_test/"):  # the dist-info files are the build tool's
                assert stat.S_IMODE(info.external_attr >> 16) == 0o644, info.filename
        archive.extractall(tmp_path / "unpacked")
    config = (tmp_path / "unpacked" / "en_paths_test" / "pipeline" / "config.cfg").read_text()
    assert 'name = "my_encoder"' in config and 'train = "train.spacy"' in config
    shutil.rmtree(root / "my_encoder")  # offline and without the source folder
    try:
        nlp = load_model_from_path(tmp_path / "unpacked" / "en_paths_test" / "pipeline")
        assert predictions(nlp) == expected
    finally:
        shutil.copytree(tmp_path / "unpacked" / "en_paths_test" / "pipeline" / "transformer" / "encoder",
                        root / "my_encoder")


@pytest.mark.parametrize("name", ["spacy", "torch", "numpy", "trftrain", "json", "os", "pytest", "typer"])
def test_names_that_would_replace_a_module_are_refused(name):
    with pytest.raises(TrftrainError, match=rf"\[E201\] Package name '{name}' is taken"):
        check_name(name)


def test_major_libraries_are_refused_even_where_they_are_not_installed(monkeypatch):
    import trftrain.packaging as packaging

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(packaging, "_is_distribution", lambda name: False)
    check_name("en_anything")
    for name in ("spacy", "torch", "transformers", "pandas"):
        with pytest.raises(TrftrainError, match="E201"):
            check_name(name)


def test_fresh_names_and_rebuilt_pipelines_are_accepted(monkeypatch):
    check_name("en_trf_fresh_name")

    entry = importlib.metadata.EntryPoint(name="en_trf_installed", value="en_trf_installed", group="spacy_models")
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [entry] if group == "spacy_models" else [])
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object())  # as if installed
    check_name("en_trf_installed")
    with pytest.raises(TrftrainError, match="E201"):
        check_name("en_trf_other_module")


@pytest.mark.parametrize("version,normal", [("1.0.0", "1.0.0"), ("1.0.0rc1", "1.0.0rc1"), ("2.0.post1", "2.0.post1"),
                                            ("1.0.0-rc1", "1.0.0rc1"), ("0.1", "0.1"), ("1.2.3.dev4", "1.2.3.dev4")])
def test_pep440_versions_are_accepted_in_their_normal_form(version, normal):
    assert normalized_version(version) == normal


@pytest.mark.parametrize("version", ["abc", "1.0.0 beta", "", "v1..0"])
def test_invalid_versions_are_refused(version):
    with pytest.raises(TrftrainError, match=r"\[E202\]"):
        normalized_version(version)


def test_outdir_that_is_a_file_is_refused_before_building(saved, tmp_path):
    _, model = saved
    (tmp_path / "afile").write_text("keep me")
    with pytest.raises(TrftrainError, match=r"\[E204\] The output folder '.*afile' is a file"):
        build_wheel(model, tmp_path / "afile", name="en_x", version="1.0.0")
    assert (tmp_path / "afile").read_text() == "keep me"
