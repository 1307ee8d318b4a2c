"""Command options: bad values are one-line coded errors; help fits narrow terminals; heads without gold data
are reported as not scored rather than as zeros."""
import pytest
from pipelines import build, gold_docs, write_config
from spacy.tokens import Doc, DocBin
from typer.testing import CliRunner

from trftrain.cli.app import app
from trftrain.evaluation import render_scores

runner = CliRunner()


@pytest.fixture(scope="module")
def saved(tmp_path_factory, tiny_encoder):
    root = tmp_path_factory.mktemp("options")
    nlp, _, _ = build(write_config(root, tiny_encoder, ["tagger", "textcat"]))
    nlp.to_disk(root / "model")
    return root


@pytest.mark.parametrize("size", [0, -3])
def test_evaluate_batch_size_below_one_is_refused(saved, size):
    DocBin(docs=gold_docs()).to_disk(saved / "dev.spacy")
    result = runner.invoke(app, ["evaluate", str(saved / "model"), str(saved / "dev.spacy"), "--batch-size", str(size)])
    assert result.exit_code == 1 and f"[E009] --batch-size {size}: give the number of docs per batch" in result.output
    assert result.output.strip().count("\n") == 0


def test_heads_without_gold_data_are_not_scored_rather_than_zero(saved):
    docs = gold_docs()
    for doc in docs:
        doc.cats = {}  # tags but no cats: the textcat head cannot be scored
    DocBin(docs=docs).to_disk(saved / "tags-only.spacy")
    result = runner.invoke(app, ["evaluate", str(saved / "model"), str(saved / "tags-only.spacy"), "--output",
                                 str(saved / "scores.json")])
    assert result.exit_code == 0, result.output
    assert "Not scored (the data has no annotation for them): textcat" in result.output
    assert "Text classification" not in result.output and "cats_" not in result.output and "tag_acc" in result.output
    cats_only = [Doc(docs[0].vocab, words=["nice"])]
    cats_only[0].cats = {"POS": 1.0, "NEG": 0.0}
    DocBin(docs=cats_only).to_disk(saved / "cats-only.spacy")
    result = runner.invoke(app, ["evaluate", str(saved / "model"), str(saved / "cats-only.spacy")])
    assert "Not scored (the data has no annotation for them): tagger" in result.output and "cats_score" in result.output
    assert "Not scored" not in render_scores({"tag_acc": 0.5, "not_scored": []})


@pytest.mark.parametrize("command", ["", "train", "evaluate", "convert", "package", "init-config", "debug-data"])
def test_help_fits_60_columns_without_cutting_option_names(command):
    result = runner.invoke(app, [command, "--help"] if command else ["--help"], terminal_width=60, env={"COLUMNS": "60"})
    assert result.exit_code == 0
    assert "…" not in result.output and "<bool>" not in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 60
    if command == "convert":
        assert "--label-column" in result.output


@pytest.mark.parametrize("name", ["/nonexistent/enc", "./moved/enc", "../enc", "a/b/c"])
def test_a_missing_encoder_folder_is_named_as_a_folder(name):
    from trftrain.encoder.token_encoder import TokenEncoder
    from trftrain.errors import TrftrainError

    with pytest.raises(TrftrainError, match=rf"\[E703\] Encoder folder not found: '{name}'"):
        TokenEncoder(name).load_pretrained()
