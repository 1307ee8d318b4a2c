"""Every command through Typer's runner on the tiny encoder, and the error paths users hit first."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from pipelines import gold_docs, write_config
from spacy.tokens import DocBin
from typer.testing import CliRunner

from trftrain.cli.app import app

ROOT = Path(__file__).parent.parent
runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture()
def corpus(tmp_path):
    docs = gold_docs()
    DocBin(docs=docs * 3).to_disk(tmp_path / "train.spacy")
    DocBin(docs=docs).to_disk(tmp_path / "dev.spacy")
    return tmp_path / "train.spacy", tmp_path / "dev.spacy"


@pytest.fixture()
def trained(tmp_path, tiny_encoder, corpus):
    """The shipped demo config, pointed at the tiny encoder and a tiny corpus by overrides alone."""
    out = tmp_path / "training"
    result = run("train", ROOT / "configs" / "quick-demo.cfg", "--output", out,
                 "--paths.train", corpus[0], "--paths.dev", corpus[1],
                 "--components.transformer.model.name", tiny_encoder,
                 "--components.transformer.model.window", 16, "--components.transformer.model.stride", 12,
                 "--training.max_steps", 4, "--training.eval_frequency", 2)
    assert result.exit_code == 0, result.output
    return out


def test_train_writes_models_log_and_plot(trained):
    for name in ("model-best", "model-last"):
        assert (trained / name / "config.cfg").exists() and (trained / name / "meta.json").exists()
        assert (trained / name / "transformer" / "encoder" / "model.safetensors").exists()
    records = [json.loads(line) for line in (trained / "training_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4]
    assert {"tagger", "parser"} <= set(records[0]["losses"]) and "tag_acc" in records[0]["scores"]
    assert (trained / "training.png").stat().st_size > 1000
    meta = json.loads((trained / "model-last" / "meta.json").read_text())
    assert meta["trftrain"]["torch"] and meta["trftrain"]["transformers"]
    assert not list(trained.glob(".*partial*"))


def test_evaluate_prints_tables_and_writes_json(trained, corpus, tmp_path):
    result = run("evaluate", trained / "model-best", corpus[1], "--output", tmp_path / "scores.json")
    assert result.exit_code == 0, result.output
    assert "Dependencies" in result.output and "Tags" in result.output and "words/s" in result.output
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert {"tag_acc", "pos_acc", "dep_uas", "dep_las", "dep_las_per_type", "words_per_second"} <= set(scores)


def test_convert_and_init_config_and_debug_data(tmp_path, tiny_encoder, corpus):
    result = run("convert", ROOT / "corpora/sample/sample.conllu", tmp_path / "ud.spacy", "--format", "conllu")
    assert result.exit_code == 0 and "Wrote 1 docs" in result.output
    result = run("init-config", tmp_path / "init.cfg", "--pipeline", "tagger,ner", "--encoder", tiny_encoder)
    assert result.exit_code == 0 and (tmp_path / "init.cfg").exists()
    config = write_config(tmp_path, tiny_encoder, ["tagger", "ner"])
    result = run("debug-data", config, "--paths.train", corpus[0], "--paths.dev", corpus[1])
    assert result.exit_code == 0, result.output
    assert "[tagger]" in result.output and "pieces per token" in result.output


@pytest.mark.slow
def test_package_installs_in_fresh_environment_and_loads_offline(trained, tmp_path):
    result = run("package", trained / "model-best", tmp_path / "dist", "--name", "tiny_trf_pipeline", "--version", "1.2.3")
    assert result.exit_code == 0, result.output
    wheel = tmp_path / "dist" / "tiny_trf_pipeline-1.2.3-py3-none-any.whl"
    assert wheel.exists()
    check = subprocess.run([sys.executable, str(ROOT / "scripts/check_wheel.py"), str(wheel), "tiny_trf_pipeline",
                            str(trained / "model-best"), "--scratch", str(tmp_path / "env")], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def error_of(result):
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    return result.output


def test_error_paths(tmp_path, tiny_encoder, corpus, trained):
    assert "Config file not found" in error_of(run("train", tmp_path / "missing.cfg"))
    config = write_config(tmp_path, tiny_encoder, ["tagger"])
    bad_arch = tmp_path / "bad_arch.cfg"
    bad_arch.write_text(config.read_text().replace("trftrain.Transformer.v1", "trftrain.Transformer.v9"))
    output = error_of(run("train", bad_arch, "--paths.train", corpus[0], "--paths.dev", corpus[1]))
    assert "trftrain.Transformer.v9" in output and "trftrain.Transformer.v1" in output  # lists the known names
    assert "no section [nope]" in error_of(run("train", config, "--nope.x", 1))
    assert "training.max_stepz" in error_of(run("train", config, "--training.max_stepz", 1))
    assert "does not exist" in error_of(run("train", config, "--paths.train", tmp_path / "none.spacy",
                                            "--paths.dev", corpus[1]))
    DocBin().to_disk(tmp_path / "empty.spacy")
    assert "holds no documents" in error_of(run("train", config, "--paths.train", tmp_path / "empty.spacy",
                                                "--paths.dev", corpus[1]))
    assert "Invalid package name" in error_of(run("package", trained / "model-best", tmp_path, "--name", "Bad-Name"))
    assert "Invalid version" in error_of(run("package", trained / "model-best", tmp_path, "--name", "ok", "--version", "abc"))
    malformed = tmp_path / "broken.cfg"
    malformed.write_text("[nlp\nlang = en")
    assert "Could not parse config" in error_of(run("train", malformed))


def test_code_file_registers_an_architecture(tmp_path, tiny_encoder, corpus):
    code = tmp_path / "my_arch.py"
    code.write_text(
        "from spacy.util import registry\n"
        "from trftrain.networks import TokenClassifier\n"
        "@registry.architectures('test.WideTagger.v1')\n"
        "def wide(hidden_width: int = 48):\n"
        "    return lambda width, n: TokenClassifier(width, n, hidden_width=hidden_width)\n")
    config = write_config(tmp_path, tiny_encoder, ["tagger"], extra='[components.tagger.model]\n@architectures = "test.WideTagger.v1"\n')
    args = ["train", config, "--paths.train", corpus[0], "--paths.dev", corpus[1], "--training.max_steps", 1,
            "--output", tmp_path / "out"]
    assert "test.WideTagger.v1" in error_of(run(*args))  # unknown without --code
    result = run(*args, "--code", code)
    assert result.exit_code == 0, result.output


def test_debug_data_fails_on_conflicting_annotation(tmp_path, tiny_encoder):
    docs = gold_docs()  # cats hold two positive labels each: wrong for an exclusive classifier
    DocBin(docs=docs).to_disk(tmp_path / "train.spacy")
    config = write_config(tmp_path, tiny_encoder, ["textcat"])
    config.write_text(config.read_text().replace('labels = ["NEG", "POS"]', 'labels = ["NEG", "POS", "PLACE"]'))
    result = run("debug-data", config, "--paths.train", tmp_path / "train.spacy", "--paths.dev", tmp_path / "train.spacy")
    assert result.exit_code == 1 and "several positive labels" in result.output
