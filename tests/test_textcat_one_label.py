"""An exclusive classifier needs two labels: with one, softmax gives it 1.0 always and the score reads 100."""
import pytest
from pipelines import build, write_config
from spacy.tokens import Doc
from spacy.training import Example

from trftrain.errors import TrftrainError


def positive_only(nlp):
    docs = [Doc(nlp.vocab, words=["so", "good"]), Doc(nlp.vocab, words=["great"])]
    for doc in docs:
        doc.cats = {"POS": 1.0}
    return [Example(Doc(nlp.vocab, words=[t.text for t in d]), d) for d in docs]


@pytest.mark.parametrize("pinned", [True, False])
def test_one_label_exclusive_classifier_is_an_error_naming_component_and_fix(tmp_path, tiny_encoder, pinned):
    config = write_config(tmp_path, tiny_encoder, ["textcat"])
    text = config.read_text()
    config.write_text(text.replace('labels = ["NEG", "POS"]', 'labels = ["POS"]') if pinned else
                      text.replace('[initialize.components.textcat]\nlabels = ["NEG", "POS"]\n', ""))
    with pytest.raises(TrftrainError, match=r"\[E702\] Component 'textcat' .* single label 'POS'.*"
                                            r"trftrain_textcat_multilabel"):
        build(config, examples_factory=positive_only)


def test_one_label_multilabel_classifier_is_fine(tmp_path, tiny_encoder):
    config = write_config(tmp_path, tiny_encoder, ["textcat_multilabel"])
    config.write_text(config.read_text().replace('labels = ["ANIMAL", "BUSINESS", "PLACE"]', 'labels = ["POS"]'))
    nlp, _, _ = build(config, examples_factory=positive_only)
    assert nlp.get_pipe("textcat_multilabel").labels == ("POS",)
