"""Config mistakes a user makes: each is an error naming the section, key or line of their own file."""
import pytest
from pipelines import gold_docs, write_config
from spacy.tokens import DocBin

from trftrain.config import load_config, resolve_training
from trftrain.errors import TrftrainError


@pytest.fixture()
def config(tmp_path):
    # Nested sections without their parents ([components.transformer] without [components]): the loader adds
    # the parents before parsing, which must not shift the line numbers it reports.
    return write_config(tmp_path, "some-encoder", ["tagger"])


def edit(config, old, new):
    text = config.read_text()
    assert old in text
    config.write_text(text.replace(old, new, 1))
    return text.replace(old, new, 1).splitlines().index(new.splitlines()[0]) + 1  # line of the edit


def test_misspelled_top_level_section_is_named_with_the_known_ones(config):
    line = edit(config, "[training]", "[trainig]")
    with pytest.raises(TrftrainError, match=rf"\[E004\].*line {line} has a section \[trainig\].*\[training\].*"
                                            r"Did you mean \[training\]\?"):
        load_config(config)


@pytest.mark.parametrize("key,known", [("nlp.bogus", "batch_size"), ("system.bogus", "seed"),
                                       ("initialize.bogus", "vocab_data"), ("paths.tran", "train"),
                                       ("training.bogus", "max_steps")])
def test_unknown_keys_outside_training_are_errors_listing_the_known_ones(config, key, known):
    with pytest.raises(TrftrainError, match=rf"\[E005\] Config value `{key}` .*--{key}.*{known}"):
        load_config(config, {key: 1})


def test_a_misspelled_paths_key_in_the_file_gets_its_line_and_a_suggestion(config):
    line = edit(config, "[training]\n", "[paths]\ntran = \"train.spacy\"\n\n[training]\n")
    with pytest.raises(TrftrainError, match=rf"`paths.tran` .*line {line + 1}\).*Did you mean `paths.train`"):
        load_config(config)


def test_paths_keys_of_ones_own_are_fine_when_something_refers_to_them(config):
    edit(config, "[training]\n", "[paths]\nbig = \"big.spacy\"\n\n[corpora.train]\npath = ${paths.big}\n\n[training]\n")
    assert load_config(config)["corpora"]["train"]["path"] == "big.spacy"
    assert load_config(config, {"paths.big": "other.spacy"})["corpora"]["train"]["path"] == "other.spacy"


@pytest.mark.parametrize("old,new", [("[training]", "[training"), ("max_steps = 4", "max_steps 4"),
                                     ("eval_frequency = 2", "eval_frequency = 2\neval_frequency = 3")])
def test_syntax_errors_report_the_line_in_the_users_file(config, old, new):
    line = edit(config, old, new)
    if new.count("\n"):
        line += new.count("\n")  # the duplicate is the error
    with pytest.raises(TrftrainError, match=rf"\[E002\] Could not parse config '.*config.cfg', line {line}:"):
        load_config(config)


def test_unclosed_list_names_section_key_and_line(config):
    line = edit(config, 'pipeline = ["transformer", "tagger"]', 'pipeline = ["transformer", "tagger"')
    with pytest.raises(TrftrainError, match=rf"`nlp.pipeline`: the list .* is not closed: end it with `\]` "
                                            rf"\('.*config.cfg', line {line}\)"):
        load_config(config)


@pytest.mark.parametrize("value", ["ten", 4.5, -5, True])
def test_wrong_type_for_max_steps_names_max_steps(tmp_path, value):
    # The default schedule reads total_steps = ${training.max_steps}; the error must name the key the user wrote.
    config = write_config(tmp_path, "some-encoder", ["tagger"], schedule='@schedules = "trftrain.WarmupLinear.v1"')
    assert "${training.max_steps}" in load_config(config, interpolate=False).to_str()
    with pytest.raises(TrftrainError, match=r"`training.max_steps`: .* must be a whole number >= 1") as err:
        resolve_training(load_config(config, {"training.max_steps": value}))
    assert "total_steps" not in str(err.value)


@pytest.mark.parametrize("key", ["nlp.batch_size", "training.eval_batch_size"])
def test_batch_sizes_below_one_are_refused(config, key):
    with pytest.raises(TrftrainError, match=rf"`{key}`: -1 must be a whole number >= 1"):
        resolve_training(load_config(config, {key: -1}))


def test_missing_dev_path_names_paths_dev(config, tmp_path):
    from trftrain.cli.train import train

    DocBin(docs=gold_docs()).to_disk(tmp_path / "train.spacy")
    with pytest.raises(TrftrainError, match=r"\[E008\].*\[corpora.dev\]: set `paths.dev`"):
        train(config, overrides={"paths.train": str(tmp_path / "train.spacy")})


def test_config_that_is_not_utf8_names_the_line_and_a_bom_is_fine(config):
    text = config.read_text()
    config.write_bytes(b"\xef\xbb\xbf" + text.encode("utf8"))
    assert load_config(config)["nlp"]["pipeline"] == ["transformer", "tagger"]
    config.write_bytes(text.replace("[training]", "# caf\xe9\n[training]").encode("latin-1"))
    line = text.splitlines().index("[training]") + 1
    with pytest.raises(TrftrainError, match=rf"line {line}: byte 6 \(0xe9\) is not UTF-8"):
        load_config(config)
